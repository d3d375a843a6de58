"""Shared pieces of the readers: the ``Loaded`` result, file checks, header matching, set-asides."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, overload

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from geo_sppa.crs import BNG, outside_great_britain
from geo_sppa.errors import InputError, MissingFileError

__all__ = [
    "Loaded",
    "SET_ASIDE_COLUMNS",
    "existing_file",
    "read_csv_text",
    "header_key",
    "find_column",
    "set_aside_rows",
    "points_from_columns",
]

from geo_sppa.schema import SET_ASIDE_COLUMNS, header_key  # re-exported for the readers


@dataclass(frozen=True)
class Loaded:
    """A validated layer and the rows that could not be used.

    Attributes
    ----------
    data
        The usable rows, normalised, in EPSG:27700.
    set_aside
        One row per unusable input row: ``source`` (file name), ``row`` (1-based data row),
        ``record_id``, ``reason`` (short stable text) and ``detail``.
    n_read
        Rows read from the file(s); always ``len(data) + len(set_aside)``.
    notes
        One-line notes for the run summary (reprojection, assumptions made).
    """

    data: gpd.GeoDataFrame
    set_aside: pd.DataFrame
    n_read: int
    notes: tuple[str, ...] = field(default=())

    def reasons(self) -> dict[str, int]:
        """Return the number of set-aside rows by reason, most common first."""
        counts = self.set_aside["reason"].value_counts()
        return {str(reason): int(n) for reason, n in counts.items()}


def existing_file(path: str | Path, *, what: str, option: str | None = None) -> Path:
    """Return ``path`` as a Path, or raise a one-line error naming it and the fix."""
    path = Path(path)
    if not path.exists():
        fix = f"; check the path passed to {option}" if option else "; check the path"
        raise MissingFileError(f"{path}: no such {what} file{fix}")
    if path.is_dir():
        raise InputError(f"{path}: expected a {what} file, found a folder; name the file inside it")
    return path


def read_csv_text(path: Path) -> pd.DataFrame:
    """Read a CSV with every column as text, trying UTF-8 (with or without BOM) then Latin-1.

    Raises
    ------
    InputError
        The file is a spreadsheet or archive, is empty, or is not comma-separated.
    """
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            f"{path.name}: this is an Excel workbook or zip archive, not a CSV; "
            "save the sheet as 'CSV UTF-8 (comma delimited)' (or unzip it) and pass that file"
        )
    first_line = head.split(b"\n", 1)[0]
    if first_line.count(b";") >= 2 and b"," not in first_line:
        raise InputError(
            f"{path.name}: the columns are separated by semicolons; save the file as "
            "comma-separated CSV"
        )
    if first_line.count(b"\t") >= 2 and b"," not in first_line:
        raise InputError(
            f"{path.name}: the columns are separated by tabs; save the file as comma-separated CSV"
        )
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise InputError(
                f"{path.name}: the file is empty; expected a CSV with a header row"
            ) from None
        except pd.errors.ParserError as exc:
            raise InputError(
                f"{path.name}: not a readable CSV ({str(exc).splitlines()[0].strip()}); check that "
                "every row has "
                "as many comma-separated fields as the header and that text with commas is quoted"
            ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.replace({"": pd.NA, "NULL": pd.NA, "NA": pd.NA, "null": pd.NA})


@overload
def find_column(
    frame: pd.DataFrame,
    candidates: list[str],
    *,
    override: str | None = ...,
    source: str,
    what: str,
    option: str | None = ...,
    required: Literal[True] = ...,
) -> str: ...


@overload
def find_column(
    frame: pd.DataFrame,
    candidates: list[str],
    *,
    override: str | None = ...,
    source: str,
    what: str,
    option: str | None = ...,
    required: bool,
) -> str | None: ...


def find_column(
    frame: pd.DataFrame,
    candidates: list[str],
    *,
    override: str | None = None,
    source: str,
    what: str,
    option: str | None = None,
    required: bool = True,
) -> str | None:
    """Return the column of ``frame`` that matches the first candidate header, or None.

    Parameters
    ----------
    override
        A column the user named; it must exist.
    required
        Raise when nothing matches.
    """
    keys = {header_key(c): c for c in frame.columns}
    if override is not None:
        if override in frame.columns:
            return override
        if header_key(override) in keys:
            return keys[header_key(override)]
        raise InputError(
            f"{source}: no column {override!r} (named for {what}); columns are: "
            f"{', '.join(frame.columns[:30])}"
        )
    for candidate in candidates:
        if header_key(candidate) in keys:
            return keys[header_key(candidate)]
    if required:
        fix = f"; pass {option} COLUMN" if option else ""
        raise InputError(
            f"{source}: no {what} column (looked for {', '.join(candidates[:6])}){fix}"
        )
    return None


def set_aside_rows(
    source: str,
    rows: np.ndarray,
    ids: pd.Series | np.ndarray,
    reason: str,
    detail: pd.Series | str = "",
) -> pd.DataFrame:
    """Return set-aside records for the given 1-based row numbers, all with one reason."""
    n = len(rows)
    return pd.DataFrame(
        {
            "source": [source] * n,
            "row": np.asarray(rows, dtype="int64"),
            "record_id": pd.Series(np.asarray(ids, dtype=object)).astype("string").to_numpy(),
            "reason": [reason] * n,
            "detail": np.asarray(detail, dtype=object)
            if not isinstance(detail, str)
            else [detail] * n,
        },
        columns=SET_ASIDE_COLUMNS,
    )


def _numeric(values: pd.Series) -> pd.Series:
    """Return ``values`` as float64 with NaN where a value is missing or not a number."""
    numbers = pd.to_numeric(values.astype("string").str.strip(), errors="coerce")
    return pd.Series(numbers.to_numpy(dtype="float64", na_value=np.nan), index=values.index)


def points_from_columns(
    frame: pd.DataFrame,
    *,
    source: str,
    x: str | None,
    y: str | None,
    lon: str | None,
    lat: str | None,
    crs: str | int | None,
) -> tuple[gpd.GeoSeries, pd.Series, str | None]:
    """Return points in EPSG:27700, a boolean Series of rows with no usable coordinates, and a note.

    Eastings/northings (``x``/``y``) are British National Grid unless ``crs`` says otherwise;
    longitude/latitude fill rows where eastings are missing. Rows with neither are flagged.
    """
    n = len(frame)
    ex = _numeric(frame[x]) if x else pd.Series(np.nan, index=frame.index)
    ny = _numeric(frame[y]) if y else pd.Series(np.nan, index=frame.index)
    note = None
    if x and crs is not None and not pyproj.CRS.from_user_input(crs).equals(BNG):
        pts = gpd.GeoSeries(gpd.points_from_xy(ex, ny), index=frame.index, crs=crs).to_crs(BNG)
        ex, ny = pts.x, pts.y
        note = f"{source}: coordinates {x}/{y} reprojected from {crs} to EPSG:27700"
    if lon and lat:
        lo, la = _numeric(frame[lon]), _numeric(frame[lat])
        need = (ex.isna() | ny.isna()) & lo.notna() & la.notna()
        if need.any():
            pts = gpd.GeoSeries(
                gpd.points_from_xy(lo[need], la[need]), index=lo[need].index, crs=4326
            )
            pts = pts.to_crs(BNG)
            ex = ex.copy()
            ny = ny.copy()
            ex[need] = pts.x
            ny[need] = pts.y
            note = (
                f"{source}: {int(need.sum())} rows placed from {lon}/{lat} (EPSG:4326), "
                "reprojected to EPSG:27700"
            )
    missing = ex.isna() | ny.isna()
    geometry = gpd.GeoSeries(gpd.points_from_xy(ex, ny), index=frame.index, crs=BNG)
    geometry[missing] = None
    assert len(geometry) == n
    return geometry, missing, note


def outside_gb_mask(geometry: gpd.GeoSeries) -> pd.Series:
    """Return True where a present point lies outside Great Britain's grid extent."""
    present = geometry.notna() & ~geometry.is_empty
    out = pd.Series(False, index=geometry.index)
    if present.any():
        out[present] = outside_great_britain(gpd.GeoDataFrame(geometry=geometry[present]))
    return out


