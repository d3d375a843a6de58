"""``geo-sppa map``: re-render saved results as self-contained HTML maps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from geo_sppa.cli.options import echo_summary
from geo_sppa.cli.run_record import finish_run, run_started


def _output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``-o/--output-dir`` (a folder, as for every command) and ``--name``."""
    command = click.option(
        "--name",
        default=None,
        help="File name of the map (default: RESULTS' name with _map.html, so the command's own "
        "map is never overwritten).",
    )(command)
    return click.option(
        "-o",
        "--output-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Folder for the map (default: the folder of RESULTS); created if missing.",
    )(command)


def _map_path(results: str, output_dir: str | None, name: str | None) -> Path:
    """Return where the redrawn map goes: ``output_dir/name``, by default ``<stem>_map.html``."""
    from geo_sppa import io

    folder = io.output_dir(output_dir) if output_dir else Path(results).parent
    return folder / (name or f"{Path(results).stem}_map.html")


def _finish_map(
    kind: str, path: Path, inputs: list, options: dict, counts: dict, started: Any
) -> list[tuple[str, str]]:
    """Record the map in its folder's run.json, under ``map <kind> <file name>``.

    Keyed by the map's file, so redrawing one map never removes another (``wards_map.html``
    and ``outliers_map.html`` are both ``map wards`` maps).
    """
    return finish_run(path.parent, command=f"map {kind} {path.name}", written=[path],
                      started=started, inputs=inputs, options=options, counts=counts)  # fmt: skip


def _context_files(area: str) -> list[Path]:
    """Return the bundled files the context layers of ``area`` are read from."""
    from geo_sppa.bundled.areas import bundled_area

    if not area:
        return []
    bundle = bundled_area(area)
    chosen = bundle.default_ward_set
    return [p for p in (bundle.roads or bundle.context_roads, bundle.wards.get(chosen or ""))
            if p]  # fmt: skip


@click.group("map")
def map_group() -> None:
    """Re-render saved results (GeoPackage) as self-contained HTML maps, without re-running.

    The map goes into the folder of RESULTS (or -o DIR) as <name>_map.html, beside and never over
    the map the command wrote.

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
@_output_options
def clusters_map(
    results: str, area: str | None, no_context: bool, output_dir: str | None, name: str | None
) -> None:
    """Redraw the cluster map from a clusters.gpkg written by `geo-sppa clusters`.

    \b
    Example:
        geo-sppa map clusters maps/clusters.gpkg -o redrawn/ --name cluster-sites.html
    """  # noqa: D301
    from geo_sppa import io
    from geo_sppa.bundled.inputs import map_context_input
    from geo_sppa.render.maps import cluster_map, self_contained_html

    started = run_started()
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
    path = io.write_text(html, _map_path(results, output_dir, name))
    counts = {"sites": len(sites), "collisions": len(collisions)}
    context = [] if no_context else _context_files(context_area)
    options = {"area": context_area, "no_context": no_context, "name": path.name}
    lines = _finish_map("clusters", path, [results, *context], options, counts, started)
    echo_summary("Map", [*((k, f"{v:,}") for k, v in counts.items()), *lines])


@map_group.command("wards")
@click.argument("results", type=click.Path(), default="maps/outliers.gpkg")
@_output_options
def wards_map(results: str, output_dir: str | None, name: str | None) -> None:
    """Redraw the ward map from a wards.gpkg or outliers.gpkg (`geo-sppa wards` or `outliers`).

    \b
    Example:
        geo-sppa map wards maps/wards.gpkg
    """  # noqa: D301
    from geo_sppa import io
    from geo_sppa.render.maps import self_contained_html, ward_map
    from geo_sppa.wards.deprivation import deprivation_measure

    started = run_started()
    wards = io.read_results(results)
    run = io.read_run_info(results)
    measure = deprivation_measure(wards)  # one deprivation layer: the table's overall measure
    layers = tuple(c for c in (measure, "rate_per_1000", "label") if c in wards)
    months = tuple(str(run.get("months") or "").split()) if run.get("months") else ()
    page = ward_map(
        wards,
        layers=layers,
        title=f"Wards: {Path(results).name}",
        category=str(run.get("category") or ""),
        months=months,
    )
    html = self_contained_html(page)
    path = io.write_text(html, _map_path(results, output_dir, name))
    counts = {"wards": len(wards), "layers": list(layers)}
    lines = _finish_map("wards", path, [results], {"name": path.name}, counts, started)
    echo_summary("Map", [("wards", f"{len(wards):,}"), ("layers", ", ".join(layers)), *lines])
