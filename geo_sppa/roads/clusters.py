"""Cluster sites: places where injury collisions concentrate enough to meet a cluster rule.

:func:`cluster_sites` runs the pipeline; each step has its own module:

1. :mod:`geo_sppa.roads.usable`: the collisions that can be placed and dated, and the rows set
   aside with a reason.
2. :mod:`geo_sppa.roads.windows`: the window of whole calendar years (default the latest
   ``rule.years`` complete years) and the preceding window of the same length.
3. :mod:`geo_sppa.roads.scan`: candidate sites, in one of two modes:

   - **radius mode** (no road network; the "data-based clusters" many authorities use): a site
     is a circle of ``rule.radius_m`` metres, chosen greedily (:func:`radius_scan`);
   - **network mode** (``roads`` given): junctions and ``rule.length_m`` road windows from
     :mod:`geo_sppa.roads.network`; collisions are snapped to the road, preferring the road a
     collision names (``counts["n_moved_by_name"]`` of the window's collisions went to a named
     road rather than the nearest).

4. :mod:`geo_sppa.roads.sites`: the site frame (counts, per-year counts, costs, type, name,
   rank); sites that meet the rule are kept.
4a. With ``eb=True``: a safety performance function over every candidate site of the area
   (:mod:`geo_sppa.roads.spf`) and Empirical Bayes columns per site (:mod:`geo_sppa.roads.eb`).
5. :mod:`geo_sppa.roads.status`: ids carried from the previous window and the status of each
   place (``new``, ``persistent``, ``resolved``; previous-window sites within 50 m are the same
   place).

Each collision belongs to at most one site.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_sppa.errors import InputError
from geo_sppa.roads.costs import collision_costs, cost_table_note
from geo_sppa.roads.eb import site_eb_columns, site_spf_moments
from geo_sppa.roads.names import site_name, town_words
from geo_sppa.roads.radius import radius_scan
from geo_sppa.roads.rules import (
    MAX_LENGTH_M,
    MAX_RADIUS_M,
    RULES,
    Rule,
    require_cluster_rule,
    rule_named,
)
from geo_sppa.roads.scan import NetworkScan, RadiusScan, SiteScan, network_placement
from geo_sppa.roads.sites import (
    SCORE_WEIGHTS,
    SITE_COLUMNS,
    SiteContext,
    ranked_sites,
    require_ranking,
    site_columns,
    site_frame,
)
from geo_sppa.roads.spf import SpfFit, fit_spf, grid_candidates, network_candidates
from geo_sppa.roads.status import WindowStatus, window_status
from geo_sppa.roads.usable import snap_set_aside, usable_collisions
from geo_sppa.roads.windows import data_window
from geo_sppa.schema import SET_ASIDE_COLUMNS

__all__ = [
    "MAX_LENGTH_M",
    "MAX_RADIUS_M",
    "SCORE_WEIGHTS",
    "SITE_COLUMNS",
    "ClusterResult",
    "cluster_sites",
    "data_window",
    "radius_scan",
    "site_columns",
    "site_name",
]


_SCORE_NOTE = (
    "Score = " + " + ".join(f"{w} x {s}" for s, w in SCORE_WEIGHTS.items()) + " collisions"
)


@dataclass(frozen=True)
class ClusterResult:
    """Cluster sites for one time window, with what was left out and why.

    Attributes
    ----------
    sites
        One row per site (columns :func:`~geo_sppa.roads.sites.site_columns`: the fixed
        :data:`SITE_COLUMNS` plus ``n_<year>`` per year of the window and, with a previous
        window, ``previous_n_<year>``), EPSG:27700, ordered by ``rank``. ``status`` is
        ``persistent`` when a previous-window site is the same place (the site then carries the
        nearest one's ``site_id``) or ``previous_total`` meets the rule, else ``new``
        (see :mod:`geo_sppa.roads.status`).
    resolved
        Sites of the previous window's scan that no current site is the same place as, same
        columns: ``total``, ``n_<year>`` etc. count the current window inside the old footprint,
        ``previous_total`` and ``previous_n_<year>`` the previous window; ``status`` is
        ``"resolved"`` and ``rank`` is NA.
    set_aside
        Collisions that could not be placed (``source, row, record_id, reason, detail``): no
        coordinates, no date, unknown severity, or (network mode) beyond the snap tolerance.
        ``row`` is the 1-based file row from the input's ``source_row`` column (added by
        :func:`geo_sppa.io.read_collisions`), NA when the input has no such column.
    counts
        ``n_read``, ``n_set_aside``, ``n_used`` (read less set aside), ``n_outside_window``,
        ``n_in_window``, ``n_in_sites``, ``n_not_in_sites``, ``n_sites``, ``n_resolved``,
        ``n_previous_window`` (placed collisions in the previous window),
        ``n_previous_set_aside`` (network mode: previous-window collisions beyond the snap
        tolerance, not counted in ``previous_total`` nor in ``set_aside``: they are in
        ``previous_set_aside``), ``n_moved_by_name`` (network mode: collisions of the window
        snapped to the road they name rather than to a nearer one; 0 in radius mode). Always
        ``n_read == n_set_aside + n_outside_window + n_in_sites + n_not_in_sites``.
    mode
        ``"radius"`` or ``"network"``.
    window, previous_window
        First and last calendar year of the window (inclusive); ``previous_window`` is None when
        the data do not reach back over the whole preceding window.
    rule
        The rule applied.
    rank_by
        The ranking of ``sites`` (a key of :data:`~geo_sppa.roads.sites.RANK_ORDERS`).
    cost_table
        One line naming the value-of-prevention figures used.
    notes
        One-line notes for the run summary.
    site_of
        Per input row (indexed like the input): the ``site_id`` it belongs to, or NA.
    previous_set_aside
        Network mode: the previous window's collisions beyond the snap tolerance (columns as
        ``set_aside``, reason ``beyond snap tolerance, previous window``, the window and
        distance in ``detail``); written to ``clusters_set_aside.csv`` after ``set_aside``.
    spf
        With ``eb=True``: the safety performance function fitted over the window's candidate
        sites (:class:`~geo_sppa.roads.spf.SpfFit`); ``sites`` then has the
        :data:`~geo_sppa.roads.eb.EB_COLUMNS` before ``geometry``. None otherwise.

    """

    sites: gpd.GeoDataFrame
    resolved: gpd.GeoDataFrame
    set_aside: pd.DataFrame
    counts: dict[str, int]
    mode: str
    window: tuple[int, int]
    previous_window: tuple[int, int] | None
    rule: Rule
    cost_table: str
    notes: tuple[str, ...] = ()
    rank_by: str = "cost"
    site_of: pd.Series = field(default_factory=lambda: pd.Series(dtype="string"))
    previous_set_aside: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=SET_ASIDE_COLUMNS)
    )
    spf: SpfFit | None = None


@dataclass(frozen=True)
class _Placed:
    """The usable collisions placed for a scan, and what placing them cost."""

    scan: SiteScan
    frame: pd.DataFrame
    set_aside: pd.DataFrame
    notes: tuple[str, ...] = ()
    n_previous_set_aside: int = 0
    n_moved_by_name: int = 0
    previous_set_aside: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=SET_ASIDE_COLUMNS)
    )


def cluster_sites(
    collisions: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | None = None,
    rule: Rule | str = RULES["spp"],
    years: tuple[int, int] | None = None,
    price_year: int | None = None,
    snap_tolerance_m: float = 30.0,
    junction_merge_m: float = 15.0,
    cost_table: pd.DataFrame | None = None,
    source: str = "collisions",
    rank_by: str = "cost",
    eb: bool = False,
    roads_source: str = "roads",
) -> ClusterResult:
    """Return the cluster sites of ``collisions`` under ``rule``, with the previous-window status.

    Parameters
    ----------
    collisions
        Normalised collisions (:func:`geo_sppa.io.read_collisions`), EPSG:27700; not modified.
    roads
        Road lines (``geo_sppa.io.read_roads``). Given: network mode (junctions and
        ``rule.length_m`` windows of road); None: radius mode (``rule.radius_m`` circles).
    rule
        A :class:`~geo_sppa.roads.rules.Rule` or a preset name (``"spp"``).
    years
        ``(first, last)`` calendar years, inclusive; default the latest complete ones.
    price_year
        Price year of the DfT values of prevention; default the latest in the table.
    snap_tolerance_m, junction_merge_m
        Network mode: collisions farther than ``snap_tolerance_m`` from every road are set
        aside; road nodes closer than ``junction_merge_m`` form one junction (metres).
    cost_table, source, roads_source
        A replacement value-of-prevention table (:mod:`geo_sppa.roads.costs`); the names of
        the collisions file (for the set-aside records) and the road file (for messages).
    rank_by
        A key of :data:`~geo_sppa.roads.sites.RANK_ORDERS`; ``eb-excess`` needs ``eb``.
    eb
        Add the Empirical Bayes columns (an SPF of every candidate site, :mod:`~.roads.eb`).

    Returns
    -------
    ClusterResult
        Ranked sites, resolved sites, set-aside rows, counts and notes.

    Raises
    ------
    InputError
        Missing columns, wrong CRS, no dated collisions, a window outside the data, an unknown
        rule, ranking or price year, no cluster rule, or no collision near a road (network).
    """
    rule = rule_named(rule) if isinstance(rule, str) else rule
    require_cluster_rule(rule)
    _require_ranking(rank_by, eb)  # before the scan, not after it
    usable, set_aside = usable_collisions(collisions, source)
    window, previous, notes = data_window(usable["date"], years=rule.years, window=years)
    in_cur, in_prev = _in_windows(usable["year"], window, previous)
    placed = _Placed(RadiusScan(rule), usable, set_aside) if roads is None else _network_placed(
        usable, (in_cur, in_prev), roads, rule, set_aside, windows=(window, previous),
        tolerance_m=snap_tolerance_m, merge_m=junction_merge_m, source=(source, roads_source),
    )  # fmt: skip
    costs = collision_costs(usable["severity"], price_year=price_year, table=cost_table)
    context = SiteContext(rule, window, previous, costs, frozenset(town_words(usable["location"])))
    frames = _window_frames(placed.frame, usable, (in_cur, in_prev))
    status = _sites_with_status(placed.scan, frames, usable, context)
    sites, spf = _eb_sites(status, placed, usable, rule, window) if eb else (status.sites, None)
    site_of = _site_of(status.records, len(collisions))
    resolved, coverage = _resolved_when_covered(status.resolved, usable["date"].max(), window)
    counts = _counts(collisions, placed, frames, site_of, (status, int((~in_cur).sum())))
    return ClusterResult(
        sites=ranked_sites(sites, by=rank_by), resolved=resolved,
        set_aside=placed.set_aside.reset_index(drop=True),
        counts={**counts, "n_resolved": len(resolved)}, mode=placed.scan.mode, window=window,
        previous_window=previous, rule=rule,
        cost_table=cost_table_note(price_year, table=cost_table),
        notes=(*notes, *placed.notes, *coverage, _SCORE_NOTE, *_spf_notes(spf)),
        site_of=pd.Series(site_of, index=collisions.index, name="site_id", dtype="string"),
        rank_by=rank_by, spf=spf, previous_set_aside=placed.previous_set_aside,
    )  # fmt: skip


def _require_ranking(rank_by: str, eb: bool) -> None:
    """Raise :class:`InputError` for an unknown ranking, or ``eb-excess`` without ``eb``."""
    require_ranking(rank_by)
    if rank_by == "eb-excess" and not eb:
        raise InputError("ranking eb-excess needs the Empirical Bayes columns; drop --no-eb")


def _eb_sites(
    status: WindowStatus, placed: _Placed, usable: gpd.GeoDataFrame, rule: Rule,
    window: tuple[int, int],
) -> tuple[gpd.GeoDataFrame, SpfFit]:  # fmt: skip
    """Return the sites with the Empirical Bayes columns, and the SPF behind them.

    The candidates are counted over the window's years from the collisions the scan placed
    (network mode: both windows snapped; radius mode: every usable collision), so every
    collision of the window that is in a site is also in a candidate; a link site's ``mu``
    takes in the junctions its stretch passes
    (:func:`~geo_sppa.roads.eb.site_footprints`).
    """
    years = list(range(window[0], window[1] + 1))
    scan, frame, network = placed.scan, None, None
    if isinstance(scan, NetworkScan):
        frame, network = gpd.GeoDataFrame(placed.frame), scan.network
        cands = network_candidates(frame, network, years=years, length_m=rule.length_m)
    else:
        cands = grid_candidates(usable, radius_m=rule.radius_m, years=years)
    fit = fit_spf(cands.counts, cands.sites[list(cands.covariates)])
    mu, k = site_spf_moments(status.records, cands, fit, years, rule=rule, network=network,
                             snapped=frame)  # fmt: skip
    return site_eb_columns(status.sites, mu, fit, rule, k=k), fit


def _spf_notes(spf: SpfFit | None) -> tuple[str, ...]:
    """Return the run-summary note on the EB columns (none without an SPF)."""
    if spf is None:
        return ()
    return (
        "EB columns: spf_expected (sites like it), eb_expected (this site's long-run count), "
        "eb_excess = eb_expected - spf_expected, eb_sd, rtm_share (share of the count expected "
        "to regress); rtm_note where the EB count no longer meets the rule",
    )


def _resolved_when_covered(
    resolved: gpd.GeoDataFrame, data_end: pd.Timestamp, window: tuple[int, int]
) -> tuple[gpd.GeoDataFrame, tuple[str, ...]]:
    """Return the resolved sites, or none when the window runs past the end of the data.

    A place with no site in a window whose last months have no data is not resolved: its
    collisions may simply not be in the file yet. The note says so and how many were held back.
    """
    # the same slack as data_window: a year whose last collision is within 7 days of its end is
    # complete (a small area often has no collision on 31 December)
    if not len(resolved) or (pd.Timestamp(window[1], 12, 31) - data_end.normalize()).days <= 7:
        return resolved, ()
    note = (
        f"no site called resolved: window {window[0]}-{window[1]} runs past the data (last "
        f"collision {data_end:%d %b %Y}) and missing months cannot resolve a site; "
        f"{len(resolved)} previous-window site(s) held back"
    )
    return resolved.iloc[0:0], (note,)


def _in_windows(
    year: pd.Series, window: tuple[int, int], previous: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return boolean masks over ``year`` (in its order) of the current and previous windows."""
    in_cur = year.between(*window).to_numpy(dtype=bool)
    if previous is None:
        return in_cur, np.zeros(len(year), dtype=bool)
    return in_cur, year.between(*previous).to_numpy(dtype=bool)


