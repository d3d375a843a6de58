"""Junction and 100 m link sites on a road network, and which collisions fall in them."""

from __future__ import annotations

import weakref
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_sppa.crs import BNG
from geo_sppa.errors import InputError
from geo_sppa.roads.network.build import _UNNAMED, RoadNetwork, _split_by
from geo_sppa.roads.rules import Rule

__all__ = ["network_sites", "members_of_sites"]

_SITE_COLUMNS = ["site_key", "site_type", "name", "chain_id", "junction_id", "start_m", "end_m",
                 "total", "ksi", "criterion", "members", "route_id", "route_m", "chain_spans",
                 "geometry"]  # fmt: skip


def network_sites(snapped: gpd.GeoDataFrame, network: RoadNetwork, rule: Rule) -> gpd.GeoDataFrame:
    """Return one row per qualifying junction or link site.

    Junctions are counted first; collisions in a qualifying junction site are left out of the
    link scan (collisions at junctions that do not qualify still count along the road). Link
    windows slide along routes (chains joined through junctions by road name or the straightest
    continuation, carriageway pairs on one measure; see :mod:`~geo_sppa.roads.network.routes`),
    so a window spans side-road junctions. A window that passes a junction counts the collisions
    snapped to the route there unless the junction is itself a site: then they are the junction
    site's alone and the window counts only the collisions either side of it.

    On each route the window of ``rule.length_m`` (the whole route when shorter) holding the most
    collisions (then most fatal/serious, then nearest the route start) becomes a site if it
    qualifies; its collisions are removed and the route is scanned again. Windows start at a
    collision (or end at the route end), which finds the true peak of a window slid in
    infinitely small steps; ends are inclusive, so collisions exactly ``length_m`` apart share one.
    The reported stretch is then centred on the span of the window's collisions (any other free
    collision inside it joins the site), so it never runs on past them onto another road.

    Parameters
    ----------
    snapped
        ``SnappedCollisions.snapped`` (any subset of it, e.g. one 3-year window).
    network
        The network the collisions were snapped to.
    rule
        Which counts qualify (``rule.qualifies``, ``rule.criteria``) and ``rule.length_m``.

    Returns
    -------
    GeoDataFrame
        ``site_key`` (``J<junction_id>`` or ``L<route_id>@<start_m>``), ``site_type``
        (``junction`` / ``link``), ``name``, ``chain_id`` (link: the chain under the stretch's
        centre), ``junction_id``, ``start_m``, ``end_m`` (link: measures along the route; NaN for
        junctions), ``total``, ``ksi``, ``criterion``, ``members`` (list of index labels of
        ``snapped``), ``route_id`` (str; None for junctions), ``route_m`` (the stretch's centre
        along its route; NaN for junctions), ``chain_spans`` (link: tuple of ``(chain_id,
        from_m, to_m)`` chain pieces the stretch covers, used by :func:`members_of_sites`),
        geometry (junction Point, link LineString), EPSG:27700; sorted by ``site_key``.

    """
    missing = [c for c in ("severity", "chain_id", "chain_m", "junction_id")
               if c not in snapped.columns]  # fmt: skip
    if missing:
        raise InputError(f"snapped collisions: missing column(s) {', '.join(missing)}; pass "
                         "snapped_collisions(collisions, network).snapped")  # fmt: skip
    ksi = _ksi(snapped)
    junction_sites = _junction_sites(snapped, ksi, network, rule)
    taken = snapped["junction_id"].isin(junction_sites["junction_id"]).to_numpy()
    link_sites = _link_sites(snapped, ksi, taken, network, rule)
    sites = pd.concat([junction_sites, link_sites], ignore_index=True)
    sites = gpd.GeoDataFrame(sites, geometry="geometry", crs=BNG)
    return sites.sort_values("site_key", kind="stable").reset_index(drop=True)[_SITE_COLUMNS]


def _ksi(snapped: gpd.GeoDataFrame) -> np.ndarray:
    severity = snapped["severity"].astype("string").str.lower()
    unknown = ~severity.isin(["fatal", "serious", "slight"])
    if unknown.any():
        bad = sorted(set(severity[unknown].fillna("<NA>")))[:3]
        raise InputError(f"collisions: severity must be fatal, serious or slight; found {bad}; "
                         "read collisions with geo_sppa.io.read_collisions")  # fmt: skip
    return severity.isin(["fatal", "serious"]).to_numpy()


