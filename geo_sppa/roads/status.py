"""Status against the previous window: ids carried over, and new, persistent or resolved.

The previous window (the same number of whole years just before the current one) is scanned the
same way as the current one. A previous-window site and a current site are the **same place**
when their centres (``x``, ``y``: a circle's centre, a junction's point, the middle of a link
window) are at most :data:`PLACE_M` (50 m) apart, whatever their types (a junction site that
became a link site 41 m along the road is the same place), or, in network mode, when both are
link windows sharing a stretch of the same route (``route_id`` with centres ``route_m`` less than
one window length apart) or, for networks without routes, of the same chain (overlapping
``start_m``-``end_m``). In radius mode circles that overlap (centres closer than two radii) are
the same place too.

- A current site is ``persistent`` when a previous-window site is the same place, or when the
  previous window's collisions in its footprint (``previous_total``) also meet the rule; else
  ``new``.
- A previous-window site is ``resolved`` only when no current site is the same place; it is
  listed in :attr:`geo_sppa.roads.clusters.ClusterResult.resolved`, with the current window's
  collisions inside its old footprint in ``total`` and ``n_<year>`` (a place that still has 5
  collisions but no site is resolved and says so), and its own previous-window counts in
  ``previous_total`` and ``previous_n_<year>``. One place is therefore never both new and
  resolved.
- Ids: a current site that is the same place as previous-window sites takes the id of the nearest
  of them (pairs matched one to one, nearest first, then by id), so a place keeps its id when its
  centre, window or type changes between windows; ids are the previous scan's own (one step
  back). A current site whose own id such a match took gets the suffix ``-2``.

Columns filled here (see :mod:`geo_sppa.roads.sites`): ``previous_total``, ``status``,
``previous_years_counts`` and ``previous_n_<year>`` (one per year of the previous window).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geo_sppa.roads.radius import EPS_M
from geo_sppa.roads.scan import SiteScan
from geo_sppa.roads.sites import SiteContext, counts_by_year, site_frame, years_text

__all__ = ["PLACE_M", "WindowStatus", "inherited_ids", "same_place_pairs", "window_status"]

#: Sites of the two windows whose centres are at most this far apart are one place, metres.
PLACE_M = 50.0


@dataclass(frozen=True)
class WindowStatus:
    """The current sites with their status, and the previous window's resolved sites.

    Attributes
    ----------
    sites
        The current site frame with ``site_id`` (inherited), ``status`` and previous counts.
    records
        The current site records, with the same ``site_id`` values.
    resolved
        Previous-window sites that no current site is the same place as.

    """

    sites: gpd.GeoDataFrame
    records: pd.DataFrame
    resolved: gpd.GeoDataFrame


def same_place_pairs(
    current: pd.DataFrame,
    previous: pd.DataFrame,
    *,
    mode: str,
    radius_m: float = 50.0,
    length_m: float = 100.0,
    place_m: float = PLACE_M,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (current position, previous position) pairs of site records at the same place.

    Parameters
    ----------
    current, previous
        Site records (``x``, ``y``; network mode also ``site_type`` and ``route_id`` /
        ``route_m`` or ``chain_id`` / ``start_m`` / ``end_m``).
    mode
        ``"radius"`` or ``"network"``.
    radius_m
        Radius mode: circles with centres closer than two radii overlap, metres.
    length_m
        Network mode: the link window length, metres.
    place_m
        Centres at most this far apart are one place, metres.

    Returns
    -------
    tuple of ndarray
        Positions, sorted by current then previous position, each pair once.

    """
    within = place_m if mode == "network" else max(place_m, 2 * radius_m - EPS_M)
    pairs = [_near_centres(current, previous, within)]
    if mode == "network":
        pairs.append(_shared_stretches(current, previous, length_m))
    both = np.unique(np.concatenate(pairs, axis=0), axis=0) if pairs else np.empty((0, 2))
    both = both.astype(np.int64).reshape(-1, 2)
    return both[:, 0], both[:, 1]


