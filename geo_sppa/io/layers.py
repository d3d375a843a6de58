"""Read vector layers: ward and LSOA boundaries, study areas, road networks (GeoJSON, GPKG, SHP)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_sppa.crs import GB_BOUNDS, to_british_national_grid
from geo_sppa.errors import InputError
from geo_sppa.io._common import Loaded, existing_file, find_column, set_aside_rows

__all__ = [
    "read_layer",
    "read_wards",
    "read_lsoas",
    "read_study_area",
    "read_roads",
    "ROAD_COLUMNS",
]

_WARD_CODES = [
    "WD23CD",
    "WD22CD",
    "WD21CD",
    "WD20CD",
    "WD19CD",
    "WD18CD",
    "WD17CD",
    "WD16CD",
    "WD13CD",
    "WD11CD",
    "ward_code",
    "wardcode",
    "code",
]
_WARD_NAMES = [
    "WD23NM",
    "WD22NM",
    "WD21NM",
    "WD20NM",
    "WD19NM",
    "WD18NM",
    "WD17NM",
    "WD16NM",
    "WD13NM",
    "WD11NM",
    "ward_name",
    "wardname",
    "name",
]
#: Optional road tags kept by read_roads for the network builder (issue 10).
_ROAD_TAG_COLUMNS = {
    "oneway": ["oneway"],
    "junction": ["junction"],
    "bridge": ["bridge"],
    "tunnel": ["tunnel"],
    "layer": ["layer"],
    "dual_carriageway": ["dual_carriageway"],
    "form_of_way": ["form_of_way", "formOfWay", "formofway"],
}
#: OSM tags, then OS Open Roads names (GeoPackage ``road_link``, older Shapefile ``RoadLink``).
ROAD_COLUMNS = {
    "road_id": ["osm_id", "identifier", "id", "road_id", "fid"],
    "name": ["name", "name_1", "name1", "roadName", "road_name"],
    "ref": ["ref", "road_classification_number", "roadNumber", "road_number"],
    "highway": ["highway", "road_classification", "roadClassification", "class", "roadClassi"],
}


def _use_arrow() -> bool:
    """Return True where pyarrow is installed (pyogrio's Arrow path reads 2-3x faster)."""
    from importlib.util import find_spec

    return find_spec("pyarrow") is not None


def read_layer(
    path: str | Path,
    *,
    what: str,
    option: str | None = None,
    layer: str | None = None,
    crs: str | int | None = None,
) -> tuple[gpd.GeoDataFrame, tuple[str, ...]]:
    """Return a vector layer in EPSG:27700 and the notes saying what was reprojected.

    Raises
    ------
    InputError
        Missing or unreadable file, no features, no CRS (and none given).
    """
    path = existing_file(path, what=what, option=option)
    try:
        frame = gpd.read_file(path, layer=layer, use_arrow=_use_arrow())
    except Exception as exc:  # pyogrio raises several types for unreadable files
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"{path.name}: cannot read it as a {what} layer ({first}); expected GeoJSON, "
            "GeoPackage or Shapefile"
        ) from None
    if frame.empty:
        raise InputError(f"{path.name}: the layer has no features; expected {what} features")
    if "geometry" not in frame or frame.geometry.isna().all():
        raise InputError(f"{path.name}: the layer has no geometry; expected {what} features")
    declared = frame.crs.to_string() if frame.crs is not None else crs
    frame, note = to_british_national_grid(frame, source=path.name, crs=crs)
    _check_extent(frame, source=path.name, declared=declared)
    return frame, (note,) if note else ()


