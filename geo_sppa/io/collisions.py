"""Read injury road collisions: DfT STATS19 CSVs of every vintage, council extracts, generic CSVs.

Headers are matched across vintages (``Accident_Index``/``accident_index``/``collision_index``,
``Location_Easting_OSGR``/``Easting`` ...) after reducing them to lower-case letters and digits, and
coded values (severity 1/2/3, road class 1-6, junction detail 0-9) are decoded to text.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_sppa.errors import InputError
from geo_sppa.io._common import (
    Loaded,
    existing_file,
    find_column,
    points_from_columns,
    read_csv_text,
    screened_rows,
    set_aside_rows,
)
from geo_sppa.schema import ROAD_USERS, SEVERITIES

__all__ = ["read_collisions", "COLLISION_COLUMNS", "ROAD_USERS", "SEVERITIES", "parse_dates"]


#: Normalised field -> candidate headers, in order of preference (any case, any punctuation).
COLLISION_COLUMNS: dict[str, list[str]] = {
    "id": [
        "collision_index",
        "accident_index",
        "collision_id",
        "Reference",
        "collision_reference",
        "accident_reference",
        "id",
    ],
    "x": ["location_easting_osgr", "easting", "x"],
    "y": ["location_northing_osgr", "northing", "y"],
    "lon": ["longitude", "lon", "lng"],
    "lat": ["latitude", "lat"],
    "date": ["date", "collision_date", "accident_date"],
    "time": ["time", "time_24h"],
    "severity": ["collision_severity", "accident_severity", "severity"],
    "casualties": ["number_of_casualties", "casualties", "n_casualty_rows"],
    "road_class": ["first_road_class", "1st_road_class", "road_class"],
    "road_number": [
        "first_road_number",
        "1st_road_number",
        "main_rd_no",
        "road_class_and_number",
        "road_number",
    ],
    "road_class_2": ["second_road_class", "2nd_road_class"],
    "road_number_2": ["second_road_number", "2nd_road_number"],
    # From 2024 DfT recodes junction_detail and keeps the old coding as junction_detail_historic.
    "junction_detail": ["junction_detail_historic", "junction_detail"],
    "location": ["location", "location_text", "description"],
    # Road users involved, as Y/N flags (council extracts such as Cambridgeshire Insight; STATS19
    # keeps road users in its separate casualty and vehicle files).
    "pedestrian": ["Ped", "pedestrian"],
    "cyclist": ["Cycle", "cyclist", "pedal_cycle"],
    "motorcyclist": ["TWMV", "motorcycle", "two_wheeled_motor_vehicle"],
    "child": ["Child", "child_casualty"],
}

#: Normalised road-user flag columns (nullable boolean; NA where the file has no such flag).

_OPTIONS = {
    "id": "--id-column",
    "x": "--x-column",
    "y": "--y-column",
    "date": "--date-column",
    "severity": "--severity-column",
}

_SEVERITY_CODES = {
    "1": "fatal",
    "2": "serious",
    "3": "slight",
    "fatal": "fatal",
    "serious": "serious",
    "slight": "slight",
}
_ROAD_CLASS = {
    "1": "Motorway",
    "2": "A(M)",
    "3": "A",
    "4": "B",
    "5": "C",
    "6": "Unclassified",
    "m": "Motorway",
    "motorway": "Motorway",
    "a(m)": "A(M)",
    "am": "A(M)",
    "a": "A",
    "b": "B",
    "c": "C",
    "u": "Unclassified",
    "unclassified": "Unclassified",
}
_CLASS_PREFIX = {"Motorway": "M", "A(M)": "A", "A": "A", "B": "B"}
_JUNCTION_CODES = {
    "0": "Not at junction or within 20 metres",
    "1": "Roundabout",
    "2": "Mini-roundabout",
    "3": "T or staggered junction",
    "5": "Slip road",
    "6": "Crossroads",
    "7": "More than 4 arms (not roundabout)",
    "8": "Private drive or entrance",
    "9": "Other junction",
}
_NOT_JUNCTION = ("not at", "private drive", "not a junction")
_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%Y%m%d", "%d-%b-%y", "%d/%m/%y", "%m/%d/%Y", "%Y/%m/%d")


def parse_dates(values: pd.Series, *, source: str, column: str) -> pd.Series:
    """Return ``values`` parsed as dates with the one format that reads the most of them.

    Values that format cannot read become NaT (the caller sets those rows aside).

    Raises
    ------
    InputError
        No known format reads any value.
    """
    text = values.astype("string").str.strip().str.slice(0, 10)
    text = text.str.replace(r"T.*$", "", regex=True)
    present = text.notna()
    best: pd.Series = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    best_ok = -1
    for fmt in _DATE_FORMATS:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
        ok = int(parsed.notna().sum())
        if ok > best_ok:
            best, best_ok = parsed, ok
        if ok == int(present.sum()):
            break
    if best_ok <= 0:
        example = text.dropna().iloc[0] if present.any() else "(empty)"
        raise InputError(
            f"{source}: column {column!r}: cannot read dates such as {example!r} "
            "(expected dd/mm/yyyy, yyyy-mm-dd or yyyymmdd); "
            "fix the column or name another with --date-column"
        )
    return best


def _road_numbers(road_class: pd.Series, number: pd.Series) -> pd.Series:
    text = number.astype("string").str.strip().str.upper()
    numeric = pd.to_numeric(text, errors="coerce")
    prefix = road_class.map(_CLASS_PREFIX)
    out = pd.Series(pd.NA, index=number.index, dtype="string")
    is_code = numeric.notna()
    with_prefix = is_code & (numeric > 0) & prefix.notna()
    out[with_prefix] = prefix[with_prefix] + numeric[with_prefix].astype("int64").astype(str)
    am = with_prefix & (road_class == "A(M)")
    out[am] = out[am] + "(M)"
    labelled = ~is_code & text.notna() & text.str.match(r"^[MAB]\d+")
    out[labelled] = text[labelled]
    return out


def _decoded_junctions(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return junction detail as text and whether it names a junction (NA where unknown).

    Codes outside the STATS19 0-9 table (missing -1/99, or another coding) are kept as
    ``code N`` with ``at_junction`` NA, never guessed.
    """
    text = values.astype("string").str.strip()
    decoded = text.map(lambda v: _JUNCTION_CODES.get(v, v) if isinstance(v, str) else pd.NA).astype(
        "string"
    )
    missing = decoded.isin(["-1", "99"]) | decoded.isna()
    other_code = ~missing & decoded.str.fullmatch(r"-?\d+").fillna(False)
    decoded[other_code] = "code " + decoded[other_code]
    decoded = decoded.mask(missing)
    known = ~missing & ~other_code
    lower = decoded.str.lower()
    at = pd.Series(pd.NA, index=values.index, dtype="boolean")
    at[known] = ~lower[known].str.contains("|".join(_NOT_JUNCTION), regex=True)
    return decoded, at


