"""``geo-sppa report``: the strategic assessment as one self-contained HTML file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from geo_sppa.cli.options import area_option, echo_summary, output_dir_option

__all__ = ["report", "report_inputs"]


def _clusters(area, collisions, price_year):
    """Cluster sites and their map, from the same inputs `geo-sppa clusters` uses."""
    from geo_sppa.bundled.inputs import cluster_inputs
    from geo_sppa.render.maps import cluster_map, self_contained_html
    from geo_sppa.roads.clusters import cluster_sites

    inputs = cluster_inputs(area, collisions=collisions)
    data = inputs.collisions.data
    result = cluster_sites(
        data, roads=inputs.roads, price_year=price_year, source=inputs.collisions_path.name
    )
    in_window = data[data["year"].between(*result.window)]
    fmap = cluster_map(
        result.sites,
        in_window,
        roads=inputs.context_roads,
        wards=inputs.wards,
        tiles=None,
        radius_m=result.rule.radius_m if result.mode == "radius" else None,
        title=f"Accident cluster sites {result.window[0]}-{result.window[1]}",
    )
    return result, self_contained_html(fmap), inputs.collisions


def _outliers(area, incidents, category, seed):
    from geo_sppa.cli.wards import load_ward_rates
    from geo_sppa.render.charts import funnel_chart, outlier_scatter
    from geo_sppa.render.maps import self_contained_html, ward_map
    from geo_sppa.wards.outliers import outlier_report

    rates, loaded, described = load_ward_rates(
        area=area,
        wards_path=None,
        ward_code_column=None,
        ward_name_column=None,
        ward_set=None,
        incidents=incidents,
        category=category,
        imd_choice=None,
        population_path=None,
        lsoas_path=None,
        lookup_path=None,
        crs=None,
    )
    measure = rates.imd_measure
    result = outlier_report(rates.data, measure=measure, rng=seed)
    frame = result.data
    title = f"{rates.category}, {len(rates.months)} months: wards against {measure}"
    charts = {
        f"{rates.category}: rate per 1,000 against {measure}": outlier_scatter(
            frame, result.fit, title=title
        ),
        f"{rates.category}: funnel plot": funnel_chart(
            frame, result.overdispersion, title=f"{rates.category}: funnel plot"
        ),
    }
    layers = tuple(c for c in ("label", measure, "rate_per_1000", "hotspot") if c in frame.columns)
    page = self_contained_html(ward_map(frame, layers=layers, title=title, tiles=None))
    source = (
        f"{described['incidents']} ({rates.category}, {len(rates.months)} months: {', '.join(rates.months)}); "
        f"wards {described['wards']}; {described['imd']}"
    )
    return result, charts, page, source, loaded


def report_inputs(
    *, area, collisions, incidents, themes, category, price_year, unit_costs, threshold, seed
):
    """Run every analysis of the assessment and return ``(ReportInputs, run-summary lines)``."""
    from geo_sppa.assessment.crime_costs import assessment_costs, cost_chart
    from geo_sppa.assessment.risk import risk_chart, risk_matrix
    from geo_sppa.assessment.trends import trend_charts
    from geo_sppa.bundled.areas import bundled_area, default_risk_themes
    from geo_sppa.cli.costs import load_unit_costs
    from geo_sppa.cli.trends import load_trends
    from geo_sppa.io import read_table
    from geo_sppa.render.report_html import ReportInputs

    bundle = bundled_area(area)
    own = collisions is not None
    collisions_path = (
        Path(collisions) if own else bundle.require("collisions", option="--collisions")
    )
    incidents_path = Path(incidents) if incidents else bundle.incidents

    clusters, cluster_page, crashes = _clusters(area, collisions, price_year)
    if incidents_path is not None and bundle.wards and bundle.population:
        outliers, outlier_figs, ward_page, outlier_source, crimes = _outliers(
            area, incidents, category, seed
        )
    else:
        from geo_sppa import io

        outliers, outlier_figs, ward_page = None, {}, None
        outlier_source = (
            f"not available: the area {area!r} has no bundled wards, population or incidents"
        )
        crimes = io.read_incidents(incidents_path) if incidents_path else None
    trends, _, _ = load_trends(
        area=area,
        collisions=collisions,
        population=None,
        years=None,
        baseline_year=None,
        end_date=None,
        crs=None,
        loaded=crashes,
    )
    costs = assessment_costs(
        collisions=crashes.data,
        incidents=crimes.data if crimes else None,
        unit_costs=load_unit_costs(unit_costs),
        price_year=price_year,
    )
    themes_path = Path(themes) if themes else default_risk_themes(area)
    matrix = risk_matrix(
        read_table(themes_path, what="risk matrix", option="--themes"),
        threshold=threshold,
        source=themes_path.name,
    )
    years = f"{int(crashes.data['year'].min())}-{int(crashes.data['year'].max())}"
    months = sorted(crimes.data["month"].dropna().unique()) if crimes else []
    crime_name = incidents_path.name if incidents_path else "no incidents"
    sources = {
        "summary": f"{collisions_path.name} ({years}); {crime_name} ({len(months)} months); {themes_path.name}",
        "clusters": f"{collisions_path.name}, window {clusters.window[0]}-{clusters.window[1]} ({clusters.mode} mode)",
        "outliers": outlier_source,
        "trends": f"{collisions_path.name}, {trends.start:%d %b %Y} to {trends.end:%d %b %Y}"
        + (
            f"; population {trends.population:,.0f} ({bundle.population.name})"
            if trends.population
            else ""
        ),
        "costs": f"collisions {collisions_path.name} ({years}); crime {crime_name} "
        f"({len(months)} months: {', '.join(months)})",
        "risk": themes_path.name
        + ("" if themes else " (the 2012 Safer Peterborough Partnership matrix, bundled example)"),
    }
    captions = {
        "trends_by_year.png": "Collisions by year and severity (* partial year)",
        "trends_rolling.png": "Monthly collisions and the rolling 12-month count and rate",
        "trends_seasonality.png": "Seasonality: collisions by month of year",
        "trends_road_users.png": "Collisions by road user involved",
    }
    inputs = ReportInputs(
        title=f"Strategic assessment: {bundle.title if not own else collisions_path.name}",
        area=bundle.title,
        clusters=clusters,
        cluster_map_html=cluster_page,
        outliers=outliers,
        outlier_charts=outlier_figs,
        ward_map_html=ward_page,
        trends=trends,
        trend_charts={captions[k]: v for k, v in trend_charts(trends).items()},
        costs=costs,
        cost_chart=cost_chart(costs),
        risk=matrix,
        risk_chart=risk_chart(matrix, threshold=threshold),
        risk_threshold=threshold,
        sources=sources,
        road_period=f"{trends.start:%d %b %Y} to {trends.end:%d %b %Y}",
        crime_period=f"{len(months)} months, {months[0]} to {months[-1]}" if months else "",
        generated=f"generated {date.today():%d %B %Y} by geo-sppa",
    )
    lines: list[tuple[str, object]] = [
        (
            "collisions",
            f"{collisions_path.name}: {crashes.n_read:,} read, {len(crashes.data):,} used, "
            f"{len(crashes.set_aside):,} set aside",
        ),
        (
            "incidents",
            f"{incidents_path.name}: {crimes.n_read:,} read, {len(crimes.data):,} used, "
            f"{len(crimes.set_aside):,} set aside"
            if crimes
            else "none",
        ),
        ("risk themes", f"{themes_path.name}: {len(matrix)} read, {len(matrix)} used, 0 set aside"),
        ("cluster sites", f"{len(clusters.sites)} in {clusters.window[0]}-{clusters.window[1]}"),
        (
            "flagged wards",
            f"{int((outliers.data['label'].astype('string').fillna('') != '').sum())}"
            if outliers is not None
            else outlier_source,
        ),
        ("trend", trends.direction),
        ("top risk", f"{matrix.iloc[0]['theme']} ({matrix.iloc[0]['risk']:g})"),
    ]
    return inputs, lines


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
    help="Risk-matrix CSV (default: the 2012 Peterborough matrix).",
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
    """The strategic assessment in one self-contained HTML file.

    Runs the cluster-site scan, the ward outliers, the collision trends, the costs and the risk
    matrix, and writes one HTML page with an executive summary, tables, charts (inline PNG) and maps
    (inline, no internet needed), each section saying which data and years it used.

    \b
    Example:
        geo-sppa report                          # Peterborough, maps/report.html
        geo-sppa report --themes themes_2025.csv --price-year 2009 -o out/
    """  # noqa: D301
    from geo_sppa import io
    from geo_sppa.render.report_html import assessment_report, executive_summary

    inputs, lines = report_inputs(
        area=area,
        collisions=collisions,
        incidents=incidents,
        themes=themes,
        category=category,
        price_year=price_year,
        unit_costs=unit_costs,
        threshold=threshold,
        seed=seed,
    )
    out = io.output_dir(output_dir)
    path = io.write_text(assessment_report(inputs), out / name)
    click.echo("Executive summary:")
    for point in executive_summary(inputs):
        click.echo(f"  - {point}")
    click.echo("")
    lines.append(("wrote", f"{path} ({path.stat().st_size / 1e6:.1f} MB)"))
    echo_summary("Run summary", lines)
