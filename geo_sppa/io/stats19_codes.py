"""DfT STATS19 code tables for the collision context fields, and their decoding.

The tables follow the DfT road safety open data guide (the codes have not changed meaning
between vintages for these fields; 2024 added ``9 unknown (self reported)`` where missing).
``-1`` (data missing or out of range) and empty cells become NA; a code outside a table is kept
as ``code N`` (never guessed); text (council extracts such as ``Dark`` or ``Wet / Damp``) is
kept, in sentence case with ``/`` unspaced (``Wet/damp``) so one level is spelt one way.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "CONTEXT_CODES",
    "VEHICLE_PATTERNS",
    "decoded_codes",
    "decoded_context",
    "joined_vehicle_columns",
    "speed_limits",
]

_UNKNOWN = "Unknown (self reported)"

#: Normalised context field -> STATS19 code -> text.
CONTEXT_CODES: dict[str, dict[str, str]] = {
    "light": {
        "1": "Daylight",
        "4": "Darkness - lights lit",
        "5": "Darkness - lights unlit",
        "6": "Darkness - no lighting",
        "7": "Darkness - lighting unknown",
    },
    "weather": {
        "1": "Fine no high winds",
        "2": "Raining no high winds",
        "3": "Snowing no high winds",
        "4": "Fine + high winds",
        "5": "Raining + high winds",
        "6": "Snowing + high winds",
        "7": "Fog or mist",
        "8": "Other",
        "9": "Unknown",
    },
    "surface": {
        "1": "Dry",
        "2": "Wet or damp",
        "3": "Snow",
        "4": "Frost or ice",
        "5": "Flood over 3cm deep",
        "6": "Oil or diesel",
        "7": "Mud",
        "9": _UNKNOWN,
    },
    "road_type": {
        "1": "Roundabout",
        "2": "One way street",
        "3": "Dual carriageway",
        "6": "Single carriageway",
        "7": "Slip road",
        "9": "Unknown",
        "12": "One way street/Slip road",
    },
    "junction_control": {
        "0": "Not at junction or within 20 metres",
        "1": "Authorised person",
        "2": "Auto traffic signal",
        "3": "Stop sign",
        "4": "Give way or uncontrolled",
        "9": _UNKNOWN,
    },
    "carriageway_hazards": {
        "0": "None",
        "1": "Vehicle load on road",
        "2": "Other object on road",
        "3": "Previous accident",
        "4": "Dog on road",
        "5": "Other animal on road",
        "6": "Pedestrian in carriageway - not injured",
        "7": "Any animal in carriageway (except ridden horse)",
        "9": _UNKNOWN,
    },
    "special_conditions": {
        "0": "None",
        "1": "Auto traffic signal - out",
        "2": "Auto signal part defective",
        "3": "Road sign or marking defective or obscured",
        "4": "Roadworks",
        "5": "Road surface defective",
        "6": "Oil or diesel",
        "7": "Mud",
        "9": _UNKNOWN,
    },
    "urban_rural": {"1": "Urban", "2": "Rural", "3": "Unallocated"},
    "weekday": {
        "1": "Sunday",
        "2": "Monday",
        "3": "Tuesday",
        "4": "Wednesday",
        "5": "Thursday",
        "6": "Friday",
        "7": "Saturday",
    },
}

_MISSING = {"-1", ""}


def decoded_context(values: pd.Series, field: str) -> pd.Series:
    """Return one context column decoded to text (``string`` dtype, NA where missing).

    Parameters
    ----------
    values
        The file's column, as read (text or numbers).
    field
        A key of :data:`CONTEXT_CODES`.

    Returns
    -------
    Series
        Codes decoded from the table, ``code N`` for a code outside it, text in sentence case,
        NA for ``-1`` and empty cells; indexed like ``values``.

    """
    return decoded_codes(values, CONTEXT_CODES[field])


def decoded_codes(values: pd.Series, table: dict[str, str]) -> pd.Series:
    """Return ``values`` decoded by the code table ``table``, as :func:`decoded_context` does.

    Parameters
    ----------
    values
        The file's column, as read (text or numbers).
    table
        Code (text of a whole number) -> text.

    Returns
    -------
    Series
        ``string``, indexed like ``values``.

    """
    text = values.astype("string").str.strip()
    # Numbers read as floats (``1.0``) are codes too.
    text = text.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    missing = text.isna() | text.isin(_MISSING)
    is_code = text.str.fullmatch(r"-?\d+").fillna(False) & ~missing
    decoded = text.map(table).astype("string")
    # Council extracts spell one level several ways ("Wet / Damp", "Wet/Damp", "wet/damp").
    out = text.str.replace(r"\s*/\s*", "/", regex=True).str.replace(r"\s+", " ", regex=True)
    out = out.str.slice(0, 1).str.upper() + out.str.slice(1).str.lower()
    out[is_code] = decoded[is_code].fillna("code " + text[is_code])
    return out.mask(missing).astype("string")


def speed_limits(values: pd.Series) -> pd.Series:
    """Return speed limits in mph as ``Int64`` (NA for ``-1``, ``99``, blanks and text).

    Parameters
    ----------
    values
        The file's speed limit column (``30``, ``30.0`` or ``30 mph``).

    Returns
    -------
    Series
        Whole mph, indexed like ``values``.

    """
    text = values.astype("string").str.extract(r"(-?\d+(?:\.\d+)?)", expand=False)
    mph = pd.to_numeric(text, errors="coerce")
    return mph.where((mph > 0) & (mph < 99)).round().astype("Int64")


#: Per-vehicle column patterns of council extracts (``Vehicle_1_Type``, ``V3_Manouvres``), on
#: headers reduced by :func:`geo_sppa.schema.header_key`.
VEHICLE_PATTERNS = {
    "vehicle_types": r"^v(?:ehicle)?\d+type$",
    "manoeuvres": r"^v(?:ehicle)?\d+man[a-z]*$",
}


def joined_vehicle_columns(raw: pd.DataFrame, pattern: str) -> pd.Series:
    """Return the per-vehicle columns matching ``pattern`` joined per row with ``"; "``.

    Parameters
    ----------
    raw
        The file as read.
    pattern
        A regular expression over :func:`geo_sppa.schema.header_key` headers (one of
        :data:`VEHICLE_PATTERNS`).

    Returns
    -------
    Series
        ``string``, e.g. ``"Car; Van/GV <=3.5t mgw"`` in vehicle order, NA where the row (or the
        file) has none; indexed like ``raw``.

    """
    import re

    from geo_sppa.schema import header_key

    def vehicle_number(name: str) -> int:
        return int(re.sub(r"\D", "", header_key(name)) or 0)

    found = sorted((c for c in raw.columns if re.match(pattern, header_key(c))), key=vehicle_number)
    out = pd.Series(pd.NA, index=raw.index, dtype="string")
    if not found:
        return out
    parts = raw[found].astype("string").apply(lambda s: s.str.strip()).replace("", pd.NA)
    joined = parts.apply(lambda row: "; ".join(v for v in row if isinstance(v, str)), axis=1)
    return joined.astype("string").replace("", pd.NA)
