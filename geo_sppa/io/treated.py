"""Read the treated-sites file of ``geo-sppa evaluate``, and the cluster sites it may name.

One row per treated site: a treatment date (the day the scheme came into use) and where the
site is, either a ``site_id`` of a ``clusters.csv`` from ``geo-sppa clusters`` (passed as
``--sites``) or coordinates (eastings/northings in EPSG:27700, or longitude/latitude, converted
once here). Optional: ``works_start``/``works_end`` (the works period, left out of both the
before and the after period) and ``name``. Headers match in any case and punctuation.

A file that cannot be read as meant is refused with one line naming the file, the data row
(1-based, the header not counted), the column and the fix: an unreadable or missing date, a
works period that ends before it starts, a ``site_id`` not in ``--sites``, a row with no
location. A second row for the same site is set aside (``same site as row N``). Dates are
``yyyy-mm-dd`` (a time after it is ignored) or ``dd/mm/yyyy`` (day first, the UK order).
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
    outside_gb_mask,
    points_from_columns,
    read_csv_text,
    set_aside_rows,
)

__all__ = ["TREATED_COLUMNS", "read_treated", "read_sites"]

#: Field -> candidate headers of the treated file, in order of preference.
TREATED_COLUMNS: dict[str, list[str]] = {
    "date": ["treatment_date", "treated", "treated_date", "scheme_date", "completion_date", "date"],
    "site_id": ["site_id", "site"],
    "x": ["easting", "x", "location_easting_osgr"],
    "y": ["northing", "y", "location_northing_osgr"],
    "lon": ["longitude", "lon", "lng"],
    "lat": ["latitude", "lat"],
    "works_start": ["works_start", "works_start_date"],
    "works_end": ["works_end", "works_end_date"],
    "name": ["name", "scheme", "scheme_name"],
}


def read_sites(path: str | Path) -> pd.DataFrame:
    """Return a ``clusters.csv``'s ``site_id``, ``site_type``, ``x``, ``y`` and ``footprint``.

    ``site_type`` and ``footprint`` are NA when the file has no such column.

    Raises
    ------
    InputError
        Missing file or column, a site with no coordinates, or a repeated ``site_id``.
    """
    path = existing_file(path, what="sites", option="--sites")
    raw = read_csv_text(path)
    source = path.name
    site = find_column(raw, ["site_id"], source=source, what="site_id")
    x = find_column(raw, ["x", "easting"], source=source, what="x (easting)")
    y = find_column(raw, ["y", "northing"], source=source, what="y (northing)")
    kind = find_column(raw, ["site_type", "kind"], source=source, what="", required=False)
    foot = find_column(raw, ["footprint"], source=source, what="", required=False)
    frame = pd.DataFrame(
        {
            "site_id": raw[site].astype("string").str.strip(),
            "site_type": raw[kind].astype("string") if kind else pd.NA,
            "x": pd.to_numeric(raw[x], errors="coerce"),
            "y": pd.to_numeric(raw[y], errors="coerce"),
            "footprint": raw[foot].astype("string").str.strip() if foot else pd.NA,
        }
    )
    bad = frame["x"].isna() | frame["y"].isna() | frame["site_id"].isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise InputError(
            f"{source}: row {row}: no site_id or no numeric {x}/{y}; pass the clusters.csv "
            "that geo-sppa clusters wrote, unedited"
        )
    repeated = frame["site_id"].duplicated()
    if repeated.any():
        raise InputError(
            f"{source}: site_id {frame['site_id'][repeated].iloc[0]!r} appears twice; "
            "pass the clusters.csv of one run"
        )
    return frame


def _dates(raw: pd.DataFrame, column: str | None, source: str, *, required: bool) -> pd.Series:
    """Return a date column parsed, refusing the first unreadable (or, if required, empty) cell."""
    if column is None:
        return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    text = raw[column].astype("string").str.strip().mask(lambda t: t == "")
    iso = pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    uk = pd.to_datetime(text.str.slice(0, 10), format="%d/%m/%Y", errors="coerce")
    dates = iso.fillna(uk)
    bad = text.notna() & dates.isna()
    if required:
        bad |= text.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        value = text[bad].iloc[0]
        shown = "is empty" if pd.isna(value) else f"cannot be read as a date: {value!r}"
        raise InputError(
            f"{source}: row {row}, column {column!r} {shown}; write the date as yyyy-mm-dd "
            "(or dd/mm/yyyy)"
        )
    return dates.dt.normalize()


def _site_points(
    raw: pd.DataFrame,
    col: dict[str, str | None],
    sites: pd.DataFrame | None,
    source: str,
    crs: str | None,
) -> tuple[gpd.GeoSeries, pd.Series, pd.Series, list[str]]:
    """Return each row's point (EPSG:27700), its ``site_id`` and ``site_type``, and notes."""
    geometry, missing, note = points_from_columns(
        raw, source=source, x=col["x"], y=col["y"], lon=col["lon"], lat=col["lat"], crs=crs
    )
    ids = pd.Series(pd.NA, index=raw.index, dtype="string")
    kinds = pd.Series(pd.NA, index=raw.index, dtype="string")
    if col["site_id"]:
        ids = raw[col["site_id"]].astype("string").str.strip().mask(lambda t: t == "")
    named = ids.notna()
    if named.any() and sites is None:
        row = int(np.flatnonzero(named.to_numpy())[0]) + 1
        raise InputError(
            f"{source}: row {row} names a site_id but no sites file was given; pass --sites "
            "clusters.csv (the run whose sites these are), or give easting and northing columns"
        )
    if named.any() and sites is not None:
        lookup = sites.set_index("site_id")
        unknown = named & ~ids.isin(lookup.index)
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0]) + 1
            raise InputError(
                f"{source}: row {row}, column {col['site_id']!r}: no site {ids[unknown].iloc[0]!r} "
                f"in the --sites file ({len(lookup):,} sites, e.g. {lookup.index[0]!r}); check "
                "the id, or pass the clusters.csv it comes from"
            )
        found = lookup.reindex(ids[named])
        geometry = geometry.copy()
        geometry[named] = gpd.points_from_xy(found["x"], found["y"])
        kinds[named] = found["site_type"].astype("string").to_numpy()
        missing = missing & ~named
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0]) + 1
        raise InputError(
            f"{source}: row {row} has no location; give a site_id (with --sites clusters.csv), "
            "easting and northing, or longitude and latitude"
        )
    outside = outside_gb_mask(geometry)
    if outside.any():
        row = int(np.flatnonzero(outside.to_numpy())[0]) + 1
        raise InputError(
            f"{source}: row {row} lies outside Great Britain; easting/northing are EPSG:27700 "
            "metres (or use longitude/latitude columns)"
        )
    return geometry, ids, kinds, [note] if note else []


