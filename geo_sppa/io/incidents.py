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
    rows_passing_checks,
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


def _incident_columns(raw: pd.DataFrame, columns: dict[str, str], source: str) -> dict:
    """Return the file's column for each normalised incident field (None where it has none)."""
    col = {
        f: find_column(
            raw,
            c,
            override=columns.get(f),
            source=source,
            what=f,
            required=f in ("month", "category"),
        )  # fmt: skip
        for f, c in INCIDENT_COLUMNS.items()
    }
    if not ((col["x"] and col["y"]) or (col["lon"] and col["lat"]) or col["lsoa"]):
        raise InputError(
            f"{source}: no coordinate columns (Longitude/Latitude or easting/northing) and no LSOA "
            "code column; an incident file needs one of them"
        )
    return col


def _text_column(raw: pd.DataFrame, column: str | None) -> pd.Series:
    """Return ``raw[column]`` as stripped text, or all-NA text when the file has no such column."""
    if not column:
        return pd.Series(pd.NA, index=raw.index, dtype="string")
    return raw[column].astype("string").str.strip()


def _incident_geometry(
    raw: pd.DataFrame, col: dict, source: str, crs: str | int | None
) -> tuple[gpd.GeoSeries, str | None]:
    """Return the incidents' points (None where only an LSOA code is known) and a note."""
    if (col["x"] and col["y"]) or (col["lon"] and col["lat"]):
        geometry, _, note = points_from_columns(
            raw, source=source, x=col["x"], y=col["y"], lon=col["lon"], lat=col["lat"], crs=crs
        )
        return geometry, note
    empty = gpd.GeoSeries(np.full(len(raw), None, dtype=object), index=raw.index, crs="EPSG:27700")
    return empty, f"{source}: no coordinates; incidents are placed by LSOA code only"


def _read_one(path: Path, columns: dict[str, str], crs, study_area) -> Loaded:
    source = path.name
    notes: list[str] = []
    raw = read_csv_text(path, notes)
    if raw.empty:
        raise InputError(
            f"{source}: the file has a header but no rows; expected one row per incident"
        )
    col = _incident_columns(raw, columns, source)
    rows = np.arange(1, len(raw) + 1)
    ids = _text_column(raw, col["id"])
    month_text = raw[str(col["month"])].astype("string")  # required: found or raised
    month = _month_text(month_text, source=source, column=str(col["month"]))
    category, lsoa = _text_column(raw, col["category"]), _text_column(raw, col["lsoa"])
    geometry, note = _incident_geometry(raw, col, source, crs)
    notes.extend([note] if note else [])
    label = ids.fillna(source + ":" + pd.Series(rows, index=raw.index).astype(str))
    checks = (
        (ids.notna() & ids.ne("") & ids.duplicated(keep="first"), "duplicate id",
         "the same Crime ID appears earlier in the file"),
        (month.isna(), "unparseable month", month_text.fillna("(empty)")),
        (month.notna() & (month > pd.Timestamp.today().strftime("%Y-%m")), "future month",
         month.fillna("")),
        (category.isna(), "missing category", ""),
        (geometry.isna() & lsoa.isna(), "no location (no coordinates, no LSOA code)", ""),
    )  # fmt: skip
    keep, parts = rows_passing_checks(checks, label, source)
    if keep.sum() == 0:
        raise InputError(
            f"{source}: no usable row; every row lacks a month, a category or a location"
        )
    located = keep & geometry.notna()
    if located.any():
        ok, aside = screened_rows(
            gpd.GeoSeries(geometry[located]), source=source, ids=label[located],
            study_area=study_area,
        )  # fmt: skip
        if len(aside):
            aside["row"] = rows[located.to_numpy()][aside["row"].to_numpy() - 1]
            parts.append(aside)
        keep[ok[~ok].index] = False
    fields = {"incident_id": ids, "month": month, "category": category, "lsoa_code": lsoa,
              "location": _text_column(raw, col["location"]), "source": source,
              "source_row": rows}  # fmt: skip
    data = gpd.GeoDataFrame(fields, geometry=geometry, crs="EPSG:27700")[keep]
    set_aside = (
        pd.concat(parts, ignore_index=True)
        if parts
        else set_aside_rows(source, np.array([], int), pd.Series([], dtype=object), "")
    )
    return Loaded(data.reset_index(drop=True), set_aside, len(raw), tuple(notes))


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
        ``data`` columns: ``incident_id, month, category, lsoa_code, location, source,
        source_row, geometry`` (``source_row``: the record's 1-based data row in its file, which
        every later set-aside table names; geometry None where only an LSOA code is known).
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
