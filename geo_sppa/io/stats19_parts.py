"""Read DfT STATS19 vehicle and casualty files and join them to the collisions they belong to.

Any vintage: the collision key is ``Accident_Index`` (to 2018), ``accident_index`` (2019-2023)
or ``collision_index`` (2024 on); from 2024 the old manoeuvre coding is kept as
``vehicle_manoeuvre_historic``, preferred here so every vintage decodes alike. Codes outside the
DfT tables stay ``code N``; a vehicle or casualty row whose collision is not among the
collisions is set aside (reason ``no such collision``).

:func:`read_collision_parts` returns a copy of the collisions with, per collision,
``vehicle_types`` and ``manoeuvres`` (``"; "``-joined in vehicle order) from the vehicle file,
and ``casualties``, ``ksi_casualties`` (fatal or serious), ``casualty_classes`` and
``casualty_ages`` from the casualty file (collisions with no casualty row get NA).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_sppa.io._common import existing_file, find_column, read_csv_text, set_aside_rows
from geo_sppa.io.stats19_codes import decoded_codes

if TYPE_CHECKING:
    from geo_sppa.bundled.inputs import ClusterInputs

__all__ = ["VEHICLE_CODES", "CASUALTY_CODES", "inputs_with_parts", "read_collision_parts"]

_KEY = ["collision_index", "accident_index"]

#: DfT codes of the vehicle file (``vehicle_type``, ``vehicle_manoeuvre``).
VEHICLE_CODES: dict[str, dict[str, str]] = {
    "vehicle_type": {
        "1": "Pedal cycle", "2": "Motorcycle 50cc and under", "3": "Motorcycle 125cc and under",
        "4": "Motorcycle 125cc-500cc", "5": "Motorcycle over 500cc", "8": "Taxi/Private hire car",
        "9": "Car", "10": "Minibus (8-16 passenger seats)", "11": "Bus or coach (17+ seats)",
        "16": "Ridden horse", "17": "Agricultural vehicle", "18": "Tram",
        "19": "Van/Goods 3.5 tonnes mgw or under", "20": "Goods 3.5t-7.5t",
        "21": "Goods 7.5 tonnes mgw and over", "22": "Mobility scooter",
        "23": "Electric motorcycle", "90": "Other vehicle", "97": "Motorcycle - unknown cc",
        "98": "Goods vehicle - unknown weight", "99": "Unknown vehicle type (self reported)",
    },
    "vehicle_manoeuvre": {
        "1": "Reversing", "2": "Parked", "3": "Waiting to go - held up", "4": "Slowing or stopping",
        "5": "Moving off", "6": "U-turn", "7": "Turning left", "8": "Waiting to turn left",
        "9": "Turning right", "10": "Waiting to turn right", "11": "Changing lane to left",
        "12": "Changing lane to right", "13": "Overtaking moving vehicle - offside",
        "14": "Overtaking static vehicle - offside", "15": "Overtaking - nearside",
        "16": "Going ahead left-hand bend", "17": "Going ahead right-hand bend",
        "18": "Going ahead other", "99": "Unknown (self reported)",
    },
}  # fmt: skip
#: DfT codes of the casualty file (``casualty_class``; severity is 1 fatal, 2 serious, 3 slight).
CASUALTY_CODES = {"casualty_class": {"1": "Driver or rider", "2": "Passenger", "3": "Pedestrian"}}


def _part_file(path: str | Path, *, what: str, option: str) -> tuple[pd.DataFrame, str, str]:
    """Return a vehicle or casualty file as text, its name and its collision key column."""
    path = existing_file(path, what=what, option=option)
    raw = read_csv_text(path, [])
    key = find_column(raw, _KEY, source=path.name, what="collision index", required=True)
    return raw, path.name, key


def _joined(values: pd.DataFrame, key: pd.Series, column: str) -> pd.Series:
    """Return ``values[column]`` joined with ``"; "`` per collision key, in file order."""
    text = values[column].dropna()
    return text.groupby(key[text.index], sort=False).agg("; ".join)


def _vehicle_columns(path: str | Path) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Return the vehicle rows decoded, their collision keys and the raw rows."""
    raw, source, key = _part_file(path, what="vehicles", option="--vehicles")
    types = find_column(raw, ["vehicle_type"], source=source, what="vehicle type", required=True)
    manoeuvre = find_column(
        raw,
        ["vehicle_manoeuvre_historic", "vehicle_manoeuvre"],
        source=source,
        what="vehicle manoeuvre",
        required=False,
    )
    decoded = pd.DataFrame(
        {
            "vehicle_types": decoded_codes(raw[types], VEHICLE_CODES["vehicle_type"]),
            "manoeuvres": decoded_codes(raw[manoeuvre], VEHICLE_CODES["vehicle_manoeuvre"])
            if manoeuvre
            else pd.Series(pd.NA, index=raw.index, dtype="string"),
        }
    )
    return decoded, raw[key].astype("string").str.strip(), raw.assign(_source=source)


