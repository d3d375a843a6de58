"""The one CRS policy: every distance and area in British National Grid (EPSG:27700).

Layers in another CRS are reprojected once, at read time, by :func:`to_british_national_grid`,
which returns a note for the run summary. A layer with no CRS is an error unless the caller
names one.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from geo_sppa.errors import InputError

__all__ = ["BNG", "GB_BOUNDS", "to_british_national_grid", "require_bng", "outside_great_britain"]

BNG = "EPSG:27700"
#: Generous British National Grid extent of Great Britain (minx, miny, maxx, maxy), metres.
GB_BOUNDS = (0.0, 0.0, 700_000.0, 1_300_000.0)


def to_british_national_grid(
    frame: gpd.GeoDataFrame, *, source: str, crs: str | int | None = None
) -> tuple[gpd.GeoDataFrame, str | None]:
    """Return ``frame`` in EPSG:27700 and a note saying what was reprojected, if anything.

    Parameters
    ----------
    frame
        Any GeoDataFrame; it is not modified.
    source
        The file name, used in messages.
    crs
        The CRS to assume when the layer has none (the ``--crs`` option). Ignored when the layer
        declares its own CRS.

    Returns
    -------
    tuple of (GeoDataFrame, str or None)
        The layer in EPSG:27700, and a one-line note such as
        ``"roads.geojson: reprojected from EPSG:4326 to EPSG:27700"`` (None when nothing changed).

    Raises
    ------
    InputError
        The layer has no CRS and none was given.
    """
    if frame.crs is None:
        if crs is None:
            raise InputError(
                f"{source}: the layer has no coordinate reference system; "
                "pass --crs (e.g. --crs EPSG:27700 for British National Grid eastings/northings)"
            )
        frame = frame.set_crs(crs)
    declared = frame.crs
    assert declared is not None  # set above
    if declared.equals(BNG):
        return frame, None
    label = declared.to_string()
    return frame.to_crs(BNG), f"{source}: reprojected from {label} to EPSG:27700"


def require_bng(frame: gpd.GeoDataFrame | gpd.GeoSeries, *, what: str) -> None:
    """Raise :class:`InputError` unless ``frame`` is a GeoDataFrame/GeoSeries in EPSG:27700.

    The one check the analysis functions make on their spatial inputs: they never reproject
    silently (reprojection happens once, at read time, in :func:`to_british_national_grid`).

    Parameters
    ----------
    frame
        The layer to check; it is not modified.
    what
        What the layer is, for the message (``"collisions"``, ``"roads"``, ``"wards"``).

    Raises
    ------
    InputError
        Not a GeoDataFrame/GeoSeries, no CRS, or a CRS other than British National Grid.
    """
    if not isinstance(frame, gpd.GeoDataFrame | gpd.GeoSeries):
        raise InputError(f"{what}: expected a GeoDataFrame, got {type(frame).__name__}")
    if frame.crs is None or not frame.crs.equals(BNG):
        raise InputError(
            f"{what}: expected EPSG:27700 (British National Grid), found {frame.crs}; "
            "reproject with geo_sppa.crs.to_british_national_grid"
        )


def outside_great_britain(frame: gpd.GeoDataFrame) -> pd.Series:
    """Return a boolean Series, True where a point lies outside Great Britain's grid extent.

    ``frame`` must already be in EPSG:27700. Empty geometries count as outside.
    """
    minx, miny, maxx, maxy = GB_BOUNDS
    x = frame.geometry.x
    y = frame.geometry.y
    inside = x.between(minx, maxx) & y.between(miny, maxy)
    return ~inside.fillna(False).astype(bool)
