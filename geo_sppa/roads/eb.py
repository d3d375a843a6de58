"""Empirical Bayes estimates at cluster sites: how much of a high count is the site, how much luck.

A site picked because it had many collisions in the window will tend to have fewer next time
even if nothing is done (regression to the mean). The Empirical Bayes (EB) method (Hauer; the
Highway Safety Manual's preferred screening measure) weighs the site's own count ``K`` against
what the safety performance function (:mod:`geo_sppa.roads.spf`) expects at sites like it,
``mu`` over the same years:

- weight ``w = 1 / (1 + k * mu)`` (``mu`` summed over the window's years, so this is the
  per-year ``1 / (1 + k * mu_year * years)`` when the years are alike);
- ``eb_expected = w * mu + (1 - w) * K``, the long-run expected collisions over the window's
  years at this site;
- ``eb_excess = eb_expected - mu``, how far the site is expected to exceed sites like it;
- ``eb_sd = sqrt((1 - w) * eb_expected)``, the standard deviation of the site's expected count
  given its count (the gamma posterior's variance, Hauer 1997, eq. 8.7);
- ``rtm_share = (K - eb_expected) / K``, the share of the observed count expected to regress
  (0 where ``K`` is 0).

At cluster sites (:func:`site_eb_columns`), ``mu`` is ``spf_expected``:

- junction sites: the SPF's ``mu`` for its own junction candidate;
- link sites: the sum over the route's 100 m candidate segments the stretch overlaps, each
  weighted by the share of the segment it covers (the stretch and the segments lie on the same
  route measure), plus the junctions it passes: the link scan
  (:func:`~geo_sppa.roads.network.network_sites`) counts a collision snapped to a junction that
  is not itself a site in the window whose route measure (its ``chain_id`` and ``chain_m``) lies
  in the stretch, so each such junction candidate adds its ``mu`` times the share of its
  collisions over ``years`` that the site counts. ``K`` and ``mu`` then cover the same
  collisions (:func:`site_footprints`). A passed junction with no collision in the years adds
  nothing (no share to go by; its ``mu`` is small where nothing happened);
- radius mode: the ``mu`` of the grid cell holding the circle's centre, scaled by the circle's
  share of the cell's area (``pi * r**2 / (2 * r)**2 = pi / 4``).

A link site sums several candidates, whose long-run rates the SPF treats as independent
gamma variables around their ``mu_i`` (variance ``k * mu_i**2``): the site's expected count has
variance ``k * sum(mu_i**2)``, so its own dispersion is ``k * sum(mu_i**2) / mu**2`` (at most
``k``; a junction or radius site, one candidate, keeps ``k``), and ``w`` uses it. With ``k``
itself a long stretch would trust its own count as if it were one candidate.

``rtm_note`` says ``likely regression to the mean`` where the EB expected count no longer meets
the rule: every clause is checked with ``eb_expected`` as the collision count and
``eb_expected`` times the site's own fatal-or-serious share as the fatal-or-serious count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo_sppa.errors import InputError
from geo_sppa.roads.network import RoadNetwork
from geo_sppa.roads.rules import Rule
from geo_sppa.roads.spf import CandidateSites, SpfFit
from geo_sppa.roads.spf_candidates import index_positions

__all__ = [
    "EB_COLUMNS",
    "RTM_NOTE",
    "eb_estimates",
    "site_eb_columns",
    "site_footprints",
    "site_spf_expected",
    "site_spf_moments",
]

#: Columns :func:`site_eb_columns` adds to a site frame, before ``geometry``.
EB_COLUMNS = ["spf_expected", "eb_expected", "eb_excess", "eb_sd", "rtm_share", "rtm_note"]
#: The ``rtm_note`` of a site whose EB expected count no longer meets the rule.
RTM_NOTE = "likely regression to the mean"


def eb_estimates(
    observed: npt.ArrayLike, mu_total: npt.ArrayLike, k: float | npt.ArrayLike
) -> pd.DataFrame:
    """Return the Empirical Bayes estimates of sites with these counts (see the module doc).

    Parameters
    ----------
    observed
        Collisions counted at each site over the period.
    mu_total
        The SPF's expected collisions at each site over the same period (sum over its years).
    k
        The SPF's dispersion (``Var = mu + k * mu**2``), >= 0: one for all sites, or one per
        site (:func:`site_spf_moments`).

    Returns
    -------
    DataFrame
        One row per site, in order: ``spf_expected`` (``mu_total``), ``eb_expected``,
        ``eb_excess``, ``eb_sd``, ``rtm_share``, ``weight`` (``w``).

    Raises
    ------
    InputError
        Lengths differ, or a negative or missing count, ``mu`` or ``k``.

    """
    obs = np.asarray(observed, dtype=float)
    mu = np.asarray(mu_total, dtype=float)
    if obs.shape != mu.shape:
        raise InputError(f"EB: {obs.size} observed counts but {mu.size} SPF values; pass one each")
    k = np.asarray(k, dtype=float)
    if k.ndim and k.shape != obs.shape:
        raise InputError(f"EB: {obs.size} observed counts but {k.size} values of k; pass one each")
    if not np.isfinite(k).all() or (k < 0).any() or np.isnan(obs).any() or np.isnan(mu).any():
        raise InputError("EB: counts, mu and k must be finite numbers; found a missing one")
    if (obs < 0).any() or (mu < 0).any():
        raise InputError("EB: counts and mu must be >= 0; found a negative one")
    weight = 1.0 / (1.0 + k * mu)
    expected = weight * mu + (1.0 - weight) * obs
    share = np.divide(obs - expected, obs, out=np.zeros_like(obs), where=obs > 0)
    return pd.DataFrame(
        {
            "spf_expected": mu,
            "eb_expected": expected,
            "eb_excess": expected - mu,
            "eb_sd": np.sqrt((1.0 - weight) * expected),
            "rtm_share": share,
            "weight": weight,
        }
    )


def _link_segments(records: pd.DataFrame, seg_len: pd.Series, length_m: float) -> pd.DataFrame:
    """Return ``site, candidate_id, weight``: each link record's route segments by overlap."""
    start = records["start_m"].to_numpy(dtype=float)
    end = records["end_m"].to_numpy(dtype=float)
    first = np.floor(start / length_m + 1e-9).astype(np.int64)
    last = np.maximum(np.ceil(end / length_m - 1e-9).astype(np.int64) - 1, first)
    n = last - first + 1
    site = np.repeat(np.arange(len(records)), n)
    k = np.repeat(first, n) + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    route = records["route_id"].astype(str).to_numpy(dtype=object)[site]
    seg_start = k * length_m
    ids = pd.Index(
        ["S" + r + "@" + str(int(round(s))) for r, s in zip(route, seg_start, strict=True)]
    )
    at = index_positions(seg_len.index, ids)[0]
    found = np.where(at >= 0, seg_len.to_numpy(dtype=float)[at], np.nan)
    seg_end = seg_start + np.where(np.isnan(found), length_m, found)
    overlap = np.minimum(end[site], seg_end) - np.maximum(start[site], seg_start)
    share = np.clip(overlap / np.maximum(seg_end - seg_start, 1e-9), 0.0, 1.0)
    return pd.DataFrame({"site": site, "candidate_id": np.asarray(ids, dtype=object),
                         "weight": share})  # fmt: skip


