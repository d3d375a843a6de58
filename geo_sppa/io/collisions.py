"""Read injury road collisions: DfT STATS19 CSVs of every vintage, council extracts, generic CSVs.

Headers are matched across vintages (``Accident_Index``/``accident_index``/``collision_index``,
``Location_Easting_OSGR``/``Easting`` ...) after reducing them to lower-case letters and digits, and
coded values (severity 1/2/3, road class 1-6, junction detail 0-9) are decoded to text.

Besides the columns of :data:`geo_sppa.schema.COLLISION_FIELDS`, the frame carries the context
columns :data:`CONTEXT_FIELDS` (NA where the file has no such column), decoded with the DfT
code tables of :mod:`geo_sppa.io.stats19_codes` (a code outside them stays ``code N``):
``light``, ``weather``, ``surface`` (road surface), ``road_type``, ``junction_control``,
``carriageway_hazards``, ``special_conditions`` (at site), ``urban_rural``, ``weekday`` (from
``day_of_week``, else the date's day name), ``speed_limit`` (mph, ``Int64``), and from council
extracts with per-vehicle columns (``Vehicle_1_Type``, ``Vehicle_1_Manouvres``, ``V3_...``)
``vehicle_types`` and ``manoeuvres`` (``"; "``-joined in vehicle order).
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
    rows_passing_checks,
    screened_rows,
    set_aside_rows,
)
from geo_sppa.io.stats19_codes import (
    CONTEXT_CODES,
    VEHICLE_PATTERNS,
    decoded_context,
    joined_vehicle_columns,
    speed_limits,
)
from geo_sppa.schema import ROAD_USERS, SEVERITIES

__all__ = [
    "read_collisions",
    "COLLISION_COLUMNS",
    "CONTEXT_FIELDS",
    "ROAD_USERS",
    "SEVERITIES",
    "parsed_dates",
]


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
    # Context fields (decoded by geo_sppa.io.stats19_codes); from 2024 DfT keeps the old coding
    # of carriageway hazards as carriageway_hazards_historic.
    "light": ["light_conditions", "lighting_conditions", "light"],
    "weather": ["weather_conditions", "weather"],
    "surface": ["road_surface_conditions", "road_surface", "surface"],
    "speed_limit": ["speed_limit", "speed_limit_mph"],
    "road_type": ["road_type"],
    "junction_control": ["junction_control"],
    "carriageway_hazards": ["carriageway_hazards_historic", "carriageway_hazards"],
    "special_conditions": ["special_conditions_at_site", "special_conditions"],
    "urban_rural": ["urban_or_rural_area", "urban_rural"],
    "weekday": ["day_of_week", "weekday"],
}

#: Context columns added after the road users (``string``; ``speed_limit`` ``Int64`` mph),
#: NA where the file has no such column.
CONTEXT_FIELDS = (*CONTEXT_CODES, "speed_limit", *VEHICLE_PATTERNS)

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


#: Formats that read the same text with day and month the other way round.
_SWAPPED_ORDER = {"%d/%m/%Y": "%m/%d/%Y", "%m/%d/%Y": "%d/%m/%Y"}


def parsed_dates(
    values: pd.Series, *, source: str, column: str, fmt: str | None = None
) -> tuple[pd.Series, str | None]:
    """Return ``values`` parsed as dates with the one format that reads the most, and a note.

    Values that format cannot read become NaT (the caller sets those rows aside). A file in
    which day-first and month-first dates are mixed (some rows read only one way, others only
    the other) is refused as a whole: deciding row by row would swap day and month silently.
    When every date reads both ways, day-first (the UK order) is used and the note says so
    (otherwise the note is None).

    Parameters
    ----------
    values
        The date column as text.
    source, column
        The file and column, for messages.
    fmt
        A ``strftime`` format to use instead of detecting one (``--date-format``).

    Raises
    ------
    InputError
        No known format reads any value, or day-first and month-first dates are mixed.
    """
    # A national file repeats a few thousand dates over hundreds of thousands of rows: parse
    # each distinct value once (in order of first appearance, so examples are the first rows).
    codes, uniques = values.factorize()
    distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    rows = np.bincount(codes[codes >= 0], minlength=len(distinct))
    parsed, note = _parsed_distinct_dates(distinct, rows, source=source, column=column, fmt=fmt)
    return pd.Series(parsed.array.take(codes, allow_fill=True), index=values.index,
                     name=values.name), note  # fmt: skip


def _parsed_distinct_dates(
    values: pd.Series, rows: np.ndarray, *, source: str, column: str, fmt: str | None
) -> tuple[pd.Series, str | None]:
    """Return :func:`parsed_dates` of distinct ``values``, each standing for ``rows`` rows."""
    text = values.astype("string").str.strip().str.slice(0, 10)
    text = text.str.replace(r"T.*$", "", regex=True)
    present = text.notna()
    if fmt is not None:
        return _dates_in_format(text, fmt, source=source, column=column), None
    parsed_by = {f: pd.to_datetime(text, format=f, errors="coerce") for f in _DATE_FORMATS}
    best_fmt = max(_DATE_FORMATS, key=lambda f: int(rows[parsed_by[f].notna().to_numpy()].sum()))
    best = parsed_by[best_fmt]
    if int(best.notna().sum()) == 0:
        example = text.dropna().iloc[0] if present.any() else "(empty)"
        raise InputError(
            f"{source}: column {column!r}: cannot read dates such as {example!r} "
            "(expected dd/mm/yyyy, yyyy-mm-dd or yyyymmdd); "
            "fix the column or name another with --date-column"
        )
    other_fmt = _SWAPPED_ORDER.get(best_fmt)
    if other_fmt is not None:
        other = parsed_by[other_fmt]
        only_other = other.notna() & best.isna()
        if only_other.any():
            only_best = best.notna() & other.isna()
            example_best = (
                text[only_best].iloc[0] if only_best.any() else text[best.notna()].iloc[0]
            )
            raise InputError(
                f"{source}: column {column!r} mixes day-first and month-first dates (e.g. "
                f"{example_best!r} and {text[only_other].iloc[0]!r}); fix the file, or pass "
                f"--date-format {best_fmt} (or {other_fmt}) "
                "to read every row one way and set aside the rest"
            )
        read_both = best.notna() & other.notna()
        differ = read_both & (best != other)
        if best_fmt == "%d/%m/%Y" and read_both.sum() == best.notna().sum() and differ.any():
            return best, (
                f"{source}: every date in column {column!r} reads as day-first or month-first; "
                "read as day-first (UK order); pass --date-format %m/%d/%Y if they are month-first"
            )
    return best, None


def _dates_in_format(text: pd.Series, fmt: str, *, source: str, column: str) -> pd.Series:
    """Return ``text`` parsed with ``fmt``; raise when the format reads none of it."""
    try:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    except ValueError as exc:
        raise InputError(
            f"--date-format {fmt!r} is not a valid date format ({exc}); use strftime codes such "
            "as %d/%m/%Y"
        ) from None
    if parsed.notna().sum() == 0:
        example = text.dropna().iloc[0] if text.notna().any() else "(empty)"
        raise InputError(
            f"{source}: column {column!r}: no date such as {example!r} matches --date-format "
            f"{fmt!r}; check the format"
        )
    return parsed


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
    # Equal rows have equal ids, so only rows sharing an id are compared column by column.
    shared = ids.duplicated(keep=False).to_numpy(dtype=bool)
    dup_rows = pd.Series(False, index=raw.index)
    dup_ids = pd.Series(False, index=raw.index)
    if shared.any():
        candidates = raw[shared]
        dup_rows[shared] = candidates.duplicated(keep="first").to_numpy()
        dup_ids[shared] = ~candidates.duplicated(keep=False).to_numpy()
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
    date_format: str | None = None,
    today: pd.Timestamp | None = None,
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
        ``junction_detail``, ``location``, and the context fields such as ``light``,
        ``weather``, ``surface``, ``speed_limit``: any key of :data:`COLLISION_COLUMNS`).
    crs
        CRS of the ``x``/``y`` columns when they are not British National Grid.
    study_area
        Polygons; collisions outside them are set aside (``outside study area``).
    date_format
        A ``strftime`` format for the date column (``--date-format``), e.g. ``%m/%d/%Y``; by
        default the format is detected, and a file mixing day-first and month-first is refused.
    today
        Dates after this are set aside as ``future date`` (default: today's date).

    Returns
    -------
    Loaded
        ``data`` has the normalised collision columns of ``docs/architecture.md``.

    Raises
    ------
    InputError
        Missing file or column, no rows, unreadable or mixed-order dates, conflicting duplicate
        ids, or no usable row at all.
    """
    path = existing_file(path, what="collisions", option="--collisions")
    source = path.name
    notes: list[str] = []
    raw = read_csv_text(path, notes)
    if raw.empty:
        raise InputError(
            f"{source}: the file has a header but no rows; expected one row per collision"
        )
    col = _collision_columns(raw, columns or {}, source)
    id_column, date_column = str(col["id"]), str(col["date"])  # required: found or raised
    ids = raw[id_column].astype("string").str.strip()
    geometry, _, note = points_from_columns(
        raw, source=source, x=col["x"], y=col["y"], lon=col["lon"], lat=col["lat"], crs=crs
    )
    notes.extend([note] if note else [])
    dates, date_note = parsed_dates(
        raw[date_column], source=source, column=date_column, fmt=date_format
    )
    notes.extend([date_note] if date_note else [])
    severity = _severities(raw[str(col["severity"])])
    keep, parts = _screened(raw, ids, col, dates, severity, source, today)
    located, located_aside = screened_rows(
        gpd.GeoSeries(geometry[keep]), source=source, ids=ids[keep], study_area=study_area
    )
    rows = np.arange(1, len(raw) + 1)
    if len(located_aside):
        located_aside["row"] = rows[keep.to_numpy()][located_aside["row"].to_numpy() - 1]
        parts.append(located_aside)
    data = _collision_frame(raw, col, ids, dates, severity, geometry)
    if not (bool(keep.all()) and bool(located.all())):  # else every row is used: no copy
        data = data.loc[located[located].index]
    data = data.reset_index(drop=True)
    data["year"] = data["year"].astype("int64")
    set_aside = pd.concat(parts, ignore_index=True) if parts else _no_rows(source)
    assert len(data) + len(set_aside) == len(raw), "every row is used or set aside"
    return Loaded(data, set_aside.sort_values("row", ignore_index=True), len(raw), tuple(notes))