def _check_extent(frame: gpd.GeoDataFrame, *, source: str, declared: object) -> None:
    """Raise when a layer's coordinates cannot be where its CRS says (lon/lat labelled BNG...).

    A boundary layer in longitude/latitude that declares EPSG:27700 lies within a few metres
    of the grid's origin, in the sea off the Scilly Isles, and would match no record at all.
    """
    minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
    gb_minx, gb_miny, gb_maxx, gb_maxy = GB_BOUNDS
    if gb_minx <= minx and maxx <= gb_maxx and gb_miny <= miny and maxy <= gb_maxy:
        if maxx - minx > 20 or maxy - miny > 20 or len(frame) < 3:
            return
    lonlat = -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90
    looks = (
        "they look like longitude/latitude (EPSG:4326)"
        if lonlat
        else "they lie outside Great Britain"
    )
    raise InputError(
        f"{source}: the layer declares {declared} but its coordinates run x {minx:.6g} to "
        f"{maxx:.6g}, y {miny:.6g} to {maxy:.6g} in British National Grid; {looks}; set the "
        "file's CRS right (e.g. ogr2ogr -a_srs EPSG:4326 fixed.gpkg layer.gpkg) and pass that file"
    )


def _polygons(
    frame: gpd.GeoDataFrame, source: str, what: str, label: pd.Series | None = None
) -> gpd.GeoDataFrame:
    """Return ``frame`` if every feature is a valid polygon; else raise naming the first bad one.

    Invalid polygons are not repaired silently: a self-intersecting boundary can cover the wrong
    area and move incidents between wards without any sign in the results.
    """
    names = (
        label
        if label is not None
        else pd.Series(np.arange(1, len(frame) + 1), index=frame.index).map(
            lambda i: f"feature {i}"
        )
    )
    missing = frame.geometry.isna() | frame.geometry.is_empty
    if missing.any():
        raise InputError(
            f"{source}: {what} {names[missing].iloc[0]} has no geometry; "
            "fix or remove that feature (every boundary needs a polygon)"
        )
    kinds = set(frame.geom_type.dropna())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputError(
            f"{source}: expected {what} polygons, found {', '.join(sorted(kinds))} geometries"
        )
    invalid = ~frame.geometry.is_valid
    if invalid.any():
        first = invalid[invalid].index[0]
        reason = shapely.is_valid_reason(frame.geometry[first])
        raise InputError(
            f"{source}: {what} {names[first]} has invalid geometry ({reason}); "
            "repair it (e.g. QGIS 'Fix geometries' or shapely.make_valid) and check its area"
        )
    return frame


