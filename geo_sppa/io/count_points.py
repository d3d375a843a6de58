"""Read DfT road traffic count points with their annual average daily flow (AADT).

Two layouts are read, as a CSV or as a point layer (GeoJSON, GeoPackage, Shapefile):

- the DfT road traffic statistics download (``dft_traffic_counts_aadf.csv`` and the
  by-direction file): one row per ``count_point_id`` and ``year`` (per
  ``direction_of_travel`` in the by-direction file, whose directions are added up), with
  ``road_name``, ``easting``/``northing`` (else ``latitude``/``longitude``) and
  ``all_motor_vehicles``;
- the CyIPT extract bundled for Peterborough and the Isle of Wight: ``cp``, ``road``,
  ``maxyear`` (the latest year counted) and ``aadt`` (all motor vehicles in that year), points
  in EPSG:4326 with ``easting``/``northing`` beside them.

Rows with no place or no usable flow (missing, not a number, negative) are set aside with a
reason; so is a second row for the same count point, year and direction.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_sppa.crs import BNG
from geo_sppa.errors import InputError
from geo_sppa.io._common import (
    Loaded,
    existing_file,
    find_column,
    points_from_columns,
    read_csv_text,
    set_aside_rows,
)
from geo_sppa.schema import SET_ASIDE_COLUMNS

__all__ = ["COUNT_POINT_COLUMNS", "read_count_points"]

#: Normalised column -> the headers looked for, DfT download first, then the CyIPT extract.
COUNT_POINT_COLUMNS = {
    "count_point_id": ["count_point_id", "cp", "count_point", "countpoint_id"],
    "road_name": ["road_name", "road", "road_number"],
    "year": ["year", "aadf_year", "maxyear"],
    "aadt": ["all_motor_vehicles", "aadt", "aadf", "all_motor_vehicles_aadf"],
}
_LAYER_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp"}
_OPTION = "--counts"


def _frame(path: Path, crs: str | int | None) -> tuple[pd.DataFrame, gpd.GeoSeries | None, list]:
    """Return the file's attribute rows, its point geometry (layers only) and notes."""
    notes: list[str] = []
    if path.suffix.lower() not in _LAYER_SUFFIXES:
        return read_csv_text(path, notes), None, notes
    from geo_sppa.io.layers import read_layer

    layer, layer_notes = read_layer(path, what="count point", option=_OPTION, crs=crs)
    notes.extend(layer_notes)
    points = layer.geometry.where(layer.geom_type == "Point")
    return pd.DataFrame(layer.drop(columns=layer.geometry.name)), points, notes


def _points(
    raw: pd.DataFrame, geometry: gpd.GeoSeries | None, source: str, crs: str | int | None
) -> tuple[gpd.GeoSeries, list[str]]:
    """Return each row's point in EPSG:27700 (the layer's, else from its coordinate columns)."""
    cols = {
        k: find_column(raw, names, source=source, what=k, required=False)
        for k, names in {
            "x": ["easting", "x"],
            "y": ["northing", "y"],
            "lon": ["longitude", "lon"],
            "lat": ["latitude", "lat"],
        }.items()
    }
    if geometry is not None and geometry.notna().any():
        return gpd.GeoSeries(geometry.to_numpy(), index=raw.index, crs=BNG), []
    if not ((cols["x"] and cols["y"]) or (cols["lon"] and cols["lat"])):
        raise InputError(
            f"{source}: no count point coordinates (looked for easting/northing and "
            "latitude/longitude); use the DfT road traffic download, which has both"
        )
    points, _, note = points_from_columns(raw, source=source, crs=crs, **cols)
    return points, [note] if note else []


