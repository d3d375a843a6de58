"""Junction and 100 m link sites on a road network, and which collisions fall in them."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.ops import substring

from geo_sppa.crs import BNG
from geo_sppa.errors import InputError
from geo_sppa.roads.network.build import _UNNAMED, RoadNetwork, _split_by
from geo_sppa.roads.rules import Rule

_SITE_COLUMNS = ["site_key", "site_type", "name", "chain_id", "junction_id", "start_m", "end_m",
                 "total", "ksi", "criterion", "members", "geometry"]  # fmt: skip


def network_sites(snapped: gpd.GeoDataFrame, network: RoadNetwork, rule: Rule) -> gpd.GeoDataFrame:
    """Return one row per qualifying junction or link site.

    Junctions are counted first; collisions in a qualifying junction site are left out of the
    link scan (collisions at junctions that do not qualify still count along the road). On each
    chain the window of ``rule.length_m`` (the whole chain when shorter) holding the most
    collisions (then most fatal/serious, then nearest the chain start) becomes a site if it
    qualifies; its collisions are removed and the chain is scanned again. Windows start at a
    collision (or end at the chain end), which finds the true peak of a window slid in
    infinitely small steps; ends are inclusive, so collisions exactly ``length_m`` apart share one.

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
        ``site_key`` (``J<junction_id>`` or ``L<chain_id>@<start_m>``), ``site_type``
        (``junction`` / ``link``), ``name``, ``chain_id``, ``junction_id``, ``start_m``, ``end_m``
        (NaN for junctions), ``total``, ``ksi``, ``criterion``, ``members`` (list of index
        labels of ``snapped``), geometry (junction Point, link LineString), EPSG:27700; sorted
        by ``site_key``.

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
    codes, ids = pd.factorize(snapped["junction_id"].to_numpy(dtype=object)[at])
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
    chains = network.chains
    free = ~taken
    code = chains.index.get_indexer(snapped["chain_id"].to_numpy(dtype=object)[free])
    if (code < 0).any():
        raise InputError("snapped collisions name chains that are not in this network; "
                         "snap them with snapped_collisions(collisions, network)")  # fmt: skip
    mm = np.rint(snapped["chain_m"].to_numpy()[free] * 1000).astype(np.int64)
    length_mm = np.rint(chains["length_m"].to_numpy() * 1000).astype(np.int64)
    window_mm = int(round(rule.length_m * 1000))
    rows = np.flatnonzero(free)
    order = np.lexsort((rows, mm, code))
    picked = _greedy_windows(code[order], mm[order], ksi[free][order], length_mm, window_mm, rule)
    return _link_site_frame(picked, rows[order], snapped, network, rule, window_mm)


def _greedy_windows(code, mm, ksi, length_mm, window_mm, rule) -> list[tuple]:
    """Repeatedly take each chain's peak window; return (chain, start_mm, members positions)."""
    alive = np.ones(len(code), bool)
    picked: list[tuple] = []
    shift = np.int64(1) << np.int64(36)  # chains up to 68,000 km; up to 2**27 chains
    while True:
        pos = np.flatnonzero(alive)
        c, m, k = code[pos], mm[pos], ksi[pos].astype(np.int64)
        per_chain = np.bincount(c, minlength=len(length_mm))
        keep = per_chain[c] >= rule.min_collisions
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
        for b in best:
            members = pos[lo[b] : hi[b]]
            picked.append((int(c[b]), int(start[b]), members))
            alive[members] = False


def _link_site_frame(picked, rows, snapped, network, rule, window_mm) -> pd.DataFrame:
    picked = _without_overlap(picked, rows, snapped, network.chains, window_mm)
    columns = _SITE_COLUMNS
    if not picked:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    chains = network.chains
    ksi = _ksi(snapped)
    code = np.array([p[0] for p in picked])
    start = np.array([p[1] for p in picked]) / 1000
    end = np.minimum(start + window_mm / 1000, chains["length_m"].to_numpy()[code])
    total = np.array([len(p[2]) for p in picked])
    n_ksi = np.array([int(ksi[rows[p[2]]].sum()) for p in picked])
    chain_ids = chains["chain_id"].to_numpy(dtype=object)[code]
    geoms = chains.geometry.to_numpy()[code]
    return pd.DataFrame(
        {
            "site_key": [f"L{c}@{s:.0f}" for c, s in zip(chain_ids, start)],
            "site_type": "link",
            "name": _link_names(network, code, (start + end) / 2),
            "chain_id": chain_ids,
            "junction_id": None,
            "start_m": start,
            "end_m": end,
            "total": total,
            "ksi": n_ksi,
            "criterion": rule.criteria(total, n_ksi),
            "members": [_sorted_labels(snapped.index[rows[p[2]]]) for p in picked],
            "geometry": [substring(g, s, e) for g, s, e in zip(geoms, start, end)],
        },
        columns=columns,
    )


