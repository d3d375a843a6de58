"""Gather a command's inputs: the user's files where given, the bundled area's otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

from geo_sppa.areas import bundled_area
from geo_sppa.io._common import Loaded
from geo_sppa.io.collisions import read_collisions
from geo_sppa.io.layers import read_roads, read_study_area, read_wards

__all__ = ["ClusterInputs", "cluster_inputs"]


@dataclass(frozen=True)
class ClusterInputs:
    """What ``geo-sppa clusters`` reads, with where each part came from.

    Attributes
    ----------
    collisions, collisions_path
        The loaded collisions (with set-aside rows) and their file.
    roads, roads_source
        The road lines for network mode (None: radius mode) and the file name they came from.
    context_roads, wards
        Layers drawn on the map for context (None where there are none).
    area, place
        The bundled area used ("" for the user's own collisions) and a name for titles.
    notes
        One-line notes for the run summary.
    """

    collisions: Loaded
    collisions_path: Path
    roads: gpd.GeoDataFrame | None
    roads_source: str | None
    context_roads: gpd.GeoDataFrame | None
    wards: gpd.GeoDataFrame | None
    area: str
    place: str
    notes: tuple[str, ...] = field(default=())


def cluster_inputs(
    area: str,
    *,
    collisions: str | Path | None = None,
    roads: str | Path | None = None,
    study_area: str | Path | None = None,
    crs: str | None = None,
    columns: dict[str, str] | None = None,
    radius_mode: bool = False,
    keep_service_roads: bool = False,
    cache_dir: str | Path = "maps",
    with_context: bool = True,
) -> ClusterInputs:
    """Read the collisions, study area, road network and map context for a cluster scan.

    The user's ``collisions`` replace the area's (and then no bundled layer is assumed to fit
    them); ``roads="osm"`` fetches OpenStreetMap roads; without ``roads`` the area's own network
    is used where it has one, unless ``radius_mode``.
    """
    from geo_sppa.network import public_roads

    bundle = bundled_area(area)
    own = collisions is not None
    path = Path(collisions) if own else bundle.require("collisions", option="--collisions")
    zone = None
    if study_area:
        zone = read_study_area(study_area, crs=crs)
    elif not own and bundle.study_area:
        zone = read_study_area(bundle.study_area)
    loaded = read_collisions(path, columns=columns, crs=crs, study_area=zone)
    notes = list(loaded.notes)

    network, source = None, None
    if roads == "osm":
        from geo_sppa.io.osm import osm_roads

        footprint = zone if zone is not None else gpd.GeoDataFrame(
            geometry=[loaded.data.geometry.union_all().convex_hull.buffer(200)], crs=loaded.data.crs)
        cache = Path(cache_dir) / "osm_roads.gpkg"
        network, source = read_roads(osm_roads(footprint, cache)), cache.name
        notes.append(f"road network: OpenStreetMap via osmnx, cached at {cache}")
    elif roads:
        network, source = read_roads(roads, crs=crs), Path(roads).name
    elif not own and bundle.roads and not radius_mode:
        network, source = read_roads(bundle.roads), bundle.roads.name
    lines = None
    if network is not None:
        notes.extend(network.notes)
        lines, dropped = public_roads(network.data, keep_service=keep_service_roads)
        if dropped:
            notes.append(f"{source}: {dropped:,} highway=service ways left out of the scan "
                         "(--keep-service-roads keeps them)")
    context = lines
    wards = None
    if with_context and not own:
        if context is None and bundle.context_roads:
            context = read_roads(bundle.context_roads).data
        if bundle.wards:
            wards = read_wards(bundle.wards[bundle.default_ward_set])
    return ClusterInputs(
        collisions=loaded, collisions_path=path, roads=lines, roads_source=source, context_roads=context,
        wards=wards, area="" if own else bundle.name, place=path.name if own else bundle.title, notes=tuple(notes),
    )
