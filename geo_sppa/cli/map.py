"""``geo-sppa map``: re-render saved results as self-contained HTML maps."""

from __future__ import annotations

from pathlib import Path

import click

from geo_sppa.cli.options import echo_summary


@click.group("map")
def map_group() -> None:
    """Re-render saved results (GeoPackage) as self-contained HTML maps, without re-running.

    \b
    Example:
        geo-sppa map clusters maps/clusters.gpkg
        geo-sppa map wards maps/outliers.gpkg
    """  # noqa: D301


@map_group.command("clusters")
@click.argument("results", type=click.Path(), default="maps/clusters.gpkg")
@click.option(
    "--area",
    type=click.Choice(["peterborough", "leeds-central"]),
    default=None,
    help="Bundled area for context layers (default: the area the results were made for).",
)
@click.option(
    "--no-context", is_flag=True, help="Leave out the bundled area's roads and ward boundaries."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="HTML file to write (default: beside RESULTS, same name with .html).",
)
def clusters_map(results: str, area: str | None, no_context: bool, output: str | None) -> None:
    """Redraw the cluster map from a clusters.gpkg written by `geo-sppa clusters`.

    \b
    Example:
        geo-sppa map clusters maps/clusters.gpkg -o cluster-sites.html
    """  # noqa: D301
    from geo_sppa import io
    from geo_sppa.bundled.inputs import map_context_input
    from geo_sppa.render.maps import cluster_map, self_contained_html

    sites = io.read_results(results, layer="clusters")
    collisions = io.read_results(results, layer="collisions")
    run = io.read_run_info(results)
    context_area = area or str(run.get("area") or "")
    roads, wards = (None, None) if no_context else map_context_input(context_area)
    radius = run.get("radius_m") if run.get("mode") == "radius" else None
    radius_m = float(radius) if isinstance(radius, (int, float)) else None
    title = str(run.get("title") or f"Accident cluster sites: {Path(results).name}")
    html = self_contained_html(
        cluster_map(sites, collisions, roads=roads, wards=wards, radius_m=radius_m, title=title)
    )
    path = io.write_text(html, output or Path(results).with_suffix(".html"))
    echo_summary(
        "Map",
        [
            ("sites", f"{len(sites):,}"),
            ("collisions", f"{len(collisions):,}"),
            ("wrote", str(path)),
        ],
    )


@map_group.command("wards")
@click.argument("results", type=click.Path(), default="maps/outliers.gpkg")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="HTML file to write (default: beside RESULTS, same name with .html).",
)
def wards_map(results: str, output: str | None) -> None:
    """Redraw the ward map from a wards.gpkg or outliers.gpkg (`geo-sppa wards` or `outliers`).

    \b
    Example:
        geo-sppa map wards maps/wards.gpkg
    """  # noqa: D301
    from geo_sppa import io
    from geo_sppa.render.maps import self_contained_html, ward_map

    wards = io.read_results(results)
    layers = tuple(
        c for c in ("imd_score", "imd_rank_popweighted", "rate_per_1000", "label") if c in wards
    )
    html = self_contained_html(ward_map(wards, layers=layers, title=f"Wards: {Path(results).name}"))
    path = io.write_text(html, output or Path(results).with_suffix(".html"))
    echo_summary(
        "Map", [("wards", f"{len(wards):,}"), ("layers", ", ".join(layers)), ("wrote", str(path))]
    )
