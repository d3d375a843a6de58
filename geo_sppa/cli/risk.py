"""``geo-sppa risk``: the partnership risk matrix (harm x partnership gaps), ranked."""

from __future__ import annotations

import click

from geo_sppa.cli.options import (
    area_option,
    echo_summary,
    echo_table,
    output_dir_option,
    threshold_option,
)

__all__ = ["risk"]


@click.command("risk")
@area_option
@click.option(
    "--themes",
    "themes_path",
    type=click.Path(),
    default=None,
    help="CSV of themes: theme, [group], impact and frequency (or harm_score), "
    "partnership_gaps_score. Default: the area's own matrix (Peterborough: the 2012 matrix; "
    "other areas have none and need --themes).",
)
@threshold_option
@output_dir_option
def risk(area, themes_path, threshold, output_dir) -> None:
    """Partnership risk matrix: harm = impact x frequency, risk = harm x gaps, ranked.

    Each theme is scored for impact and frequency (harm is their product; a theme may give its
    harm score directly) and for the gaps in the partnership's response. Themes at or above
    --threshold are the priorities. With no --themes the area's own matrix is used: for
    Peterborough the 2012 Safer Peterborough Partnership matrix, whose published risk scores are
    checked; an area without one (leeds-central) needs --themes.

    Writes risk_matrix.csv, risk_matrix.png and run.json into the output folder.

    \b
    Example:
        geo-sppa risk
        geo-sppa risk --themes our_themes_2025.csv --threshold 40 -o out/
    """  # noqa: D301
    from geo_sppa import io
    from geo_sppa.assessment.risk import published_differences, risk_matrix
    from geo_sppa.bundled.inputs import area_risk_themes_input, no_risk_matrix_text
    from geo_sppa.cli.run_record import finish_run, run_started
    from geo_sppa.errors import InputError
    from geo_sppa.render.charts import risk_chart

    started = run_started()
    themes = area_risk_themes_input(area, themes_path)
    if themes is None:
        raise InputError(no_risk_matrix_text(area))
    path, raw = themes.path, themes.table
    matrix = risk_matrix(raw, threshold=threshold, source=path.name)
    out = io.output_dir(output_dir)
    written = [io.write_csv(matrix, out / "risk_matrix.csv")]
    figure = risk_chart(matrix, threshold=threshold, source=path.name)
    written.append(io.write_png(figure, out / "risk_matrix.png"))

    click.echo(f"Risk matrix ({path.name}), ranked; priority: risk >= {threshold:g}:")
    echo_table(
        matrix.assign(priority=matrix["priority"].map({True: "PRIORITY", False: ""})),
        ["rank", "group", "theme", "harm", "gaps", "risk", "priority"],
        max_rows=100,
        formats={"harm": "g", "gaps": "g", "risk": "g"},
    )
    click.echo("")
    lines: list[tuple[str, object]] = [
        ("themes file", path.name),
        ("records read", f"{len(raw):,}"),
        ("records used", f"{len(matrix):,}"),
        ("set aside", "0 (none)"),
        ("priorities", f"{int(matrix['priority'].sum())} themes with risk >= {threshold:g}"),
    ]
    differ = published_differences(matrix)
    if differ is not None:
        lines.append(
            (
                "published scores",
                "all reproduced" if differ == 0 else f"{differ} differ from harm x gaps",
            )
        )
    lines += finish_run(
        out,
        command="risk",
        written=written,
        started=started,
        inputs=[path],
        options={"area": area, "threshold": threshold},
        counts={
            "n_read": len(raw),
            "n_used": len(matrix),
            "n_set_aside": 0,
            "n_priorities": int(matrix["priority"].sum()),
        },
    )
    echo_summary("Run summary", lines)
