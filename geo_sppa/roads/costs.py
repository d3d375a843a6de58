"""What reported injury collisions cost: DfT average value of prevention per collision, by severity.

The bundled table (``geo_sppa/tables/dft_value_of_prevention.csv``) holds, for each price year it
covers, the average value of preventing one reported fatal, serious and slight injury collision in
Great Britain as published by the Department for Transport; its header comment names the source of
every row. Users can pass their own table with the same columns (``price_year, fatal, serious,
slight`` and optionally ``source``).
"""

from __future__ import annotations

import pandas as pd

from geo_sppa.errors import InputError
from geo_sppa.schema import SEVERITIES

__all__ = ["SEVERITIES", "collision_costs", "cost_table_note", "value_of_prevention_table"]


_TABLE = "dft_value_of_prevention.csv"


def value_of_prevention_table() -> pd.DataFrame:
    """Return the bundled DfT value-of-prevention table, one row per price year.

    Columns: ``price_year`` (int), ``fatal``, ``serious``, ``slight`` (GBP per reported injury
    collision, at that year's prices) and ``source`` (text).
    """
    from geo_sppa.io.tables import read_package_table

    return _checked(read_package_table(_TABLE))


def _checked(table: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("price_year", *SEVERITIES) if c not in table.columns]
    if missing:
        raise InputError(
            f"value-of-prevention table: no column {', '.join(missing)} (expected price_year, "
            f"fatal, serious, slight); found {', '.join(map(str, table.columns))}"
        )
    if table.empty:
        raise InputError("value-of-prevention table: no rows; give at least one price year")
    out = table.copy()
    out["price_year"] = out["price_year"].astype(int)
    for severity in SEVERITIES:
        out[severity] = out[severity].astype(float)
    if "source" not in out.columns:
        out["source"] = "user table"
    return out.sort_values("price_year", ignore_index=True)


def _row(price_year: int | None, table: pd.DataFrame | None) -> pd.Series:
    table = value_of_prevention_table() if table is None else _checked(table)
    if price_year is None:
        return table.iloc[-1]
    match = table[table["price_year"] == int(price_year)]
    if match.empty:
        known = ", ".join(str(y) for y in table["price_year"])
        raise InputError(
            f"no value-of-prevention figures for price year {price_year}; available price years: "
            f"{known} (pass one of these, or supply your own table)"
        )
    return match.iloc[0]


def collision_costs(
    severity: pd.Series, *, price_year: int | None = None, table: pd.DataFrame | None = None
) -> pd.Series:
    """Return the value of preventing each collision, GBP, indexed like ``severity``.

    Parameters
    ----------
    severity
        ``"fatal"``, ``"serious"`` or ``"slight"`` per collision (case-insensitive).
    price_year
        Price year of the values; ``None`` takes the latest year in the table.
    table
        A replacement table with columns ``price_year, fatal, serious, slight``.

    Returns
    -------
    pandas.Series
        Float series named ``cost_gbp``.

    Raises
    ------
    InputError
        The price year is not in the table, or a severity is not one of the three.

    """
    row = _row(price_year, table)
    values = severity.astype("string").str.lower()
    unknown = sorted(set(values.dropna()) - set(SEVERITIES))
    if unknown or values.isna().any():
        found = ", ".join(unknown) if unknown else "missing values"
        raise InputError(
            f"collision severity must be fatal, serious or slight; found {found}; "
            "clean the severity column first"
        )
    prices = {s: float(row[s]) for s in SEVERITIES}
    return pd.Series(
        values.map(prices).astype(float).to_numpy(), index=severity.index, name="cost_gbp"
    )


def cost_table_note(price_year: int | None = None, *, table: pd.DataFrame | None = None) -> str:
    """One line saying which values were used, e.g. for a run summary or report footnote."""
    row = _row(price_year, table)
    return (
        f"DfT average value of prevention per reported injury collision, "
        f"{int(row['price_year'])} prices (fatal £{row['fatal']:,.0f}, serious "
        f"£{row['serious']:,.0f}, slight £{row['slight']:,.0f}); source: {row['source']}"
    )
