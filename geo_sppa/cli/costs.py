"""``geo-sppa costs``: what road collisions and recorded crime cost, as tables."""

from __future__ import annotations

import click

from geo_sppa.cli.options import (
    area_option,
    collisions_file_option,
    crs_option,
    echo_summary,
    echo_table,
    incidents_file_option,
    output_dir_option,
    set_aside_lines,
    years_option,
)

__all__ = ["costs"]


@click.command("costs")
@area_option
@collisions_file_option
@incidents_file_option
@years_option
@click.option(
    "--price-year",
    type=int,
    default=None,
    help="Price year of the DfT value of prevention (2002, 2009, 2014; default: latest).",
)
@click.option(
    "--unit-costs",
    "unit_costs",
    default="ho2005",
    show_default=True,
    metavar="ho2005|ho2018|spp2012|PATH",
    help="Unit costs of crime: a bundled table or a CSV with category, "
    "unit_cost_gbp[, price_year, source].",
)
@crs_option
@output_dir_option
def costs(area, collisions, incidents, years, price_year, unit_costs, crs, output_dir) -> None:
    """Cost of road collisions by severity and of recorded crime by category.

    Road collisions: each reported injury collision valued at the DfT average value of preventing
    a fatal, serious or slight collision (price year selectable). Crime: police.uk categories
    mapped to Home Office unit costs of crime (ho2005: Dubourg, Hamed & Thorns 2005, 2003/04
    prices; ho2018: Heeks et al. 2018, 2015/16 prices, partial; spp2012: derived from the 2012
    Peterborough assessment), or your own table. police.uk categories are broader than the Home
    Office classes, so crime totals are indicative; uncosted categories are listed.

    Writes costs_road.csv, costs_crime.csv and costs.png into the output folder,
    costs_set_aside.csv (file row, record id, reason) when any record was set aside, and run.json.

    \b
    Example:
        geo-sppa costs
        geo-sppa costs --price-year 2009 --unit-costs spp2012 --years 2014-2016
        geo-sppa costs --incidents street/ --unit-costs my_unit_costs.csv -o out/
    """  # noqa: D301
    import pandas as pd

    from geo_sppa import io
    from geo_sppa.assessment.crime_costs import assessment_costs, collisions_in_years
    from geo_sppa.assessment.trends import latest_complete_years, window_coverage_note
    from geo_sppa.bundled.inputs import (
        collisions_input,
        optional_incidents_input,
        unit_costs_input,
    )
    from geo_sppa.cli.run_record import finish_run, run_started
    from geo_sppa.render.charts import cost_chart

    started = run_started()
    table = unit_costs_input(unit_costs)
    crashes, collisions_path = collisions_input(area, collisions, crs=crs)
    crimes, incidents_path = optional_incidents_input(area, incidents, crs=crs)
    window = years or latest_complete_years(crashes.data)
    in_years, (first, last) = collisions_in_years(crashes.data, window)
    coverage = window_coverage_note(crashes.data, window)
    result = assessment_costs(
        collisions=in_years,
        incidents=crimes.data if crimes else None,
        unit_costs=table,
        price_year=price_year,
    )
    out = io.output_dir(output_dir)
    written = [] if result.road is None else [io.write_csv(result.road, out / "costs_road.csv")]
    if result.crime is not None:
        written.append(io.write_csv(result.crime, out / "costs_crime.csv"))
    set_aside = pd.concat([crashes.set_aside, *([crimes.set_aside] if crimes else [])])
    if len(set_aside):  # 1-based file row, record id and reason of each row not used
        written.append(io.write_csv(set_aside, out / "costs_set_aside.csv"))
    crime_period = _months(crimes.data) if crimes else "no incidents"
    fig = cost_chart(
        result,
        title=f"Costs: collisions {first}-{last}; crime {crime_period} (different periods)",
        source=f"collisions {collisions_path.name}"
        + (f"; crime {incidents_path.name}" if incidents_path else ""),
    )
    written.append(io.write_png(fig, out / "costs.png"))
    span = f"{first}-{last}"
    _echo_tables(result, span, crime_period)
    no_crime = "none (pass --incidents for the cost of crime)"
    lines: list[tuple[str, object]] = [
        ("collisions file", collisions_path.name),
        ("incidents file", incidents_path.name if incidents_path else no_crime),
    ]
    lines += _summary_lines(result, (crashes, crimes, set_aside), in_years, span, crime_period)
    if coverage:
        lines.append(("note", coverage))
    lines += finish_run(
        out, command="costs", written=written, started=started,
        inputs=[collisions_path, incidents_path, None if isinstance(table, str) else unit_costs],
        options={"area": area, "years": [first, last], "price_year": price_year,
                 "unit_costs": unit_costs, "crs": crs},
        counts={"n_read": crashes.n_read + (crimes.n_read if crimes else 0), "n_used":
                len(in_years) + (len(crimes.data) if crimes else 0), "n_set_aside": len(set_aside)},
    )  # fmt: skip
    echo_summary("Run summary", lines)


