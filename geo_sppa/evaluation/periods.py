"""The before and after periods of a treated site, and the share of each year inside them.

A scheme finished on its treatment date (or, when given, at the end of its works period)
changes what comes after; the works period itself, when given, belongs to neither period. By
default the before period is the three calendar years before the treatment year, and the after
period runs from the treatment date (the day after the works end) to the end of the data's
last complete month; ``before_years``/``after_years`` replace either with whole years, still
cut at the treatment date and the works period and clipped to the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

__all__ = [
    "DEFAULT_BEFORE_YEARS",
    "SchemePeriods",
    "data_span",
    "scheme_periods",
    "year_exposure",
]

#: Calendar years before the treatment year in the default before period.
DEFAULT_BEFORE_YEARS = 3
#: A month whose last collision is this close to its end counts as complete, days (the same
#: slack as the cluster windows: a small area often has no collision on the month's last day).
_COMPLETE_SLACK_DAYS = 7


@dataclass(frozen=True)
class SchemePeriods:
    """A treated site's before and after periods, first and last day inclusive."""

    before: tuple[date, date]
    after: tuple[date, date]

    def exposure(self) -> tuple[dict[int, float], dict[int, float]]:
        """Return the share of each calendar year inside the before and the after period."""
        return year_exposure(*self.before), year_exposure(*self.after)


def data_span(dates: pd.Series) -> tuple[date, date]:
    """Return the first day of the data's first month and the last day of its last complete month.

    The last month is complete when its last collision is within 7 days of the month's end;
    otherwise the data end with the month before.
    """
    first, last = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    month_end = (last + pd.offsets.MonthEnd(0)).normalize()
    if (month_end - last.normalize()).days > _COMPLETE_SLACK_DAYS:
        month_end = (last.normalize().replace(day=1) - pd.Timedelta(days=1)).normalize()
    return first.date().replace(day=1), month_end.date()


def year_exposure(start: date, end: date) -> dict[int, float]:
    """Return, per calendar year touched, the share of its days between ``start`` and ``end``."""
    shares: dict[int, float] = {}
    for year in range(start.year, end.year + 1):
        first, last = max(start, date(year, 1, 1)), min(end, date(year, 12, 31))
        days_in_year = (date(year, 12, 31) - date(year, 1, 1)).days + 1
        if last >= first:
            shares[year] = ((last - first).days + 1) / days_in_year
    return shares


def scheme_periods(
    treatment: date,
    *,
    data: tuple[date, date],
    works: tuple[date | None, date | None] = (None, None),
    before_years: tuple[int, int] | None = None,
    after_years: tuple[int, int] | None = None,
) -> tuple[SchemePeriods | None, str]:
    """Return a site's before and after periods, or None and the reason there are none.

    Parameters
    ----------
    treatment
        The date the scheme came into use.
    data
        The first and last day the collision data cover (:func:`data_span`).
    works
        The works period's first and last day, either or both None; excluded from both periods.
    before_years, after_years
        Whole calendar years, inclusive, replacing the default periods.

    Returns
    -------
    tuple of (SchemePeriods or None, str)
        The periods, and ``""``; or None and a short reason (``"treatment date after the
        data"``, ``"no before period in the data"``, ``"no after period in the data"``).
    """
    works_start, works_end = works
    cut_before = min(d for d in (treatment, works_start) if d is not None)
    cut_after = max(d for d in (treatment, _next_day(works_end)) if d is not None)
    first_before = before_years or (treatment.year - DEFAULT_BEFORE_YEARS, treatment.year - 1)
    before = (
        max(date(first_before[0], 1, 1), data[0]),
        min(date(first_before[1], 12, 31), cut_before - timedelta(days=1), data[1]),
    )
    after = (
        max(cut_after, date(after_years[0], 1, 1)) if after_years else cut_after,
        min(date(after_years[1], 12, 31), data[1]) if after_years else data[1],
    )
    if treatment > data[1] or cut_after > data[1]:
        return None, "treatment date after the data"
    if before[1] < before[0]:
        return None, "no before period in the data"
    if after[1] < after[0]:
        return None, "no after period in the data"
    return SchemePeriods(before=before, after=after), ""


def _next_day(day: date | None) -> date | None:
    """Return the day after ``day`` (None stays None)."""
    return None if day is None else day + timedelta(days=1)
