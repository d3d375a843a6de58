"""What crime and road collisions cost.

Home Office unit costs of crime and DfT values of prevention.

Crime: recorded offences by category times a unit cost per offence. The bundled unit-cost tables
(``geo_sppa/tables/home_office_unit_costs_of_crime.csv``; sources and caveats beside it in
``home_office_unit_costs_of_crime.md``) are ``ho2005`` (Dubourg, Hamed & Thorns 2005, 2003/04
prices), ``ho2018`` (Heeks et al. 2018, 2015/16 prices; partial) and ``spp2012`` (derived from the
2012 Peterborough assessment's own cost-of-crime table). Users can pass their own table with columns
``category, unit_cost_gbp`` (and optionally ``price_year, source``).

police.uk categories are broader than the Home Office offence classes, so each is mapped to the
nearest unit-cost category (:data:`POLICE_UK_MAPPING`); a category with the same name in the
unit-cost table is used as is; the rest are counted but not costed, and say so.

Road collisions reuse :mod:`geo_sppa.roads.costs` (DfT average value of prevention per collision).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geo_sppa.errors import InputError
from geo_sppa.io.tables import read_package_table
from geo_sppa.roads.costs import (
    SEVERITIES,
    collision_costs,
    cost_table_note,
    value_of_prevention_table,
)
from geo_sppa.schema import header_key

__all__ = [
    "UNIT_COST_TABLES",
    "DEFAULT_UNIT_COSTS",
    "POLICE_UK_MAPPING",
    "MAPPING_CAVEATS",
    "CostResult",
    "unit_cost_table",
    "checked_unit_costs",
    "incident_counts",
    "crime_costs",
    "road_costs",
    "assessment_costs",
    "collisions_in_years",
]

_FILE = "home_office_unit_costs_of_crime.csv"
UNIT_COST_TABLES = ("ho2005", "ho2018", "spp2012")
DEFAULT_UNIT_COSTS = "ho2005"

#: table -> police.uk ``Crime type`` -> unit-cost category. Categories not listed are not costed.
POLICE_UK_MAPPING: dict[str, dict[str, str]] = {
    "ho2005": {
        "Violence and sexual offences": "Violence against the person (excl. common assault)",
        "Robbery": "Robbery",
        "Burglary": "Burglary in a dwelling",
        "Vehicle crime": "Theft",
        "Bicycle theft": "Theft",
        "Other theft": "Theft",
        "Theft from the person": "Theft",
        "Shoplifting": "Theft from a shop",
        "Criminal damage and arson": "Criminal damage",
    },
    "ho2018": {
        "Robbery": "Robbery",
        "Vehicle crime": "Theft from vehicle",
        "Criminal damage and arson": "Criminal damage - other",
    },
    "spp2012": {
        "Violence and sexual offences": "Violence against the Person",
        "Robbery": "Serious Acquisitive Crime",
        "Burglary": "Serious Acquisitive Crime",
        "Vehicle crime": "Serious Acquisitive Crime",
        "Bicycle theft": "Theft and Handling",
        "Other theft": "Theft and Handling",
        "Theft from the person": "Theft and Handling",
        "Shoplifting": "Theft and Handling",
        "Criminal damage and arson": "Criminal Damage",
    },
}
#: One line per caveat of the police.uk mapping (for summaries and the report).
MAPPING_CAVEATS = (
    "police.uk categories are broader than the Home Office offence classes; each is costed at the "
    "nearest class, so totals are indicative",
    "'Violence and sexual offences' mixes violence with and without injury and sexual offences; "
    "ho2005 costs it at violence against the person (excl. common assault), spp2012 at its "
    "violence category; ho2018 leaves it uncosted (its figure for violence without injury could "
    "not be checked)",
    "'Burglary' includes non-dwelling burglary (costed as burglary in a dwelling); 'Vehicle crime' "
    "includes thefts of and from vehicles and interference (ho2005: theft; ho2018: theft from "
    "vehicle)",
    "anti-social behaviour, drugs, public order, possession of weapons and other crime have no "
    "unit cost in these tables and are counted but not costed",
)


def _bundled() -> pd.DataFrame:
    return read_package_table(_FILE, dtype={"price_year": str})


def unit_cost_table(name: str = DEFAULT_UNIT_COSTS) -> pd.DataFrame:
    """Return the bundled unit-cost table ``name``.

    Columns: ``table, category, unit_cost_gbp, price_year, source``.

    Raises
    ------
    InputError
        ``name`` is not one of :data:`UNIT_COST_TABLES`.
    """
    if name not in UNIT_COST_TABLES:
        raise InputError(
            f"unknown unit-cost table {name!r}; choose one of {', '.join(UNIT_COST_TABLES)} "
            "or pass a CSV path"
        )
    table = _bundled()
    return table[table["table"] == name].reset_index(drop=True)


def checked_unit_costs(table: pd.DataFrame, *, source: str = "unit-cost table") -> pd.DataFrame:
    """Return a user unit-cost table in the bundled layout, or raise a one-line error.

    Accepts ``category`` (or ``crime_type``, ``offence``) and ``unit_cost_gbp`` (or ``unit_cost``,
    ``cost``) columns, optional ``price_year`` and ``source``.
    """
    keys = {header_key(c): c for c in table.columns}

    def pick(*names: str) -> str | None:
        return next((keys[header_key(n)] for n in names if header_key(n) in keys), None)

    category = pick("category", "crime_type", "offence")
    cost = pick("unit_cost_gbp", "unit_cost", "cost_per_crime", "cost")
    if category is None or cost is None:
        missing = [n for n, c in (("category", category), ("unit_cost_gbp", cost)) if c is None]
        raise InputError(
            f"{source}: no column {', '.join(missing)} (expected category, "
            f"unit_cost_gbp[, price_year, source]); found {', '.join(map(str, table.columns))}; "
            "rename the columns"
        )
    if table.empty:
        raise InputError(f"{source}: no rows; expected one row per crime category")
    values = pd.to_numeric(table[cost], errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(
            f"{source}: column {cost!r} row {i + 1} ({table[category].iloc[i]}) has "
            f"{table[cost].iloc[i]!r}; "
            "expected a cost in pounds of 0 or more; fix the value"
        )
    price = pick("price_year")
    src = pick("source")
    return pd.DataFrame(
        {
            "table": source,
            "category": table[category].astype(str).str.strip(),
            "unit_cost_gbp": values.astype(float),
            "price_year": table[price].astype(str) if price else "not stated",
            "source": table[src].astype(str) if src else source,
        }
    )


def incident_counts(incidents: pd.DataFrame) -> pd.DataFrame:
    """Return ``category, count`` of incidents (normalised incidents frame), largest first."""
    counts = incidents["category"].astype("string").fillna("(none)").value_counts()
    return counts.rename_axis("category").reset_index(name="count")


def crime_costs(
    counts: pd.DataFrame, unit_costs: pd.DataFrame, *, mapping: dict[str, str] | None = None
) -> pd.DataFrame:
    """Return the cost of crime by category: counts times unit costs.

    Parameters
    ----------
    counts
        ``category, count`` (e.g. from :func:`incident_counts`, or a published table).
    unit_costs
        ``category, unit_cost_gbp, price_year, source`` (:func:`unit_cost_table` or
        :func:`checked_unit_costs`).
    mapping
        Count category -> unit-cost category, used where the count category is not itself in
        ``unit_costs`` (matching ignores case and punctuation).

    Returns
    -------
    pandas.DataFrame
        ``category, unit_cost_category, count, unit_cost_gbp, cost_gbp, price_year, source``;
        categories without a unit cost have NaN cost and ``unit_cost_category`` NA. Sorted by cost.
    """
    by_key = {header_key(c): i for i, c in enumerate(unit_costs["category"])}
    mapping = {header_key(k): v for k, v in (mapping or {}).items()}
    rows = []
    for category, count in zip(counts["category"], counts["count"], strict=True):
        key = header_key(category)
        target = by_key.get(key)
        if target is None and key in mapping:
            target = by_key.get(header_key(mapping[key]))
        if target is None:
            rows.append((category, pd.NA, int(count), float("nan"), float("nan"), pd.NA, pd.NA))
            continue
        unit = unit_costs.iloc[target]
        rows.append(
            (
                category,
                unit["category"],
                int(count),
                float(unit["unit_cost_gbp"]),
                float(unit["unit_cost_gbp"]) * int(count),
                unit["price_year"],
                unit["source"],
            )
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "category",
            "unit_cost_category",
            "count",
            "unit_cost_gbp",
            "cost_gbp",
            "price_year",
            "source",
        ],
    )
    return out.sort_values(
        "cost_gbp", ascending=False, na_position="last", kind="stable", ignore_index=True
    )


def road_costs(
    collisions: pd.DataFrame, *, price_year: int | None = None, table: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Return the value of preventing the collisions, by severity and in total.

    DfT average values of prevention per collision (:mod:`geo_sppa.roads.costs`).

    Returns
    -------
    pandas.DataFrame
        ``severity`` (fatal, serious, slight, total), ``collisions``, ``unit_cost_gbp`` (NaN on the
        total row), ``cost_gbp``, ``price_year``.
    """
    costs = collision_costs(collisions["severity"], price_year=price_year, table=table)
    values = value_of_prevention_table() if table is None else table
    year = int(price_year) if price_year is not None else int(values["price_year"].max())
    rows = []
    for severity in SEVERITIES:
        mask = collisions["severity"].astype("string").str.lower() == severity
        n = int(mask.sum())
        unit = (
            float(costs[mask].iloc[0])
            if n
            else float(collision_costs(pd.Series([severity]), price_year=year, table=table).iloc[0])
        )
        rows.append((severity, n, unit, float(costs[mask].sum())))
    rows.append(("total", len(collisions), float("nan"), float(costs.sum())))
    out = pd.DataFrame(rows, columns=["severity", "collisions", "unit_cost_gbp", "cost_gbp"])
    out["price_year"] = year
    return out


