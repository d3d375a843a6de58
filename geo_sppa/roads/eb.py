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

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd

from geo_sppa.errors import InputError
from geo_sppa.roads.network import RoadNetwork
from geo_sppa.roads.rules import Rule
from geo_sppa.roads.spf import CandidateSites, SpfFit

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
    seg_end = seg_start + seg_len.reindex(ids).fillna(length_m).to_numpy(dtype=float)
    overlap = np.minimum(end[site], seg_end) - np.maximum(start[site], seg_start)
    share = np.clip(overlap / np.maximum(seg_end - seg_start, 1e-9), 0.0, 1.0)
    return pd.DataFrame({"site": site, "candidate_id": np.asarray(ids, dtype=object),
                         "weight": share})  # fmt: skip


def _route_arms(network: RoadNetwork) -> pd.DataFrame:
    """Return ``junction_id, route_id, measure, share``: each chain end at a junction.

    ``share`` is the junction's arms (chain ends, a junction's inner chains left out) on that
    route over all its arms: the share of the junction the route's stretch takes.
    """
    chains = network.chains
    inner = chains["junction_id"].notna() if "junction_id" in chains.columns else False
    ends = [
        pd.DataFrame({"junction_id": chains[j].to_numpy(dtype=object),
                      "route_id": chains["route_id"].astype(str).to_numpy(dtype=object),
                      "measure": chains[m].to_numpy(dtype=float)})[~np.asarray(inner | False)]
        for j, m in (("start_junction_id", "route_from_m"), ("end_junction_id", "route_to_m"))
    ]  # fmt: skip
    arms = pd.concat(ends, ignore_index=True)
    arms = arms[pd.notna(arms["junction_id"].to_numpy())].reset_index(drop=True)
    n_all = arms.groupby("junction_id")["route_id"].transform("size").to_numpy(dtype=float)
    n_route = arms.groupby(["junction_id", "route_id"])["measure"].transform("size")
    return arms.assign(share=n_route.to_numpy(dtype=float) / n_all)


def _passed_junctions(
    records: pd.DataFrame, network: RoadNetwork, snapped: pd.DataFrame | None, sites: set
) -> pd.DataFrame:
    """Return ``site, candidate_id, weight``: the junctions a link record's stretch takes in.

    A junction is taken in when it is not a junction site (``sites``) and either a chain of the
    record's route ends there within the stretch or the record counts a collision snapped to it
    (``snapped``: the ``members``' ``junction_id``); the weight is the route's share of its arms.
    """
    arms = _route_arms(network)
    stretch = pd.DataFrame({"site": np.arange(len(records)),
                            "route_id": records["route_id"].astype(str).to_numpy(dtype=object),
                            "start": records["start_m"].to_numpy(dtype=float),
                            "end": records["end_m"].to_numpy(dtype=float)})  # fmt: skip
    on = stretch.merge(arms, on="route_id")
    on = on[(on["measure"] >= on["start"] - 1e-6) & (on["measure"] <= on["end"] + 1e-6)]
    found = [on[["site", "junction_id"]]]
    if snapped is not None:
        members = [np.asarray(pd.Index(m), dtype=object) for m in records["members"]]
        at = snapped.index.get_indexer(pd.Index(np.concatenate([*members, np.empty(0)])))
        if (at < 0).any():
            raise InputError("EB: a site counts a collision the snapped frame lacks; a bug")
        site = np.repeat(np.arange(len(records)), [len(m) for m in members])
        jid = snapped["junction_id"].to_numpy(dtype=object)[at]
        hit = pd.notna(jid)
        found.append(pd.DataFrame({"site": site[hit], "junction_id": jid[hit]}))
    pairs = pd.concat(found, ignore_index=True).drop_duplicates()
    pairs = pairs[~pairs["junction_id"].isin(sites)]
    pairs["route_id"] = stretch["route_id"].to_numpy()[pairs["site"].to_numpy(dtype=np.int64)]
    share = arms.drop_duplicates(["junction_id", "route_id"]).set_index(
        ["junction_id", "route_id"])["share"]  # fmt: skip
    key = pd.MultiIndex.from_frame(pairs[["junction_id", "route_id"]])
    weight = share.reindex(key).to_numpy(dtype=float)
    lone = 1.0 / arms.groupby("junction_id").size().reindex(pairs["junction_id"]).to_numpy()
    weight = np.where(np.isnan(weight), np.nan_to_num(lone, nan=1.0), weight)
    ids = np.asarray(["J" + str(j) for j in pairs["junction_id"]], dtype=object)
    return pd.DataFrame({"site": pairs["site"].to_numpy(dtype=np.int64), "candidate_id": ids,
                         "weight": weight})  # fmt: skip


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
    mu = fit.predict(cand, years).sum(axis=1)
    if candidates.mode == "radius":
        step = float(candidates.cell_m or 2 * rule.radius_m)
        centre = (np.floor(records[["x", "y"]].to_numpy(dtype=float) / step) + 0.5) * step
        ids = pd.Index([f"C{x:.0f}N{y:.0f}" for x, y in centre])
        scale = np.pi * rule.radius_m**2 / step**2
        cell = mu.reindex(ids).fillna(float(mu.min())).to_numpy(dtype=float) * scale
        return cell, np.full(len(cell), fit.k)
    feet = site_footprints(records, candidates, rule=rule, network=network, snapped=snapped)
    found = mu.reindex(pd.Index(feet["candidate_id"])).to_numpy(dtype=float)
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