def _collision_columns(
    raw: pd.DataFrame, columns: dict[str, str], source: str
) -> dict[str, str | None]:
    """Return the file's column for each normalised field (None where the file has none)."""
    unknown = set(columns) - set(COLLISION_COLUMNS)
    if unknown:
        raise InputError(
            f"unknown collision field(s) {sorted(unknown)}; fields are {sorted(COLLISION_COLUMNS)}"
        )
    col = {
        field: find_column(
            raw,
            cands,
            override=columns.get(field),
            source=source,
            what=field.replace("_", " "),
            option=_OPTIONS.get(field),
            required=field in ("id", "date", "severity"),
        )
        for field, cands in COLLISION_COLUMNS.items()
    }
    if not (col["x"] and col["y"]) and not (col["lon"] and col["lat"]):
        raise InputError(
            f"{source}: no coordinate columns (looked for location_easting_osgr/easting and "
            "longitude/latitude); pass --x-column and --y-column"
        )
    return col


def _duplicate_rows(raw: pd.DataFrame, ids: pd.Series, id_column: str, source: str) -> pd.Series:
    """Return True on exact repeats of an earlier row; raise when one id labels different rows."""
    # Exact duplicate rows (a file concatenated twice) are set aside; one id on different
    # rows is an error.
    dup_rows = raw.duplicated(keep="first")
    dup_ids = ids.duplicated(keep=False) & ~raw.duplicated(keep=False)
    if dup_ids.any():
        bad = ids[dup_ids]
        raise InputError(
            f"{source}: {bad.nunique()} id(s) in column {id_column!r} appear on different rows "
            f"(e.g. {bad.iloc[0]!r}); ids must be unique: remove the duplicates or name another id "
            "column with --id-column"
        )
    return dup_rows