@dataclass(frozen=True)
class CostResult:
    """Costs of road collisions and of recorded crime.

    Attributes
    ----------
    road
        :func:`road_costs` frame (None without collisions).
    crime
        :func:`crime_costs` frame (None without incidents).
    road_note, crime_note
        One line each naming the values, price year and source.
    notes
        Caveats (the police.uk mapping, partial data...).
    """

    road: pd.DataFrame | None
    crime: pd.DataFrame | None
    road_note: str
    crime_note: str
    notes: tuple[str, ...] = ()


def assessment_costs(
    *,
    collisions: pd.DataFrame | None = None,
    incidents: pd.DataFrame | None = None,
    unit_costs: pd.DataFrame | str = DEFAULT_UNIT_COSTS,
    price_year: int | None = None,
) -> CostResult:
    """Return the cost tables of a strategic assessment.

    Road collisions by severity and crime by category.

    ``unit_costs`` is a bundled table name (:data:`UNIT_COST_TABLES`) or a checked user table.
    """
    road = road_costs(collisions, price_year=price_year) if collisions is not None else None
    road_note = cost_table_note(price_year) if collisions is not None else ""
    crime = None
    crime_note = ""
    notes: list[str] = []
    if incidents is not None:
        name = unit_costs if isinstance(unit_costs, str) else None
        table = unit_cost_table(unit_costs) if isinstance(unit_costs, str) else unit_costs
        mapping = POLICE_UK_MAPPING.get(name or "", {})
        crime = crime_costs(incident_counts(incidents), table, mapping=mapping)
        years = ", ".join(sorted(set(table["price_year"].astype(str))))
        sources = "; ".join(dict.fromkeys(table["source"].astype(str)))
        crime_note = (
            f"unit costs of crime: table {name or 'user'} ({years} prices); source: {sources}"
        )
        uncosted = crime[crime["cost_gbp"].isna()]
        if len(uncosted):
            notes.append(
                f"{int(uncosted['count'].sum()):,} incidents in {len(uncosted)} categories have "
                f"no unit cost and are not costed: {', '.join(map(str, uncosted['category']))}"
            )
        if name:
            notes.extend(MAPPING_CAVEATS)
    return CostResult(
        road=road, crime=crime, road_note=road_note, crime_note=crime_note, notes=tuple(notes)
    )


def collisions_in_years(
    collisions: pd.DataFrame, years: tuple[int, int] | None = None
) -> tuple[pd.DataFrame, tuple[int, int]]:
    """Return the collisions in the calendar years ``years`` (first, last) and those years.

    Without ``years`` every collision is kept and the years are the data's first and last.
    """
    if years:
        first, last = years
    else:
        first, last = int(collisions["year"].min()), int(collisions["year"].max())
    return collisions[collisions["year"].between(first, last)], (first, last)
