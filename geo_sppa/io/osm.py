"""Fetch OpenStreetMap roads for a study area with osmnx (``--roads osm``), cached as GeoPackage."""

from __future__ import annotations

import socket
from pathlib import Path

import geopandas as gpd

from geo_sppa.errors import InputError, OfflineError

__all__ = ["osm_roads", "OVERPASS_HOST"]

OVERPASS_HOST = "overpass-api.de"


def _online(host: str = OVERPASS_HOST, timeout_s: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def osm_roads(area: gpd.GeoDataFrame, cache: str | Path) -> Path:
    """Return the path of a GeoPackage of OSM drivable roads covering ``area``, fetched if needed.

    The network is cached at ``cache``; a cached file is reused without going online.

    Raises
    ------
    InputError
        osmnx is not installed (it is the optional ``osm`` extra).
    OfflineError
        The machine cannot reach OpenStreetMap.
    """
    cache = Path(cache)
    if cache.exists():
        return cache
    try:
        import osmnx  # noqa: F401
    except ImportError:
        raise InputError(
            "--roads osm needs the optional osmnx package; install it with pip install "
            "'geo-sppa[osm]', "
            "or pass --roads FILE with a road network you have"
        ) from None
    if not _online():
        raise OfflineError(
            f"--roads osm: OpenStreetMap ({OVERPASS_HOST}) cannot be reached from this machine "
            "(offline?); "
            "pass --roads FILE with a saved network (OSM GeoJSON/GPKG or OS Open Roads)"
        )
    import osmnx as ox

    polygon = area.to_crs(4326).geometry.union_all().buffer(0.002)
    graph = ox.graph_from_polygon(polygon, network_type="drive", simplify=True)
    edges = ox.graph_to_gdfs(graph, nodes=False).reset_index()
    keep = [c for c in ("osmid", "name", "ref", "highway", "geometry") if c in edges]
    edges = edges[keep].copy()
    for column in ("osmid", "name", "ref", "highway"):
        if column in edges:
            edges[column] = edges[column].map(
                lambda v: ";".join(map(str, v)) if isinstance(v, list) else v
            )
    edges = edges.rename(columns={"osmid": "osm_id"}).to_crs(27700)
    cache.parent.mkdir(parents=True, exist_ok=True)
    edges.to_file(cache, driver="GPKG", layer="roads")
    return cache
