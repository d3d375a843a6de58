"""Evaluate treated sites against the study area's safety performance function.

:func:`scheme_evaluation` takes the collisions, the treated sites (:func:`geo_sppa.io.treated.
read_treated`) and, in network mode, the roads, and returns the empirical Bayes before/after
evaluation (:mod:`geo_sppa.evaluation.before_after`):

1. Each treated site's before and after periods (:mod:`geo_sppa.evaluation.periods`); a site
   with none (a treatment date outside the data) is set aside with the reason.
2. Every candidate site of the study area (:func:`geo_sppa.roads.spf.candidate_site_counts`:
   each junction and 100 m route segment in network mode, each cell of the radius grid in
   radius mode) and its collisions, counted in the date intervals the periods cut the years
   into, so a period that starts or ends inside a year counts only its own days.
3. Each treated site's footprint is the candidate it matches. When the ``--sites`` clusters.csv
   has a ``footprint`` column it is read from that (``J<junction>``: that junction;
   ``L<route>@<start_m>:<end_m>``: the route segments the span overlaps; ``R<x>_<y>``: the grid
   cell holding that centre), since a cluster ``site_id`` may be inherited from a previous
   window's site nearby and name another place. Without it: the same ``site_id`` (cluster
   junctions ``J...``), the route segment(s) a cluster link window ``L<route>@<start>``
   overlaps. Else the nearest candidate of the same kind within ``rule.length_m`` (network) or
   the grid cell holding it (radius). Unmatched sites, and a second site on the same candidate,
   are set aside.
4. The SPF (:func:`geo_sppa.roads.spf.fit_spf`) is fitted over every candidate, the treated ones
   included, for every calendar year of any period. The treated sites were chosen for their high
   counts, so they are the upper tail of the population the EB prior must describe: leaving them
   out lowers ``k`` and ``mu``, shrinks their before counts too far and pushes theta up (in a
   reviewer's simulation of 5,000 sites, the top 200 treated, no effect: mean theta 1.17, the
   interval covering 1 in 2% of runs). Fitting them as they are lets a real effect in their after
   years pull the year effects, hence the expectation, towards it. So their after site-years
   carry a known offset ``log(1 + s (theta - 1))`` (``s``: the share of the year's counted days
   after treatment): the SPF is fitted at theta = 1, theta estimated, the SPF refitted with that
   offset, and so on (secant steps) until theta moves by less than :data:`THETA_TOLERANCE`, at
   most :data:`MAX_ROUNDS` fits; the summary gives the fits made and whether it converged. In the
   tests' version of it (10 seeds): mean theta 1.01 with no effect and 0.73 with a planted 0.70,
   the interval covering the truth in 8 of 10 (it leaves out the SPF's own error). The
   predictions per treated site and year (a year the data cover only in part is scaled up to a
   whole year, as its count was part of one) feed the EB method with the fit's ``k``.
5. The overall estimate is also given per site kind (:attr:`SchemeEvaluation.by_kind`; one
   offset theta, and one ``k``, for all kinds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_sppa.errors import InputError
from geo_sppa.evaluation.before_after import (
    BeforeAfter,
    EffectEstimate,
    before_after_effect,
    group_effect,
)
from geo_sppa.evaluation.periods import SchemePeriods, data_span, scheme_periods, year_exposure
from geo_sppa.roads.rules import RULES, Rule
from geo_sppa.roads.spf import CandidateSites
from geo_sppa.schema import SET_ASIDE_COLUMNS

__all__ = ["MAX_ROUNDS", "THETA_TOLERANCE", "SchemeEvaluation", "scheme_evaluation"]

#: The SPF refit stops when the overall theta changes by less than this between rounds.
THETA_TOLERANCE = 1e-3
#: At most this many SPF fits per evaluation (the summary says when it stopped unconverged).
MAX_ROUNDS = 12


@dataclass(frozen=True)
class SchemeEvaluation:
    """The evaluation of a set of treated sites.

    Attributes
    ----------
    effect
        The per-site and overall EB estimates (:class:`~geo_sppa.evaluation.before_after.
        BeforeAfter`), indexed by the treated file's ``row``.
    sites
        One row per evaluated site: ``row``, ``scheme``, ``site_id``, ``candidate_id``,
        ``kind``, ``treatment_date``, ``before_start``, ``before_end``, ``after_start``,
        ``after_end``, then the columns of ``effect.sites``; point geometry (EPSG:27700).
    set_aside
        Treated rows not evaluated (:data:`geo_sppa.schema.SET_ASIDE_COLUMNS`).
    spf_note
        The SPF fit in one line (or why it fell back).
    spf_fallback
        True when the SPF is the covariate-free gamma-Poisson fallback.
    n_reference
        Candidate sites in the reference group.
    mode
        ``"network"`` or ``"radius"``.
    data
        First and last day the collision data cover.
    n_collisions_lost
        Network mode: usable collisions beyond the snap tolerance, counted at no site.
    by_kind
        The overall estimate per site kind (``junction``, ``link``, ``circle``) present.
    spf_rounds
        SPF fits made, and whether theta converged (see :data:`THETA_TOLERANCE`).
    """

    effect: BeforeAfter
    sites: gpd.GeoDataFrame
    set_aside: pd.DataFrame
    spf_note: str
    spf_fallback: bool
    n_reference: int
    mode: str
    data: tuple[date, date]
    n_collisions_lost: int = 0
    by_kind: dict[str, EffectEstimate] = field(default_factory=dict)
    spf_rounds: tuple[int, bool] = (1, True)

    @property
    def reference_note(self) -> str:
        """Return the SPF's reference group and its refit rounds in one line."""
        n, done = self.spf_rounds
        return (
            f"{self.n_reference:,} candidate sites ({self.mode} mode), the treated ones with an "
            f"offset log(theta) on their after years; {n} SPF fit(s), theta "
            f"{'converged' if done else 'NOT converged'} (tolerance {THETA_TOLERANCE:g}, "
            f"at most {MAX_ROUNDS} fits)"
        )


