"""Collision trends: the tables a partnership board reads.

Counts by year and severity, change against a baseline, rolling 12-month rates, seasonality and
road-user breakdowns.

The period the data cover runs from the first day of the month of the earliest collision to the last
day of the month of the latest one (or ``end_date``); a calendar year only partly inside it is
*partial* and is neither given a percentage change nor used as a baseline. Months with no
collisions count as zero. Counts are collisions; casualties are summed where the source has them
(STATS19 ``number_of_casualties``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from geo_sppa.errors import InputError
from geo_sppa.schema import ROAD_USERS

__all__ = [
    "TrendResult",
    "collision_trends",
    "latest_complete_years",
    "trends_in_years",
    "window_coverage_note",
]

#: Calendar years in the default window of costs, trends and cluster sites.
DEFAULT_WINDOW_YEARS = 3

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class TrendResult:
    """Collision trend tables.

    Attributes
    ----------
    by_year
        ``year, label, partial, months, fatal, serious, slight, ksi, total, casualties`` and
        ``<measure>_change_pct`` against the baseline (NaN for partial years).
    monthly
        ``month`` (``YYYY-MM``), ``total, ksi``, ``rolling_12`` (sum of the 12 months ending
        there, NaN before 12 months of data) and ``rolling_12_rate_per_1000``.
    seasonality
        ``month_of_year`` (1-12), ``name``, ``years`` (complete months of that name in the data),
        ``mean``, ``index`` (100 = the average month), ``above_average``.
    road_users
        ``year, label, partial`` and, for each road-user flag the collisions carry
        (``pedestrian, cyclist, motorcyclist, child``; see ``geo_sppa.io.ROAD_USERS``), the
        collisions involving them; None when the data have no such flags.
    baseline_year, start, end, population
        The baseline, the period covered, and the population for rates (None: no rates).
    notes
        One-line notes for the summary and report.
    """

    by_year: pd.DataFrame
    monthly: pd.DataFrame
    seasonality: pd.DataFrame
    road_users: pd.DataFrame | None
    baseline_year: int | None
    start: pd.Timestamp
    end: pd.Timestamp
    population: float | None
    notes: tuple[str, ...] = ()

    @property
    def direction(self) -> str:
        """One phrase on the latest complete year's change in collisions against the baseline."""
        complete = self.by_year[~self.by_year["partial"]]
        if self.baseline_year is None or len(complete) < 2:
            return "not enough complete years to compare"
        last = complete.iloc[-1]
        change = last["total_change_pct"]
        word = "down" if change < 0 else "up" if change > 0 else "unchanged"
        return (
            f"{int(last['year'])}: {int(last['total'])} collisions, "
            f"{word} {abs(change):.1f}% on {self.baseline_year}"
        )


def _period(dates: pd.Series, start_date, end_date) -> tuple[pd.Timestamp, pd.Timestamp]:
    if start_date is not None:
        start = pd.Timestamp(start_date).normalize()
    else:
        start = dates.min().to_period("M").start_time.normalize()
    end = (
        pd.Timestamp(end_date).normalize()
        if end_date is not None
        else dates.max().to_period("M").end_time.normalize()
    )
    return start, end


def _year_table(
    frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, columns: list[str]
) -> pd.DataFrame:
    years = range(start.year, end.year + 1)
    table = frame.groupby("year")[columns].sum().reindex(years, fill_value=0)
    table = table.rename_axis("year").reset_index()
    first = [max(pd.Timestamp(y, 1, 1), start) for y in years]
    last = [min(pd.Timestamp(y, 12, 31), end) for y in years]
    table["partial"] = [
        (f != pd.Timestamp(y, 1, 1)) or (lt != pd.Timestamp(y, 12, 31))
        for y, f, lt in zip(years, first, last, strict=True)
    ]
    table["months"] = [
        (lt.year - f.year) * 12 + lt.month - f.month + 1 for f, lt in zip(first, last, strict=True)
    ]
    table["label"] = [
        f"{y} ({f:%d %b} to {lt:%d %b}, partial)" if p else str(y)
        for y, f, lt, p in zip(years, first, last, table["partial"], strict=True)
    ]
    return table


def _baseline(by_year: pd.DataFrame, baseline_year: int | None, start, end) -> int | None:
    complete = by_year.loc[~by_year["partial"], "year"].tolist()
    known = ", ".join(map(str, complete)) or "none"
    if baseline_year is None:
        return complete[0] if complete else None
    if baseline_year not in by_year["year"].tolist():
        raise InputError(
            f"baseline year {baseline_year} is outside the years analysed "
            f"({start.year}-{end.year}); pass one of the complete years ({known}) or widen "
            "--years"
        )
    if baseline_year not in complete:
        raise InputError(
            f"baseline year {baseline_year} is only partly covered by the data; "
            f"pass a complete year ({known})"
        )
    return baseline_year