def _descriptive_fields(raw: pd.DataFrame, col: dict[str, str | None]) -> dict[str, pd.Series]:
    """Return the decoded descriptive columns (time, casualties, roads, junction, location)."""

    def text(field: str) -> pd.Series:
        return (
            raw[col[field]].astype("string").str.strip()
            if col[field]
            else pd.Series(pd.NA, index=raw.index, dtype="string")
        )

    road_class = (
        raw[col["road_class"]].astype("string").str.strip().str.lower().map(_ROAD_CLASS)
        if col["road_class"]
        else pd.Series(pd.NA, index=raw.index)
    )
    road_number = (
        _road_numbers(road_class, raw[col["road_number"]])
        if col["road_number"]
        else pd.Series(pd.NA, index=raw.index, dtype="string")
    )
    if col["road_number_2"]:
        class_2 = (
            raw[col["road_class_2"]].astype("string").str.strip().str.lower().map(_ROAD_CLASS)
            if col["road_class_2"]
            else pd.Series(pd.NA, index=raw.index)
        )
        road_number_2 = _road_numbers(class_2, raw[col["road_number_2"]])
    else:
        road_number_2 = pd.Series(pd.NA, index=raw.index, dtype="string")
    if col["junction_detail"]:
        junction, at_junction = _decoded_junctions(raw[col["junction_detail"]])
    else:
        junction = pd.Series(pd.NA, index=raw.index, dtype="string")
        at_junction = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    time = text("time")
    time = time.str.replace(":", "", regex=False).str.zfill(4)
    time = time.where(time.str.match(r"^\d{4}$").fillna(False))
    time = time.str.slice(0, 2) + ":" + time.str.slice(2, 4)
    casualties = (
        pd.to_numeric(raw[col["casualties"]], errors="coerce").astype("Int64")
        if col["casualties"]
        else pd.Series(pd.NA, index=raw.index, dtype="Int64")
    )
    casualties = casualties.where(casualties >= 0)  # STATS19 codes missing values as -1
    return {
        "time": time.astype("string"),
        "casualties": casualties,
        "road_class": road_class.astype("string"),
        "road_number": road_number.astype("string"),
        "road_number_2": road_number_2.astype("string"),
        "junction_detail": junction.astype("string"),
        "at_junction": at_junction,
        "location": text("location"),
        **{user: _yes_no(text(user)) for user in ROAD_USERS},
    }


def _yes_no(values: pd.Series) -> pd.Series:
    """Return Y/N (yes/no, 1/0, true/false) text as nullable booleans; anything else is NA."""
    upper = values.str.upper()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[upper.isin(["Y", "YES", "1", "TRUE"]).fillna(False)] = True
    out[upper.isin(["N", "NO", "0", "FALSE"]).fillna(False)] = False
    return out