def _no_rows(source: str) -> pd.DataFrame:
    """Return an empty set-aside table."""
    return set_aside_rows(source, np.array([], int), pd.Series([], dtype=object), "")


def _severities(values: pd.Series) -> pd.Series:
    """Return severity codes or words as ``fatal``/``serious``/``slight`` (NA where unknown)."""
    return values.astype("string").str.strip().str.lower().map(_SEVERITY_CODES)


def _screened(
    raw: pd.DataFrame,
    ids: pd.Series,
    col: dict[str, str | None],
    dates: pd.Series,
    severity: pd.Series,
    source: str,
    today: pd.Timestamp | None,
) -> tuple[pd.Series, list[pd.DataFrame]]:
    """Return the rows that pass the row checks and the set-aside records of the rest.

    The checks run in order and a row is set aside for the first it fails: a duplicate row,
    an unreadable date, a date after ``today``, an unknown severity.
    """
    date_text = raw[str(col["date"])].astype("string").fillna("(empty)")
    severity_text = raw[str(col["severity"])].astype("string").fillna("(empty)")
    limit = (today or pd.Timestamp.today()).normalize()
    checks = (
        (_duplicate_rows(raw, ids, str(col["id"]), source), "duplicate row", ""),
        (dates.isna(), "unparseable date", date_text),
        (dates > limit, "future date", date_text + f" (after {limit:%Y-%m-%d})"),
        (severity.isna(), "unknown severity", severity_text),
    )
    keep, parts = rows_passing_checks(checks, ids, source)
    if keep.sum() == 0:
        reasons = ", ".join(dict.fromkeys(str(p["reason"].iloc[0]) for p in parts))
        raise InputError(
            f"{source}: no usable row (every row set aside: {reasons}); severity in column "
            f"{col['severity']!r} must be 1/2/3 or fatal/serious/slight and dates no later than "
            "today; fix the columns or name others with --severity-column / --date-column"
        )
    return keep, parts