def _casualty_columns(path: str | Path) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Return the casualty rows decoded, their collision keys and the raw rows."""
    raw, source, key = _part_file(path, what="casualties", option="--casualties")
    severity = find_column(
        raw, ["casualty_severity"], source=source, what="casualty severity", required=True
    )
    klass = find_column(raw, ["casualty_class"], source=source, what="class", required=False)
    age = find_column(raw, ["age_of_casualty"], source=source, what="age", required=False)
    codes = raw[severity].astype("string").str.strip()
    ages = pd.to_numeric(raw[age], errors="coerce") if age else pd.Series(np.nan, index=raw.index)
    decoded = pd.DataFrame(
        {
            "ksi": codes.isin(["1", "2"]),
            "casualty_classes": decoded_codes(raw[klass], CASUALTY_CODES["casualty_class"])
            if klass
            else pd.Series(pd.NA, index=raw.index, dtype="string"),
            "casualty_ages": ages.where(ages >= 0).astype("Int64").astype("string"),
        }
    )
    return decoded, raw[key].astype("string").str.strip(), raw.assign(_source=source)


def _orphans(keys: pd.Series, known: pd.Index, source: str) -> tuple[pd.Series, pd.DataFrame]:
    """Return which rows have a known collision, and set-aside records for the rest."""
    found = keys.isin(known)
    rows = np.arange(1, len(keys) + 1)[~found.to_numpy()]
    aside = set_aside_rows(source, rows, keys[~found], "no such collision", keys[~found])
    return found, aside


def read_collision_parts(
    collisions: gpd.GeoDataFrame,
    *,
    vehicles: str | Path | None = None,
    casualties: str | Path | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Return the collisions with their vehicles and casualties, and the rows set aside.

    Parameters
    ----------
    collisions
        Normalised collisions (:func:`geo_sppa.io.read_collisions`); not modified.
    vehicles, casualties
        DfT STATS19 vehicle and casualty CSVs of any vintage (``--vehicles``, ``--casualties``).

    Returns
    -------
    tuple of (GeoDataFrame, DataFrame)
        A new frame with, from the vehicle file, ``vehicle_types`` and ``manoeuvres`` replaced
        and, from the casualty file, ``casualties`` (rows per collision), ``ksi_casualties``,
        ``casualty_classes`` and ``casualty_ages`` (NA for a collision with no casualty row);
        and the vehicle and casualty rows with no such collision (``SET_ASIDE_COLUMNS``).

    Raises
    ------
    InputError
        A missing file, or no collision index or vehicle type / casualty severity column.

    """
    out = collisions.copy()
    ids = collisions["collision_id"].astype("string")
    asides = []
    if vehicles is not None:
        decoded, keys, raw = _vehicle_columns(vehicles)
        found, aside = _orphans(keys, pd.Index(ids), str(raw["_source"].iloc[0]))
        asides.append(aside)
        for column in ("vehicle_types", "manoeuvres"):
            out[column] = ids.map(_joined(decoded[found], keys[found], column)).astype("string")
    if casualties is not None:
        decoded, keys, raw = _casualty_columns(casualties)
        found, aside = _orphans(keys, pd.Index(ids), str(raw["_source"].iloc[0]))
        asides.append(aside)
        kept, by = decoded[found], keys[found]
        counts = by.value_counts()
        out["casualties"] = ids.map(counts).astype("Int64")
        out["ksi_casualties"] = ids.map(kept["ksi"].groupby(by).sum()).astype("Int64")
        for column in ("casualty_classes", "casualty_ages"):
            out[column] = ids.map(_joined(kept, by, column)).astype("string")
    set_aside = (
        pd.concat(asides, ignore_index=True)
        if asides
        else set_aside_rows("", np.array([], int), pd.Series([], dtype=object), "")
    )
    return out, set_aside


def inputs_with_parts(
    inputs: ClusterInputs,
    *,
    vehicles: str | Path | None = None,
    casualties: str | Path | None = None,
) -> tuple[ClusterInputs, pd.DataFrame]:
    """Return ``inputs`` with the collisions joined by :func:`read_collision_parts`.

    Parameters
    ----------
    inputs
        What :func:`geo_sppa.bundled.inputs.cluster_inputs` returned; not modified.
    vehicles, casualties
        DfT STATS19 vehicle and casualty CSVs, or None.

    Returns
    -------
    tuple of (ClusterInputs, DataFrame)
        The inputs (unchanged when both files are None) and the vehicle and casualty rows set
        aside.

    """
    if vehicles is None and casualties is None:
        return inputs, set_aside_rows("", np.array([], int), pd.Series([], dtype=object), "")
    data, aside = read_collision_parts(
        inputs.collisions.data, vehicles=vehicles, casualties=casualties
    )
    return replace(inputs, collisions=replace(inputs.collisions, data=data)), aside
