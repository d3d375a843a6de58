"""Time windows: the latest complete calendar years in the data, and the window before them."""

from __future__ import annotations

import pandas as pd

from geo_sppa.errors import InputError

__all__ = ["data_window"]


def data_window(
    dates: pd.Series,
    *,
    years: int = 3,
    window: tuple[int, int] | None = None,
    slack_days: int = 7,
) -> tuple[tuple[int, int], tuple[int, int] | None, list[str]]:
    """Return the analysis window, the preceding window (or None) and notes.

    The last year of the data is complete when the latest collision is within ``slack_days`` of
    its 31 December (a small area often has no collision on the last days of a year: the data
    then reach the year end but show no date there); the first year is complete when the earliest
    collision is within ``slack_days`` of its 1 January. ``slack_days=0`` asks for collisions on
    31 December and 1 January themselves.
    """
    dates = pd.to_datetime(dates.dropna())
    if dates.empty and window is not None:
        return (int(window[0]), int(window[1])), None, ["No usable collisions; no previous window"]
    if dates.empty:
        raise InputError("collisions: no dated collisions; cannot choose a time window")
    first, last = dates.min(), dates.max()
    last_gap = (pd.Timestamp(last.year, 12, 31) - last.normalize()).days
    first_gap = (first.normalize() - pd.Timestamp(first.year, 1, 1)).days
    last_complete = last.year if last_gap <= slack_days else last.year - 1
    first_complete = first.year if first_gap <= slack_days else first.year + 1
    notes: list[str] = []
    if 0 < last_gap <= slack_days:
        notes.append(f"{last.year} taken as complete: data reach {last:%d %b %Y}")
    complete = (first_complete, last_complete)
    if window is None:
        (y1, y2), more = _latest_window((first, last), complete, years)
    else:
        chosen = (int(window[0]), int(window[1]))
        (y1, y2), more = _chosen_window(chosen, (first, last), complete, years)
    notes += more
    span = y2 - y1 + 1
    previous = (y1 - span, y1 - 1)
    if previous[0] < first_complete:
        notes.append(
            f"No previous window: data do not reach back over {previous[0]}-{previous[1]}; "
            "previous_total is NA and every site is marked new"
        )
        return (y1, y2), None, notes
    return (y1, y2), previous, notes


def _latest_window(
    data: tuple[pd.Timestamp, pd.Timestamp], complete: tuple[int, int], years: int
) -> tuple[tuple[int, int], list[str]]:
    """Return the latest ``years`` complete years (fewer if the data hold fewer) and notes."""
    (first, last), (first_complete, last_complete) = data, complete
    if last_complete < first_complete:
        raise InputError(
            f"collisions: data run {first:%d %b %Y} to {last:%d %b %Y}, which holds no "
            "complete calendar year; choose a window with --years FIRST-LAST "
            "(years=(first, last) in Python)"
        )
    notes = []
    y2 = last_complete
    y1 = max(first_complete, y2 - years + 1)
    if y2 - y1 + 1 < years:
        notes.append(
            f"Only {y2 - y1 + 1} complete year(s) in the data; window {y1}-{y2} is shorter "
            f"than the rule's {years} years"
        )
    if last.year > y2:
        notes.append(f"{last.year} left out: data stop {last:%d %b %Y} (year incomplete)")
    return (y1, y2), notes


def _chosen_window(
    window: tuple[int, int],
    data: tuple[pd.Timestamp, pd.Timestamp],
    complete: tuple[int, int],
    years: int,
) -> tuple[tuple[int, int], list[str]]:
    """Return the user's window, checked against the data, and notes on its coverage."""
    (y1, y2), (first, last) = window, data
    if y2 < y1:
        raise InputError(f"years: first year {y1} is after last year {y2}; give (first, last)")
    if y2 < first.year or y1 > last.year:
        raise InputError(
            f"years {y1}-{y2}: no collisions in that window; the data run {first:%d %b %Y} "
            f"to {last:%d %b %Y}; choose years within {first.year}-{last.year}"
        )
    notes = []
    if y2 - y1 + 1 != years:
        notes.append(
            f"Window {y1}-{y2} spans {y2 - y1 + 1} years, not the rule's {years}: counts are "
            "not comparable with the rule's thresholds"
        )
    if y1 < complete[0] or y2 > complete[1]:
        notes.append(
            f"Window {y1}-{y2} is not fully covered by the data ({first:%d %b %Y} to "
            f"{last:%d %b %Y}): counts may be low"
        )
    return (y1, y2), notes
