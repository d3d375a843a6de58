"""``geo-sppa trends``: collisions by year and severity, change on a baseline, seasonality."""

from __future__ import annotations

import click

from geo_sppa.cli.options import (
    area_option,
    crs_option,
    echo_summary,
    echo_table,
    output_dir_option,
    parse_date,
    set_aside_lines,
    years_option,
)

__all__ = ["trends"]


@click.command("trends")
@area_option
@click.option(
    "--collisions", type=click.Path(), default=None, help="Collision CSV (default: the area's)."
)
@click.option(
    "--population",
    type=click.Path(),
    default=None,
    help="LSOA population CSV for rates per 1,000 (default: the area's, mid-2015; "
    "none with your own collisions).",
)
@years_option
@click.option(
    "--baseline-year",
    type=int,
    default=None,
    help="Year the % changes compare with (default: first complete year).",
)
@click.option(
    "--end-date",
    default=None,
    callback=parse_date,
    metavar="YYYY-MM-DD",
    help="Last day the data cover, if not the end of the last collision's month.",
)
@click.option("--id-column", default=None, help="Collision id column of a generic CSV.")
@crs_option
@output_dir_option
def trends(
    area, collisions, population, years, baseline_year, end_date, id_column, crs, output_dir
) -> None:
    """Collision trends: by year and severity, change on a baseline, rolling rate, seasonality.

    Counts injury collisions (and casualties where the data have them) by year and severity
    (fatal, serious, slight, KSI, total) with the percentage change against a baseline year; a
    rolling 12-month count and rate per 1,000 residents by month (the partnership's performance
    measure); which months of the year run above average; and, where the file has Y/N flags
    (Cambridgeshire Insight: Ped, Cycle, TWMV, Child), collisions involving pedestrians, cyclists,
    motorcyclists and children. Partial years are labelled and not compared.

    Writes trends_by_year.csv, trends_monthly.csv, trends_seasonality.csv, trends_road_users.csv and
    a PNG chart for each into the output folder, and run.json last.

    \b
    Example:
        geo-sppa trends
        geo-sppa trends --baseline-year 2014 -o out/
        geo-sppa trends --collisions dft-collision-2023.csv --population pop.csv
    """  # noqa: D301
    from geo_sppa import io
    from geo_sppa.assessment.trends import latest_complete_years, trends_in_years
    from geo_sppa.bundled.inputs import collisions_input, population_total_input
    from geo_sppa.cli.run_record import finish_run, run_started

    started = run_started()
    columns = {"id": id_column} if id_column else None
    loaded, path = collisions_input(area, collisions, crs=crs, columns=columns)
    people, population_path = population_total_input(
        area, population, own_collisions=collisions is not None
    )
    window = years or latest_complete_years(loaded.data)
    result = trends_in_years(
        loaded.data,
        years=window,
        population=people,
        baseline_year=baseline_year,
        end_date=end_date,
    )
    source = f"{path.name}, {result.start:%d %b %Y} to {result.end:%d %b %Y}"
    out = io.output_dir(output_dir)
    written = _written(result, out, source=source)
    _echo_tables(result)
    lines: list[tuple[str, object]] = [("collisions file", path.name)]
    lines += _summary_lines(result, loaded, population_path)
    n_used = int(result.by_year["total"].sum())
    lines += finish_run(
        out, command="trends", written=written, started=started, inputs=[path, population_path],
        options={"area": area, "years": window, "baseline_year": result.baseline_year,
                 "end_date": end_date, "id_column": id_column, "crs": crs},
        counts={"n_read": loaded.n_read, "n_used": n_used, "n_set_aside": len(loaded.set_aside),
                "n_outside_years": len(loaded.data) - n_used},
    )  # fmt: skip
    echo_summary("Run summary", lines)


def _written(result, out, *, source: str) -> list:
    """Write the trend tables and charts into ``out``; return the paths written."""
    from geo_sppa import io
    from geo_sppa.render.charts import trend_charts

    written = [
        io.write_csv(result.by_year, out / "trends_by_year.csv"),
        io.write_csv(result.monthly, out / "trends_monthly.csv"),
        io.write_csv(result.seasonality, out / "trends_seasonality.csv"),
    ]
    if result.road_users is not None:
        written.append(io.write_csv(result.road_users, out / "trends_road_users.csv"))
    for name, figure in trend_charts(result, source=source).items():
        written.append(io.write_png(figure, out / name))
    return written


def _echo_tables(result) -> None:
    """Print the by-year table and, where the data have flags, the road-user table."""
    by_year = result.by_year
    click.echo(f"Injury collisions by year (baseline {result.baseline_year}):")
    shown = by_year.assign(
        change=[f"{v:+.1f}%" if v == v else "-" for v in by_year["total_change_pct"]],
        ksi_change=[f"{v:+.1f}%" if v == v else "-" for v in by_year["ksi_change_pct"]],
    )
    echo_table(
        shown,
        ["label", "fatal", "serious", "slight", "ksi", "total", "change", "ksi_change"],
        max_rows=50,
    )
    click.echo("")
    if result.road_users is not None:
        click.echo("Collisions involving road users:")
        users = [
            c
            for c in ("pedestrian", "cyclist", "motorcyclist", "child")
            if c in result.road_users.columns
        ]
        echo_table(result.road_users, ["label", *users], max_rows=50)
        click.echo("")


def _summary_lines(result, loaded, population_path) -> list[tuple[str, object]]:
    """Return the run-summary lines after the file name: records, period, trend, notes."""
    n_used = int(result.by_year["total"].sum())
    season = result.seasonality
    above = ", ".join(season.loc[season["above_average"], "name"])
    latest = result.monthly.dropna(subset=["rolling_12"]).tail(1)
    lines: list[tuple[str, object]] = []
    lines += set_aside_lines(loaded.n_read, n_used, loaded.set_aside)
    if n_used < len(loaded.data):
        lines.append(("  outside the years", f"{len(loaded.data) - n_used:,} (not counted)"))
    lines += [
        ("period", f"{result.start:%d %b %Y} to {result.end:%d %b %Y}"),
        ("trend", result.direction),
        ("months above average", above or "none"),
    ]
    if len(latest):
        row = latest.iloc[0]
        rate = f", {row['rolling_12_rate_per_1000']:.2f} per 1,000" if result.population else ""
        lines.append(
            ("rolling 12 months", f"to {row['month']}: {int(row['rolling_12'])} collisions{rate}")
        )
    if population_path:
        lines.append(("population", f"{population_path.name}: {result.population:,.0f}"))
    lines += [("note", n) for n in (*loaded.notes, *result.notes)]
    if result.road_users is not None:
        lines.append(
            ("note", "road users from the file's Y/N flag columns (Ped, Cycle, TWMV, Child)")
        )
    return lines
