"""Routes: chains joined through junctions into roads, the lines link windows slide along.

A chain stops at every junction node; a route carries on. At each node where three or more
chain ends meet, chain ends are paired in the spirit of COINS strokes (Tripathy et al. 2020, as
in momepy's ``COINS``): every end proposes its best partner at the node and mutual proposals are
paired, repeatedly, so the result does not depend on row order. An end's best partner is

1. a chain with the same ``name`` (or the same ``ref``) turning no more than 90 degrees, the
   straightest first; else
2. where one of the two is unnamed, the straightest continuation turning no more than 45 degrees
   (angles from the first segment of each chain at the node, as COINS measures deflection).

Two differently named roads never continue into each other. Paired chains form paths (a closed
circuit is opened at its first chain); each path is a route, measured from its south-west end.
Chains inside a junction take part too: a short connector between two nodes of one merged
junction carries the road through it, and the arcs of a ring pair with each other (their
continuation is straighter than any arm's), so arms do not run on round the ring.

Carriageway pairs: a one-way chain (``carriageway``) with a label is paired with one-way chains of
the same label on another route within ``pair_m`` and within 30 degrees of parallel; the routes
so linked share the measure of the longest of them (the partners' chain ends are projected onto
it), so collisions on either carriageway count together.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["chain_routes"]

_SAME_NAME_MAX_DEG = 90.0
_UNNAMED_MAX_DEG = 45.0
_PARALLEL_MAX_DEG = 30.0


def chain_routes(chains: dict, start_node, end_node, carriageway, *, pair_m: float = 30.0):
    """Return ``route_id``, ``route_from_m``, ``route_to_m`` and ``paired`` arrays per chain.

    ``chains`` holds equal-length arrays ``chain_id``, ``geometry``, ``length_m``, ``name``,
    ``ref`` and the coordinates ``start``, ``second``, ``penultimate`` and ``end`` of each chain
    (its first two and last two). ``route_from_m`` / ``route_to_m`` are the route measures at
    the chain's start and end (a measure along a chain maps linearly between them); ``paired``
    marks chains placed on a partner carriageway's route.
    """
    geoms = np.asarray(chains["geometry"], dtype=object)
    m = len(geoms)
    length = np.asarray(chains["length_m"], dtype=float)
    name, ref = _norm(chains["name"]), _norm(chains["ref"])
    ends = _end_geometry(chains)
    partner = _paired_ends(ends["bearing"], start_node, end_node, name, ref)
    partner = _opened_circuits(partner, m)
    route_of, from_m, to_m = _route_measures(partner, length, ends)
    ids = pd.array(chains["chain_id"], dtype="str").take(route_of)
    paired = np.zeros(m, bool)
    if carriageway.any():
        ids = np.asarray(ids, dtype=object)
        ids, from_m, to_m, paired = _carriageway_pairs(
            (geoms, length, name, ref, carriageway, ends), (route_of, ids, from_m, to_m), pair_m
        )
    return {"route_id": ids, "route_from_m": np.round(from_m, 6),
            "route_to_m": np.round(to_m, 6), "paired": paired}  # fmt: skip


def _norm(values: np.ndarray) -> np.ndarray:
    """Upper-case stripped labels, None when empty (computed once per distinct value)."""
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    clean = [str(v).strip().upper() or None for v in uniq] + [None]
    return np.asarray(clean, dtype=object)[codes]


def _end_geometry(chains: dict) -> dict:
    """Start and end points of each chain, and unit vectors leaving it at either end."""
    start, end = np.asarray(chains["start"]), np.asarray(chains["end"])
    norm = np.r_[np.asarray(chains["second"]) - start, np.asarray(chains["penultimate"]) - end]
    norm = norm / np.maximum(np.hypot(*norm.T), 1e-9)[:, None]
    return {"start": start, "end": end, "bearing": norm}


def _paired_ends(bearing, start_node, end_node, name, ref) -> np.ndarray:
    """Per chain end (``c``: start of chain c, ``m + c``: its end), the paired end or -1."""
    m = len(start_node)
    partner = np.full(2 * m, -1, np.int64)
    if m == 0:
        return partner
    end = np.arange(2 * m)
    node = np.r_[start_node, end_node]
    count = np.bincount(node, minlength=int(node.max()) + 1)
    at = end[count[node] >= 2]
    at = at[np.argsort(node[at], kind="stable")]
    if len(at) < 2:
        return partner
    i, j = _pairs_within_groups(node[at])
    a, b = at[i], at[j]
    ca, cb = a % m, b % m
    keep = ca != cb
    a, b, ca, cb = a[keep], b[keep], ca[keep], cb[keep]
    cos = -(bearing[a, 0] * bearing[b, 0] + bearing[a, 1] * bearing[b, 1])
    deflect = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    name_code, ref_code = _codes(name), _codes(ref)
    same = _same(name_code, ca, cb) | _same(ref_code, ca, cb)
    unnamed = ((name_code[ca] < 0) & (ref_code[ca] < 0)) | (
        (name_code[cb] < 0) & (ref_code[cb] < 0)
    )
    ok = (same & (deflect <= _SAME_NAME_MAX_DEG)) | (unnamed & (deflect <= _UNNAMED_MAX_DEG))
    # one int64 key per proposal: same name first, then deflection (1/1000 degree), then partner
    score = np.rint(deflect[ok] * 1000).astype(np.int64) + np.where(same[ok], 0, 200_000)
    a, b = a[ok], b[ok]
    u, v, score = np.r_[a, b], np.r_[b, a], np.r_[score, score]
    bits = max(int(2 * m).bit_length(), 1)
    key = (score << bits) | v
    none = np.iinfo(np.int64).max
    free = np.ones(2 * m, bool)
    for _ in range(8):
        live = free[u] & free[v]
        if not live.any():
            break
        best_key = np.full(2 * m, none, np.int64)
        np.minimum.at(best_key, u[live], key[live])
        best = np.where(best_key < none, best_key & ((1 << bits) - 1), -1)
        mutual = np.flatnonzero((best >= 0) & (best[np.maximum(best, 0)] == end))
        if len(mutual) == 0:
            break
        partner[mutual] = best[mutual]
        free[mutual] = False
    return partner


def _codes(values: np.ndarray) -> np.ndarray:
    """Integer code per label (-1 where missing)."""
    return pd.factorize(values, use_na_sentinel=True)[0]


def _same(codes: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (codes[a] >= 0) & (codes[a] == codes[b])


def _pairs_within_groups(group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j), i < j, of positions with the same (sorted) group value."""
    n = len(group)
    new = np.r_[True, group[1:] != group[:-1]]
    start = np.flatnonzero(new)[np.cumsum(new) - 1]
    size = np.diff(np.r_[np.flatnonzero(new), n])[np.cumsum(new) - 1]
    after = start + size - 1 - np.arange(n)
    i = np.repeat(np.arange(n), after)
    offset = np.arange(len(i)) - np.repeat(np.cumsum(after) - after, after)
    return i, i + 1 + offset


