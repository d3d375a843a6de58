"""Shared pieces of the readers: the ``Loaded`` result, file checks, header matching, set-asides."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, overload

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from geo_sppa.crs import BNG, GB_BOUNDS, outside_great_britain
from geo_sppa.errors import InputError, MissingFileError

__all__ = [
    "Loaded",
    "SET_ASIDE_COLUMNS",
    "existing_file",
    "read_csv_text",
    "decoded_text",
    "header_key",
    "find_column",
    "set_aside_rows",
    "rows_passing_checks",
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


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decoded_text(data: bytes, *, source: str) -> tuple[str, str | None]:
    """Return the text of a file's bytes and a note on how it was decoded (None for plain UTF-8).

    A byte-order mark (UTF-8, UTF-16 LE/BE) decides the encoding. Otherwise the file is UTF-8:
    a UTF-8 file with a few invalid bytes stays UTF-8 (the bad bytes become U+FFFD and the note
    names their lines), so one stray byte never garbles every accented name in the file. Only a
    file with no valid multi-byte UTF-8 sequence at all is read as Windows-1252 (Excel's "CSV"
    on Windows), with a note.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), None
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{source}: starts with a {encoding} byte-order mark but is not valid "
                    f"{encoding} (byte {exc.start}); re-save the file as UTF-8 CSV"
                ) from None
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    bad = []
    multibyte = False
    for number, line in enumerate(lines):
        try:
            line.decode("utf-8")
            multibyte = multibyte or any(b >= 0x80 for b in line)
        except UnicodeDecodeError:
            bad.append(number)
    if not multibyte:
        note = f"{source}: not UTF-8; read as Windows-1252 (save as 'CSV UTF-8' to avoid this)"
        return data.decode("cp1252", errors="replace"), note
    rows = ", ".join(str(n) for n in bad[:5]) + (" ..." if len(bad) > 5 else "")
    note = (
        f"{source}: {len(bad)} row(s) have bytes that are not UTF-8 (data rows {rows}); "
        "those characters are shown as \ufffd; fix them in the file"
    )
    return data.decode("utf-8", errors="replace"), note