def _junction_sites(snapped, ksi, network, rule) -> pd.DataFrame:
    at = snapped["junction_id"].notna().to_numpy()
    codes, ids = pd.factorize(snapped["junction_id"].iloc[at].to_numpy(dtype=object))
    total = np.bincount(codes, minlength=len(ids))
    n_ksi = np.bincount(codes, weights=ksi[at], minlength=len(ids)).astype(np.int64)
    ok = rule.qualifies(total, n_ksi)
    sel = ok[codes]
    qcode = (np.cumsum(ok) - 1)[codes[sel]]
    order = np.argsort(qcode, kind="stable")
    members = _split_by(qcode[order], np.asarray(snapped.index[at][sel][order], dtype=object),
                        int(ok.sum()), kind=_sorted_labels)  # fmt: skip
    ids = np.asarray(ids, dtype=object)[ok]
    junctions = network.junctions.loc[ids]
    return pd.DataFrame(
        {
            "site_key": np.asarray(["J" + str(j) for j in ids], dtype=object),
            "site_type": "junction",
            "name": junctions["name"].to_numpy(),
            "chain_id": None,
            "junction_id": ids,
            "start_m": np.nan,
            "end_m": np.nan,
            "total": total[ok],
            "ksi": n_ksi[ok],
            "criterion": rule.criteria(total[ok], n_ksi[ok]),
            "members": members,
            "route_id": None,
            "route_m": np.nan,
            "chain_spans": [()] * len(ids),
            "geometry": junctions.geometry.to_numpy(),
        }
    )


def _sorted_labels(labels) -> list:
    """Index labels in natural order (as strings when they do not compare)."""
    labels = list(labels)
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=str)


def _link_sites(snapped, ksi, taken, network, rule) -> pd.DataFrame:
    free = ~taken
    link = snapped["link_id"].to_numpy()[free] if "link_id" in snapped.columns else None
    code = _chain_positions(snapped["chain_id"].iloc[free], link, network)
    if (code < 0).any():
        raise InputError("snapped collisions name chains that are not in this network; "
                         "snap them with snapped_collisions(collisions, network)")  # fmt: skip
    routes = _parts_of(network).routes
    route_m = routes.measure(code, snapped["chain_m"].to_numpy()[free])
    rcode = routes.code[code]
    mm = np.rint(route_m * 1000).astype(np.int64)
    length_mm = np.rint(routes.length * 1000).astype(np.int64)
    window_mm = int(round(rule.length_m * 1000))
    rows = np.flatnonzero(free)
    order = np.lexsort((rows, mm, rcode))
    picked = _greedy_windows(rcode[order], mm[order], ksi[free][order], length_mm, window_mm, rule)
    return _link_site_frame(picked, rows[order], (snapped, ksi), (network, routes), rule)


def _chain_positions(ids: pd.Series, link: np.ndarray | None, network: RoadNetwork) -> np.ndarray:
    """Return the positions in ``network.chains`` of the chain ``ids`` (-1: not there).

    The chain of each collision's link (``link``: ``link_id``; links run chain by chain, in
    chain order) is checked against its chain id, which is quicker than looking every id up;
    the ids are looked up when a check fails.
    """
    chains, n_links = network.chains, len(network.links)
    if link is not None and link.dtype.kind == "i" and len(link) and n_links:
        if link.min() >= 0 and link.max() < n_links:
            code = _parts_of(network).link_chain[link]
            if code.max() < len(chains):
                same = np.asarray(chains.index.take(code).array == ids.array, dtype=bool)
                if same.all():
                    return code
    return chains.index.get_indexer(pd.Index(ids.to_numpy(dtype=object), dtype=object))