def read_treated(
    path: str | Path, *, sites: pd.DataFrame | None = None, crs: str | None = None
) -> Loaded:
    """Read a treated-sites file (see the module docstring).

    Parameters
    ----------
    path
        The CSV.
    sites
        Cluster sites (:func:`read_sites`) that ``site_id`` values are looked up in.
    crs
        CRS of easting/northing columns, if not British National Grid.

    Returns
    -------
    Loaded
        ``data``: ``row`` (1-based data row), ``scheme`` (the name, else ``row N``),
        ``site_id`` (NA for rows placed by coordinates), ``site_type`` (from the sites file, else
        NA), ``treatment_date``, ``works_start``, ``works_end`` (NaT when not given) and a Point
        in EPSG:27700; ``set_aside``: repeated sites.

    Raises
    ------
    InputError
        See the module docstring.
    """
    path = existing_file(path, what="treated sites", option="--treated")
    notes: list[str] = []
    raw = read_csv_text(path, notes)
    source = path.name
    col = {
        field: find_column(raw, names, source=source, what=field, required=False)
        for field, names in TREATED_COLUMNS.items()
    }
    if col["date"] is None:
        raise InputError(
            f"{source}: no treatment date column (looked for "
            f"{', '.join(TREATED_COLUMNS['date'][:4])}); add a treatment_date column (yyyy-mm-dd)"
        )
    if not (col["site_id"] or (col["x"] and col["y"]) or (col["lon"] and col["lat"])):
        raise InputError(
            f"{source}: no site_id column and no easting/northing or longitude/latitude columns; "
            "add site_id (with --sites clusters.csv) or easting and northing columns"
        )
    treated = _dates(raw, col["date"], source, required=True)
    works = [_dates(raw, col[k], source, required=False) for k in ("works_start", "works_end")]
    backwards = works[1] < works[0]
    if backwards.any():
        row = int(np.flatnonzero(backwards.to_numpy())[0]) + 1
        raise InputError(
            f"{source}: row {row}: works_end is before works_start; swap or correct the dates"
        )
    geometry, ids, kinds, point_notes = _site_points(raw, col, sites, source, crs)
    rows = pd.Series(np.arange(1, len(raw) + 1), index=raw.index)
    names = raw[col["name"]].astype("string").str.strip() if col["name"] else None
    scheme = "row " + rows.astype(str)
    if names is not None:
        scheme = names.where(names.notna() & (names != ""), scheme)
    data = gpd.GeoDataFrame(
        {"row": rows, "scheme": scheme.astype("string"), "site_id": ids, "site_type": kinds,
         "treatment_date": treated, "works_start": works[0], "works_end": works[1]},
        geometry=geometry, crs=BNG,
    )  # fmt: skip
    key = ids.fillna(geometry.x.round(0).astype(str) + "," + geometry.y.round(0).astype(str))
    repeat = key.duplicated()
    first_row = rows.groupby(key).transform("min")
    aside = set_aside_rows(
        source, rows[repeat].to_numpy(), data["scheme"][repeat], "same site as an earlier row",
        "same site as row " + first_row[repeat].astype(str),
    )  # fmt: skip
    return Loaded(
        data=data[~repeat].reset_index(drop=True),
        set_aside=aside,
        n_read=len(raw),
        notes=(*notes, *point_notes),
    )