def read_wards(
    path: str | Path,
    *,
    code_column: str | None = None,
    name_column: str | None = None,
    crs: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read ward boundaries and return ``ward_code, ward_name, geometry`` in EPSG:27700.

    The code and name columns are detected (``WD22CD``/``WD22NM``, ``WD13CD``/``WD13NM``...)
    or named.

    Raises
    ------
    InputError
        No code or name column, duplicate codes, non-polygon geometry, no CRS.
    """
    frame, _ = read_layer(path, what="ward boundary", option="--wards", crs=crs)
    source = Path(path).name
    code = find_column(
        frame,
        _WARD_CODES,
        override=code_column,
        source=source,
        what="ward code",
        option="--ward-code-column",
    )
    name = find_column(
        frame,
        _WARD_NAMES,
        override=name_column,
        source=source,
        what="ward name",
        option="--ward-name-column",
    )
    frame = _polygons(
        frame, source, "ward", frame[code].astype(str) + " (" + frame[name].astype(str) + ")"
    )
    out = gpd.GeoDataFrame(
        {
            "ward_code": frame[code].astype(str).str.strip(),
            "ward_name": frame[name].astype(str).str.strip(),
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
    )
    dup = out["ward_code"].duplicated()
    if dup.any():
        raise InputError(
            f"{source}: ward code {out.loc[dup, 'ward_code'].iloc[0]!r} appears on more than one "
            "feature; "
            "dissolve the layer by ward or name the right column with --ward-code-column"
        )
    return out


def read_lsoas(path: str | Path, *, crs: str | int | None = None) -> gpd.GeoDataFrame:
    """Read LSOA boundaries and return ``lsoa_code, lsoa_name, geometry`` in EPSG:27700."""
    frame, _ = read_layer(path, what="LSOA boundary", option="--lsoas", crs=crs)
    source = Path(path).name
    code = find_column(
        frame,
        ["LSOA21CD", "LSOA11CD", "LSOA01CD", "lsoa_code", "code"],
        source=source,
        what="LSOA code",
    )
    name = find_column(
        frame,
        ["LSOA21NM", "LSOA11NM", "LSOA01NM", "lsoa_name", "name"],
        source=source,
        what="LSOA name",
        required=False,
    )
    frame = _polygons(frame, source, "LSOA", frame[code].astype(str))
    return gpd.GeoDataFrame(
        {
            "lsoa_code": frame[code].astype(str),
            "lsoa_name": frame[name].astype(str) if name else frame[code].astype(str),
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
    )


def read_study_area(path: str | Path, *, crs: str | int | None = None) -> gpd.GeoDataFrame:
    """Read a study-area polygon layer (any polygons) in EPSG:27700."""
    frame, _ = read_layer(path, what="study area", option="--study-area", crs=crs)
    return _polygons(frame, Path(path).name, "study area")[["geometry"]]


def read_roads(
    path: str | Path, *, crs: str | int | None = None, layer: str | None = None
) -> Loaded:
    """Read a road network line layer: OSM-style (``name``/``ref``/``highway``) or OS Open Roads.

    Returns
    -------
    Loaded
        ``data`` columns ``road_id, name, ref, highway, geometry`` (LineString, EPSG:27700),
        plus, when the layer has them, the tags the network builder uses: ``oneway``,
        ``junction``, ``bridge``, ``tunnel``, ``layer``, ``dual_carriageway`` (OSM) and
        ``form_of_way`` (OS Open Roads ``formOfWay``); multi-part lines are split into parts;
        empty or non-line features are set aside.
    """
    frame, notes = read_layer(path, what="road network", option="--roads", layer=layer, crs=crs)
    source = Path(path).name
    col = {
        f: find_column(frame, c, source=source, what=f, required=False)
        for f, c in ROAD_COLUMNS.items()
    }
    n = len(frame)
    rows = np.arange(1, n + 1)
    ids = (
        frame[col["road_id"]].astype(str)
        if col["road_id"]
        else pd.Series(rows, index=frame.index).astype(str)
    )
    kind = shapely.get_type_id(frame.geometry.values)  # 1 LineString, 5 MultiLineString
    lines = pd.Series(np.isin(kind, [1, 5]), index=frame.index) & ~frame.geometry.is_empty
    parts = []
    if (~lines).any():
        kinds = frame.geom_type[~lines].fillna("empty")
        parts.append(
            set_aside_rows(source, rows[(~lines).to_numpy()], ids[~lines], "not a line", kinds)
        )
    if not lines.any():
        raise InputError(f"{source}: no line features; a road network needs LineString geometries")
    attrs = pd.DataFrame(
        {
            "road_id": ids,
            **{
                f: (
                    frame[c].astype("string")
                    if c
                    else pd.Series(pd.NA, index=frame.index, dtype="string")
                )
                for f, c in col.items()
                if f != "road_id"
            },
            **{
                f: frame[c].astype("string")
                for f, names in _ROAD_TAG_COLUMNS.items()
                if (c := find_column(frame, names, source=source, what=f, required=False))
            },
        }
    )
    data = gpd.GeoDataFrame(attrs, geometry=frame.geometry.values, crs=frame.crs)[lines.to_numpy()]
    multi = pd.Series(shapely.get_type_id(data.geometry.values) == 5, index=data.index)
    if multi.any():
        data = data.explode(index_parts=False)
        counts = data.groupby(level=0).cumcount()
        many = data.index.duplicated(keep=False)
        data.loc[many, "road_id"] = data.loc[many, "road_id"] + "/" + counts[many].astype(str)
        notes = notes + (f"{source}: {int(multi.sum())} multi-part lines split into parts",)
    data = data.reset_index(drop=True)
    from geo_sppa.schema import SET_ASIDE_COLUMNS

    set_aside = (
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SET_ASIDE_COLUMNS)
    )
    return Loaded(data=data, set_aside=set_aside, n_read=n, notes=notes)