class _Routes:
    """Route numbers, lengths and the chain-to-route measure map of a network's chains."""

    def __init__(self, chains: gpd.GeoDataFrame):
        self.chains = chains
        self.code, found = pd.factorize(chains["route_id"], sort=True)
        self.ids = np.asarray(found, dtype=object)
        self.a = chains["route_from_m"].to_numpy(dtype=float)
        self.b = chains["route_to_m"].to_numpy(dtype=float)
        self.chain_len = chains["length_m"].to_numpy(dtype=float)
        self.paired = chains["paired"].to_numpy(dtype=bool)
        top = np.where(self.paired, 0.0, np.maximum(self.a, self.b))
        self.length = np.zeros(len(self.ids))
        np.maximum.at(self.length, self.code, top)
        own = np.flatnonzero(~self.paired)
        lo = np.minimum(self.a, self.b)[own]
        order = np.lexsort((lo, self.code[own]))
        self.own, self.own_code, self.own_lo = own[order], self.code[own][order], lo[order]

    def measure(self, chain: np.ndarray, chain_m: np.ndarray) -> np.ndarray:
        """Route measure of points ``chain_m`` along chains ``chain`` (positions)."""
        share = chain_m / np.maximum(self.chain_len[chain], 1e-9)
        out = self.a[chain] + (self.b[chain] - self.a[chain]) * share
        return np.clip(out, 0.0, self.length[self.code[chain]])

    def lines(self, need: np.ndarray) -> dict:
        """Route geometries (own chains in order, joined) and their start measures, by route."""
        take = np.isin(self.own_code, need)
        sel, lo = self.own[take], self.own_lo[take]
        geoms = np.asarray(self.chains.geometry.values, dtype=object)[sel].copy()
        back = self.a[sel] > self.b[sel]
        geoms[back] = shapely.reverse(geoms[back])
        coords, idx = shapely.get_coordinates(geoms, return_index=True)
        owner = self.code[sel][idx]
        dup = np.r_[False, (owner[1:] == owner[:-1]) & (coords[1:] == coords[:-1]).all(axis=1)]
        coords, owner = coords[~dup], owner[~dup]
        uniq, inv = np.unique(owner, return_inverse=True)
        starts = lo[np.r_[True, self.code[sel][1:] != self.code[sel][:-1]]]
        geoms = shapely.linestrings(coords, indices=inv.ravel())
        return {r: (g, float(s0)) for r, g, s0 in zip(uniq.tolist(), geoms, starts, strict=True)}

    def chain_m(self, chain: np.ndarray, route_m: np.ndarray) -> np.ndarray:
        """Measures along chains ``chain`` of route measures ``route_m`` on their routes."""
        span = self.b[chain] - self.a[chain]
        share = (route_m - self.a[chain]) / np.where(np.abs(span) < 1e-9, 1.0, span)
        return np.clip(share, 0.0, 1.0) * self.chain_len[chain]

    def chain_at(self, code: np.ndarray, at_m: np.ndarray) -> np.ndarray:
        """Positions of the routes' own chains under measures ``at_m``."""
        left = np.searchsorted(self.own_code, code, "left")
        right = np.searchsorted(self.own_code, code, "right")
        k = [a + min(max(int(np.searchsorted(self.own_lo[a:b], x, "right")) - 1, 0), b - a - 1)
             for a, b, x in zip(left, right, at_m, strict=True)]  # fmt: skip
        return self.own[np.asarray(k, dtype=np.int64)]


class _NetworkParts:
    """What the link scan derives from a network alone, worked out once per network."""

    def __init__(self, network: RoadNetwork):
        self._network = weakref.ref(network)  # not kept alive by its own cache entry

    @property
    def network(self) -> RoadNetwork:
        """The network (alive while its parts are asked for)."""
        network = self._network()
        assert network is not None
        return network

    @cached_property
    def routes(self) -> _Routes:
        """The routes of the network's chains."""
        return _Routes(self.network.chains)

    @cached_property
    def junction_points(self) -> np.ndarray:
        """The junctions' points (object array, junction order)."""
        return np.asarray(self.network.junctions.geometry.values, dtype=object)

    @cached_property
    def junction_ids(self) -> np.ndarray:
        """The junctions' ids (object array, junction order)."""
        return self.network.junctions.index.to_numpy(dtype=object)

    @cached_property
    def junction_tree(self) -> shapely.STRtree:
        """A tree of :attr:`junction_points`."""
        return shapely.STRtree(self.junction_points)

    @cached_property
    def link_chain(self) -> np.ndarray:
        """Each link's chain position (links run chain by chain, in chain order)."""
        ids = self.network.links["chain_id"].array
        changes = np.asarray(ids[1:] != ids[:-1], dtype=bool) if len(ids) else np.empty(0, bool)
        return np.r_[0, np.cumsum(changes)][: len(ids)]

    @cached_property
    def link_starts(self) -> np.ndarray:
        """Each link's start measure along its chain."""
        return self.network.links["start_m"].to_numpy()


