"""Candidate sites of the safety performance function: every junction, segment or grid cell.

Candidate sites (:func:`candidate_site_counts`) partition the collisions: each counts at exactly
one candidate.

- **Network mode**: every junction of the :class:`~geo_sppa.roads.network.RoadNetwork`
  (``J<junction_id>``, the cluster scan's junction ``site_key``; a collision counts here when the
  snap gave it a ``junction_id``) and every ``length_m`` (100 m) segment of every route from its
  start (``S<route_id>@<start_m>``; the last one shorter), kind ``junction`` / ``link``. The
  geometry is the junction's point and the segment's centre point on the road.
- **Radius mode**: the cells of a regular grid of spacing ``2 * rule.radius_m`` (circles of the
  site radius that touch; ``C<easting>N<northing>`` of the cell centre), kind ``circle``; a
  collision counts in the cell holding it. Without a road network the study area is the cells
  holding a collision in any year given, and their eight neighbours (so that empty cells beside
  the roads are counted; fields and moors far from any collision are not road sites).

Covariates (``CandidateSites.covariates``): ``kind`` (network mode), ``road_class`` (network
mode the OSM ``highway`` of the road, the most important one at a junction, ``highway`` values
ranked below unclassified grouped as ``minor``; radius mode the collisions' ``road_class``),
``speed_limit`` and ``urban_rural`` where the collisions record them, and ``log_length_m`` (log of
the segment length over 100 m; 0 for junctions and cells). A covariate the collisions record is
the modal value of the 5 collisions nearest the candidate (within 500 m, ties to the nearest)
among the collisions of the counted ``years`` only (the years the SPF is fitted on: a later
period, such as the after period of an evaluation, never shapes the candidates), ``unknown``
where there is none. At a site with collisions these are its own; an
empty candidate takes the value of the road around it. Taking only the candidate's own
collisions would make ``unknown`` mean "no collision", a level the fit cannot estimate (its
coefficient runs to minus infinity) and that inflates every other level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo_sppa.crs import BNG
from geo_sppa.errors import InputError
from geo_sppa.roads.network import HIGHWAY_RANK, RoadNetwork
from geo_sppa.roads.rules import RULES, Rule

__all__ = [
    "COLLISION_COVARIATES",
    "UNKNOWN",
    "CandidateSites",
    "candidate_site_counts",
    "collision_candidates",
    "grid_candidates",
    "index_positions",
    "network_candidates",
]

#: Collision columns used as covariates where they hold values (modal of the nearest collisions).
COLLISION_COVARIATES = ("speed_limit", "urban_rural")
#: The level of a covariate no nearby collision records.
UNKNOWN = "unknown"
_NEAREST = 5
_NEAREST_MAX_M = 500.0


@dataclass(frozen=True)
class CandidateSites:
    """Every candidate site of a study area and its collisions per calendar year.

    Attributes
    ----------
    sites
        One row per candidate, EPSG:27700: ``candidate_id`` (stable key, see the module
        docstring), ``kind`` (``junction`` / ``link`` / ``circle``), the covariate columns,
        ``length_m`` (link segments; NaN otherwise), geometry (junction point, segment centre,
        cell centre); indexed by ``candidate_id``.
    counts
        Index ``candidate_id`` (as ``sites``), one int64 column per year (column label the year).
    covariates
        The covariate columns of ``sites`` for :func:`fit_spf`.
    mode
        ``"network"`` or ``"radius"``.
    cell_m
        Radius mode: the grid spacing, metres (None in network mode).

    """

    sites: gpd.GeoDataFrame
    counts: pd.DataFrame
    covariates: tuple[str, ...]
    mode: str
    cell_m: float | None = None


def candidate_site_counts(
    collisions: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | None,
    rule: Rule | None = None,
    years: Sequence[int],
    snap_tolerance_m: float = 30.0,
    junction_merge_m: float = 15.0,
) -> CandidateSites:
    """Return every candidate site of the study area with its collisions per year.

    Parameters
    ----------
    collisions
        Normalised collisions (:func:`geo_sppa.io.read_collisions`), EPSG:27700; not modified.
        Rows that cannot be placed or dated are left out (as :func:`cluster_sites` sets them
        aside); only ``years`` are counted and feed the covariates.
    roads
        Road lines: network mode (junctions and route segments); None: radius mode (grid).
    rule
        Gives ``length_m`` (segment length), ``radius_m`` (grid spacing ``2 * radius_m``) and
        ``junction_radius_m``; default the ``spp`` rule.
    years
        The calendar years to count.
    snap_tolerance_m, junction_merge_m
        Network mode: as :func:`~geo_sppa.roads.clusters.cluster_sites`.

    Returns
    -------
    CandidateSites
        The candidates, their counts and covariate names.

    """
    from geo_sppa.roads.scan import network_placement
    from geo_sppa.roads.usable import usable_collisions

    rule = RULES["spp"] if rule is None else rule
    usable, _ = usable_collisions(collisions, "collisions")
    if roads is None:
        return grid_candidates(usable, radius_m=rule.radius_m, years=years)
    placed = network_placement(
        usable, roads, rule, tolerance_m=snap_tolerance_m, junction_merge_m=junction_merge_m
    )
    return network_candidates(
        placed.snapped, placed.scan.network, years=years, length_m=rule.length_m
    )


def index_positions(index: pd.Index, *values: pd.Series | pd.Index) -> list[np.ndarray]:
    """Return ``index.get_indexer(v)`` for each ``v`` of ``values``: positions, -1 where absent.

    Without ``get_indexer``'s hash table of a large ``index`` as Python objects: a few values
    (under 1/16 of the labels; pandas builds the value set of a membership test in Python,
    about 16 label hashes per value) are found by a membership scan of the index and a look-up
    among the labels found; more text values by one pyarrow factorisation of the index and the
    values together (the index first, so that its codes are its positions).

    Parameters
    ----------
    index
        The labels looked up into; unique (as ``get_indexer`` requires).
    *values
        Labels to find; NA is not found.

    Returns
    -------
    list of ndarray
        One array of positions per ``values``.

    """
    n = len(index)
    if sum(len(v) for v in values) * 16 < n:
        out = []
        for v in values:
            among = np.flatnonzero(index.isin(v))
            found = index[among].get_indexer(pd.Index(v))
            out.append(np.where(found >= 0, among[found], -1))
        return out
    text = [pd.Series(v, copy=False) for v in values]
    if isinstance(index.dtype, pd.StringDtype) and all(
        isinstance(v.dtype, pd.StringDtype) for v in text
    ):
        labels = pd.concat([pd.Series(index), *(v.astype(index.dtype) for v in text)],
                           ignore_index=True)  # fmt: skip
        codes = pd.factorize(labels)[0]
        if np.array_equal(codes[:n], np.arange(n)):  # else duplicates: get_indexer says so
            found = np.where(codes[n:] < n, codes[n:], -1)
            return np.split(found, np.cumsum([len(v) for v in text])[:-1])
    return [index.get_indexer(pd.Index(v)) for v in values]


def _year_counts(
    position: np.ndarray, year: np.ndarray, n: int, years: Sequence[int]
) -> np.ndarray:
    """Return an ``(n, len(years))`` int64 table of collisions per candidate position and year."""
    span = np.asarray(list(years), dtype=np.int64)
    t = np.searchsorted(span, year)
    ok = (position >= 0) & (t < len(span))
    ok[ok] = span[t[ok]] == year[ok]
    flat = np.bincount(position[ok] * len(span) + t[ok], minlength=n * len(span))
    return flat.reshape(n, len(span)).astype(np.int64)


def _nearest_modal(points: np.ndarray, xy: np.ndarray, values: pd.Series) -> np.ndarray:
    """Return, per point, the modal value of the nearest collisions with one (see module doc)."""
    text = values.astype("string")
    known = text.notna().to_numpy() & (text.str.strip() != "").fillna(False).to_numpy()
    out = np.full(len(points), UNKNOWN, dtype=object)
    if not known.any() or not len(points):
        return out
    codes, levels = pd.factorize(text[known].str.strip().to_numpy(dtype=object), sort=True)
    k = min(_NEAREST, int(known.sum()))
    dist, idx = cKDTree(xy[known]).query(points, k=k, distance_upper_bound=_NEAREST_MAX_M)
    dist = np.asarray(dist).reshape(len(points), k)
    idx = np.asarray(idx).reshape(len(points), k)
    score = np.zeros((len(points), len(levels)))
    rows = np.arange(len(points))
    for j in range(k):
        hit = np.isfinite(dist[:, j])
        score[rows[hit], codes[idx[hit, j]]] += 1.0 + (k - j) * 1e-3  # ties go to the nearest
    found = score.max(axis=1) > 0
    out[found] = np.asarray(levels, dtype=object)[score[found].argmax(axis=1)]
    return out


def _xy(frame: pd.DataFrame) -> np.ndarray:
    """Return the ``(n, 2)`` coordinates of a frame's point geometries."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    return np.column_stack([shapely.get_x(geoms), shapely.get_y(geoms)])