def _collision_frame(
    raw: pd.DataFrame,
    col: dict[str, str | None],
    ids: pd.Series,
    dates: pd.Series,
    severity: pd.Series,
    geometry: gpd.GeoSeries,
) -> gpd.GeoDataFrame:
    """Return every row of ``raw`` in the normalised collision columns."""
    fields = _descriptive_fields(raw, col)
    return gpd.GeoDataFrame(
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
            **_context_fields(raw, col, dates),
            "source_row": pd.Series(np.arange(1, len(raw) + 1), index=raw.index),
        },
        geometry=geometry,
    )


def _context_fields(
    raw: pd.DataFrame, col: dict[str, str | None], dates: pd.Series
) -> dict[str, pd.Series]:
    """Return the decoded context columns; ``weekday`` falls back to the date's day name."""
    out: dict[str, pd.Series] = {}
    for field in CONTEXT_CODES:
        column = col[field]
        out[field] = (
            decoded_context(raw[column], field)
            if column
            else pd.Series(pd.NA, index=raw.index, dtype="string")
        )
    out["weekday"] = out["weekday"].fillna(dates.dt.day_name().astype("string"))
    speed = col["speed_limit"]
    out["speed_limit"] = (
        speed_limits(raw[speed]) if speed else pd.Series(pd.NA, index=raw.index, dtype="Int64")
    )
    for field, pattern in VEHICLE_PATTERNS.items():
        out[field] = joined_vehicle_columns(raw, pattern)
    return out