def _opened_circuits(partner: np.ndarray, m: int) -> np.ndarray:
    """Cut every closed circuit of paired chains at the start of its first chain."""
    a = np.flatnonzero(partner >= 0)
    if len(a) == 0:
        return partner
    a = a[a < partner[a]]
    graph = coo_matrix((np.ones(len(a)), (a % m, partner[a] % m)), shape=(m, m))
    _, comp = connected_components(graph, directed=False)
    edges = np.bincount(comp[a % m], minlength=comp.max() + 1)
    sizes = np.bincount(comp)
    circuit = np.flatnonzero(edges == sizes)
    if len(circuit) == 0:
        return partner
    out = partner.copy()
    first_chain = pd.Series(np.arange(m)).groupby(comp).min().to_numpy()[circuit]
    cut = first_chain[out[first_chain] >= 0]
    out[out[cut]] = -1
    out[cut] = -1
    return out


def _route_measures(partner, length, ends):
    """Route number, and measures at chain start and end, from the paired chain ends.

    Directed chain ``d`` (``c``: chain c forwards, ``m + c``: backwards) enters at end ``d`` and
    leaves at end ``(d + m) % 2m``; its successor enters at the partner of that end. Path
    positions come from pointer jumping (O(log length) numpy passes).
    """
    m = len(length)
    d = np.arange(2 * m)
    succ = partner[(d + m) % (2 * m)]
    ptr = np.where(succ >= 0, succ, d)
    acc = np.where(succ >= 0, length[np.maximum(succ, 0) % m], 0.0)
    for _ in range(int(np.ceil(np.log2(2 * m + 1))) + 1):
        nxt = ptr[ptr]
        if np.array_equal(nxt, ptr):  # every path has reached its last chain
            break
        acc = acc + acc[ptr]
        ptr = nxt
    tail = ptr
    start_xy = np.r_[ends["start"], ends["end"]]
    c = np.arange(m)
    head_f, head_r = (tail[c + m] + m) % (2 * m), (tail[c] + m) % (2 * m)
    pf, pr = start_xy[head_f], start_xy[head_r]
    fwd = (pf[:, 0] < pr[:, 0]) | ((pf[:, 0] == pr[:, 0]) & (
        (pf[:, 1] < pr[:, 1]) | ((pf[:, 1] == pr[:, 1]) & (head_f % m <= head_r % m))))  # fmt: skip
    head = np.where(fwd, head_f, head_r)
    own = np.where(fwd, c, c + m)
    total = acc[head] + length[head % m]
    offset = total - acc[own] - length
    from_m = np.where(fwd, offset, offset + length)
    to_m = np.where(fwd, offset + length, offset)
    return head % m, from_m, to_m