class _Arms(NamedTuple):
    """Chain ends at junctions (a junction's inner chains left out), as integer codes.

    ``junctions`` and ``routes`` hold the ids behind the codes; ``junction``, ``route`` and
    ``measure`` give one arm each (``route`` is ``len(routes)`` for a chain with no route);
    ``n_all`` counts each junction's arms; ``pairs`` (sorted ``junction * (len(routes) + 1) +
    route`` keys) and ``n_pair`` count the arms of each junction on each route.
    """

    junctions: pd.Index
    routes: pd.Index
    junction: np.ndarray
    route: np.ndarray
    measure: np.ndarray
    n_all: np.ndarray
    pairs: np.ndarray
    n_pair: np.ndarray


def _route_arms(network: RoadNetwork) -> _Arms:
    """Return each chain end at a junction, with the junction's arms on each route.

    The share of a junction a route's stretch takes is the junction's arms on that route over
    all its arms (``n_pair / n_all``).
    """
    chains = network.chains
    keep = np.ones(len(chains), dtype=bool)
    if "junction_id" in chains.columns:
        keep = ~chains["junction_id"].notna().to_numpy(dtype=bool)
    kept = np.flatnonzero(keep)
    route, routes = pd.factorize(chains["route_id"].astype(str).iloc[kept])
    ends = pd.concat([chains["start_junction_id"].iloc[kept],
                      chains["end_junction_id"].iloc[kept]], ignore_index=True)  # fmt: skip
    junction, junctions = pd.factorize(ends)
    measure = np.concatenate([chains["route_from_m"].to_numpy(dtype=float)[kept],
                              chains["route_to_m"].to_numpy(dtype=float)[kept]])  # fmt: skip
    route = np.where(route < 0, len(routes), route)
    route = np.concatenate([route, route]).astype(np.int64)
    at = junction >= 0
    junction, route, measure = junction[at].astype(np.int64), route[at], measure[at]
    pairs, n_pair = np.unique(junction * (len(routes) + 1) + route, return_counts=True)
    n_all = np.bincount(junction, minlength=len(junctions))
    return _Arms(pd.Index(junctions), pd.Index(routes), junction, route, measure, n_all, pairs,
                 n_pair)  # fmt: skip


