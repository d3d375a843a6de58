"""Radius-mode scan: greedy, non-overlapping circles that meet a cluster rule.

Candidate centres are every collision location, the midpoint of every pair of locations up to two
radii apart (so two collisions exactly 100 m apart fit one 50 m circle), and the centroid of each
qualifying candidate's collisions, re-counted. The best qualifying circle (most collisions, then
most fatal/serious, then the most compact, then the lowest easting and northing) is taken, its
collisions and every overlapping candidate are removed, and the scan repeats.
"""

from __future__ import annotations

import heapq

import numpy as np
from scipy.spatial import cKDTree

from geo_sppa.roads.rules import Rule

__all__ = ["radius_scan", "EPS_M"]

EPS_M = 1e-6  # edge tolerance: a collision exactly on a circle's edge is inside
_EPS_M = EPS_M


def _members(tree: cKDTree, centres: np.ndarray, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (centre index, point index) pairs with the point within ``radius_m`` of the centre."""
    if len(centres) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    lists = tree.query_ball_point(centres, radius_m + _EPS_M)
    lengths = np.fromiter((len(m) for m in lists), dtype=np.int64, count=len(lists))
    pts = (
        np.concatenate([np.asarray(m, dtype=np.int64) for m in lists])
        if lengths.sum()
        else (np.empty(0, dtype=np.int64))
    )
    return np.repeat(np.arange(len(centres)), lengths), pts


def radius_scan(xy: np.ndarray, ksi: np.ndarray, rule: Rule) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the radius-mode sites as ``(centre_xy, member_positions)``, best first.

    Parameters
    ----------
    xy
        ``(n, 2)`` collision coordinates, EPSG:27700 metres, in a canonical order (the caller sorts
        them, so that the result does not depend on row order).
    ksi
        Boolean, True for fatal or serious collisions.
    rule
        Cluster rule; ``rule.radius_m`` is the circle radius.

    """
    xy = np.asarray(xy, dtype=float)
    ksi = np.asarray(ksi, dtype=bool)
    radius = float(rule.radius_m)
    if len(xy) < rule.min_collisions:
        return []
    tree = cKDTree(xy)
    places = np.unique(xy, axis=0)
    pairs = cKDTree(places).query_pairs(2 * radius + _EPS_M, output_type="ndarray")
    mids = (places[pairs[:, 0]] + places[pairs[:, 1]]) / 2 if len(pairs) else np.empty((0, 2))
    cands = np.unique(np.vstack([places, mids]), axis=0)
    ci, pi = _members(tree, cands, radius)
    total = np.bincount(ci, minlength=len(cands))
    nksi = np.bincount(ci, weights=ksi[pi], minlength=len(cands))
    good = np.flatnonzero(rule.qualifies(total, nksi))
    if len(good) == 0:
        return []
    # re-centre each qualifying circle on its collisions' centroid, so the site sits on the cluster
    keep = np.isin(ci, good)
    cx = np.bincount(ci[keep], weights=xy[pi[keep], 0], minlength=len(cands))[good] / total[good]
    cy = np.bincount(ci[keep], weights=xy[pi[keep], 1], minlength=len(cands))[good] / total[good]
    cands = np.unique(np.vstack([cands[good], np.column_stack([cx, cy])]), axis=0)
    ci, pi = _members(tree, cands, radius)
    d2 = ((xy[pi] - cands[ci]) ** 2).sum(axis=1)
    total = np.bincount(ci, minlength=len(cands))
    nksi = np.bincount(ci, weights=ksi[pi], minlength=len(cands))
    good = rule.qualifies(total, nksi)
    entry = good[ci]
    ci, pi, d2 = ci[entry], pi[entry], d2[entry]

    return _greedy(cands, good, ci, pi, d2, ksi, rule)


def _greedy(cands, good, ci, pi, d2, ksi, rule) -> list[tuple[np.ndarray, np.ndarray]]:
    """Take the best qualifying circle, drop its collisions and overlapping circles, repeat.

    Lazy greedy: circles are popped smallest key first, the key being ``(-total, -ksi, spread,
    x, y)`` (``spread``: sum of squared distances of the circle's collisions from its centre, so
    the most compact of equally busy circles wins). A key only grows as collisions are taken, so
    a popped key that is still current is the true best.
    """
    order = np.argsort(ci, kind="stable")
    ci, pi, d2 = ci[order], pi[order], d2[order]
    starts = np.searchsorted(ci, np.arange(len(cands) + 1))
    alive_pt = np.ones(len(ksi), dtype=bool)
    alive_cand = good.copy()
    cand_tree = cKDTree(cands)
    radius = float(rule.radius_m)

    clauses = [(c.min_total, c.min_ksi) for c in rule.clauses]

    def key(c: int) -> tuple | None:
        members = pi[starts[c] : starts[c + 1]]
        live = alive_pt[members]
        total, nksi = int(live.sum()), int(ksi[members][live].sum())
        if not any(total >= t and nksi >= k for t, k in clauses):
            return None
        spread = round(float(d2[starts[c] : starts[c + 1]][live].sum()), 6)
        return (-total, -nksi, spread, float(cands[c, 0]), float(cands[c, 1]), c)

    # first keys for all circles at once (a key recomputed later may differ by float rounding
    # of ``spread``; it is then pushed again and accepted on its next pop)
    total = np.diff(starts)
    nksi = np.bincount(ci, weights=ksi[pi], minlength=len(cands)).astype(np.int64)
    spread = np.round(np.bincount(ci, weights=d2, minlength=len(cands)), 6)
    cand_ids = np.flatnonzero(good)
    heap = list(zip(
        (-total[cand_ids]).tolist(), (-nksi[cand_ids]).tolist(), spread[cand_ids].tolist(),
        cands[cand_ids, 0].tolist(), cands[cand_ids, 1].tolist(), cand_ids.tolist(), strict=True,
    ))  # fmt: skip
    heapq.heapify(heap)
    sites = []
    while heap:
        stale = heapq.heappop(heap)
        c = stale[-1]
        if not alive_cand[c]:
            continue
        fresh = key(c)
        if fresh is None:
            alive_cand[c] = False
            continue
        if fresh != stale:
            heapq.heappush(heap, fresh)
            continue
        members = pi[starts[c] : starts[c + 1]]
        members = np.sort(members[alive_pt[members]])
        sites.append((cands[c].copy(), members))
        alive_pt[members] = False
        # circles overlap when their centres are closer than two radii; touching is allowed
        alive_cand[cand_tree.query_ball_point(cands[c], 2 * radius - _EPS_M)] = False
        alive_cand[c] = False
    return sites