def _carriageway_pairs(chain_data, routes, pair_m):
    """Put the chains of paired carriageway routes on the measure of the longest route."""
    geoms, length, name, ref, carriageway, ends = chain_data
    route_of, ids, from_m, to_m = routes
    m = len(geoms)
    one = np.flatnonzero(carriageway & (pd.notna(name) | pd.notna(ref)))
    paired = np.zeros(m, bool)
    if len(one) < 2:
        return ids, from_m, to_m, paired
    a, b = shapely.STRtree(geoms[one]).query(geoms[one], predicate="dwithin", distance=pair_m)
    a, b = one[a], one[b]
    keep = (route_of[a] != route_of[b]) & (_same(_codes(name), a, b) | _same(_codes(ref), a, b))
    a, b = a[keep], b[keep]
    chord = ends["end"] - ends["start"]
    chord = chord / np.maximum(np.hypot(*chord.T), 1e-9)[:, None]
    cos = np.abs((chord[a] * chord[b]).sum(axis=1))
    parallel = cos >= np.cos(np.radians(_PARALLEL_MAX_DEG))
    a, b = a[parallel], b[parallel]
    if len(a) == 0:
        return ids, from_m, to_m, paired
    route_len = pd.Series(length).groupby(route_of).sum()
    graph = coo_matrix((np.ones(len(a)), (route_of[a], route_of[b])), shape=(m, m))
    _, comp = connected_components(graph, directed=False)
    rank = pd.DataFrame({"route": route_len.index, "len": -route_len.to_numpy(),
                         "id": ids[route_len.index]}).sort_values(["len", "id"])  # fmt: skip
    primary = rank.groupby(comp[rank["route"].to_numpy()])["route"].first()
    main_of_route = np.arange(m)
    in_rank = rank["route"].to_numpy()
    main_of_route[in_rank] = primary.reindex(comp[in_rank]).to_numpy()
    moved = np.flatnonzero(main_of_route[route_of] != route_of)
    on_main = np.flatnonzero(main_of_route[route_of] == route_of)
    return _projected((geoms, ends), (route_of, ids, from_m, to_m), (main_of_route, moved, on_main),
                      pair_m)  # fmt: skip


def _projected(chain_data, routes, moving, pair_m):
    """Measures of ``moved`` chains' ends on their main route (nearest main-route chain)."""
    geoms, chain_ends = chain_data
    route_of, ids, from_m, to_m = routes
    main_of_route, moved, on_main = moving
    ids, from_m, to_m = ids.copy(), from_m.copy(), to_m.copy()
    paired = np.zeros(len(geoms), bool)
    tree = shapely.STRtree(geoms[on_main])
    ends = []
    for xy in (chain_ends["start"][moved], chain_ends["end"][moved]):
        pts = shapely.points(xy)
        p, k = tree.query(pts, predicate="dwithin", distance=2 * pair_m)
        k = on_main[k]
        right = route_of[k] == main_of_route[route_of[moved[p]]]
        p, k = p[right], k[right]
        d = np.round(shapely.distance(pts[p], geoms[k]), 6)
        near = pd.DataFrame({"p": p, "d": d, "k": k}).sort_values(["p", "d", "k"])
        best = near.drop_duplicates("p").set_index("p")["k"].reindex(range(len(moved)))
        k = best.to_numpy(dtype=float)
        found = ~np.isnan(k)
        kk = np.where(found, k, 0).astype(np.int64)
        loc = shapely.line_locate_point(geoms[kk], pts)
        share = loc / np.maximum(shapely.length(geoms[kk]), 1e-9)
        ends.append((found, from_m[kk] + (to_m[kk] - from_m[kk]) * share))
    (f1, m1), (f2, m2) = ends
    ok = f1 & f2
    c = moved[ok]
    left = moved[~ok]
    ids[c] = ids[main_of_route[route_of[c]]]
    from_m[c], to_m[c], paired[c] = m1[ok], m2[ok], True
    if len(left):
        chain_ids = ids.copy()
        chain_ids[left] = _chain_id_of(chain_ends["start"][left], chain_ends["end"][left])
        _rebased_runs(left, route_of, (ids, from_m, to_m), chain_ids)
    return ids, from_m, to_m, paired


def _chain_id_of(start_xy, end_xy) -> np.ndarray:
    """Ids for the runs of a partly paired route: rounded start and end of their first chain."""
    a, b = np.rint(start_xy).astype(np.int64), np.rint(end_xy).astype(np.int64)
    return np.array(
        [f"{p}_{q}-{r}_{t}" for (p, q), (r, t) in zip(a.tolist(), b.tolist(), strict=True)],
        dtype=object,
    )


def _rebased_runs(left, route_of, measures, chain_ids) -> None:
    """Make each contiguous run of a partly paired route's remaining chains a route of its own.

    Runs are measured from their first chain; the route id is ``<route id>/<first chain>``.
    Updates ``measures`` (ids, from_m, to_m) in place (they are this module's own arrays).
    """
    ids, from_m, to_m = measures
    lo, hi = np.minimum(from_m[left], to_m[left]), np.maximum(from_m[left], to_m[left])
    order = np.lexsort((lo, route_of[left]))
    left, lo, hi = left[order], lo[order], hi[order]
    r = route_of[left]
    new = np.r_[True, (r[1:] != r[:-1]) | (np.abs(lo[1:] - hi[:-1]) > 1e-6)]
    run = np.cumsum(new) - 1
    base = lo[new][run]
    first = left[new][run]
    ids[left] = [f"{a}/{b}" for a, b in zip(ids[left], chain_ids[first], strict=True)]
    from_m[left] -= base
    to_m[left] -= base