def _arms_on_stretches(
    arms: _Arms, route: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (stretch, junction code) of the arms on each stretch's route within it."""
    order = np.argsort(arms.route, kind="stable")
    lo = np.searchsorted(arms.route[order], route, "left")
    n = np.searchsorted(arms.route[order], route, "right") - lo
    site = np.repeat(np.arange(len(route)), n)
    arm = order[np.repeat(lo, n) + np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)]
    measure = arms.measure[arm]
    inside = (measure >= start[site] - 1e-6) & (measure <= end[site] + 1e-6)
    return site[inside], arms.junction[arm[inside]]


def _passed_junctions(
    records: pd.DataFrame, network: RoadNetwork, snapped: pd.DataFrame | None, sites: set
) -> pd.DataFrame:
    """Return ``site, candidate_id, weight``: the junctions a link record's stretch takes in.

    A junction is taken in when it is not a junction site (``sites``) and either a chain of the
    record's route ends there within the stretch or the record counts a collision snapped to it
    (``snapped``: the ``members``' ``junction_id``); the weight is the route's share of its arms.
    """
    arms = _route_arms(network)
    route = arms.routes.get_indexer(pd.Index(records["route_id"].astype(str), dtype=object))
    site, junction = _arms_on_stretches(arms, route, records["start_m"].to_numpy(dtype=float),
                                        records["end_m"].to_numpy(dtype=float))  # fmt: skip
    names = np.asarray(arms.junctions, dtype=object)
    if snapped is not None:
        members = [np.asarray(m) for m in records["members"]]
        at = snapped.index.get_indexer(pd.Index(np.concatenate(members)))
        if (at < 0).any():
            raise InputError("EB: a site counts a collision the snapped frame lacks; a bug")
        owner = np.repeat(np.arange(len(records)), [len(m) for m in members])
        jid = snapped["junction_id"].to_numpy(dtype=object)[at]
        hit = pd.notna(jid)
        code = index_positions(arms.junctions, pd.Index(jid[hit]))[0]
        extra, extra_names = pd.factorize(jid[hit][code < 0])
        code[code < 0] = len(names) + extra
        names = np.concatenate([names, np.asarray(extra_names, dtype=object)])
        site, junction = np.r_[site, owner[hit]], np.r_[junction, code]
    keys = np.unique(site.astype(np.int64) * len(names) + junction)
    site, junction = keys // max(len(names), 1), keys % max(len(names), 1)
    ids = names[junction]
    free = np.fromiter((j not in sites for j in ids), dtype=bool, count=len(ids))
    site, junction, ids = site[free], junction[free], ids[free]
    weight = _arm_shares(arms, junction, route[site])
    return pd.DataFrame({"site": site.astype(np.int64),
                         "candidate_id": np.asarray(["J" + str(j) for j in ids], dtype=object),
                         "weight": weight})  # fmt: skip


