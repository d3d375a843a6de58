"""The map and printable site dossier of a ``geo-sppa clusters`` run."""

from __future__ import annotations

from typing import Any

__all__ = ["cluster_pages"]


def cluster_pages(
    result: Any, inputs: Any, o: dict[str, Any], tables: Any
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Return the map and dossier HTML (write_cluster_outputs keywords) and their notes.

    ``tables`` is :func:`geo_sppa.io.outputs.cluster_tables` of the run.
    """
    from geo_sppa.render.dossier import dossier_note

    page, note = _map_html(result, inputs, o["dossier_sites"], tables.in_window)
    dossier = _dossier_html(result, inputs, o["dossier_sites"] or None, tables)
    notes = [
        ("map", note),
        ("dossier", dossier_note(len(result.sites), o["dossier_sites"] or None)),
    ]
    return {"map_html": page, "dossier_html": dossier}, notes


def _map_html(result, inputs, dossier_sites: int, in_window) -> tuple[str, str]:
    """Return the self-contained HTML cluster map of the run and the note of what it draws."""
    # Not via render.maps: that also loads the ward map and mapclassify (about a second).
    from geo_sppa.io.outputs import cluster_run_info
    from geo_sppa.render.cluster_map import cluster_map, cluster_map_contents
    from geo_sppa.render.web_map import self_contained_html

    fmap = cluster_map(
        result.sites,
        in_window,
        roads=inputs.context_roads,
        wards=inputs.wards,
        title=str(cluster_run_info(result, inputs)["title"]),
        radius_m=result.rule.radius_m if result.mode == "radius" else None,
        dossier_sites=dossier_sites,
    )
    return self_contained_html(fmap), cluster_map_contents(fmap).note


def _dossier_html(result, inputs, max_sites: int | None, tables) -> str:
    """Return the printable site dossier of the run, its plans drawn on the run's roads."""
    from geo_sppa.io.outputs import cluster_run_info
    from geo_sppa.render.dossier import site_dossier_html

    return site_dossier_html(
        result.sites,
        tables.collisions,
        tables.factors,
        title=str(cluster_run_info(result, inputs)["title"]),
        window=result.window,
        roads=inputs.roads if inputs.roads is not None else inputs.context_roads,
        max_sites=max_sites,
    )
