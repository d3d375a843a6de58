"""Write results: CSV that opens cleanly in Excel, GeoPackage, GeoJSON, HTML and PNG files."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_sppa.errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "output_dir",
    "write_csv",
    "spreadsheet_safe",
    "write_gpkg",
    "write_geojson",
    "write_text",
    "write_png",
    "atomic_path",
    "LIST_SEPARATOR",
]

LIST_SEPARATOR = ";"
#: Marks a file still being written; such files are never left behind by a finished run.
PARTIAL_MARK = ".partial-"


def _use_arrow() -> bool:
    """Return True where pyarrow is installed (pyogrio's Arrow path writes 20-30% faster)."""
    from importlib.util import find_spec

    return find_spec("pyarrow") is not None


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it.

    The temporary name keeps the suffix (GDAL picks drivers by it) and starts with a dot, so a
    run killed part-way leaves no complete-looking file and never half-replaces an earlier one.
    """
    partial = path.with_name(f".{path.stem}{PARTIAL_MARK}{os.getpid()}{path.suffix}")
    for leftover in (partial, partial.with_name(partial.name + "-journal")):
        leftover.unlink(missing_ok=True)
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        for leftover in (partial, partial.with_name(partial.name + "-journal")):
            leftover.unlink(missing_ok=True)
        raise


def output_dir(path: str | Path) -> Path:
    """Return ``path`` as an existing folder, creating it (and parents) if needed."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: the output folder is a file; pass another -o/--output-dir")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".geo-sppa-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(
            f"{path}: cannot write results there ({exc.strerror}); pass another -o/--output-dir"
        ) from None
    return path


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose list-valued columns are joined into text (GPKG and CSV have no lists)."""
    out = frame.copy()
    for column in out.columns:
        if column == getattr(out, "_geometry_column_name", None):
            continue
        if out[column].dtype == object and any(isinstance(v, (list, tuple)) for v in out[column]):
            out[column] = out[column].map(
                lambda v: LIST_SEPARATOR.join(map(str, v)) if isinstance(v, (list, tuple)) else v
            )
    return out


#: A text cell starting with one of these is run as a formula by spreadsheets (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy in which text cells that a spreadsheet would run as a formula are inert.

    Following OWASP's guidance on CSV injection, a text cell that starts with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return gets a leading single quote, so Excel and
    LibreOffice show it as text. Numeric columns, and text cells that are plain numbers such
    as ``-1``, are left alone.
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        risky = _formula_cells(values)
        if risky.any():
            out[column] = values.astype(object).where(~risky, "'" + values.astype(str))
    return out


def _is_formula(value: object) -> bool:
    return (
        isinstance(value, str)
        and value.startswith(_FORMULA_START)
        and not _PLAIN_NUMBER.match(value)
    )


def _formula_cells(values: pd.Series) -> pd.Series:
    """Return True where a cell is text a spreadsheet would run as a formula.

    Each distinct value is checked once: a national table repeats a few condition texts over
    hundreds of thousands of rows.
    """
    try:
        codes, uniques = pd.factorize(values)
    except TypeError:  # unhashable cells: check them one by one
        return values.map(_is_formula).astype(bool)
    flags = np.array([_is_formula(u) for u in uniques] + [False], dtype=bool)  # -1 (NA): False
    return pd.Series(flags[codes], index=values.index)


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as UTF-8 CSV with a byte-order mark (Excel reads accents); drop geometry.

    Text cells that a spreadsheet would run as formulas are neutralised
    (:func:`spreadsheet_safe`). The file appears only when complete (:func:`atomic_path`).
    """
    path = Path(path)
    table = pd.DataFrame(_flat(frame))
    if isinstance(frame, gpd.GeoDataFrame):
        table = table.drop(columns=[frame.geometry.name])
    with atomic_path(path) as partial:
        spreadsheet_safe(table).to_csv(
            partial, index=False, encoding="utf-8-sig", lineterminator="\r\n"
        )
    return path


def write_gpkg(
    frame: gpd.GeoDataFrame,
    path: str | Path,
    *,
    layer: str | None = None,
    more_layers: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write ``frame`` (and ``more_layers``) as a GeoPackage, EPSG:27700 as given.

    Every layer is written to a temporary file that replaces ``path`` only when all are
    complete, so a killed run never leaves a GeoPackage with some layers or a journal file.

    Parameters
    ----------
    frame
        The main layer.
    path
        The GeoPackage; an existing file is replaced.
    layer
        The main layer's name (default: the file's stem).
    more_layers
        Further layers by name: GeoDataFrames as spatial layers, DataFrames as attribute tables.
    """
    import pyogrio

    path = Path(path)
    with atomic_path(path) as partial:
        gpd.GeoDataFrame(_flat(frame)).to_file(
            partial,
            layer=layer or path.stem,
            driver="GPKG",
            engine="pyogrio",
            use_arrow=_use_arrow(),
        )
        for name, extra in (more_layers or {}).items():
            if isinstance(extra, gpd.GeoDataFrame):
                gpd.GeoDataFrame(_flat(extra)).to_file(
                    partial, layer=name, driver="GPKG", engine="pyogrio", use_arrow=_use_arrow()
                )
            else:
                pyogrio.write_dataframe(_flat(extra), partial, layer=name, driver="GPKG")
    return path


def write_geojson(frame: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write ``frame`` as RFC 7946 GeoJSON (EPSG:4326, as the format requires)."""
    path = Path(path)
    with atomic_path(path) as partial:
        gpd.GeoDataFrame(_flat(frame)).to_crs(4326).to_file(
            partial, layer=path.stem, driver="GeoJSON", engine="pyogrio", use_arrow=_use_arrow()
        )
    return path


def write_text(text: str, path: str | Path) -> Path:
    """Write ``text`` (an HTML page, a report, JSON) as UTF-8, atomically."""
    path = Path(path)
    with atomic_path(path) as partial:
        partial.write_text(text, encoding="utf-8")
    return path


def write_png(figure: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Save a matplotlib :class:`~matplotlib.figure.Figure` as PNG, atomically."""
    path = Path(path)
    with atomic_path(path) as partial:
        figure.savefig(partial, dpi=dpi, format="png")
    return path
