"""Disclosure control: suppress small counts in output tables, and what would reveal them.

For sensitive categories (domestic abuse, sexual offences) counts below a threshold are shown as
``<5`` (for threshold 5). The rate and the studentized residual of the same ward are blanked too,
because the count could be worked back from them and the ward's population.

Totals are the other leak: the total of records used minus the visible counts is the sum of the
suppressed counts (exactly one ward's count when one ward is suppressed). When any count is
suppressed, :func:`withheld_total_text` gives the total to print instead: the sum of the visible
counts and how many are suppressed, with the exact total withheld. Rounding the total was rejected:
a rounded total still bounds the suppressed sum more tightly than ``<N`` does, and any other exact
figure it can be derived from (records in other categories) must be withheld with it.

Not covered: model fits on the exact counts (expected counts, coefficients, the funnel's overall
rate) are printed as they are; with a Poisson model the expected counts sum to the total, so
publish only the suppressed ward table when the category is sensitive.
"""

from __future__ import annotations

from typing import TypeVar

import pandas as pd

__all__ = ["SUPPRESSIBLE", "suppressed_mask", "suppress_small_counts", "withheld_total_text"]

#: Count columns shown as ``<N``.
COUNT_COLUMNS = ("count", "observed")
#: Columns that reveal the count given the population; blanked (NA) on suppressed rows.
DERIVED_COLUMNS = (
    "rate_per_1000",
    "rate_per_1000_per_year",
    "studentized_residual",
    "funnel_z",
    "cooks_distance",
    "p_value",
    "q_value",
)
SUPPRESSIBLE = COUNT_COLUMNS + DERIVED_COLUMNS
_Frame = TypeVar("_Frame", bound=pd.DataFrame)


def suppressed_mask(frame: pd.DataFrame, *, threshold: int) -> pd.Series:
    """Return True for rows whose count (``count`` or ``observed``) is from 1 to threshold - 1."""
    column = "count" if "count" in frame.columns else "observed"
    counts = pd.to_numeric(frame[column], errors="coerce")
    return ((counts > 0) & (counts < threshold)).rename("suppressed")


def suppress_small_counts(frame: _Frame, *, threshold: int = 5) -> _Frame:
    """Return a copy with counts 1..threshold-1 shown as ``<threshold``, derived values blanked.

    Zero is shown as 0 (the usual convention: a zero discloses nothing about an individual). Count
    columns become text; a ``suppressed`` boolean column says which rows were changed. The input is
    not modified.
    """
    mask = suppressed_mask(frame, threshold=threshold)
    out = frame.copy()
    for column in COUNT_COLUMNS:
        if column in out.columns:
            text = out[column].astype("Int64").astype(str)
            out[column] = text.where(~mask, f"<{threshold}")
    for column in DERIVED_COLUMNS:
        if column in out.columns:
            out[column] = out[column].astype(float).where(~mask)
    out["suppressed"] = mask.to_numpy()
    return out


def withheld_total_text(counts: pd.Series, *, threshold: int, what: str = "wards") -> str:
    """Return the total of ``counts`` as it may be printed beside counts suppressed below threshold.

    Without suppressed counts this is the exact total. Otherwise it is the sum of the visible counts
    and the number of suppressed ones, e.g. ``"2,700 in the wards shown; 3 more with counts 1-4
    (shown as <5); exact total withheld (with the visible counts it would reveal the suppressed
    ones)"``.
    """
    values = pd.to_numeric(counts, errors="coerce").fillna(0)
    mask = (values > 0) & (values < threshold)
    if not mask.any():
        return f"{int(round(values.sum())):,}"
    visible = int(round(values[~mask].sum()))
    return (
        f"{visible:,} in the {what} shown; {int(mask.sum())} more with counts 1-{threshold - 1} "
        f"(shown as <{threshold}); exact total withheld "
        "(with the visible counts it would reveal the suppressed ones)"
    )
