"""``geo-sppa clusters``: accident cluster sites, ranked, with a map."""

from __future__ import annotations

from typing import Any

import click

from geo_sppa.cli.cluster_options import (
    cluster_rule_options,
    no_eb_option,
    rank_by_option,
    rule_from_options,
    scan_output_options,
)
from geo_sppa.cli.input_options import collision_columns, collision_file_options, parts_options
from geo_sppa.cli.options import area_option, output_dir_option, years_option
from geo_sppa.cli.progress import Progress
from geo_sppa.cli.summary import (
    cluster_summary_lines,
    echo_cluster_table,
    echo_summary,
    finish_run,
)


@click.command("clusters")
@area_option
@click.option(
    "--roads",
    default=None,
    metavar="PATH|osm",
    help="Road network line layer for the 100 m segment and junction scan, or 'osm' to fetch one. "
    "Without it: radius mode (50 m circles), unless the area bundles a network.",
)
@click.option(
    "--keep-service-roads",
    is_flag=True,
    help="Keep highway=service ways (car parks, alleys, private access) in the network scan; "
    "by default they are left out so they do not swallow collisions on the public road.",
)
@click.option("--radius-mode", is_flag=True, help="Radius mode even where the area has roads.")
@years_option
@cluster_rule_options
@scan_output_options
@rank_by_option
@no_eb_option
@collision_file_options
@parts_options
@click.option("--no-map", is_flag=True, help="Skip the HTML map and the printable site dossier.")
@output_dir_option
def clusters(**options: Any) -> None:
    """Find accident cluster sites: junctions and 100 m lengths of road with many injury collisions.

    A site qualifies, in a 3-year window, under the rule (default spp): 6+ injury collisions, or
    3+ fatal/serious, or 5+ injury collisions including 1+ fatal/serious. Sites are ranked by
    casualty cost (DfT average value of prevention; --rank-by ksi, total or score otherwise) and
    labelled new, persistent or resolved against the previous 3-year window. Each site also gets
    Empirical Bayes estimates against a safety performance function fitted over every junction
    and 100 m of road (radius mode: every grid cell) of the area, so regression to the mean shows
    (eb_expected, eb_excess, rtm_share; --rank-by eb-excess; --no-eb skips them).

    Writes clusters.csv, clusters_collisions.csv (one row per collision in a site, with its
    conditions), clusters_factors.csv (each site's conditions against the whole area, with an
    exact binomial over-representation test), clusters.gpkg, clusters.geojson, clusters.html (the
    map), clusters_sites.html (a printable dossier, one A4 page per site, the top 200 by
    default: --dossier-sites) and
    clusters_set_aside.csv into the output folder.

    \b
    Example:
        geo-sppa clusters
        geo-sppa clusters --area leeds-central --years 2017-2019
        geo-sppa clusters --collisions dft-road-casualty-statistics-collision-2023.csv \\
            --roads oproad_roadlink.gpkg --rule wales-trunk -o out/
    """
    _run(options)


#: Options recorded in run.json (the rest are file paths, recorded with checksums, or columns).
_RECORDED = ("area", "years", "radius_mode", "length_m", "radius_m", "junction_radius_m",
             "keep_service_roads", "snap_tolerance_m", "price_year", "crs",
             "date_format", "rank_by", "dossier_sites", "no_eb")  # fmt: skip
_INPUT_FILES = ("study_area", "vehicles", "casualties")


def _run(o: dict[str, Any]) -> None:
    """Read, scan, draw, write and report one cluster run from the parsed options ``o``."""
    from datetime import datetime, timezone

    from geo_sppa import io
    from geo_sppa.bundled.inputs import cluster_inputs
    from geo_sppa.cli.cluster_pages import cluster_pages
    from geo_sppa.io.stats19_parts import inputs_with_parts
    from geo_sppa.roads.clusters import cluster_sites
    from geo_sppa.roads.flow import flow_summary, with_site_flows

    started = datetime.now(timezone.utc)
    out = io.output_dir(o["output_dir"])  # fail before the work, not after it
    lengths = {k: o[k] for k in ("length_m", "radius_m", "junction_radius_m")}
    rule = rule_from_options(o["rule_name"], o["clauses"], **lengths)
    with Progress(["reading inputs", "cluster scan", "map", "writing outputs"]) as progress:
        with progress.stage("reading inputs"):
            inputs = cluster_inputs(
                o["area"],
                collisions=o["collisions"],
                roads=o["roads"],
                study_area=o["study_area"],
                crs=o["crs"],
                columns=collision_columns(**{k: v for k, v in o.items() if k.endswith("_column")}),
                date_format=o["date_format"],
                radius_mode=o["radius_mode"],
                keep_service_roads=o["keep_service_roads"],
                cache_dir=out,
                with_context=not o["no_map"],
                counts=o["counts"],
            )
            inputs, parts_aside = inputs_with_parts(
                inputs, vehicles=o["vehicles"], casualties=o["casualties"]
            )
        with progress.stage("cluster scan"):
            result = cluster_sites(
                inputs.collisions.data,
                roads=inputs.roads,
                rule=rule,
                years=o["years"],
                price_year=o["price_year"],
                snap_tolerance_m=o["snap_tolerance_m"],
                source=inputs.collisions_path.name,
                rank_by=o["rank_by"],
                eb=not o["no_eb"],
                roads_source=inputs.roads_source or "roads",
            )
            result = with_site_flows(result, inputs.collisions.data, inputs.count_points)
            tables = io.cluster_tables(result, inputs)
        with progress.stage("map"):
            pages, page_notes = (
                ({}, []) if o["no_map"] else cluster_pages(result, inputs, o, tables)
            )
        with progress.stage("writing outputs"):
            written, set_aside = io.write_cluster_outputs(
                result, inputs, out, parts_set_aside=parts_aside, tables=tables, **pages
            )
    echo_cluster_table(result)
    lines = cluster_summary_lines(result, inputs, set_aside)
    lines += [
        (k, n) for k, n in [*page_notes, ("traffic flow", flow_summary(inputs, result.sites))] if n
    ]
    roads_file = o["roads"] if o["roads"] not in (None, "osm") else None
    files = [inputs.collisions_path, roads_file, *(o[k] for k in _INPUT_FILES)]
    lines += finish_run(
        out,
        command="clusters",
        written=written,
        started=started,
        inputs=[*files, inputs.count_points_path],
        options={"rule": rule.name, **{k: o[k] for k in _RECORDED}},
        counts={
            "n_read": inputs.collisions.n_read,
            "n_set_aside": len(set_aside),
            "n_sites": len(result.sites),
            **result.counts,
        },  # fmt: skip
    )
    echo_summary("Run summary", lines)