def _aside(source: str, rows: pd.DataFrame, reason: str, detail: pd.Series | str) -> pd.DataFrame:
    """Return set-aside records for treated ``rows`` with one reason."""
    return pd.DataFrame(
        {"source": source, "row": rows["row"].to_numpy(), "record_id": rows["scheme"].to_numpy(),
         "reason": reason, "detail": detail if isinstance(detail, str) else detail.to_numpy()},
        columns=SET_ASIDE_COLUMNS,
    )  # fmt: skip


def _periods(
    treated: pd.DataFrame, span: tuple[date, date], before_years, after_years
) -> tuple[dict[int, SchemePeriods], list[tuple[int, str]]]:
    """Return the periods of each treated row (by position) and the reasons of those with none."""
    found, reasons = {}, []
    dates = {c: [None if pd.isna(d) else pd.Timestamp(d).date() for d in treated[c]]
             for c in ("treatment_date", "works_start", "works_end")}  # fmt: skip
    for i, treatment in enumerate(dates["treatment_date"]):
        works = (dates["works_start"][i], dates["works_end"][i])
        assert treatment is not None  # the reader refuses rows without one
        periods, why = scheme_periods(
            treatment, data=span, works=works,
            before_years=before_years, after_years=after_years,
        )  # fmt: skip
        if periods is None:
            reasons.append((i, why))
        else:
            found[i] = periods
    return found, reasons


def _edges(periods: list[SchemePeriods], span: tuple[date, date]) -> pd.DatetimeIndex:
    """Return the interval edges: every period start and day after its end, and every 1 January."""
    days = {d for p in periods for d in (p.before[0], p.after[0])}
    days |= {e + timedelta(days=1) for p in periods for e in (p.before[1], p.after[1])}
    days |= {date(y, 1, 1) for y in range(span[0].year, span[1].year + 2)}
    return pd.DatetimeIndex(sorted(pd.Timestamp(d) for d in days))