def screened_rows(
    geometry: gpd.GeoSeries,
    *,
    source: str,
    ids: pd.Series,
    study_area: gpd.GeoDataFrame | None = None,
    allow_missing: bool = False,
) -> tuple[pd.Series, pd.DataFrame]:
    """Check point locations; return a keep mask and the set-aside records for the rest.

    Rows with no coordinates (unless ``allow_missing``), outside Great Britain, or outside
    ``study_area`` are set aside with a reason. If no row survives, the whole file is wrong
    (swapped columns, wrong CRS, another area), so an :class:`InputError` says so.
    """
    rows = np.arange(1, len(geometry) + 1)
    keep = pd.Series(True, index=geometry.index)
    parts = []
    missing = geometry.isna() | geometry.is_empty
    if not allow_missing and missing.any():
        parts.append(
            set_aside_rows(source, rows[missing.to_numpy()], ids[missing], "missing coordinates")
        )
        keep &= ~missing
    outside = outside_gb_mask(geometry) & keep
    if outside.any():
        out_x, out_y = geometry.x[outside], geometry.y[outside]
        detail = [f"x={x:.0f}, y={y:.0f}" for x, y in zip(out_x, out_y, strict=True)]
        parts.append(
            set_aside_rows(
                source,
                rows[outside.to_numpy()],
                ids[outside],
                "outside Great Britain",
                pd.Series(detail),
            )
        )
        keep &= ~outside
    if keep.sum() == 0 and len(geometry):
        if outside.any():
            first_x, first_y = geometry.x[outside].iloc[0], geometry.y[outside].iloc[0]
            raise InputError(
                f"{source}: every row lies outside Great Britain "
                f"(first at x={first_x:.6g}, y={first_y:.6g}); "
                "check the coordinate columns are eastings/northings in EPSG:27700, or pass --crs"
            )
        raise InputError(f"{source}: no row has coordinates; check the coordinate columns")
    if study_area is not None and len(study_area):
        zone = study_area.geometry.union_all()
        candidates = keep & ~missing
        inside = pd.Series(True, index=geometry.index)
        inside[candidates] = gpd.GeoSeries(geometry[candidates]).within(zone)
        out = candidates & ~inside
        if out.any():
            dist = gpd.GeoSeries(geometry[out]).distance(zone)
            parts.append(
                set_aside_rows(
                    source,
                    rows[out.to_numpy()],
                    ids[out],
                    "outside study area",
                    dist.map(lambda d: f"{d:.0f} m outside"),
                )
            )
            keep &= ~out
        if keep.sum() == 0:
            raise InputError(
                f"{source}: no row lies inside the study area; check that the file covers the same "
                "area "
                "as the boundaries (or the --area) you chose"
            )
    set_aside = (
        pd.concat(parts, ignore_index=True)
        if parts
        else set_aside_rows(source, np.array([], int), pd.Series([], dtype=object), "")
    )
    return keep, set_aside