def _with_changes(
    by_year: pd.DataFrame, measures: list[str], baseline_year: int | None
) -> pd.DataFrame:
    """Add ``<measure>_change_pct`` on the baseline; NaN for partial years and a zero baseline."""
    out = by_year.copy()
    base = out.set_index("year").loc[baseline_year] if baseline_year is not None else None
    for m in measures:
        if base is None or base[m] == 0:
            change = np.full(len(out), np.nan)
        else:
            change = ((out[m] - base[m]) / base[m] * 100).to_numpy()
        out[f"{m}_change_pct"] = np.where(out["partial"], np.nan, change)
    return out[
        ["year", "label", "partial", "months", *measures, *[f"{m}_change_pct" for m in measures]]
    ]


def _monthly(
    frame: pd.DataFrame, start, end, population: float | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (every month's counts with rolling 12-month sums and rates, the full months)."""
    months = pd.period_range(start, end, freq="M")
    monthly = (
        frame.assign(month=frame["date"].dt.to_period("M")).groupby("month")[["total", "ksi"]].sum()
    )
    monthly = monthly.reindex(months, fill_value=0).rename_axis("month").reset_index()
    monthly["rolling_12"] = monthly["total"].rolling(12, min_periods=12).sum()
    monthly["rolling_12_ksi"] = monthly["ksi"].rolling(12, min_periods=12).sum()
    monthly["rolling_12_rate_per_1000"] = (
        monthly["rolling_12"] / population * 1000 if population else np.nan
    )
    month_end = end.to_period("M").end_time.normalize()
    last_full = end if end == month_end else (end.to_period("M") - 1).end_time.normalize()
    full = monthly[monthly["month"].dt.end_time.dt.normalize() <= last_full]
    monthly["month"] = monthly["month"].astype(str)
    return monthly, full


def _seasonality(full: pd.DataFrame) -> pd.DataFrame:
    """Return mean collisions per calendar month over full months; index 100 = the average."""
    per_month = (
        full.assign(moy=full["month"].dt.month).groupby("moy")["total"].agg(["mean", "size"])
    )
    per_month = per_month.reindex(range(1, 13))
    overall = full["total"].mean() if len(full) else np.nan
    out = pd.DataFrame(
        {
            "month_of_year": range(1, 13),
            "name": _MONTHS,
            "years": per_month["size"].fillna(0).astype(int).to_numpy(),
            "mean": per_month["mean"].to_numpy(),
        }
    )
    out["index"] = out["mean"] / overall * 100
    out["above_average"] = out["index"] > 100
    return out


def _counted(collisions: pd.DataFrame, dates: pd.Series) -> tuple[pd.DataFrame, list[str]]:
    """Return one row per collision with its measures, and the measures' names.

    Measures: 0/1 ``fatal, serious, slight, ksi``, ``total`` (1), and ``casualties`` where the
    data have them.
    """
    frame = pd.DataFrame({"date": dates, "year": dates.dt.year})
    severity = collisions["severity"].astype("string").str.lower()
    for s in ("fatal", "serious", "slight"):
        frame[s] = (severity == s).astype(int).to_numpy()
    frame["ksi"] = frame["fatal"] + frame["serious"]
    frame["total"] = 1
    measures = ["fatal", "serious", "slight", "ksi", "total"]
    if "casualties" in collisions:
        casualties = pd.to_numeric(collisions["casualties"], errors="coerce")
        if casualties.notna().any():
            frame["casualties"] = casualties.fillna(0).to_numpy()
            measures.append("casualties")
    return frame, measures


def _road_user_table(
    collisions: pd.DataFrame, dates: pd.Series, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame | None:
    """Return collisions involving each flagged road user by year, or None without flags."""
    users = [u for u in ROAD_USERS if u in collisions and collisions[u].notna().any()]
    if not users:
        return None
    flagged = pd.DataFrame({"date": dates, "year": dates.dt.year})
    for user in users:
        flagged[user] = collisions[user].astype("boolean").fillna(False).astype(int).to_numpy()
    return _year_table(flagged, start, end, users)[["year", "label", "partial", *users]]


def collision_trends(
    collisions: pd.DataFrame,
    *,
    population: float | None = None,
    baseline_year: int | None = None,
    start_date: str | pd.Timestamp | None = None,
    end_date: str | pd.Timestamp | None = None,
) -> TrendResult:
    """Return the trend tables of ``collisions`` (normalised collisions: ``date``, ``severity``...).

    Parameters
    ----------
    population
        Residents, for the rolling 12-month rate per 1,000 (e.g. the area's LSOA population total).
    baseline_year
        Year the percentage changes are measured against; default the first complete year. A partial
        year cannot be the baseline.
    start_date, end_date
        First and last day the data cover, when they are not the first day of the earliest
        collision's month and the last day of the latest collision's month.

    Raises
    ------
    InputError
        No collisions, or a baseline year outside the data or partial.
    """
    if len(collisions) == 0:
        raise InputError("no collisions to analyse; check the file and the --years window")
    dates = pd.to_datetime(collisions["date"])
    start, end = _period(dates, start_date, end_date)
    if dates.min() < start or dates.max() > end:
        raise InputError(
            f"collisions run from {dates.min():%d %b %Y} to {dates.max():%d %b %Y}, outside the "
            f"period {start:%d %b %Y} to {end:%d %b %Y}; widen the start/end date or filter the "
            "collisions first"
        )
    frame, measures = _counted(collisions, dates)
    notes: list[str] = []
    if "casualties" not in measures:
        notes.append(
            "the data have no casualty counts: figures are injury collisions, not casualties"
        )
    by_year = _year_table(frame, start, end, measures)
    baseline_year = _baseline(by_year, baseline_year, start, end)
    by_year = _with_changes(by_year, measures, baseline_year)
    for _, row in by_year[by_year["partial"]].iterrows():
        notes.append(
            f"{row['label']}: {int(row['months'])} months only; not compared with complete years"
        )
    monthly, full = _monthly(frame, start, end, population)
    seasonality = _seasonality(full)
    if population:
        notes.append(f"rates per 1,000 residents use a population of {population:,.0f}")

    road_users = _road_user_table(collisions, dates, start, end)
    return TrendResult(
        by_year=by_year,
        monthly=monthly,
        seasonality=seasonality,
        road_users=road_users,
        baseline_year=baseline_year,
        start=start,
        end=end,
        population=population,
        notes=tuple(notes),
    )


def trends_in_years(
    collisions: pd.DataFrame,
    *,
    years: tuple[int, int] | None = None,
    population: float | None = None,
    baseline_year: int | None = None,
    end_date: str | pd.Timestamp | None = None,
) -> TrendResult:
    """Return the trend tables of the collisions in the calendar years ``years`` (first, last).

    The period starts on 1 January of the first year and ends on the earliest of 31 December of
    the last year, ``end_date`` and the end of the latest collision's month (never past the data).
    Without ``years`` this is :func:`collision_trends` of every collision.

    Raises
    ------
    InputError
        No collisions in the years, or a baseline year outside the data or partial.
    """
    if not years:
        return collision_trends(
            collisions, population=population, baseline_year=baseline_year, end_date=end_date
        )
    first, last = years
    coverage = window_coverage_note(collisions, years)
    data = collisions[collisions["year"].between(first, last)]
    year_end = pd.Timestamp(f"{last}-12-31")
    if end_date is None and len(data):
        end = min(pd.Timestamp(data["date"].max()).to_period("M").end_time.normalize(), year_end)
    else:
        end = min(pd.Timestamp(end_date), year_end) if end_date is not None else year_end
    result = collision_trends(
        data,
        population=population,
        baseline_year=baseline_year,
        start_date=f"{first}-01-01",
        end_date=end,
    )
    return replace(result, notes=(coverage, *result.notes)) if coverage else result


def latest_complete_years(
    collisions: pd.DataFrame, *, years: int = DEFAULT_WINDOW_YEARS
) -> tuple[int, int]:
    """Return (first, last) of the latest ``years`` complete calendar years of the collisions.

    The default window of ``costs``, ``trends`` and the report, chosen as the cluster scan chooses
    its window (:func:`geo_sppa.roads.windows.data_window`): a final year the data stop inside is
    left out. Data holding no complete year give their first and last years.
    """
    from geo_sppa.roads.windows import data_window

    dates = pd.to_datetime(collisions["date"]).dropna()
    if dates.empty:
        raise InputError("collisions: no dated collisions; cannot choose a time window")
    try:
        window, _, _ = data_window(dates, years=years)
    except InputError:  # no complete calendar year: every year there is
        return int(dates.min().year), int(dates.max().year)
    return window


def window_coverage_note(collisions: pd.DataFrame, years: tuple[int, int]) -> str:
    """Return a note when the window ``years`` runs past the data's first or last day, else ''.

    Months outside the data are missing, not zero: a count there is not a fall.
    """
    dates = pd.to_datetime(collisions["date"]).dropna()
    if dates.empty:
        return ""
    first, last = dates.min(), dates.max()
    (y1, y2), gaps = years, []
    if last < pd.Timestamp(y2, 12, 31) - pd.Timedelta(days=7):
        missing = []
        if y1 <= last.year and last < pd.Timestamp(last.year, 12, 31) - pd.Timedelta(days=7):
            missing.append(f"{last.year} is partial")
        if y2 > last.year + 1:
            missing.append(f"{max(y1, last.year + 1)}-{y2} have no data")
        elif y2 > last.year:
            missing.append(f"{y2} has no data")
        gaps.append(f"the data stop {last:%d %b %Y} ({', '.join(missing)})")
    if first > pd.Timestamp(y1, 1, 1) + pd.Timedelta(days=7):
        gaps.append(f"the data start {first:%d %b %Y}")
    if not gaps:
        return ""
    return (
        f"Window {y1}-{y2} is incomplete: {' and '.join(gaps)}; the missing months are "
        "missing data, not zero counts"
    )