def _without_overlap(picked, rows, snapped, chains, window_mm) -> list[tuple]:
    """Slide later windows on one chain off earlier ones where their members allow it."""
    chain_m = np.rint(snapped["chain_m"].to_numpy() * 1000).astype(np.int64)
    lengths = np.rint(chains["length_m"].to_numpy() * 1000).astype(np.int64)
    done: dict[int, list[tuple[int, int]]] = {}
    out = []
    for c, start, members in picked:
        length = int(lengths[c])
        span = chain_m[rows[members]]
        lo_ok, hi_ok = max(int(span.max()) - window_mm, 0), int(span.min())  # keeps members in
        hi_ok = min(hi_ok, max(length - window_mm, 0))
        for s0, e0 in done.get(c, []):
            if start < e0 and start + window_mm > s0:
                start = s0 - window_mm if s0 - window_mm >= lo_ok else e0 if e0 <= hi_ok else start
        done.setdefault(c, []).append((start, start + window_mm))
        out.append((c, start, members))
    return out


def _link_names(network: RoadNetwork, code: np.ndarray, mid_m: np.ndarray) -> list[str]:
    """``"<road> nr <other road at the nearer end junction>"``, else just the road's label.

    The road is the link under the window's middle; the junction is the chain end nearer to it
    (the farther end when the nearer is a dead end or has no other named road).
    """
    links, chains = network.links, network.chains
    link_chain = chains.index.get_indexer(links["chain_id"])  # sorted: links follow chains
    lo = np.searchsorted(link_chain, code, "left")
    hi = np.searchsorted(link_chain, code, "right")
    starts = links["start_m"].to_numpy()
    names, refs = links["name"].to_numpy(dtype=object), links["ref"].to_numpy(dtype=object)
    roads_of = network.junctions["roads"]
    length = chains["length_m"].to_numpy()[code]
    sj = chains["start_junction_id"].to_numpy(dtype=object)[code]
    ej = chains["end_junction_id"].to_numpy(dtype=object)[code]
    out = []
    for i in range(len(code)):
        k = lo[i] + max(int(np.searchsorted(starts[lo[i] : hi[i]], mid_m[i], "right")) - 1, 0)
        road = _label(names[k], refs[k])
        ends = (ej[i], sj[i]) if mid_m[i] > length[i] / 2 else (sj[i], ej[i])
        other = next((r for jid in ends if isinstance(jid, str) for r in roads_of[jid]
                      if r not in (road, _UNNAMED)), None)  # fmt: skip
        out.append(f"{road} nr {other}" if other else road)
    return out


def _label(name: object, ref: object) -> str:
    for value in (name, ref):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return _UNNAMED


def members_of_sites(snapped: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> pd.Series:
    """Return, per site, the index labels of ``snapped`` collisions in its footprint.

    A collision is in a junction site when it has the site's ``junction_id``, and in a link site
    when it is on the site's chain with ``start_m <= chain_m <= end_m`` and not in any of the
    given junction sites. Use it to count another period's collisions (e.g. the previous 3
    years) at this period's sites. A collision on the boundary of two touching link windows
    goes to the first of them in ``sites`` order.

    Returns
    -------
    Series
        Lists of index labels, indexed like ``sites``, named ``members``.

    """
    is_j = (sites["site_type"] == "junction").to_numpy()
    jids = set(sites.loc[is_j, "junction_id"])
    hit = pd.DataFrame({"label": snapped.index, "junction_id": snapped["junction_id"].astype(
        object).to_numpy(), "chain_id": snapped["chain_id"].to_numpy(dtype=object),
        "chain_m": snapped["chain_m"].to_numpy()})  # fmt: skip
    site = pd.DataFrame({"site": np.arange(len(sites)), "junction_id": sites["junction_id"]
                         .to_numpy(dtype=object), "chain_id": sites["chain_id"].to_numpy(
                         dtype=object), "start_m": sites["start_m"].to_numpy(), "end_m":
                         sites["end_m"].to_numpy()})  # fmt: skip
    at_j = hit.merge(site[is_j][["site", "junction_id"]], on="junction_id")
    free = hit[~hit["junction_id"].isin(jids)]
    on_l = free.merge(site[~is_j][["site", "chain_id", "start_m", "end_m"]], on="chain_id")
    eps = 1e-6
    inside = (on_l["chain_m"] >= on_l["start_m"] - eps) & (on_l["chain_m"] <= on_l["end_m"] + eps)
    on_l = on_l[inside]
    both = pd.concat([at_j[["site", "label"]], on_l[["site", "label"]]])
    both = both.sort_values("site", kind="stable").drop_duplicates("label")
    lists = both.groupby("site")["label"].agg(_sorted_labels)
    out = pd.Series([lists.get(i, []) for i in range(len(sites))], index=sites.index,
                    name="members", dtype=object)  # fmt: skip
    return out