def _arm_shares(arms: _Arms, junction: np.ndarray, route: np.ndarray) -> np.ndarray:
    """Return the share of each junction its route takes (1 / arms off it; 1 at no arm)."""
    known = junction < len(arms.junctions)
    n_all = np.ones(len(junction), dtype=np.int64)
    n_all[known] = arms.n_all[junction[known]]
    n_pair = np.zeros(len(junction), dtype=np.int64)
    if len(arms.pairs):
        key = junction * (len(arms.routes) + 1) + route
        pos = np.minimum(np.searchsorted(arms.pairs, key), len(arms.pairs) - 1)
        on = known & (route >= 0) & (arms.pairs[pos] == key)
        n_pair[on] = arms.n_pair[pos[on]]
    return np.where(n_pair > 0, n_pair.astype(float) / n_all.astype(float), 1.0 / n_all)


def site_footprints(
    records: pd.DataFrame,
    candidates: CandidateSites,
    *,
    rule: Rule,
    network: RoadNetwork | None = None,
    snapped: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the network-mode candidate sites each site record covers, and how much of each.

    Parameters
    ----------
    records
        Network-mode site records of a scan (:mod:`geo_sppa.roads.scan`): ``site_type``,
        ``junction_id``, ``route_id``, ``start_m``, ``end_m`` and ``members``.
    candidates
        The study area's network-mode candidates.
    rule
        Gives ``length_m``.
    network
        The road network of the scan; link sites then take in the junctions on their stretch
        (without it they cover their segments only).
    snapped
        With ``network``: the snapped collisions the records' ``members`` label
        (``junction_id``), so that a junction whose collisions a site counts is taken in even
        when its point lies just beyond the stretch.

    Returns
    -------
    DataFrame
        ``site`` (position in ``records``), ``candidate_id``, ``weight`` (the share of the
        candidate's ``mu`` the site takes; see the module docstring), one row per pair.

    """
    is_j = (records["site_type"] == "junction").to_numpy(dtype=bool)
    junctions = pd.DataFrame({"site": np.flatnonzero(is_j), "weight": 1.0,
                              "candidate_id": ("J" + records.loc[is_j, "junction_id"].astype(str)
                                               ).to_numpy(dtype=object)})  # fmt: skip
    link = np.flatnonzero(~is_j)
    parts = [junctions]
    if len(link):
        rows = records.iloc[link]
        parts.append(_link_segments(rows, candidates.sites["length_m"], rule.length_m))
        if network is not None:
            sites = set(records.loc[is_j, "junction_id"])
            parts.append(_passed_junctions(rows, network, snapped, sites))
        for part in parts[1:]:
            part["site"] = link[part["site"].to_numpy(dtype=np.int64)]
    out = pd.concat(parts, ignore_index=True)[["site", "candidate_id", "weight"]]
    return out.sort_values(["site", "candidate_id"], kind="stable").reset_index(drop=True)


def site_spf_moments(
    records: pd.DataFrame,
    candidates: CandidateSites,
    fit: SpfFit,
    years: Sequence[int],
    *,
    rule: Rule,
    network: RoadNetwork | None = None,
    snapped: pd.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the SPF's expected collisions over ``years`` at each site record, and its ``k``.

    Parameters
    ----------
    records
        Site records of a scan (:mod:`geo_sppa.roads.scan`): network mode ``site_type``,
        ``junction_id``, ``route_id``, ``start_m``, ``end_m``; radius mode ``x``, ``y``.
    candidates
        The study area's candidate sites (:func:`~geo_sppa.roads.spf.candidate_site_counts`).
    fit
        The SPF fitted to ``candidates``.
    years
        The years to sum over.
    rule
        Gives ``length_m`` and ``radius_m``.
    network, snapped
        Network mode: the scan's road network and the snapped collisions the records'
        ``members`` label; link sites then take in the junctions they pass
        (:func:`site_footprints`).

    Returns
    -------
    tuple of ndarray
        ``mu`` per record (see the module docstring for how a site maps to candidates) and the
        dispersion of the site's expected count, ``k * sum(mu_i**2) / mu**2`` over the pieces
        ``mu_i`` of the candidates it sums (``k`` where it takes one candidate, or ``mu`` is 0).

    """
    cand = candidates.sites
    if candidates.mode == "radius":
        mu = fit.predict(cand, years).sum(axis=1)
        step = float(candidates.cell_m or 2 * rule.radius_m)
        centre = (np.floor(records[["x", "y"]].to_numpy(dtype=float) / step) + 0.5) * step
        ids = pd.Index([f"C{x:.0f}N{y:.0f}" for x, y in centre])
        scale = np.pi * rule.radius_m**2 / step**2
        cell = mu.reindex(ids).fillna(float(mu.min())).to_numpy(dtype=float) * scale
        return cell, np.full(len(cell), fit.k)
    feet = site_footprints(records, candidates, rule=rule, network=network, snapped=snapped)
    at = index_positions(cand.index, feet["candidate_id"])[0]
    used = np.unique(at[at >= 0])  # the SPF at the candidates the sites take, not at a million
    mu_used = fit.predict(cand.iloc[used], years).sum(axis=1).to_numpy(dtype=float)
    found = np.full(len(at), np.nan)
    found[at >= 0] = mu_used[np.searchsorted(used, at[at >= 0])]
    missing = np.isnan(found) & feet["candidate_id"].str.startswith("J").to_numpy(dtype=bool)
    site = feet["site"].to_numpy(dtype=np.int64)
    weight = np.nan_to_num(found) * feet["weight"].to_numpy(dtype=float)
    out = np.bincount(site, weights=weight, minlength=len(records))
    out[np.unique(site[missing])] = np.nan
    if np.isnan(out).any():
        raise InputError("EB: a cluster site maps to no candidate site; this is a bug")
    squares = np.bincount(site, weights=weight**2, minlength=len(records))
    k = fit.k * np.divide(squares, out**2, out=np.ones_like(out), where=out > 0)
    return out, k


def site_spf_expected(
    records: pd.DataFrame,
    candidates: CandidateSites,
    fit: SpfFit,
    years: Sequence[int],
    *,
    rule: Rule,
    network: RoadNetwork | None = None,
    snapped: pd.DataFrame | None = None,
) -> np.ndarray:
    """Return the SPF's expected collisions over ``years`` at each site record.

    The ``mu`` of :func:`site_spf_moments` (same parameters).

    Returns
    -------
    ndarray
        ``mu`` per record.

    """
    return site_spf_moments(
        records, candidates, fit, years, rule=rule, network=network, snapped=snapped
    )[0]


def site_eb_columns(
    sites: gpd.GeoDataFrame,
    mu_total: np.ndarray,
    fit: SpfFit,
    rule: Rule,
    *,
    k: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Return ``sites`` with the :data:`EB_COLUMNS` added before ``geometry``.

    Parameters
    ----------
    sites
        A site frame (:func:`~geo_sppa.roads.sites.site_frame`); not modified.
    mu_total
        The SPF's expected collisions over the window at each site, in ``sites`` order
        (:func:`site_spf_expected`).
    fit
        The SPF (its ``k``).
    rule
        The rule the EB expected count is checked against (``rtm_note``).
    k
        The dispersion per site (:func:`site_spf_moments`); default the SPF's ``k`` for all.

    Returns
    -------
    GeoDataFrame
        A new frame.

    """
    total = sites["total"].to_numpy(dtype=float)
    table = eb_estimates(total, mu_total, fit.k if k is None else k)
    ksi_share = np.divide(
        (sites["fatal"] + sites["serious"]).to_numpy(dtype=float),
        total,
        out=np.zeros_like(total),
        where=total > 0,
    )
    expected = table["eb_expected"].to_numpy()
    meets = rule.qualifies(expected, expected * ksi_share)
    out = sites.copy()
    at = [str(c) for c in out.columns].index(str(out.geometry.name))
    for i, name in enumerate(EB_COLUMNS[:-1]):
        out.insert(at + i, name, table[name].to_numpy())
    out.insert(at + len(EB_COLUMNS) - 1, "rtm_note", np.where(meets, "", RTM_NOTE))
    return out