def _echo_tables(result, years: str, crime_period: str) -> None:
    """Print the road-cost table and, with incidents, the crime-cost table."""
    click.echo(f"Road collisions {years}, value of prevention:")
    echo_table(_shown(result.road), ["severity", "collisions", "unit_cost_gbp", "cost_gbp"])
    click.echo("")
    if result.crime is not None:
        click.echo(f"Recorded crime ({crime_period}), cost by police.uk category:")
        echo_table(
            _shown(result.crime),
            ["category", "count", "unit_cost_category", "unit_cost_gbp", "cost_gbp"],
            max_rows=50,
        )
        click.echo("")


def _summary_lines(
    result, loaded, in_years, span: str, crime_period: str
) -> list[tuple[str, object]]:
    """Return the run-summary lines after the file names: records, years, costs, notes.

    ``loaded`` is (collisions, incidents or None, the rows of both set aside).
    """
    crashes, crimes, set_aside = loaded
    data = crashes.data
    n_crimes = len(crimes.data) if crimes else 0
    lines = set_aside_lines(
        crashes.n_read + (crimes.n_read if crimes else 0), len(in_years) + n_crimes, set_aside
    )
    if len(in_years) < len(data):
        lines.append(
            ("  outside the years", f"{len(data) - len(in_years):,} collisions (not costed)")
        )
    lines += [
        ("years", f"{span}: {len(in_years):,} collisions"),
        ("collision cost", f"\u00a3{result.road['cost_gbp'].iloc[-1]:,.0f}"),
        ("road values", result.road_note),
    ]
    if result.crime is not None:
        costed = result.crime.dropna(subset=["cost_gbp"])
        lines += [
            (
                "crime cost",
                f"\u00a3{costed['cost_gbp'].sum():,.0f} ({int(costed['count'].sum()):,} of "
                f"{int(result.crime['count'].sum()):,} incidents costed; {crime_period})",
            ),
            ("crime values", result.crime_note),
        ]
    lines += [
        ("note", n) for n in (*crashes.notes, *(crimes.notes if crimes else ()), *result.notes)
    ]
    return lines


def _shown(frame):
    """Frame for printing: money as £ text, missing values as '-'."""
    out = frame.copy()
    for column in ("unit_cost_gbp", "cost_gbp"):
        out[column] = [f"£{v:,.0f}" if v == v else "-" for v in out[column]]
    if "unit_cost_category" in out:
        out["unit_cost_category"] = (
            out["unit_cost_category"].astype("string").fillna("(no unit cost)")
        )
    return out


def _months(incidents) -> str:
    months = sorted(incidents["month"].dropna().unique())
    if not months:
        return "no months"
    return f"{len(months)} months, {months[0]} to {months[-1]}"