# one entry per live network: dropped when the network is
_PARTS: dict[int, tuple[weakref.ref, _NetworkParts]] = {}


def _parts_of(network: RoadNetwork) -> _NetworkParts:
    """Return the :class:`_NetworkParts` of ``network`` (made on first use)."""
    key = id(network)
    found = _PARTS.get(key)
    if found is not None and found[0]() is network:
        return found[1]
    parts = _NetworkParts(network)
    _PARTS[key] = (weakref.ref(network, lambda _: _PARTS.pop(key, None)), parts)
    return parts


def _greedy_windows(code, mm, ksi, length_mm, window_mm, rule) -> list[tuple]:
    """Repeatedly take each route's peak window; return (route, start_mm, end_mm, positions).

    The reported stretch is centred on the window's collisions (slid off earlier stretches on
    the route where its collisions allow), and every collision still free inside it joins it.
    """
    alive = np.ones(len(code), bool)
    picked: list[tuple] = []
    shift = np.int64(1) << np.int64(36)  # routes up to 68,000 km; up to 2**27 routes
    key_all = code * shift + mm
    done: dict[int, list[tuple[int, int]]] = {}
    while True:
        pos = np.flatnonzero(alive)
        c, m, k = code[pos], mm[pos], ksi[pos].astype(np.int64)
        per_route = np.bincount(c, minlength=len(length_mm))
        keep = per_route[c] >= rule.min_collisions
        pos, c, m, k = pos[keep], c[keep], m[keep], k[keep]
        if len(pos) == 0:
            return picked
        start = np.minimum(m, np.maximum(length_mm[c] - window_mm, 0))
        key = c * shift + m
        lo = np.searchsorted(key, c * shift + start, "left")
        hi = np.searchsorted(key, c * shift + start + window_mm, "right")
        cks = np.r_[0, np.cumsum(k)]
        total, nksi = hi - lo, cks[hi] - cks[lo]
        ok = rule.qualifies(total, nksi)
        if not ok.any():
            return picked
        best = np.flatnonzero(ok)
        best = best[np.lexsort((start[best], -nksi[best], -total[best], c[best]))]
        best = best[np.r_[True, c[best][1:] != c[best][:-1]]]
        for r, b0, b1 in zip(c[best].tolist(), lo[best].tolist(), hi[best].tolist(), strict=True):
            members = pos[b0:b1]
            s, e = _placed(mm[members], int(length_mm[r]), window_mm, done.get(r, []))
            a0 = int(key_all.searchsorted(r * shift + s - 1, "left"))
            a1 = int(key_all.searchsorted(r * shift + e + 1, "right"))
            inside = np.arange(a0, a1)[alive[a0:a1]]
            if members[0] < a0 or members[-1] >= a1:  # else every (free) member is inside
                inside = np.union1d(members, inside)
            members = inside
            picked.append((r, s, e, members))
            alive[members] = False
            done.setdefault(r, []).append((s, e))