def _collision_covariates(
    points: np.ndarray, frame: pd.DataFrame, columns: Sequence[str]
) -> dict[str, np.ndarray]:
    """Return the collision-recorded covariates (those with any value) at ``points``."""
    xy = _xy(frame)
    out = {}
    for column in columns:
        if column in frame.columns and frame[column].notna().any():
            out[column] = _nearest_modal(points, xy, frame[column])
    return out


def _road_classes(highway: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return the OSM ``highway`` tags as road classes (minor roads grouped) and their ranks."""
    codes, tags = pd.factorize(highway.to_numpy(dtype=object))
    names, ranks = [], []
    for tag in tags:
        text = str(tag).strip().lower()
        rank = HIGHWAY_RANK.get(text)
        names.append("minor" if rank is None or rank >= 6 else text.removesuffix("_link"))
        ranks.append(99.0 if rank is None else rank)
    cls = np.asarray([*names, UNKNOWN], dtype=object)  # code -1 (no tag) takes the last
    rank_of = np.asarray([*ranks, 99.0])
    return cls[codes], rank_of[codes]


def _junction_road_class(network: RoadNetwork, cls: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Return, per junction, the road class of the most important chain (``cls``) meeting there."""
    chains, junctions = network.chains, network.junctions
    code, names = pd.factorize(cls, sort=True)
    names = np.asarray(names, dtype=object)
    score = np.rint(rank * 10).astype(np.int64) * len(names) + code  # rank, then name
    best = np.full(len(junctions), np.iinfo(np.int64).max)
    columns = [chains[c] for c in ("start_junction_id", "end_junction_id", "junction_id")
               if c in chains.columns]  # fmt: skip
    for at in index_positions(junctions.index, *columns):
        hit = at >= 0
        np.minimum.at(best, at[hit], score[hit])
    found = best < np.iinfo(np.int64).max
    out = np.full(len(junctions), UNKNOWN, dtype=object)
    out[found] = names[best[found] % len(names)]
    return out


@dataclass(frozen=True)
class _Segments:
    """The ``length_m`` segments of a network's routes."""

    route_ids: np.ndarray  # route id per route code
    chain_code: np.ndarray  # route code per chain
    offset: np.ndarray  # first segment position of each route
    n: np.ndarray  # segments per route
    route_length: np.ndarray
    code: np.ndarray  # route code per segment
    start: np.ndarray
    end: np.ndarray


def _segments(chains: gpd.GeoDataFrame, length_m: float) -> _Segments:
    code, found = pd.factorize(chains["route_id"], sort=True)
    a = chains["route_from_m"].to_numpy(dtype=float)
    b = chains["route_to_m"].to_numpy(dtype=float)
    own = ~chains["paired"].to_numpy(dtype=bool)
    length = np.zeros(len(found))
    np.maximum.at(length, code[own], np.maximum(a, b)[own])
    n = np.maximum(np.ceil(length / length_m - 1e-9), 1).astype(np.int64)
    offset = np.r_[0, np.cumsum(n)[:-1]]
    seg_code = np.repeat(np.arange(len(found)), n)
    k = np.arange(int(n.sum())) - np.repeat(offset, n)
    start = k * length_m
    end = np.minimum(start + length_m, length[seg_code])
    end = np.maximum(end, start + min(1.0, length_m))  # a route of length 0 still has a segment
    ids = np.asarray(found, dtype=object)
    return _Segments(ids, code, offset, n, length, seg_code, start, end)


def _segment_centres(chains: gpd.GeoDataFrame, seg: _Segments) -> tuple[np.ndarray, np.ndarray]:
    """Return each segment's centre point on the road and the position of the chain under it."""
    code = seg.chain_code
    a = chains["route_from_m"].to_numpy(dtype=float)
    b = chains["route_to_m"].to_numpy(dtype=float)
    own = np.flatnonzero(~chains["paired"].to_numpy(dtype=bool))
    lo = np.minimum(a, b)[own]
    order = np.lexsort((lo, code[own]))
    own, key_code, lo = own[order], code[own][order], lo[order]
    mid = (seg.start + seg.end) / 2
    first = np.searchsorted(key_code, seg.code, "left")
    last = np.searchsorted(key_code, seg.code, "right") - 1
    key = key_code.astype(float) * 1e9 + lo
    pos = np.searchsorted(key, seg.code.astype(float) * 1e9 + mid, "right") - 1
    pos = np.clip(pos, first, np.maximum(last, first))
    chain = own[np.clip(pos, 0, len(own) - 1)]
    span = b[chain] - a[chain]
    share = np.clip((mid - a[chain]) / np.where(np.abs(span) < 1e-9, 1.0, span), 0.0, 1.0)
    at = share * chains["length_m"].to_numpy(dtype=float)[chain]
    geoms = np.asarray(chains.geometry.values, dtype=object)[chain]
    return shapely.line_interpolate_point(geoms, at), chain


def _positions(
    snapped: pd.DataFrame, network: RoadNetwork, seg: _Segments, length_m: float
) -> np.ndarray:
    """Return each snapped collision's candidate position: junctions first, then segments."""
    chains, junctions = network.chains, network.junctions
    at_j = snapped["junction_id"].notna().to_numpy()
    position = np.full(len(snapped), -1, dtype=np.int64)
    position[at_j] = index_positions(junctions.index, snapped["junction_id"][at_j])[0]
    chain = index_positions(chains.index, snapped["chain_id"][~at_j])[0]
    if (chain < 0).any():
        raise InputError("snapped collisions name chains that are not in this network; "
                         "snap them with snapped_collisions(collisions, network)")  # fmt: skip
    a = chains["route_from_m"].to_numpy(dtype=float)[chain]
    b = chains["route_to_m"].to_numpy(dtype=float)[chain]
    share = snapped["chain_m"].to_numpy(dtype=float)[~at_j] / np.maximum(
        chains["length_m"].to_numpy(dtype=float)[chain], 1e-9
    )
    route = seg.chain_code[chain]
    measure = np.clip(a + (b - a) * share, 0.0, seg.route_length[route])
    k = np.minimum((measure // length_m).astype(np.int64), seg.n[route] - 1)
    position[~at_j] = len(junctions) + seg.offset[route] + k
    return position


def _candidate_ids(network: RoadNetwork, seg: _Segments) -> pd.api.extensions.ExtensionArray:
    """Return the candidate ids: ``J<junction_id>`` per junction, then ``S<route>@<start>``."""
    junction = "J" + pd.Series(network.junctions.index, dtype="str")
    route = pd.Series(seg.route_ids, dtype="str").iloc[seg.code].reset_index(drop=True)
    start = pd.Series(np.rint(seg.start).astype(np.int64)).astype("str")
    return pd.concat([junction, "S" + route + "@" + start], ignore_index=True).array


def collision_candidates(
    snapped: pd.DataFrame, network: RoadNetwork, *, length_m: float = 100.0
) -> pd.Series:
    """Return the candidate site each snapped collision counts at (network mode).

    Parameters
    ----------
    snapped
        Collisions snapped to ``network`` (``chain_id``, ``chain_m``, ``junction_id``).
    network
        The road network.
    length_m
        Segment length, metres.

    Returns
    -------
    Series
        ``candidate_id`` per collision, indexed like ``snapped``.

    """
    seg = _segments(network.chains, length_m)
    ids = _candidate_ids(network, seg)
    return pd.Series(ids.take(_positions(snapped, network, seg, length_m)), index=snapped.index,
                     name="candidate_id", dtype=object)  # fmt: skip


def _in_years(
    frame: gpd.GeoDataFrame, years: Sequence[int], columns: Sequence[str]
) -> pd.DataFrame:
    """Return the geometry and ``columns`` (those present) of the rows of ``years`` (covariates)."""
    keep = [frame.geometry.name, *(c for c in columns if c in frame.columns)]
    return frame.loc[frame["year"].isin([int(y) for y in years]).to_numpy(dtype=bool), keep]


def network_candidates(
    snapped: gpd.GeoDataFrame,
    network: RoadNetwork,
    *,
    years: Sequence[int],
    length_m: float = 100.0,
) -> CandidateSites:
    """Return every junction and ``length_m`` route segment of ``network`` with its counts.

    Parameters
    ----------
    snapped
        Collisions snapped to ``network`` (``SnappedCollisions.snapped``: ``chain_id``,
        ``chain_m``, ``junction_id``, ``year``); the rows of ``years`` are counted and feed the
        covariates.
    network
        The road network (:func:`geo_sppa.roads.network.road_network`).
    years
        The calendar years to count.
    length_m
        Segment length, metres.

    Returns
    -------
    CandidateSites
        Junctions first, then segments route by route (see the module docstring).

    """
    chains, junctions = network.chains, network.junctions
    seg = _segments(chains, length_m)
    centres, under = _segment_centres(chains, seg)
    n_j, n_s = len(junctions), len(seg.code)
    points = np.r_[np.asarray(junctions.geometry.values, dtype=object), centres]
    ids = _candidate_ids(network, seg)
    cls, rank = _road_classes(chains["highway"])
    position = _positions(snapped, network, seg, length_m)
    year = snapped["year"].to_numpy(dtype=np.int64)
    counts = _year_counts(position, year, n_j + n_s, years)
    xy = shapely.get_coordinates(points)
    kind = pd.array(["junction", "link"], dtype="str").take(np.repeat([0, 1], [n_j, n_s]))
    road_class = np.r_[_junction_road_class(network, cls, rank), cls[under]]
    frame = {
        "candidate_id": ids,
        "kind": kind,
        "road_class": _text(road_class),
        **_collision_covariates(
            xy, _in_years(snapped, years, COLLISION_COVARIATES), COLLISION_COVARIATES
        ),
        "length_m": np.r_[np.full(n_j, np.nan), np.round(seg.end - seg.start)],
    }
    return _candidates(frame, points, counts, years, mode="network")


def _text(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Return object strings (no NA) as a ``str`` array, converting each distinct one once."""
    code, levels = pd.factorize(values)
    return pd.array(np.asarray(levels, dtype=object), dtype="str").take(code)


def _candidates(
    frame: dict, points: np.ndarray, counts: np.ndarray, years: Sequence[int], *, mode: str,
    cell_m: float | None = None,
) -> CandidateSites:  # fmt: skip
    """Assemble :class:`CandidateSites` from columns, points and the count table."""
    length = np.asarray(frame["length_m"], dtype=float)
    frame["log_length_m"] = np.where(np.isnan(length), 0.0, np.log(np.maximum(length, 1.0) / 100))
    sites = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(points, crs=BNG))
    sites.index = pd.Index(sites["candidate_id"], name="candidate_id")
    table = pd.DataFrame(counts, index=sites.index, columns=[int(y) for y in years])
    names = [c for c in ("kind", "road_class", *COLLISION_COVARIATES) if c in sites.columns]
    names = [c for c in names if sites[c].nunique() > 1]
    if mode == "network":
        names.append("log_length_m")
    return CandidateSites(sites, table, tuple(names), mode, cell_m)


def grid_candidates(
    collisions: gpd.GeoDataFrame, *, radius_m: float = 50.0, years: Sequence[int]
) -> CandidateSites:
    """Return the radius-mode candidates: grid cells of spacing ``2 * radius_m`` (module doc).

    Parameters
    ----------
    collisions
        Usable collisions with ``year`` and point geometry, EPSG:27700; every row places cells
        (the study area); only ``years`` are counted and feed the covariates.
    radius_m
        The site radius, metres.
    years
        The calendar years to count.

    Returns
    -------
    CandidateSites
        Cells sorted by easting then northing, kind ``circle``.

    """
    step = 2.0 * float(radius_m)
    xy = _xy(collisions)
    cell = np.floor(xy / step).astype(np.int64)
    around = np.array([(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)], dtype=np.int64)
    cells = np.unique((np.unique(cell, axis=0)[:, None, :] + around[None]).reshape(-1, 2), axis=0)
    key = cells[:, 0] * (1 << 31) + cells[:, 1]
    position = np.searchsorted(key, cell[:, 0] * (1 << 31) + cell[:, 1])
    counts = _year_counts(position, collisions["year"].to_numpy(dtype=np.int64), len(cells), years)
    centre = (cells + 0.5) * step
    ids = [f"C{x:.0f}N{y:.0f}" for x, y in centre]
    covariates = ("road_class", *COLLISION_COVARIATES)
    frame = {
        "candidate_id": np.asarray(ids, dtype=object),
        "kind": np.full(len(cells), "circle", dtype=object),
        **_collision_covariates(centre, _in_years(collisions, years, covariates), covariates),
        "length_m": np.full(len(cells), np.nan),
    }
    points = np.asarray(shapely.points(centre), dtype=object)
    return _candidates(frame, points, counts, years, mode="radius", cell_m=step)