def read_collisions(
    path: str | Path,
    *,
    columns: dict[str, str] | None = None,
    crs: str | int | None = None,
    study_area: gpd.GeoDataFrame | None = None,
) -> Loaded:
    """Read a collision CSV and return the usable collisions plus the rows set aside.

    Parameters
    ----------
    path
        A DfT STATS19 collision (accident) CSV of any vintage, the Cambridgeshire Insight layout,
        the Leeds City Council layout, or any CSV with id, coordinates, date and severity columns.
    columns
        Header overrides by normalised field (``id``, ``x``, ``y``, ``lon``, ``lat``, ``date``,
        ``time``, ``severity``, ``casualties``, ``road_class``, ``road_number``,
        ``junction_detail``, ``location``).
    crs
        CRS of the ``x``/``y`` columns when they are not British National Grid.
    study_area
        Polygons; collisions outside them are set aside (``outside study area``).

    Returns
    -------
    Loaded
        ``data`` has the normalised collision columns of ``docs/architecture.md``.

    Raises
    ------
    InputError
        Missing file or column, no rows, unreadable dates, conflicting duplicate ids, or no
        usable row at all.
    """
    path = existing_file(path, what="collisions", option="--collisions")
    source = path.name
    raw = read_csv_text(path)
    if raw.empty:
        raise InputError(
            f"{source}: the file has a header but no rows; expected one row per collision"
        )
    col = _collision_columns(raw, columns or {}, source)
    n_read = len(raw)
    rows = np.arange(1, n_read + 1)
    id_column, date_column = str(col["id"]), str(col["date"])  # required: found or raised
    ids = raw[id_column].astype("string").str.strip()

    dup_rows = _duplicate_rows(raw, ids, id_column, source)
    parts = []
    keep = ~dup_rows
    if dup_rows.any():
        parts.append(
            set_aside_rows(source, rows[dup_rows.to_numpy()], ids[dup_rows], "duplicate row")
        )

    geometry, _, note = points_from_columns(
        raw, source=source, x=col["x"], y=col["y"], lon=col["lon"], lat=col["lat"], crs=crs
    )
    dates = parse_dates(raw[date_column], source=source, column=date_column)
    bad_date = keep & dates.isna()
    if bad_date.any():
        parts.append(
            set_aside_rows(
                source,
                rows[bad_date.to_numpy()],
                ids[bad_date],
                "unparseable date",
                raw.loc[bad_date, col["date"]].astype("string").fillna("(empty)"),
            )
        )
        keep &= ~bad_date
    sev_text = raw[col["severity"]].astype("string").str.strip().str.lower()
    severity = sev_text.map(
        lambda v: _SEVERITY_CODES.get(v, pd.NA) if isinstance(v, str) else pd.NA
    )
    bad_sev = keep & severity.isna()
    if bad_sev.any():
        parts.append(
            set_aside_rows(
                source,
                rows[bad_sev.to_numpy()],
                ids[bad_sev],
                "unknown severity",
                raw.loc[bad_sev, col["severity"]].astype("string").fillna("(empty)"),
            )
        )
        keep &= ~bad_sev
    if keep.sum() == 0:
        raise InputError(
            f"{source}: no usable row (severity in column {col['severity']!r} must be 1/2/3 or "
            "fatal/serious/slight); fix the column or name another with --severity-column"
        )
    located, located_aside = screened_rows(
        gpd.GeoSeries(geometry[keep]), source=source, ids=ids[keep], study_area=study_area
    )
    if len(located_aside):
        located_aside["row"] = rows[keep.to_numpy()][located_aside["row"].to_numpy() - 1]
        parts.append(located_aside)
    keep_index = located[located].index

    fields = _descriptive_fields(raw, col)
    data = (
        gpd.GeoDataFrame(
            {
                "collision_id": ids,
                "date": dates,
                "year": dates.dt.year.astype("Int64"),
                "time": fields["time"],
                "severity": severity.astype("string"),
                "casualties": fields["casualties"],
                "road_class": fields["road_class"],
                "road_number": fields["road_number"],
                "road_number_2": fields["road_number_2"],
                "junction_detail": fields["junction_detail"],
                "at_junction": fields["at_junction"],
                "location": fields["location"],
                **{user: fields[user] for user in ROAD_USERS},
                "source_row": pd.Series(rows, index=raw.index),
            },
            geometry=geometry,
        )
        .loc[keep_index]
        .reset_index(drop=True)
    )
    data["year"] = data["year"].astype("int64")
    set_aside = (
        pd.concat(parts, ignore_index=True)
        if parts
        else set_aside_rows(source, np.array([], int), pd.Series([], dtype=object), "")
    )
    notes = tuple(n for n in [note] if n)
    assert len(data) + len(set_aside) == n_read, "every row is used or set aside"
    return Loaded(
        data=data,
        set_aside=set_aside.sort_values("row", ignore_index=True),
        n_read=n_read,
        notes=notes,
    )