def _placed(member_mm, length, window_mm, earlier) -> tuple[int, int]:
    """Start and end (mm) of a stretch centred on its collisions, kept off earlier stretches."""
    first, last = int(member_mm.min()), int(member_mm.max())
    room = max(length - window_mm, 0)
    start = min(max((first + last) // 2 - window_mm // 2, 0), room)
    lo_ok, hi_ok = max(last - window_mm, 0), min(first, room)  # keeps the collisions in
    for s0, e0 in earlier:
        if start < e0 and start + window_mm > s0:
            start = s0 - window_mm if s0 - window_mm >= lo_ok else e0 if e0 <= hi_ok else start
    return start, min(start + window_mm, length)


def _link_site_frame(picked, rows, collisions, nets, rule) -> pd.DataFrame:
    (snapped, ksi), (network, routes) = collisions, nets
    columns = _SITE_COLUMNS
    if not picked:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    code = np.array([p[0] for p in picked])
    start = np.array([p[1] for p in picked]) / 1000
    end = np.array([p[2] for p in picked]) / 1000
    total = np.array([len(p[3]) for p in picked])
    at = rows[np.concatenate([p[3] for p in picked])]  # the sites' collisions, site by site
    owner = np.repeat(np.arange(len(picked)), total)
    n_ksi = np.bincount(owner, weights=ksi[at], minlength=len(picked)).astype(np.int64)
    lines = routes.lines(np.unique(code))
    geoms = _stretches(lines, code, start, end)
    mid = (start + end) / 2
    under = routes.chain_at(code, mid)
    offset = np.array([lines[c][1] for c in code.tolist()])
    centres = shapely.line_interpolate_point([lines[c][0] for c in code.tolist()], mid - offset)
    route_ids = routes.ids[code]
    return pd.DataFrame(
        {
            "site_key": [f"L{r}@{s:.0f}" for r, s in zip(route_ids, start, strict=True)],
            "site_type": "link",
            "name": link_names(network, routes, code, (under, routes.chain_m(under, mid)), centres),
            "chain_id": network.chains["chain_id"].iloc[under].to_numpy(dtype=object),
            "junction_id": None,
            "start_m": start,
            "end_m": end,
            "total": total,
            "ksi": n_ksi,
            "criterion": rule.criteria(total, n_ksi),
            "members": _labels_by_site(owner, snapped.index[at], len(picked)),
            "route_id": route_ids,
            "route_m": mid,
            "chain_spans": _chain_spans(routes, code, start, end),
            "geometry": geoms,
        },
        columns=columns,
    )


def _stretches(lines: dict, code: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Return the pieces ``start``-``end`` (route measures) of the route lines, one per site."""
    uniq = np.unique(code)
    geoms = np.array([lines[c][0] for c in uniq.tolist()], dtype=object)
    base = np.array([lines[c][1] for c in uniq.tolist()])
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    step = np.r_[0.0, np.hypot(*np.diff(coords, axis=0).T)]
    first = np.r_[True, owner[1:] != owner[:-1]]
    step[first] = 0.0
    cum = np.cumsum(step)
    cum = cum - cum[np.flatnonzero(first)][np.cumsum(first) - 1]
    line = np.searchsorted(uniq, code)
    length = shapely.length(geoms)[line]
    s = np.clip(start - base[line], 0.0, length)
    e = np.clip(end - base[line], 0.0, length)
    key = owner * 1e8 + cum  # lines are far shorter than 100,000 km
    lo = np.searchsorted(key, line * 1e8 + s, "right")
    hi = np.searchsorted(key, line * 1e8 + e, "left")
    inner = np.maximum(hi - lo, 0)
    a = shapely.get_coordinates(shapely.line_interpolate_point(geoms[line], s))
    b = shapely.get_coordinates(shapely.line_interpolate_point(geoms[line], e))
    n = inner + 2
    site = np.repeat(np.arange(len(code)), n)
    within = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    pick = np.repeat(lo, n) + within - 1
    xy = coords[np.clip(pick, 0, len(coords) - 1)]
    xy[within == 0] = a
    xy[within == np.repeat(n - 1, n)] = b
    return shapely.linestrings(xy, indices=site)


def _chain_spans(routes: _Routes, code, start, end) -> list[tuple]:
    """Per link site, ``(chain_id, from_m, to_m)`` of every chain piece its stretch covers."""
    sites = pd.DataFrame({"site": np.arange(len(code)), "r": code, "s": start, "e": end})
    near = np.flatnonzero(np.isin(routes.code, code))
    ch = pd.DataFrame({"r": routes.code[near], "a": routes.a[near], "b": routes.b[near],
                       "len": routes.chain_len[near], "chain": near})  # fmt: skip
    both = sites.merge(ch, on="r")
    lo, hi = np.minimum(both["a"], both["b"]), np.maximum(both["a"], both["b"])
    both = both[(lo <= both["e"] + 1e-6) & (hi >= both["s"] - 1e-6)]
    a, b, n = both["a"].to_numpy(), both["b"].to_numpy(), both["len"].to_numpy()
    flat = np.abs(b - a) < 1e-9
    slope = np.where(flat, 1.0, n / np.where(flat, 1.0, b - a))
    x0, x1 = (both["s"].to_numpy() - a) * slope, (both["e"].to_numpy() - a) * slope
    x0, x1 = np.where(flat, 0.0, x0), np.where(flat, n, x1)
    both = both.assign(x0=np.clip(np.minimum(x0, x1), 0, n), x1=np.clip(np.maximum(x0, x1), 0, n))
    both = both.sort_values(["site", "chain"])
    chain_ids = routes.chains["chain_id"].iloc[both["chain"].to_numpy()].to_numpy(dtype=object)
    rows = list(zip(chain_ids, both["x0"].round(6).tolist(), both["x1"].round(6).tolist(),
                    strict=True))  # fmt: skip
    bounds = np.searchsorted(both["site"].to_numpy(), np.arange(len(code) + 1))
    return [tuple(rows[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def link_names(network: RoadNetwork, routes: _Routes, code, under, centres) -> list[str]:
    """``"<road> nr <cross street>"``, else ``"<road>, E<easting> N<northing>"``.

    The road is the label of the link under the stretch's centre (``under``: chain positions
    and measures along them); the cross street is another named road at the junction on the
    route nearest the centre, within 100 m.
    """
    junctions, parts = network.junctions, _parts_of(network)
    names, refs = _link_labels_at(network, *under)
    hits: dict[int, list] = {}
    route_junctions: set[tuple[int, str]] = set()
    roads_of: dict[str, tuple] = {}
    if len(junctions):
        points, jids = parts.junction_points, parts.junction_ids
        site, j = parts.junction_tree.query(centres, predicate="dwithin", distance=100.0)
        d = np.round(shapely.distance(centres[site], points[j]), 6)
        order = np.lexsort((j, d, site))
        for s, jj in zip(site[order], j[order], strict=True):
            hits.setdefault(int(s), []).append(jids[jj])
        hit = np.unique(j)
        roads_of = dict(zip(jids[hit], junctions["roads"].iloc[hit], strict=True))
        hit_ids, chains = set(jids[hit]), network.chains
        for col in ("start_junction_id", "end_junction_id"):
            at = np.flatnonzero(chains[col].isin(hit_ids).to_numpy())
            route_junctions |= set(zip(routes.code[at].tolist(),
                                       chains[col].iloc[at].tolist(), strict=True))  # fmt: skip
    xs, ys = shapely.get_x(centres), shapely.get_y(centres)
    out = []
    for i, r in enumerate(code.tolist()):
        road = _label(names[i], refs[i])
        other = next((x for jid in hits.get(i, []) if (r, jid) in route_junctions
                      for x in roads_of[jid]
                      if x not in (road, _UNNAMED)), None)  # fmt: skip
        out.append(f"{road} nr {other}" if other else f"{road}, E{xs[i]:.0f} N{ys[i]:.0f}")
    return out


def _link_labels_at(network: RoadNetwork, chain: np.ndarray, at_m: np.ndarray):
    """Name and ref of the link at measure ``at_m`` along each chain (positions)."""
    links, parts = network.links, _parts_of(network)
    link_chain, starts = parts.link_chain, parts.link_starts
    lo = np.searchsorted(link_chain, chain, "left")
    hi = np.searchsorted(link_chain, chain, "right")
    k = np.array([a + max(int(np.searchsorted(starts[a:b], x, "right")) - 1, 0)
                  for a, b, x in zip(lo, hi, at_m, strict=True)], dtype=np.int64)  # fmt: skip
    # take, then convert: a national network has a million names, a run a few thousand sites
    return (links["name"].iloc[k].to_numpy(dtype=object),
            links["ref"].iloc[k].to_numpy(dtype=object))  # fmt: skip


def _label(name: object, ref: object) -> str:
    for value in (name, ref):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return _UNNAMED


def members_of_sites(snapped: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> pd.Series:
    """Return, per site, the index labels of ``snapped`` collisions in its footprint.

    A collision is in a junction site when it has the site's ``junction_id``, and in a link site
    when it lies on one of the site's ``chain_spans`` (``chain_id`` with ``from_m <= chain_m <=
    to_m``; sites without ``chain_spans``: the site's chain from ``start_m`` to ``end_m``) and
    not in any of the given junction sites. Use it to count another period's collisions (e.g.
    the previous 3 years) at this period's sites. A collision on the boundary of two touching
    link stretches goes to the first of them in ``sites`` order.

    Returns
    -------
    Series
        Lists of index labels, indexed like ``sites``, named ``members``.

    """
    is_j = (sites["site_type"] == "junction").to_numpy()
    # the first junction site of each junction id takes its collisions
    jsite = pd.Series(np.flatnonzero(is_j), index=sites["junction_id"].to_numpy(dtype=object)[is_j])
    jsite = jsite[~jsite.index.duplicated()]
    at_j = np.full(len(snapped), -1, dtype=np.intp)
    known = snapped["junction_id"].notna().to_numpy()  # most collisions are at no junction
    at_j[known] = jsite.index.get_indexer(
        pd.Index(snapped["junction_id"].to_numpy(dtype=object)[known], dtype=object)
    )
    site_j, row_j = jsite.to_numpy()[at_j[at_j >= 0]], np.flatnonzero(at_j >= 0)
    free = np.flatnonzero(at_j < 0)
    spans = _spans(sites, ~is_j)
    chain, names = pd.factorize(spans["chain_id"].to_numpy(dtype=object))
    code = pd.Index(names, dtype=object).get_indexer(
        pd.Index(snapped["chain_id"].to_numpy(dtype=object)[free], dtype=object)
    )
    free, code = free[code >= 0], code[code >= 0]
    order = np.argsort(chain, kind="stable")
    lo = np.searchsorted(chain[order], code, "left")
    n = np.searchsorted(chain[order], code, "right") - lo
    row = np.repeat(free, n)
    span = order[np.repeat(lo, n) + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)]
    at_m, eps = snapped["chain_m"].to_numpy()[row], 1e-3
    start, end = spans["start_m"].to_numpy()[span], spans["end_m"].to_numpy()[span]
    inside = (at_m >= start - eps) & (at_m <= end + eps)
    site = np.r_[site_j, spans["site"].to_numpy(dtype=np.int64)[span[inside]]].astype(np.int64)
    row = np.r_[row_j, row[inside]].astype(np.int64)
    first = np.lexsort((site, row))  # each collision to its first site
    keep = first[np.r_[True, row[first][1:] != row[first][:-1]]] if len(row) else first
    lists = _labels_by_site(site[keep], snapped.index[row[keep]], len(sites))
    return pd.Series(lists, index=sites.index, name="members", dtype=object)


def _labels_by_site(site: np.ndarray, labels: pd.Index, n: int) -> list[list]:
    """Return, per site ``0..n-1``, its ``labels`` in natural order (:func:`_sorted_labels`)."""
    if labels.dtype == np.int64:
        values = labels.to_numpy()
        order = np.lexsort((values, site))
        bounds = np.searchsorted(site[order], np.arange(n + 1))
        flat = values[order].tolist()
        return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    out: list[list] = [[] for _ in range(n)]
    for s, label in zip(site.tolist(), labels, strict=True):
        out[s].append(label)
    return [_sorted_labels(x) if x else [] for x in out]


def _spans(sites: gpd.GeoDataFrame, is_link: np.ndarray) -> pd.DataFrame:
    """Rows ``site, chain_id, start_m, end_m``: the chain pieces of the link sites."""
    pos = np.flatnonzero(is_link)
    if "chain_spans" not in sites.columns:
        return pd.DataFrame({"site": pos, "chain_id": sites["chain_id"].to_numpy(dtype=object)[pos],
                             "start_m": sites["start_m"].to_numpy()[pos],
                             "end_m": sites["end_m"].to_numpy()[pos]})  # fmt: skip
    spans = sites["chain_spans"].to_numpy(dtype=object)[pos]
    sizes = [len(x) for x in spans]
    flat = [p for x in spans for p in x]
    return pd.DataFrame({"site": np.repeat(pos, sizes),
                         "chain_id": pd.Series([p[0] for p in flat], dtype=object),
                         "start_m": [float(p[1]) for p in flat],
                         "end_m": [float(p[2]) for p in flat]})  # fmt: skip
