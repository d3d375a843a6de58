"""``geo-sppa report``: the strategic assessment as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

import click

from geo_sppa.cli.options import (
    area_option,
    collisions_file_option,
    echo_summary,
    incidents_file_option,
    output_dir_option,
    parse_file_name,
    seed_option,
    sites_option,
    threshold_option,
    treated_option,
    years_option,
)

__all__ = ["report"]

#: Options recorded in run.json (the input files are recorded with their checksums).
_RECORDED = ("area", "years", "ward_set", "imd", "suppress_below", "category", "price_year",
             "unit_costs", "threshold", "seed", "name", "pdf")  # fmt: skip


@click.command("report")
@area_option
@collisions_file_option
@incidents_file_option
@click.option(
    "--themes",
    type=click.Path(),
    default=None,
    help="Risk-matrix CSV (default: the area's own; Peterborough: the 2012 matrix; other "
    "areas have none, and the report says so).",
)
@years_option
@click.option(
    "--roads",
    default=None,
    metavar="PATH|osm",
    help="Road network for the cluster scan, or 'osm' to fetch one (default: the area's).",
)
@click.option(
    "--ward-set",
    type=click.Choice(["2013", "2022"]),
    default=None,
    help="Ward boundaries of the ward outliers (default: the area's).",
)
@click.option(
    "--imd",
    default=None,
    metavar="2010|2019|2025|PATH",
    help="Deprivation of the ward outliers: bundled IMD 2010, 2019 or 2025, or an IoD CSV "
    "(default: the area's).",
)
@click.option(
    "--suppress-below",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Show ward counts from 1 to N-1 as '<N' (for sensitive categories).",
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
@threshold_option
@seed_option
@treated_option()
@sites_option
@click.option(
    "--name",
    default="report.html",
    show_default=True,
    callback=parse_file_name,
    help="File name of the report (in the -o folder).",
)
@click.option(
    "--pdf",
    is_flag=True,
    help="Also print the report to PDF (A4, a page per section) with headless Chromium.",
)
@output_dir_option
def report(
    area,
    collisions,
    incidents,
    themes,
    years,
    roads,
    ward_set,
    imd,
    suppress_below,
    category,
    price_year,
    unit_costs,
    threshold,
    seed,
    name,
    pdf,
    treated,
    sites,
    output_dir,
) -> None:
    """Write the strategic assessment as one self-contained HTML file.

    Runs the cluster-site scan, the ward outliers, the collision trends, the costs and the risk
    matrix, and writes one HTML page with an executive summary, tables, charts (inline PNG) and maps
    (inline, no internet needed), each section saying which data and years it used, with
    recommendations and the records set aside per input; clusters.csv with every cluster site,
    report_set_aside.csv when any record was set aside, with --pdf the report as a PDF, and
    run.json last.
    --years sets the window of the cluster scan, trends and road costs (default: the latest
    three complete years, as the commands choose it). With --treated (and --sites), an "Effect
    of schemes" section evaluates the treated sites as geo-sppa evaluate does.

    \b
    Example:
        geo-sppa report                          # Peterborough, maps/report.html
        geo-sppa report --themes themes_2025.csv --price-year 2009 -o out/
        geo-sppa report --area leeds-central --themes leeds_themes.csv --years 2017-2019
        geo-sppa report --pdf                    # also maps/report.pdf
        geo-sppa report --area leeds-central --treated schemes.csv --sites out/clusters.csv
    """  # noqa: D301
    from geo_sppa import io
    from geo_sppa.assessment.pipeline import strategic_assessment
    from geo_sppa.cli import run_record as rr
    from geo_sppa.render.report_html import assessment_report, executive_summary
    from geo_sppa.render.report_page import report_inputs, require_pdf_printer

    started = rr.run_started()
    if pdf:
        require_pdf_printer()  # before the analyses, not after them

    assessment = strategic_assessment(
        area, collisions=collisions, incidents=incidents, themes=themes, years=years, roads=roads,
        ward_set=ward_set, imd=imd, suppress_below=suppress_below, category=category,
        price_year=price_year, unit_costs=unit_costs, threshold=threshold, seed=seed,
        treated=treated, sites=sites,
    )  # fmt: skip
    set_aside = assessment.set_aside
    aside_file = "report_set_aside.csv" if len(set_aside) else ""
    inputs = report_inputs(assessment, full_list="clusters.csv", set_aside_file=aside_file)
    out = io.output_dir(output_dir)
    path, written = _write_report(assessment, assessment_report(inputs), out, name, pdf=pdf)
    click.echo("\n".join(["Executive summary:", *(f"  - {p}" for p in executive_summary(inputs))]))
    click.echo("")
    lines = [*assessment.summary_lines()]
    files, n = rr.assessment_record(assessment, roads=roads, unit_costs=unit_costs,
                                    ward_set=ward_set, imd=imd)  # fmt: skip
    files += [Path(f) for f in (treated, sites) if f]
    lines.append(("set aside", f"{n['n_set_aside']:,} records across the inputs"))
    options = {k: v for k, v in locals().items() if k in _RECORDED}
    run = rr.finish_run(out, command="report", written=[path, *written], started=started,
                        inputs=files, options=options, counts=n)  # fmt: skip
    size = f" ({path.stat().st_size / 1e6:.1f} MB)"
    lines += [(k, v + size if v == str(path) else v) for k, v in run]
    echo_summary("Run summary", lines)


def _write_report(assessment, page: str, out: Path, name: str, *, pdf: bool):
    """Write the page, clusters.csv, report_set_aside.csv (when any) and the PDF (when asked)."""
    from geo_sppa import io
    from geo_sppa.io.writers import atomic_path
    from geo_sppa.render.report_page import report_pdf

    written = [io.write_csv(assessment.clusters.sites, out / "clusters.csv")]
    if len(assessment.set_aside):
        written.append(io.write_csv(assessment.set_aside, out / "report_set_aside.csv"))
    path = io.write_text(page, out / name)
    if pdf:
        printed, pdf_path = report_pdf(page), (out / name).with_suffix(".pdf")
        with atomic_path(pdf_path) as partial:
            partial.write_bytes(printed)
        written.append(pdf_path)
    return path, written