def read_csv_text(path: Path, notes: list[str] | None = None) -> pd.DataFrame:
    """Read a CSV with every column as text, decoded by :func:`decoded_text`.

    Parameters
    ----------
    path
        The file.
    notes
        A list to append a decoding note to (a file that is not plain UTF-8), if given.

    Raises
    ------
    InputError
        The file is a spreadsheet or archive, is empty, or is not comma-separated.
    """
    import io as _io

    data = path.read_bytes()
    head = data[:4096]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            f"{path.name}: this is an Excel workbook or zip archive, not a CSV; "
            "save the sheet as 'CSV UTF-8 (comma delimited)' (or unzip it) and pass that file"
        )
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="replace").encode("utf-8")
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
    text, note = decoded_text(data, source=path.name)
    if note and notes is not None:
        notes.append(note)
    try:
        frame = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(
            f"{path.name}: the file is empty; expected a CSV with a header row"
        ) from None
    except pd.errors.ParserError as exc:
        raise InputError(
            f"{path.name}: not a readable CSV ({str(exc).splitlines()[0].strip()}); check that "
            "every row has as many comma-separated fields as the header and that text with "
            "commas is quoted"
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
        fix = f"; pass {option} COLUMN" if option else "; rename the column to one of those"
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
    """Return ``values`` as float64 with NaN where a value is missing or not a number.

    A column that is all numbers (or missing cells, NA) is cast by pyarrow, about ten times
    faster than ``pd.to_numeric`` and to the same floats; a column with any other text, blank
    cells included, goes through ``pd.to_numeric``, which sets each bad value to NaN.
    """
    text = values.astype("string").str.strip()
    numbers = _arrow_floats(text)
    if numbers is None:
        parsed = pd.to_numeric(text, errors="coerce")
        numbers = parsed.to_numpy(dtype="float64", na_value=np.nan)
    return pd.Series(numbers, index=values.index)


def _arrow_floats(text: pd.Series) -> np.ndarray | None:
    """Return ``text`` cast to float64 by pyarrow (NaN for missing), or None if it cannot."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        floats = pc.cast(pa.array(text.array), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    return np.asarray(floats.to_numpy(zero_copy_only=False), dtype="float64")


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


def rows_passing_checks(
    checks: Iterable[tuple[pd.Series, str, pd.Series | str]],
    ids: pd.Series,
    source: str,
) -> tuple[pd.Series, list[pd.DataFrame]]:
    """Return which rows pass every check, and the set-aside records of those that do not.

    ``checks`` are ``(failed, reason, detail)`` in order; a row is set aside for the first one it
    fails (so its record has one reason), with ``detail`` per row (a Series) or one text.
    """
    rows = np.arange(1, len(ids) + 1)
    keep = pd.Series(True, index=ids.index)
    parts = []
    for failed, reason, detail in checks:
        mask = keep & failed.fillna(False).astype(bool)
        if mask.any():
            shown = detail[mask] if isinstance(detail, pd.Series) else detail
            parts.append(set_aside_rows(source, rows[mask.to_numpy()], ids[mask], reason, shown))
            keep &= ~mask
    return keep, parts


def coordinate_hints(x: np.ndarray, y: np.ndarray) -> pd.Series:
    """Return, per point outside Great Britain, its coordinates and what they look like.

    Each axis is checked on its own against Great Britain's extent in EPSG:27700, and the text
    names the likely mistake: longitude/latitude in grid columns, or eastings and northings
    swapped (the point is inside Great Britain with its axes exchanged).
    """
    minx, miny, maxx, maxy = GB_BOUNDS
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    where = pd.Series([f"x={a:.6g}, y={b:.6g}" for a, b in zip(x, y, strict=True)], dtype=object)
    looks = np.select(
        [
            (np.abs(x) <= 180) & (np.abs(y) <= 90),
            (minx <= y) & (y <= maxx) & (miny <= x) & (x <= maxy),
            ~((minx <= x) & (x <= maxx)),
        ],
        [
            ": looks like longitude/latitude; pass --crs EPSG:4326",
            ": x and y look swapped; exchange --x-column and --y-column",
            f": x outside Great Britain's eastings ({minx:.0f}-{maxx:.0f})",
        ],
        default=f": y outside Great Britain's northings ({miny:.0f}-{maxy:.0f})",
    )
    return where + pd.Series(looks, dtype=object)


def _inside_study_area(
    geometry: gpd.GeoSeries,
    candidates: pd.Series,
    keep: pd.Series,
    study_area: gpd.GeoDataFrame,
    source: str,
    ids: pd.Series,
) -> tuple[pd.Series, pd.DataFrame | None]:
    """Return ``keep`` less the points outside ``study_area``, and their set-aside records.

    A point that falls inside the area once its x and y are exchanged says so in its detail,
    and when every point is outside but most would be inside swapped, the error says that.
    """
    rows = np.arange(1, len(geometry) + 1)
    zone = study_area.geometry.union_all()
    points = gpd.GeoSeries(geometry[candidates])
    inside = pd.Series(True, index=geometry.index)
    inside[candidates] = points.within(zone)
    out = candidates & ~inside
    if not out.any():
        return keep, None
    outside_points = gpd.GeoSeries(geometry[out])
    swapped = gpd.GeoSeries(
        gpd.points_from_xy(outside_points.y, outside_points.x), index=outside_points.index
    ).within(zone)
    detail = outside_points.distance(zone).map(lambda d: f"{d:.0f} m outside")
    detail[swapped] = detail[swapped] + " (inside with x and y swapped)"
    aside = set_aside_rows(source, rows[out.to_numpy()], ids[out], "outside study area", detail)
    keep = keep & ~out
    if keep.sum() == 0:
        if swapped.mean() > 0.5:
            raise InputError(
                f"{source}: no row lies inside the study area, but {int(swapped.sum())} do with "
                "x and y exchanged; the easting and northing columns look swapped: exchange "
                "--x-column and --y-column"
            )
        raise InputError(
            f"{source}: no row lies inside the study area; check that the file covers the same "
            "area as the boundaries (or the --area) you chose"
        )
    return keep, aside


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
        hints = coordinate_hints(geometry.x[outside].to_numpy(), geometry.y[outside].to_numpy())
        parts.append(
            set_aside_rows(
                source, rows[outside.to_numpy()], ids[outside], "outside Great Britain", hints
            )
        )
        keep &= ~outside
    if keep.sum() == 0 and len(geometry):
        if outside.any():
            raise InputError(
                f"{source}: every row lies outside Great Britain (first at "
                f"{hints.iloc[0]}); check the coordinate columns are eastings/northings in "
                "EPSG:27700, or pass --crs"
            )
        raise InputError(f"{source}: no row has coordinates; check the coordinate columns")
    if study_area is not None and len(study_area):
        keep, aside = _inside_study_area(geometry, keep & ~missing, keep, study_area, source, ids)
        if aside is not None:
            parts.append(aside)
    set_aside = (
        pd.concat(parts, ignore_index=True)
        if parts
        else set_aside_rows(source, np.array([], int), pd.Series([], dtype=object), "")
    )
    return keep, set_aside