def _window_frames(
    placed: pd.DataFrame, usable: pd.DataFrame, masks: tuple[np.ndarray, np.ndarray]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the placed collisions of the current and of the previous window."""
    index, labels = placed.index, usable.index
    at = labels.get_indexer(index) if labels.is_unique else np.empty(0, np.intp)
    if len(at) != len(index) or (at < 0).any():
        return placed[index.isin(labels[masks[0]])], placed[index.isin(labels[masks[1]])]
    return placed[masks[0][at]], placed[masks[1][at]]  # each placed row's own window masks


def _sites_with_status(
    scan: SiteScan,
    frames: tuple[pd.DataFrame, pd.DataFrame],
    usable: pd.DataFrame,
    context: SiteContext,
) -> WindowStatus:
    """Return the current window's qualifying sites, with status when there is a previous window."""
    records = scan.records(frames[0])
    sites = site_frame(records, list(records["members"]), usable, context)
    total, ksi = sites["total"].to_numpy(), (sites["fatal"] + sites["serious"]).to_numpy()
    keep = context.rule.qualifies(total, ksi)
    sites, records = sites[keep].reset_index(drop=True), records[keep].reset_index(drop=True)
    if context.previous_window is None:
        return WindowStatus(sites, records, site_frame(records.iloc[0:0], [], usable, context))
    return window_status(scan, records, sites, frames, usable, context)


def _network_placed(
    usable: gpd.GeoDataFrame,
    masks: tuple[np.ndarray, np.ndarray],
    roads: gpd.GeoDataFrame,
    rule: Rule,
    set_aside: pd.DataFrame,
    *,
    windows: tuple[tuple[int, int], tuple[int, int] | None],
    tolerance_m: float,
    merge_m: float,
    source: tuple[str, str],
) -> _Placed:
    """Network mode: snap both windows' collisions; set aside the current window's lost ones.

    ``source``: the names of the collisions file and of the road file.
    """
    in_cur, in_prev = masks
    window, previous = windows
    wanted = gpd.GeoDataFrame(usable[in_cur | in_prev])
    placement = network_placement(
        wanted, roads, rule, tolerance_m=tolerance_m, junction_merge_m=merge_m
    )
    lost = placement.lost
    current = pd.Series(in_cur, index=usable.index)
    lost_cur = lost.index[current.loc[lost.index].to_numpy(dtype=bool)]
    if len(lost_cur) and len(lost_cur) == int(in_cur.sum()):
        raise InputError(
            f"{source[1]}: none of the {len(lost_cur):,} collisions in {window[0]}-{window[1]} "
            f"lies within {tolerance_m:g} m of a road; check that the road layer covers the same "
            "area (and declares the right CRS), or raise --snap-tolerance-m"
        )
    snapped = placement.snapped
    moved = snapped["moved_by_name"].to_numpy(dtype=bool) if "moved_by_name" in snapped else None
    n_moved = 0 if moved is None else int(moved[current.loc[snapped.index].to_numpy()].sum())
    repairs = placement.scan.network.repairs
    notes = [
        f"Network mode: collisions snapped to roads within {tolerance_m:g} m",
        "road network cleaned: "
        f"{repairs.get('duplicate_ways', 0):,} duplicate ways removed, "
        f"{repairs.get('ends_noded', 0):,} line ends within 2 m noded onto the line beside them, "
        f"{repairs.get('grade_separated_vertices', 0):,} vertices shared across bridge/tunnel "
        "layers kept apart",
        f"{n_moved} collisions in {window[0]}-{window[1]} snapped to the road their record names "
        "rather than a nearer one (at most twice as far)",
    ]
    n_prev_lost = len(lost) - len(lost_cur)
    if previous is not None and n_prev_lost:
        notes.append(
            f"previous window {previous[0]}-{previous[1]}: {n_prev_lost} collisions beyond "
            "the snap tolerance not counted in previous_total"
        )
    lost_rows = snap_set_aside(usable, lost_cur, lost["detail"], source[0])
    lost_prev = snap_set_aside(usable, lost.index.difference(lost_cur), lost["detail"], source[0])
    if previous is not None:  # else no previous-window collision was placed
        window_text = f"previous window {previous[0]}-{previous[1]}: "
        lost_prev = lost_prev.assign(
            reason="beyond snap tolerance, previous window",
            detail=window_text + lost_prev["detail"].astype(str),
        )
    return _Placed(
        scan=placement.scan,
        frame=snapped,
        set_aside=pd.concat([set_aside, lost_rows]),
        notes=tuple(notes),
        n_previous_set_aside=n_prev_lost,
        n_moved_by_name=n_moved,
        previous_set_aside=lost_prev.reset_index(drop=True),
    )


def _counts(
    collisions: pd.DataFrame,
    placed: _Placed,
    windows: tuple[pd.DataFrame, pd.DataFrame],
    site_of: np.ndarray,
    found: tuple[WindowStatus, int],
) -> dict[str, int]:
    """Return the run's counts (see :class:`ClusterResult`); ``found``: sites, n outside window."""
    cur_frame, prev_frame = windows
    status, n_outside = found
    in_sites = int(pd.notna(site_of).sum())
    return {
        "n_read": len(collisions),
        "n_set_aside": len(placed.set_aside),
        "n_used": len(collisions) - len(placed.set_aside),
        "n_outside_window": n_outside,
        "n_in_window": len(cur_frame),
        "n_in_sites": in_sites,
        "n_not_in_sites": len(cur_frame) - in_sites,
        "n_sites": len(status.sites),
        "n_resolved": len(status.resolved),
        "n_previous_window": len(prev_frame),
        "n_previous_set_aside": placed.n_previous_set_aside,
        "n_moved_by_name": placed.n_moved_by_name,
    }


def _site_of(records: pd.DataFrame, n: int) -> np.ndarray:
    """Return, per input position, the ``site_id`` of the record holding it, else None."""
    site_of = np.full(n, None, dtype=object)
    sizes = [len(m) for m in records["members"]]
    if sum(sizes):
        labels = np.concatenate([np.asarray(m, dtype=np.int64) for m in records["members"]])
        site_of[labels] = np.repeat(records["site_id"].to_numpy(dtype=object), sizes)
    return site_of