def _near_centres(current: pd.DataFrame, previous: pd.DataFrame, within: float) -> np.ndarray:
    """Return (current, previous) position pairs with centres at most ``within`` apart."""
    if len(current) == 0 or len(previous) == 0:
        return np.empty((0, 2), dtype=np.int64)
    tree = cKDTree(previous[["x", "y"]].to_numpy(dtype=float))
    hits = tree.query_ball_point(current[["x", "y"]].to_numpy(dtype=float), within)
    found = [np.asarray(h, dtype=np.int64) for h in hits]
    sizes = np.array([len(h) for h in found], dtype=np.int64)
    old = np.concatenate(found) if sizes.sum() else np.empty(0, dtype=np.int64)
    return np.column_stack([np.repeat(np.arange(len(current)), sizes), old]).astype(np.int64)


def _link_keys(frame: pd.DataFrame, on_route: bool) -> pd.DataFrame:
    """Return the link records' positions, road key and stretch (start, end or centre)."""
    link = (frame["site_type"] == "link").to_numpy(dtype=bool)
    if on_route:
        road, a, b = frame["route_id"], frame["route_m"], frame["route_m"]
    else:
        road, a, b = frame["chain_id"], frame["start_m"], frame["end_m"]
    keys = pd.DataFrame(
        {
            "pos": np.arange(len(frame)),
            "road": road.astype(str).to_numpy(),
            "a": pd.to_numeric(a, errors="coerce").to_numpy(dtype=float),
            "b": pd.to_numeric(b, errors="coerce").to_numpy(dtype=float),
        }
    )
    return keys[link & road.notna().to_numpy()]


def _shared_stretches(current: pd.DataFrame, previous: pd.DataFrame, length_m: float) -> np.ndarray:
    """Return pairs of link windows that share a stretch of one route (else of one chain)."""
    route = {"route_id", "route_m"}
    chain = {"chain_id", "start_m", "end_m"}
    columns = set(current.columns) & set(previous.columns)
    if "site_type" not in columns or not (route <= columns or chain <= columns):
        return np.empty((0, 2), dtype=np.int64)
    on_route = route <= columns
    both = _link_keys(current, on_route).merge(
        _link_keys(previous, on_route), on="road", suffixes=("_c", "_p")
    )
    if on_route:
        shared = (both["a_c"] - both["a_p"]).abs() < length_m
    else:
        shared = (both["a_c"] < both["b_p"]) & (both["a_p"] < both["b_c"])
    both = both[shared]
    return np.column_stack([both["pos_c"], both["pos_p"]]).astype(np.int64)


def inherited_ids(
    current: pd.DataFrame, previous: pd.DataFrame, cur_pos: np.ndarray, old_pos: np.ndarray
) -> np.ndarray:
    """Return the current sites' ids, each taking the id of the nearest same-place previous site.

    Pairs are matched nearest first (then by id), one to one, so no two current sites take the
    same id; a current site whose own id an earlier match took gets the suffix ``-2``.

    Parameters
    ----------
    current, previous
        Site records with ``site_id``, ``x`` and ``y``.
    cur_pos, old_pos
        Same-place pairs from :func:`same_place_pairs`.

    Returns
    -------
    ndarray
        One id per current record (object array).

    """
    ids = current["site_id"].astype(str).to_numpy(dtype=object).copy()
    old_ids = previous["site_id"].astype(str).to_numpy(dtype=object)
    if len(cur_pos) == 0:
        return ids
    cxy = current[["x", "y"]].to_numpy(dtype=float)
    oxy = previous[["x", "y"]].to_numpy(dtype=float)
    dist = np.hypot(*(cxy[cur_pos] - oxy[old_pos]).T)
    order = np.lexsort((old_ids[old_pos].astype(str), ids[cur_pos].astype(str), dist))
    matched_cur: set[int] = set()
    matched_old: set[int] = set()
    for k in order:
        c, o = int(cur_pos[k]), int(old_pos[k])
        if c in matched_cur or o in matched_old:
            continue
        ids[c] = old_ids[o]
        matched_cur.add(c)
        matched_old.add(o)
    taken = {ids[c] for c in matched_cur}
    for c in range(len(ids)):
        if c not in matched_cur and ids[c] in taken:
            ids[c] = f"{ids[c]}-2"
    return ids


