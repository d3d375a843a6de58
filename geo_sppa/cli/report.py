"""``geo-sppa report``: the strategic assessment as one self-contained HTML file."""

from __future__ import annotations

import click

from geo_sppa.cli.options import area_option, echo_summary, output_dir_option

__all__ = ["report"]


@click.command("report")
@area_option
@click.option(
    "--collisions", type=click.Path(), default=None, help="Collision CSV (default: the area's)."
)
@click.option(
    "--incidents",
    type=click.Path(),
    default=None,
    help="police.uk street.csv file(s) (default: the area's).",
)
@click.option(
    "--themes",
    type=click.Path(),
    default=None,
    help="Risk-matrix CSV (default: the area's own; Peterborough: the 2012 matrix; other "
    "areas have none, and the report says so).",
)
@click.option(
    "--category",
    default="Anti-social behaviour",
    show_default=True,
    help="police.uk crime type for the ward outliers.",
)
@click.option(
    "--price-year",
    type=int,
    default=None,
    help="Price year of the DfT value of prevention (default: latest).",
)
@click.option(
    "--unit-costs",
    default="ho2005",
    show_default=True,
    metavar="ho2005|ho2018|spp2012|PATH",
    help="Unit costs of crime.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Risk-matrix priority threshold.",
)
@click.option(
    "--seed",
    type=int,
    default=12345,
    show_default=True,
    help="Seed of the Moran's I permutation test.",
)
@click.option("--name", default="report.html", show_default=True, help="File name of the report.")
@output_dir_option
def report(
    area,
    collisions,
    incidents,
    themes,
    category,
    price_year,
    unit_costs,
    threshold,
    seed,
    name,
    output_dir,
) -> None:
    """Write the strategic assessment as one self-contained HTML file.

    Runs the cluster-site scan, the ward outliers, the collision trends, the costs and the risk
    matrix, and writes one HTML page with an executive summary, tables, charts (inline PNG) and maps
    (inline, no internet needed), each section saying which data and years it used.

    \b
    Example:
        geo-sppa report                          # Peterborough, maps/report.html
        geo-sppa report --themes themes_2025.csv --price-year 2009 -o out/
    """  # noqa: D301
    from geo_sppa import io
    from geo_sppa.assessment.pipeline import strategic_assessment
    from geo_sppa.render.report_html import assessment_report, executive_summary
    from geo_sppa.render.report_page import report_inputs

    assessment = strategic_assessment(
        area,
        collisions=collisions,
        incidents=incidents,
        themes=themes,
        category=category,
        price_year=price_year,
        unit_costs=unit_costs,
        threshold=threshold,
        seed=seed,
    )
    inputs = report_inputs(assessment)
    out = io.output_dir(output_dir)
    path = io.write_text(assessment_report(inputs), out / name)
    click.echo("Executive summary:")
    for point in executive_summary(inputs):
        click.echo(f"  - {point}")
    click.echo("")
    lines = [*assessment.summary_lines()]
    lines.append(("wrote", f"{path} ({path.stat().st_size / 1e6:.1f} MB)"))
    echo_summary("Run summary", lines)
