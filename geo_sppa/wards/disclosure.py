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

Model fits are the subtle leak: every fitted figure moves with every count (with a Poisson model
the expected counts sum to the total; the NB score equations give the count back from the expected
counts; the funnel's overall rate times the population gives the total). Rounding does not close it:
an attacker refits with each candidate count and keeps those that reproduce the rounded outputs.
So :func:`with_held_wards` keeps suppressed wards out of every fit instead: the model, its
leave-one-out refits, the funnel's overall rate and over-dispersion, Moran's I and Gi* are computed
on the other wards, and a suppressed ward gets the prediction and interval of the fit to the others
(what a leave-one-out refit would give it), its limits at its population, and nothing that its count
decides (p-value, flag, residual, funnel position, Gi*). No published figure then depends on a
suppressed count (``tests/test_ward_disclosure.py`` tries the routes and fails).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, TypeVar

import pandas as pd

if TYPE_CHECKING:
    from geo_sppa.wards.outliers import OutlierReport

__all__ = [
    "SUPPRESSIBLE",
    "suppressed_mask",
    "suppress_small_counts",
    "with_held_wards",
    "withheld_total_text",
]

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
    "gi_z",
    "gi_p",
    "gi_q",
)
#: Flags the count decides; NA on suppressed rows.
FLAG_COLUMNS = ("outside_pi", "flagged_fdr", "large_residual")
#: Text the count decides; empty on suppressed rows.
TEXT_COLUMNS = ("direction", "label", "funnel", "hotspot")
SUPPRESSIBLE = COUNT_COLUMNS + DERIVED_COLUMNS + FLAG_COLUMNS + TEXT_COLUMNS
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
    for column in FLAG_COLUMNS:
        if column in out.columns:
            out[column] = out[column].astype("boolean").where(~mask)
    for column in TEXT_COLUMNS:
        if column in out.columns:
            out[column] = out[column].where(~mask, "")
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


def with_held_wards(
    report: OutlierReport,
    held: pd.DataFrame,
    *,
    threshold: int,
    level: float = 0.95,
    order: pd.Index | None = None,
) -> OutlierReport:
    """Return ``report`` (fitted without ``held``) with the held wards added back, leak-free.

    Parameters
    ----------
    report
        :func:`geo_sppa.wards.outliers.outlier_report` of the wards whose counts are published.
    held
        The ward-table rows whose counts are suppressed (same columns as the report's input).
    threshold
        The suppression threshold, named in the notes.
    level
        Prediction-interval level.
    order
        The index of the original table, to put the rows back in its order.

    Returns
    -------
    OutlierReport
        Rows in the order of the original table (assessed and held wards, by index); held wards
        carry ``expected``/``loo_expected``/``pi_low``/``pi_high`` predicted from the other wards
        and the funnel limits at their population; their p-values, residuals, flags, funnel
        position and Gi* are NA or empty. A note names them.

    """
    from geo_sppa.wards.funnel import funnel_limits
    from geo_sppa.wards.model import predicted_counts

    fit, od = report.fit, report.overdispersion
    assessed = report.data
    prediction = predicted_counts(assessed, held, fit.measure, fit.model, level=level)
    pop = held["population"].to_numpy(dtype=float)
    limits = funnel_limits(pop, target_rate_per_1000=od.target_rate_per_1000, tau2=od.tau2)
    added = held.assign(
        observed=held["count"].astype(int),
        expected=prediction.mean,
        expected_rate_per_1000=1000 * prediction.mean / pop,
        loo_expected=prediction.mean,
        pi_low=prediction.low,
        pi_high=prediction.high,
        evidence="",
        verdict="not assessed (count suppressed)",
        verdict_reason="",
        **{c: limits[c].to_numpy() for c in limits.columns.drop("population")},
    )
    combined = pd.concat([assessed, added])
    for column in (*DERIVED_COLUMNS, "funnel_z"):
        if column in combined.columns:
            combined[column] = combined[column].astype(float)
    for column in FLAG_COLUMNS:
        if column in assessed.columns:
            combined[column] = combined[column].astype("boolean")
    for column in TEXT_COLUMNS:
        if column in assessed.columns:
            combined[column] = combined[column].fillna("")
    if order is not None:
        combined = combined.loc[order]
    names = ", ".join(held["ward_name"].astype(str))
    note = (
        f"{names}: count below {threshold}, left out of the model, its leave-one-out refits, the "
        "funnel's overall rate and limits, Moran's I and Gi* (so no published figure depends on "
        "the count); expected count and interval predicted from the other wards, not assessed"
    )
    return dataclasses.replace(report, data=combined, notes=(*report.notes, note))