def _set_aside(
    raw: pd.DataFrame,
    values: tuple[pd.Series, pd.Series, pd.Series, gpd.GeoSeries],
    key: pd.DataFrame,
    col: dict[str, str],
    source: str,
) -> tuple[pd.Series, list[pd.DataFrame]]:
    """Return which rows are set aside and their records: first failed check of each row."""
    ids, year, flow, points = values
    rows = np.arange(1, len(raw) + 1)
    checks: list[tuple[pd.Series, str, pd.Series | str]] = [
        (points.isna() | points.is_empty, "missing coordinates", ""),
        (ids.isna() | (ids == ""), "no count point id", ""),
        (year.isna(), "no year", raw[col["year"]].astype("string").fillna("")),
        (flow.isna() | (flow < 0), "no usable flow", raw[col["aadt"]].astype("string").fillna("")),
    ]
    bad = pd.Series(False, index=raw.index)
    asides = []
    for mask, reason, detail in checks:
        new = mask.fillna(True).astype(bool) & ~bad
        if new.any():
            text = detail[new] if isinstance(detail, pd.Series) else detail
            asides.append(
                set_aside_rows(source, rows[new.to_numpy()], ids[new].fillna(""), reason, text)
            )
        bad |= new
    repeat = key.duplicated(keep="first") & ~bad
    if repeat.any():
        asides.append(
            set_aside_rows(
                source, rows[repeat.to_numpy()], ids[repeat], "repeated count point year"
            )
        )
        bad |= repeat
    return bad, asides


def read_count_points(path: str | Path, *, crs: str | int | None = None) -> Loaded:
    """Read a DfT count point file: one row per count point and year, with its AADT.

    Parameters
    ----------
    path
        A CSV from the DfT road traffic statistics download, or a point layer, in either
        layout of the module docstring.
    crs
        CRS of the eastings/northings (CSV) or of a layer that declares none; default
        EPSG:27700 for a CSV.

    Returns
    -------
    Loaded
        ``data``: ``count_point_id`` (text), ``road_name`` (text as given, e.g. ``A15``),
        ``year`` (int), ``aadt`` (all motor vehicles, both directions, vehicles per day) and a
        Point ``geometry`` in EPSG:27700, sorted by id and year; ``set_aside``: rows with no
        place, no usable flow, or repeating a count point, year and direction.

    Raises
    ------
    InputError
        A missing or unreadable file, or no id, road, year, flow or coordinate column.

    """
    path = existing_file(path, what="count point", option=_OPTION)
    source = path.name
    raw, geometry, notes = _frame(path, crs)
    col = {
        k: find_column(raw, names, source=source, what=f"count point {k}", option=None)
        for k, names in COUNT_POINT_COLUMNS.items()
    }
    direction = find_column(
        raw, ["direction_of_travel"], source=source, what="direction", required=False
    )
    points, more = _points(raw, geometry, source, crs)
    notes.extend(more)
    ids = (
        raw[col["count_point_id"]].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    )
    flow = pd.to_numeric(raw[col["aadt"]].astype("string").str.strip(), errors="coerce")
    year = pd.to_numeric(raw[col["year"]].astype("string").str.strip(), errors="coerce")
    key = pd.DataFrame({"id": ids, "year": year})
    if direction:
        key["direction"] = raw[direction].astype("string").str.strip()
    bad, asides = _set_aside(raw, (ids, year, flow, points), key, col, source)
    kept = ~bad
    table = pd.DataFrame(
        {
            "count_point_id": ids[kept],
            "road_name": raw.loc[kept, col["road_name"]].astype("string").str.strip(),
            "year": year[kept].astype(int),
            "aadt": flow[kept].astype(float),
            "_x": points[kept].x,
            "_y": points[kept].y,
        }
    )
    # the by-direction file: both directions of one count point and year make its AADT
    grouped = table.groupby(["count_point_id", "year"], sort=True, as_index=False).agg(
        road_name=("road_name", "first"),
        aadt=("aadt", "sum"),
        _x=("_x", "first"),
        _y=("_y", "first"),
    )
    data = gpd.GeoDataFrame(
        grouped[["count_point_id", "road_name", "year", "aadt"]],
        geometry=gpd.points_from_xy(grouped["_x"], grouped["_y"]),
        crs=BNG,
    )
    if data.empty:
        raise InputError(
            f"{source}: no count point has a place, a year and a flow ({len(raw):,} rows read); "
            "check the file is a DfT count point AADF table"
        )
    set_aside = (
        pd.concat(asides, ignore_index=True) if asides else pd.DataFrame(columns=SET_ASIDE_COLUMNS)
    )
    return Loaded(data=data, set_aside=set_aside, n_read=len(raw), notes=tuple(notes))