def _bucket_counts(
    usable: gpd.GeoDataFrame, edges: pd.DatetimeIndex, roads, rule: Rule, **snap: float
) -> tuple[CandidateSites, int]:
    """Return the candidate sites with collisions counted per date interval, and the lost count.

    The candidates' count columns are interval positions (0, 1, ...) between ``edges``; a
    collision outside them has code -1 and counts nowhere.
    """
    from geo_sppa.roads.spf import grid_candidates, network_candidates

    code = np.searchsorted(edges.to_numpy(), usable["date"].to_numpy(), side="right") - 1
    code[code >= len(edges) - 1] = -1
    coded = usable.assign(year=code)
    buckets = list(range(len(edges) - 1))
    if roads is None:
        return grid_candidates(coded, radius_m=rule.radius_m, years=buckets), 0
    from geo_sppa.roads.scan import network_placement

    placed = network_placement(
        coded, roads, rule, tolerance_m=snap["tolerance_m"], junction_merge_m=snap["merge_m"]
    )
    found = network_candidates(
        placed.snapped, placed.scan.network, years=buckets, length_m=rule.length_m
    )
    return found, len(placed.lost)


def _segments(route: str, start: float, end: float, ids: pd.Index, length_m: float) -> list[str]:
    """Return the route segment candidates ``S<route>@<start>`` that ``[start, end]`` overlaps."""
    found = []
    for k in range(int(start // length_m), int(max(end - 1e-6, start) // length_m) + 1):
        overlap = min(end, (k + 1) * length_m) - max(start, k * length_m)
        name = f"S{route}@{k * length_m:.0f}"
        if overlap > 1e-6 and name in ids:
            found.append(name)
    return found


def _by_footprint(footprint: object, ids: pd.Index, length_m: float | None):
    """Return the candidate(s) a clusters.csv ``footprint`` names (``;``-joined), or a point.

    ``J<junction>`` is its own candidate; ``L<route>@<start_m>:<end_m>`` covers the route
    segments it overlaps; ``R<x>_<y>`` (radius mode) gives the centre, an ``(x, y)`` tuple, for
    the nearest-cell match. None when it names nothing.
    """
    if not isinstance(footprint, str):
        return None
    if footprint in ids:
        return footprint
    link = re.match(r"^L(.+)@(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?):(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$",
                    footprint)  # fmt: skip
    if link and length_m:
        found = _segments(link[1], float(link[2]), float(link[3]), ids, length_m)
        return ";".join(found) if found else None
    centre = re.match(r"^R(-?\d+(?:\.\d+)?)_(-?\d+(?:\.\d+)?)$", footprint)
    return (float(centre[1]), float(centre[2])) if centre else None


def _by_id(site_id: object, ids: pd.Index, length_m: float | None) -> str | None:
    """Return the candidate(s) a cluster ``site_id`` names, joined by ``;``, or None.

    Used when the clusters.csv has no ``footprint`` column. A junction ``J...`` is its own
    candidate. A link window ``L<route>@<start>`` of ``length_m`` covers the one or two route
    segments it overlaps: its footprint is their union (the cluster scan centres a window on its
    collisions, which may lie in either segment), and its SPF prediction the sum of theirs.
    """
    if not isinstance(site_id, str):
        return None
    if site_id in ids:
        return site_id
    link = re.match(r"^L(.+)@(\d+(?:\.\d+)?)$", site_id)
    if not (link and length_m):
        return None
    start = float(link[2])
    found = _segments(link[1], start, start + length_m, ids, length_m)
    return ";".join(found) if found else None


def _parts(match: pd.Series) -> list[list[str]]:
    """Return each row's candidate ids (``match`` holds them joined by ``;``)."""
    return [str(m).split(";") for m in match]


def _matched(
    treated: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, *, mode: str, length_m: float, max_m: float
) -> tuple[pd.Series, pd.Series]:
    """Return per treated row the candidate it matches (NA: none) and the distance, metres.

    Network mode looks only at candidates of the treated site's kind when it is known.
    """
    from scipy.spatial import cKDTree

    ids = pd.Index(sites.index.astype(str))
    kinds = sites["kind"].astype(str).to_numpy()
    xy = np.column_stack([sites.geometry.x, sites.geometry.y])
    trees: dict[str, tuple[cKDTree, np.ndarray]] = {}
    match: list[str | None] = []
    dist: list[float] = []
    points = np.column_stack([treated.geometry.x, treated.geometry.y])
    types = treated["site_type"].astype("string").fillna("").to_numpy(dtype=object)
    feet = treated["footprint"] if "footprint" in treated.columns else None
    for n, site_id in enumerate(treated["site_id"].to_numpy(dtype=object)):
        seg = length_m if mode == "network" else None
        if feet is not None and not pd.isna(feet.iloc[n]):
            named = _by_footprint(feet.iloc[n], ids, seg)
            if isinstance(named, tuple):
                points[n], named = named, None
        else:
            named = _by_id(site_id, ids, seg)
        if named is not None:
            match.append(named)
            dist.append(0.0)
            continue
        kind = str(types[n]) if mode == "network" else ""
        if kind not in trees:
            same = (kinds == kind) if kind in kinds else np.ones(len(kinds), dtype=bool)
            trees[kind] = (cKDTree(xy[same]), ids.to_numpy(dtype=object)[same])
        tree, names = trees[kind]
        d, i = tree.query(points[n])
        match.append(str(names[int(i)]) if d <= max_m else None)
        dist.append(float(d))
    return (
        pd.Series(match, index=treated.index, dtype="string"),
        pd.Series(dist, index=treated.index),
    )


def scheme_evaluation(
    collisions: gpd.GeoDataFrame,
    treated: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | None = None,
    rule: Rule = RULES["spp"],
    before_years: tuple[int, int] | None = None,
    after_years: tuple[int, int] | None = None,
    snap_tolerance_m: float = 30.0,
    junction_merge_m: float = 15.0,
    min_after_years: float = 1.0,
    source: str = "treated",
    footprints: pd.Series | None = None,
) -> SchemeEvaluation:
    """Return the EB before/after evaluation of ``treated`` (see the module docstring).

    Parameters
    ----------
    collisions
        Normalised collisions (:func:`geo_sppa.io.read_collisions`), EPSG:27700; not modified.
    treated
        Treated sites (:func:`geo_sppa.io.treated.read_treated`), EPSG:27700.
    roads
        Road lines: network mode; None: radius mode.
    rule
        Gives the segment length, grid radius and junction radius of the candidate sites.
    before_years, after_years
        Whole calendar years replacing the default periods.
    snap_tolerance_m, junction_merge_m
        Network mode, as :func:`geo_sppa.roads.clusters.cluster_sites`.
    min_after_years
        Sites with a shorter after period are flagged and left out of the overall estimate.
    source
        The treated file's name, for set-aside records and messages.
    footprints
        The clusters.csv ``footprint`` per ``site_id``: a treated site is matched through it.

    Raises
    ------
    InputError
        No usable collision, or no treated site that can be evaluated (the message gives the
        first row's reason).
    """
    from geo_sppa.roads.usable import usable_collisions

    usable, _ = usable_collisions(collisions, "collisions")
    if not len(usable):
        raise InputError("collisions: no collision has a place, a date and a severity")
    span = data_span(usable["date"])
    treated = treated.reset_index(drop=True)
    periods, reasons = _periods(treated, span, before_years, after_years)
    data_text = f"collisions run from {span[0]:%d %b %Y} to {span[1]:%d %b %Y}"
    aside = [_aside(source, treated.iloc[[i]], why, data_text) for i, why in reasons]
    keep = treated.iloc[sorted(periods)]
    if not len(keep):
        i, why = reasons[0]
        raise InputError(
            f"{source}: no treated site can be evaluated: row {treated['row'].iloc[i]}: {why} "
            f"(the {data_text}); give treatment dates with data before and after them"
        )
    edges = _edges(list(periods.values()), span)
    cands, lost = _bucket_counts(usable, edges, roads, rule, tolerance_m=snap_tolerance_m,
                                 merge_m=junction_merge_m)  # fmt: skip
    mode = "radius" if roads is None else "network"
    match, ok, more = _footprints(keep, cands, mode=mode, rule=rule, source=source, feet=footprints)
    aside += more
    chosen = [periods[i] for i, good in zip(sorted(periods), ok, strict=True) if good]
    effect, fit, n_reference, rounds = _effect(
        cands, keep[ok], match[ok], chosen, edges, span, min_after_years
    )
    sites = _site_frame(keep[ok], match[ok], cands.sites, chosen, effect)
    kinds = sites["kind"].astype(str).to_numpy()
    set_aside = pd.concat([a for a in aside if len(a)] or [_aside(source, keep.iloc[0:0], "", "")],
                          ignore_index=True)  # fmt: skip
    return SchemeEvaluation(
        by_kind={kd: group_effect(effect.sites[kinds == kd]) for kd in sorted(set(kinds))},
        effect=effect, sites=sites, set_aside=set_aside, spf_note=fit.note,
        spf_fallback=fit.fallback, n_reference=n_reference, mode=mode,
        data=span, n_collisions_lost=lost, spf_rounds=rounds,
    )  # fmt: skip


def _footprints(
    keep: gpd.GeoDataFrame, cands: CandidateSites, *, mode: str, rule: Rule, source: str, feet
) -> tuple[pd.Series, np.ndarray, list[pd.DataFrame]]:
    """Return each row's candidate(s), which rows have a footprint of their own, and set-asides.

    ``feet``: the clusters.csv footprint per ``site_id``, or None.

    Raises
    ------
    InputError
        No row lies on a candidate site.
    """
    if feet is not None and feet.notna().any():
        keep = keep.assign(footprint=keep["site_id"].map(feet))
    step = float(cands.cell_m or 2 * rule.radius_m)
    max_m = rule.length_m if mode == "network" else step / np.sqrt(2)
    match, dist = _matched(keep, cands.sites, mode=mode, length_m=rule.length_m, max_m=max_m)
    none = match.isna()
    exploded = match.fillna("").str.split(";").explode()
    seen = exploded[exploded != ""].duplicated()
    twice = pd.Series(seen.groupby(level=0).any(), index=match.index).fillna(False)
    twice = twice.astype(bool) & ~none
    far = dist[none].map(lambda d: f"nearest {d:.0f} m away (at most {max_m:.0f} m)")
    again = "candidate " + match[twice].astype(str)
    aside = [
        _aside(source, keep[none], "no candidate site near it", far),
        _aside(source, keep[twice], "same candidate site as an earlier row", again),
    ]
    ok = (~none & ~twice).to_numpy()
    if not ok.any():
        raise InputError(
            f"{source}: no treated site lies on a candidate site ({mode} mode; nearest "
            f"{dist.min():.0f} m away); check the sites are in the study area"
        )
    return match, ok, aside


def _in_period(starts: pd.DatetimeIndex, ends: pd.DatetimeIndex, period: tuple[date, date]):
    """Return which date intervals lie inside ``period`` (first and last day inclusive)."""
    first, after_last = pd.Timestamp(period[0]), pd.Timestamp(period[1] + timedelta(days=1))
    return (starts >= first) & (ends <= after_last)


def _inputs(cands, match, periods, edges, span):
    """Return the counts per candidate and year, the years, and the EB inputs per treated site.

    The EB inputs: each site's candidates, the observed before and after tables, the exposure
    tables, and the share of each candidate's counted days per year that lie after treatment.
    """
    starts, ends = edges[:-1], edges[1:]
    bucket_year = np.asarray(starts.year)
    counts = cands.counts.to_numpy(dtype=np.int64)
    year_counts = pd.DataFrame(counts, index=cands.counts.index).T.groupby(bucket_year).sum().T
    exposure = [p.exposure() for p in periods]
    years = sorted({y for b, a in exposure for y in (*b, *a)})
    parts = _parts(match)
    positions = [cands.counts.index.get_indexer(pd.Index(p)) for p in parts]
    observed = []
    for which in (0, 1):
        table = np.zeros((len(parts), len(years)))
        for s, p in enumerate(periods):
            inside = _in_period(starts, ends, (p.before, p.after)[which])
            for y_pos, y in enumerate(years):
                table[s, y_pos] = counts[np.ix_(positions[s], inside & (bucket_year == y))].sum()
        observed.append(table)
    exp_b, exp_a = (pd.DataFrame([e[w] for e in exposure]).reindex(columns=years)
                    .fillna(0.0).to_numpy() for w in (0, 1))  # fmt: skip
    cover = year_exposure(*span)
    share = np.zeros((len(year_counts), len(years)))
    for s, pos in enumerate(positions):
        share[pos] = np.minimum(exp_a[s] / np.array([cover[y] for y in years]), 1.0)
    return year_counts[years], years, parts, observed, (exp_b, exp_a), share


def _effect(cands, treated, match, periods, edges, span, min_after_years):
    """Return the EB effect, the SPF fit used, the candidates fitted and the rounds taken.

    The SPF is fitted over every candidate, the treated ones' after site-years with the offset
    ``log(1 + share (theta - 1))``; ``theta`` is re-estimated and the SPF refitted until theta
    changes by less than ``THETA_TOLERANCE`` (secant steps), at most ``MAX_ROUNDS`` times.
    """
    from geo_sppa.roads.spf import fit_spf

    year_counts, years, parts, observed, exposure, share = _inputs(
        cands, match, periods, edges, span
    )
    covariates = list(cands.covariates)
    sites = cands.sites.loc[year_counts.index, covariates]
    cover = year_exposure(*span)
    rows = pd.Index(treated["row"], name="row")
    owner = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    flat = [c for p in parts for c in p]
    ob, oa, eb, ea = (pd.DataFrame(t, index=rows, columns=years) for t in (*observed, *exposure))

    def round_at(theta: float):
        fit = fit_spf(year_counts, sites, offset=np.log1p(share * (theta - 1.0)))
        each = fit.predict(cands.sites.loc[flat, covariates], years).to_numpy()
        total = np.zeros((len(parts), len(years)))
        np.add.at(total, owner, each)
        mu = pd.DataFrame(total / np.array([cover[y] for y in years]), index=rows, columns=years)
        effect = before_after_effect(ob, oa, mu, eb, ea, k=fit.k,
                                     min_after_years=min_after_years)  # fmt: skip
        return effect, fit

    theta, last, n = 1.0, None, 0
    while True:
        effect, fit = round_at(theta)
        n += 1
        found = effect.overall.theta
        if not np.isfinite(found) or abs(found - theta) < THETA_TOLERANCE or n >= MAX_ROUNDS:
            break
        step = found
        if last is not None and (found - theta) != last[1]:  # secant on found - theta = 0
            step = theta - (found - theta) * (theta - last[0]) / ((found - theta) - last[1])
        last, theta = (theta, found - theta), float(np.clip(step, 0.01, 100.0))
    # no overall theta (every after period short): one fit, no offset, nothing to iterate on
    converged = bool(not np.isfinite(found) or abs(found - theta) < THETA_TOLERANCE)
    return effect, fit, len(year_counts), (n, converged)


def _site_frame(treated, match, candidates, periods, effect) -> gpd.GeoDataFrame:
    """Return the per-site output: who and where, the periods, then the EB columns."""
    frame = pd.DataFrame(
        {"row": treated["row"].to_numpy(), "scheme": treated["scheme"].to_numpy(),
         "site_id": treated["site_id"].to_numpy(), "candidate_id": match.to_numpy(),
         "kind": candidates.loc[[p[0] for p in _parts(match)], "kind"].to_numpy(),
         "treatment_date": treated["treatment_date"].dt.strftime("%Y-%m-%d").to_numpy(),
         **{f"{name}_{end}": [getattr(p, name)[i].isoformat() for p in periods]
            for name in ("before", "after") for i, end in enumerate(("start", "end"))}},
    )  # fmt: skip
    frame = frame.join(effect.sites.reset_index(drop=True))
    return gpd.GeoDataFrame(frame, geometry=treated.geometry.to_numpy(), crs=treated.crs)
