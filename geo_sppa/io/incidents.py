"""Read incidents: police.uk ``street.csv`` files (one, many, a folder, a glob) and generic CSVs."""

from __future__ import annotations

import glob as globlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_sppa.errors import InputError, MissingFileError
from geo_sppa.io._common import (
    Loaded,
    find_column,
    points_from_columns,
    read_csv_text,
    screened_rows,
    set_aside_rows,
)

__all__ = ["read_incidents", "INCIDENT_COLUMNS", "incident_files"]

INCIDENT_COLUMNS: dict[str, list[str]] = {
    "id": ["Crime ID", "incident_id", "id", "reference"],
    "month": ["Month", "month", "date"],
    "category": ["Crime type", "category", "incident_type", "type"],
    "lsoa": ["LSOA code", "lsoa_code", "lsoa11cd", "lsoa"],
    "location": ["Location", "location"],
    "x": ["easting", "x"],
    "y": ["northing", "y"],
    "lon": ["Longitude", "lon", "lng"],
    "lat": ["Latitude", "lat"],
}


def incident_files(path: str | Path) -> list[Path]:
    """Return the CSV files named by ``path``: a file, a folder (searched recursively) or a glob."""
    text = str(path)
    if any(ch in text for ch in "*?["):
        files = sorted(
            Path(p) for p in globlib.glob(text, recursive=True) if p.lower().endswith(".csv")
        )
        if not files:
            raise MissingFileError(f"{text}: the pattern matches no .csv file; check the pattern")
        return files
    p = Path(path)
    if p.is_dir():
        files = sorted(p.rglob("*street.csv")) or sorted(p.rglob("*.csv"))
        if not files:
            raise MissingFileError(
                f"{p}: the folder holds no .csv file; point --incidents at police.uk street.csv "
                "files"
            )
        return files
    if not p.exists():
        raise MissingFileError(f"{p}: no such incidents file; check the path passed to --incidents")
    return [p]


def _month_text(values: pd.Series, *, source: str, column: str) -> pd.Series:
    text = values.astype("string").str.strip()
    month = text.str.extract(r"^(\d{4})[-/](\d{1,2})")
    out = (month[0] + "-" + month[1].str.zfill(2)).astype("string")
    dmy = out.isna() & text.str.match(r"^\d{1,2}/\d{1,2}/\d{4}").fillna(False)
    if dmy.any():
        parts = text[dmy].str.extract(r"^\d{1,2}/(\d{1,2})/(\d{4})")
        out[dmy] = parts[1] + "-" + parts[0].str.zfill(2)
    number = pd.to_numeric(out.str.slice(5, 7), errors="coerce")
    out = out.mask(~number.between(1, 12).fillna(False))  # 2018/13 is not a month
    if out.notna().sum() == 0:
        example = text.dropna().iloc[0] if text.notna().any() else "(empty)"
        raise InputError(
            f"{source}: column {column!r}: cannot read months such as {example!r} (expected "
            "YYYY-MM or a date)"
        )
    return out


