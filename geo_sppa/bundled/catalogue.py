"""The bundled-data catalogue as a table with live row counts (``geo-sppa data``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from geo_sppa.bundled.areas import AREAS, ENGLAND, catalogue, project_root
from geo_sppa.errors import InputError

__all__ = ["bundled_datasets", "row_count"]


def row_count(path: Path) -> int:
    """Return the number of records in a bundled file (CSV rows, plain or gzip, or features)."""
    if path.name.lower().endswith((".csv", ".csv.gz")):
        return int(len(pd.read_csv(path, usecols=[0], dtype=str)))
    import pyogrio

    return int(pyogrio.read_info(path)["features"])


def bundled_datasets(area: str | None = None) -> pd.DataFrame:
    """Return the catalogue (area, name, description, rows, years, source, licence, path).

    Raises
    ------
    InputError
        ``area`` is not a bundled area (or ``england``, the England-wide tables).
    """
    if area is not None and area not in (*AREAS, ENGLAND):
        raise InputError(f"unknown area {area!r}; choose one of: {', '.join((*AREAS, ENGLAND))}")
    root = project_root()
    rows = [r for r in catalogue() if area is None or r["area"] == area]
    table = pd.DataFrame(rows).rename(columns={"key": "name"})
    table["rows"] = [row_count(root / p) for p in table["path"]]
    return table[["area", "name", "description", "rows", "years", "source", "licence", "path"]]