def _with_previous_counts(
    sites: gpd.GeoDataFrame,
    members: list[pd.Index],
    frame: pd.DataFrame,
    previous: tuple[int, int],
) -> gpd.GeoDataFrame:
    """Return a copy with ``previous_total``, ``previous_n_<year>`` and their text, from members."""
    out = sites.copy()
    per_year = counts_by_year(members, frame, previous, "previous_n_")
    for column in per_year.columns:
        out[column] = pd.array(per_year[column].to_numpy(), dtype="Int64")
    out["previous_total"] = pd.array([len(m) for m in members], dtype="Int64")
    out["previous_years_counts"] = pd.array(
        years_text(per_year, previous, "previous_n_"), dtype="string"
    )
    return out


def window_status(
    scan: SiteScan,
    records: pd.DataFrame,
    sites: gpd.GeoDataFrame,
    windows: tuple[pd.DataFrame, pd.DataFrame],
    frame: pd.DataFrame,
    context: SiteContext,
) -> WindowStatus:
    """Return the current sites with ids and status, and the resolved previous-window sites.

    Parameters
    ----------
    scan
        The scan that found ``records`` (it scans the previous window the same way).
    records, sites
        The current window's qualifying site records and their site frame (same order).
    windows
        The current and previous windows' placed collisions.
    frame
        All usable collisions (labels as in ``windows``).
    context
        The run's context; ``context.previous_window`` must be set.

    Returns
    -------
    WindowStatus
        Sites, records and resolved sites.

    """
    previous = context.previous_window
    if previous is None:
        raise ValueError("window_status needs a previous window")
    cur_frame, prev_frame = windows
    old = scan.records(prev_frame)
    rule = scan.rule
    cur_pos, old_pos = same_place_pairs(
        records, old, mode=scan.mode, radius_m=rule.radius_m, length_m=rule.length_m
    )
    ids = inherited_ids(records, old, cur_pos, old_pos)
    records = records.assign(site_id=ids)
    prev_members = scan.footprints(prev_frame, records)
    out = _with_previous_counts(sites.assign(site_id=ids), prev_members, frame, previous)
    total = out["previous_total"].to_numpy(dtype=np.int64)
    ksi = _ksi_counts(frame["severity"], prev_members)
    same_place = np.isin(np.arange(len(records)), cur_pos)
    out["status"] = np.where(rule.qualifies(total, ksi) | same_place, "persistent", "new")
    gone = old[~np.isin(np.arange(len(old)), old_pos)].reset_index(drop=True)
    resolved = site_frame(gone, scan.footprints(cur_frame, gone), frame, context)
    resolved = _with_previous_counts(resolved, list(gone["members"]), frame, previous)
    resolved["status"] = "resolved"
    resolved = resolved.sort_values(
        ["previous_total", "site_id"], ascending=[False, True], kind="mergesort"
    )
    return WindowStatus(out, records, resolved.reset_index(drop=True))


def _ksi_counts(severity: pd.Series, members: list) -> np.ndarray:
    """Return the fatal-or-serious collisions among each list of ``severity`` index labels."""
    sizes = np.array([len(m) for m in members], dtype=np.int64)
    if not sizes.sum():
        return np.zeros(len(members), dtype=np.int64)
    flat = np.concatenate([np.asarray(m) for m in members if len(m)])
    is_ksi = severity.isin(["fatal", "serious"]).loc[flat].to_numpy(dtype=float)
    owner = np.repeat(np.arange(len(members)), sizes)
    return np.bincount(owner, weights=is_ksi, minlength=len(members)).astype(np.int64)