def _read_one(path: Path, columns: dict[str, str], crs, study_area) -> Loaded:
    source = path.name
    raw = read_csv_text(path)
    if raw.empty:
        raise InputError(
            f"{source}: the file has a header but no rows; expected one row per incident"
        )
    col = {
        f: find_column(
            raw,
            c,
            override=columns.get(f),
            source=source,
            what=f,
            required=f in ("month", "category"),
        )
        for f, c in INCIDENT_COLUMNS.items()
    }
    has_xy = (col["x"] and col["y"]) or (col["lon"] and col["lat"])
    if not has_xy and not col["lsoa"]:
        raise InputError(
            f"{source}: no coordinate columns (Longitude/Latitude or easting/northing) and no LSOA "
            "code column; "
            "an incident file needs one of them"
        )
    n = len(raw)
    rows = np.arange(1, n + 1)
    ids = (
        raw[col["id"]].astype("string")
        if col["id"]
        else pd.Series(pd.NA, index=raw.index, dtype="string")
    )
    month_column = str(col["month"])  # required: found or raised
    month = _month_text(raw[month_column], source=source, column=month_column)
    category = raw[col["category"]].astype("string").str.strip()
    lsoa = (
        raw[col["lsoa"]].astype("string").str.strip()
        if col["lsoa"]
        else pd.Series(pd.NA, index=raw.index, dtype="string")
    )
    if has_xy:
        geometry, _, note = points_from_columns(
            raw, source=source, x=col["x"], y=col["y"], lon=col["lon"], lat=col["lat"], crs=crs
        )
    else:
        geometry = gpd.GeoSeries(np.full(n, None, dtype=object), index=raw.index, crs="EPSG:27700")
        note = f"{source}: no coordinates; incidents are placed by LSOA code only"
    label = ids.fillna(source + ":" + pd.Series(rows, index=raw.index).astype(str))
    parts = []
    keep = pd.Series(True, index=raw.index)
    repeated = ids.notna() & ids.str.strip().ne("") & ids.duplicated(keep="first")
    for mask, reason, detail in (
        (repeated, "duplicate id", "the same Crime ID appears earlier in the file"),
        (month.isna(), "unparseable month", raw[month_column].astype("string").fillna("(empty)")),
        (
            month.notna() & (month > pd.Timestamp.today().strftime("%Y-%m")),
            "future month",
            month.fillna(""),
        ),
        (category.isna(), "missing category", ""),
        (geometry.isna() & lsoa.isna(), "no location (no coordinates, no LSOA code)", ""),
    ):
        mask = mask & keep
        if mask.any():
            d = detail[mask] if not isinstance(detail, str) else detail
            parts.append(set_aside_rows(source, rows[mask.to_numpy()], label[mask], reason, d))
            keep &= ~mask
    if keep.sum() == 0:
        raise InputError(
            f"{source}: no usable row; every row lacks a month, a category or a location"
        )
    located = keep & geometry.notna()
    if located.any():
        ok, aside = screened_rows(
            gpd.GeoSeries(geometry[located]),
            source=source,
            ids=label[located],
            study_area=study_area,
        )
        if len(aside):
            aside["row"] = rows[located.to_numpy()][aside["row"].to_numpy() - 1]
            parts.append(aside)
        keep[ok[~ok].index] = False
    data = gpd.GeoDataFrame(
        {
            "incident_id": ids.fillna(pd.NA),
            "month": month,
            "category": category,
            "lsoa_code": lsoa,
            "location": raw[col["location"]].astype("string")
            if col["location"]
            else pd.Series(pd.NA, index=raw.index, dtype="string"),
            "source": source,
        },
        geometry=geometry,
        crs="EPSG:27700",
    )[keep].reset_index(drop=True)
    set_aside = (
        pd.concat(parts, ignore_index=True)
        if parts
        else set_aside_rows(source, np.array([], int), pd.Series([], dtype=object), "")
    )
    return Loaded(data=data, set_aside=set_aside, n_read=n, notes=(note,) if note else ())


def read_incidents(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    crs: str | int | None = None,
    study_area: gpd.GeoDataFrame | None = None,
) -> Loaded:
    """Read police.uk street-level crime files or a generic incident CSV.

    Parameters
    ----------
    path
        A CSV file, a folder of police.uk monthly folders/files, or a glob such as
        ``downloads/*/*-street.csv``.
    columns
        Header overrides by field (``id``, ``month``, ``category``, ``lsoa``, ``location``,
        ``x``, ``y``, ``lon``, ``lat``).
    crs
        CRS of ``x``/``y`` columns when not British National Grid.
    study_area
        Polygons; located incidents outside them are set aside.

    Returns
    -------
    Loaded
        ``data`` columns: ``incident_id, month, category, lsoa_code, location, source, geometry``
        (geometry None where only an LSOA code is known).
    """
    files = incident_files(path)
    loaded = [_read_one(f, columns or {}, crs, study_area) for f in files]
    data = gpd.GeoDataFrame(
        pd.concat([x.data for x in loaded], ignore_index=True),
        geometry="geometry",
        crs="EPSG:27700",
    )
    set_aside = pd.concat([x.set_aside for x in loaded], ignore_index=True)
    notes = tuple(dict.fromkeys(n for x in loaded for n in x.notes))
    if len(files) > 1:
        notes = (f"read {len(files)} incident files",) + notes
    return Loaded(data=data, set_aside=set_aside, n_read=sum(x.n_read for x in loaded), notes=notes)
