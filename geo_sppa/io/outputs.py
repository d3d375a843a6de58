"""Write the whole set of outputs of a cluster run, each file atomically.

``geo-sppa clusters`` writes ``clusters.csv``, ``clusters_collisions.csv`` (one row per
collision in a site, :func:`geo_sppa.roads.factors.site_collisions`), ``clusters_factors.csv``
(:func:`geo_sppa.roads.factors.site_factors`), ``clusters.gpkg`` (layers ``clusters``,
``collisions`` of the window with the columns of :data:`GPKG_COLLISION_COLUMNS`, and a one-row
``run`` table so ``geo-sppa map clusters`` can redraw), ``clusters.geojson``,
``clusters_resolved.csv`` when sites were resolved, ``clusters_set_aside.csv`` and, when
given, the map's HTML (``clusters.html``) and the printable site dossier
(``clusters_sites.html``, :mod:`geo_sppa.render.dossier`). The caller writes ``run.json``
(:mod:`geo_sppa.io.manifest`) after these.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from geo_sppa.io.writers import write_csv, write_geojson, write_gpkg, write_text
from geo_sppa.schema import ROAD_USERS

if TYPE_CHECKING:
    from geo_sppa.bundled.inputs import ClusterInputs
    from geo_sppa.roads.clusters import ClusterResult

__all__ = [
    "GPKG_COLLISION_COLUMNS",
    "ClusterTables",
    "cluster_run_info",
    "cluster_tables",
    "gpkg_collisions",
    "window_collisions",
    "write_cluster_outputs",
]

#: Columns of the GeoPackage's ``collisions`` layer (those the data have), besides geometry:
#: the ids, when and how severe, the site it counts in, the place text the map shows, and the
#: decoded conditions and road users the factor table tests. Road numbers, ``at_junction``,
#: vehicle and casualty details and ``source_row`` stay in ``clusters_collisions.csv`` or the
#: input: at national scale they made the layer half as large again for no map or table.
GPKG_COLLISION_COLUMNS = (
    "collision_id", "site_id", "date", "year", "time", "severity", "casualties",
    "ksi_casualties", "location", "light", "weather", "surface", "speed_limit", "road_type",
    "junction_detail", "junction_control", "carriageway_hazards", "special_conditions",
    "urban_rural", "weekday", *ROAD_USERS,
)  # fmt: skip


def window_collisions(result: ClusterResult, inputs: ClusterInputs) -> gpd.GeoDataFrame:
    """Return the collisions the run used in its window, with the ``site_id`` each counts in.

    Collisions the scan set aside (beyond the snap tolerance) are left out, so the map, the
    collision list and the factor table's area shares count what the summary calls used.
    """
    data = inputs.collisions.data
    aside = data["collision_id"].astype(str).isin(result.set_aside["record_id"].astype(str))
    used = data["year"].between(*result.window) & ~aside
    return data[used].assign(site_id=result.site_of.reindex(data.index)[used])


def gpkg_collisions(in_window: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the ``collisions`` layer of ``clusters.gpkg``: :data:`GPKG_COLLISION_COLUMNS`.

    Dates are written as ``YYYY-MM-DD`` text (GeoPackage has no date-only type that every
    reader keeps).
    """
    keep = [c for c in GPKG_COLLISION_COLUMNS if c in in_window.columns]
    layer = in_window[[*keep, in_window.geometry.name]]
    return layer.assign(date=layer["date"].dt.strftime("%Y-%m-%d"))


@dataclass(frozen=True)
class ClusterTables:
    """The per-collision tables of a cluster run, built once for the map, dossier and files.

    Attributes
    ----------
    in_window
        :func:`window_collisions`.
    collisions
        :func:`geo_sppa.roads.factors.site_collisions` of the sites (``clusters_collisions.csv``).
    factors
        :func:`geo_sppa.roads.factors.site_factors` of the sites (``clusters_factors.csv``).
    """

    in_window: gpd.GeoDataFrame
    collisions: pd.DataFrame
    factors: pd.DataFrame


def cluster_tables(result: ClusterResult, inputs: ClusterInputs) -> ClusterTables:
    """Return the run's window collisions, site collision list and factor table."""
    from geo_sppa.roads.factors import site_collisions, site_factors

    in_window = window_collisions(result, inputs)
    return ClusterTables(
        in_window,
        site_collisions(result.sites, in_window),
        site_factors(result.sites, in_window),
    )


def cluster_run_info(result: ClusterResult, inputs: ClusterInputs) -> dict[str, object]:
    """Return the facts a redraw needs: area, title, mode, radius and the road layer's name."""
    return {
        "area": inputs.area,
        "title": f"Accident cluster sites {result.window[0]}-{result.window[1]}: {inputs.place}",
        "mode": result.mode,
        "radius_m": result.rule.radius_m,
        "roads": inputs.roads_source or "",
    }


def write_cluster_outputs(
    result: ClusterResult,
    inputs: ClusterInputs,
    out: Path,
    *,
    map_html: str | None = None,
    dossier_html: str | None = None,
    parts_set_aside: pd.DataFrame | None = None,
    tables: ClusterTables | None = None,
) -> tuple[list[Path], pd.DataFrame]:
    """Write every output file of a cluster run to ``out``.

    Parameters
    ----------
    result, inputs
        What :func:`geo_sppa.roads.clusters.cluster_sites` returned and what it was given.
    out
        The output folder (it exists).
    map_html
        The rendered map, written as ``clusters.html`` when given.
    dossier_html
        The rendered site dossier, written as ``clusters_sites.html`` when given.
    parts_set_aside
        Vehicle and casualty rows with no such collision
        (:func:`geo_sppa.io.stats19_parts.read_collision_parts`), written as
        ``clusters_parts_set_aside.csv`` when there are any (kept apart from
        ``clusters_set_aside.csv``, which accounts for every collision row).
    tables
        :func:`cluster_tables` of the run, when the caller has built them already.

    Returns
    -------
    tuple of (list of Path, DataFrame)
        The files written, in order, and every set-aside record of the window (loader and
        scan); ``clusters_set_aside.csv`` also lists ``result.previous_set_aside`` after them.
    """
    tables = tables if tables is not None else cluster_tables(result, inputs)
    info = cluster_run_info(result, inputs)

    written = [
        write_csv(result.sites, out / "clusters.csv"),
        write_gpkg(
            result.sites,
            out / "clusters.gpkg",
            layer="clusters",
            more_layers={
                "collisions": gpkg_collisions(tables.in_window),
                "run": pd.DataFrame({k: [v] for k, v in info.items()}),
            },
        ),
        write_geojson(result.sites, out / "clusters.geojson"),
        write_csv(tables.collisions, out / "clusters_collisions.csv"),
        write_csv(tables.factors, out / "clusters_factors.csv"),
    ]
    if len(result.resolved):
        written.append(write_csv(result.resolved, out / "clusters_resolved.csv"))
    set_aside = pd.concat([inputs.collisions.set_aside, result.set_aside], ignore_index=True)
    previous = result.previous_set_aside  # the previous window's, listed after the window's
    listed = pd.concat([set_aside, previous], ignore_index=True) if len(previous) else set_aside
    written.append(write_csv(listed, out / "clusters_set_aside.csv"))
    if parts_set_aside is not None and len(parts_set_aside):
        written.append(write_csv(parts_set_aside, out / "clusters_parts_set_aside.csv"))
    if map_html is not None:
        written.append(write_text(map_html, out / "clusters.html"))
    if dossier_html is not None:
        written.append(write_text(dossier_html, out / "clusters_sites.html"))
    return written, set_aside
