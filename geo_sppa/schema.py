"""Column contracts shared by the readers, the analysis rooms and the renderers.

The readers in :mod:`geo_sppa.io` produce frames with these columns; the analysis functions in
:mod:`geo_sppa.roads`, :mod:`geo_sppa.wards` and :mod:`geo_sppa.assessment` expect them. Keeping
them here, rather than inside ``io``, lets an analysis module state what it needs without
importing a reader. ``docs/architecture.md`` describes each column.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from geo_sppa.errors import InputError

__all__ = [
    "SET_ASIDE_COLUMNS",
    "COLLISION_FIELDS",
    "ROAD_USERS",
    "INCIDENT_FIELDS",
    "ROAD_FIELDS",
    "SEVERITIES",
    "header_key",
    "require_columns",
]

#: Columns of every set-aside table: file name, 1-based data row, the record's id, reason, detail.
SET_ASIDE_COLUMNS = ["source", "row", "record_id", "reason", "detail"]

#: Road users flagged per collision (nullable booleans; NA where the file has no flag).
ROAD_USERS = ("pedestrian", "cyclist", "motorcyclist", "child")

#: Normalised collision columns (``geo_sppa.io.read_collisions``), geometry a Point in EPSG:27700.
COLLISION_FIELDS = (
    "collision_id",
    "date",
    "year",
    "time",
    "severity",
    "casualties",
    "road_class",
    "road_number",
    "road_number_2",
    "junction_detail",
    "at_junction",
    "location",
    *ROAD_USERS,
    "source_row",
    "geometry",
)

#: Normalised incident columns (``geo_sppa.io.read_incidents``).
INCIDENT_FIELDS = ("incident_id", "month", "category", "lsoa_code", "location", "geometry")

#: Normalised road columns (``geo_sppa.io.read_roads``), geometry a LineString in EPSG:27700.
ROAD_FIELDS = ("road_id", "name", "ref", "highway", "geometry")

#: Collision severities, most severe first.
SEVERITIES = ("fatal", "serious", "slight")


def header_key(name: object) -> str:
    """Return a header reduced to lower-case letters and digits, for matching across vintages."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, what: str, hint: str) -> None:
    """Raise :class:`InputError` naming the columns of ``columns`` that ``frame`` lacks.

    Parameters
    ----------
    frame
        The frame to check; it is not modified.
    columns
        The columns it must have.
    what
        What the frame is, for the message (``"collisions"``, ``"roads"``).
    hint
        Where such a frame comes from, e.g. ``"geo_sppa.io.read_roads gives them"``.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{what}: missing column(s) {', '.join(missing)}; {hint}")
