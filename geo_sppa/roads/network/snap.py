"""Snap collisions to a road network, preferring the road each collision names.

A collision snaps to the nearest link within the tolerance, unless a link whose ``ref`` equals
the collision's ``road_number``, or whose name or ref appears in its ``location`` text, lies
within the tolerance and no more than ``prefer_factor`` times as far as the nearest (or within
``tie_m`` of it, for collisions almost on a road). Police grid references are often 10-20 m out,
so "B1234 Mill Road", 16 m from Mill Road and 9 m from Mill Lane, belongs on Mill Road; one 40 m
from the road it names and 9 m from another stays on the nearest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_sppa.crs import require_bng
from geo_sppa.errors import InputError
from geo_sppa.roads.names import site_name
from geo_sppa.roads.network.build import RoadNetwork

__all__ = ["SnappedCollisions", "snapped_collisions"]


@dataclass(frozen=True)
class SnappedCollisions:
    """Collisions placed on a :class:`RoadNetwork`.

    Attributes
    ----------
    snapped
        The input rows that snapped (same index, input columns kept) plus ``link_id``,
        ``chain_id``, ``chain_m`` (measure along the chain, m), ``snap_distance_m``,
        ``junction_id`` (NA unless within the junction radius) and ``moved_by_name`` (True when
        the collision went to a road it names rather than to the nearest road); geometry is the
        original point.
    set_aside
        Rows that could not be snapped: ``source``, ``row`` (NA), ``record_id``, ``reason``
        (``beyond snap tolerance`` or ``no geometry``), ``detail``.
    n_moved_by_name
        How many snapped collisions the road-name preference moved off the nearest road.

    """

    snapped: gpd.GeoDataFrame
    set_aside: pd.DataFrame
    n_moved_by_name: int = 0


@dataclass(frozen=True)
class _Candidates:
    """Collision-link pairs within the tolerance: collision position, link row, distance (m)."""

    point: np.ndarray
    link: np.ndarray
    distance: np.ndarray

    def subset(self, keep: np.ndarray) -> _Candidates:
        return _Candidates(self.point[keep], self.link[keep], self.distance[keep])


def snapped_collisions(
    collisions: gpd.GeoDataFrame,
    network: RoadNetwork,
    *,
    tolerance_m: float = 30.0,
    junction_radius_m: float = 20.0,
    tie_m: float = 3.0,
    prefer_factor: float = 2.0,
    source: str = "collisions",
) -> SnappedCollisions:
    """Return collisions snapped to ``network``, preferring the road each one names.

    Among the links within ``tolerance_m``, a link whose ``ref`` equals the collision's
    ``road_number``, or whose name or ref appears as whole words in its ``location`` text (raw or
    with abbreviations expanded, ``MILL RD`` = Mill Road), wins when it is at most
    ``prefer_factor`` times as far as the nearest link or at most ``tie_m`` farther; otherwise the
    nearest wins (exact ties: the lowest ``link_id``, which does not depend on input row order).
    A collision belongs to a junction when its point lies within ``junction_radius_m`` of one of
    the junction's nodes, or when it snaps to a chain inside the junction (a roundabout ring),
    which takes precedence.

    Parameters
    ----------
    collisions
        Points in EPSG:27700 with ``collision_id`` and ``severity``; ``road_number`` and
        ``location`` are used when present. Not modified.
    network
        From :func:`road_network`.
    tolerance_m
        Collisions farther than this from every link are set aside, metres.
    junction_radius_m
        STATS19 "within 20 m of a junction", metres.
    tie_m
        A named link this much farther than the nearest is always near enough, metres.
    prefer_factor
        A named link up to this many times as far as the nearest is preferred to it.
    source
        Value for the ``source`` column of the set-aside rows.

    Returns
    -------
    SnappedCollisions
        The snapped rows, the set-aside rows and the number the name preference moved.

    """
    _check_collisions(collisions)
    points = np.asarray(collisions.geometry.values, dtype=object)
    present = ~(shapely.is_missing(points) | shapely.is_empty(points))
    links = network.links
    link_geoms = np.asarray(links.geometry.values, dtype=object)
    tree = shapely.STRtree(link_geoms)
    pos = np.flatnonzero(present)
    # every link within tolerance, then the nearest: cheaper than query_nearest at this radius
    cand_pt, cand_link, cand_d = _within(tree, points[pos], tolerance_m)
    candidates = _Candidates(cand_pt, cand_link, cand_d)
    near, pick, moved = _preferred_links(collisions, pos, candidates, links, tie_m, prefer_factor)
    placed = np.zeros(len(points), dtype=bool)
    placed[near] = True
    far = pos[~placed[pos]]
    set_aside = _set_aside(collisions, far, np.flatnonzero(~present), points, tree, source)
    snapped = _placed(collisions.iloc[near], points[near], candidates.subset(pick), network,
                      junction_radius_m)  # fmt: skip
    snapped["moved_by_name"] = moved
    return SnappedCollisions(snapped=snapped, set_aside=set_aside, n_moved_by_name=int(moved.sum()))


def _check_collisions(collisions: gpd.GeoDataFrame) -> None:
    require_bng(collisions, what="collisions")
    missing = [c for c in ("collision_id", "severity") if c not in collisions.columns]
    if missing:
        raise InputError(f"collisions: missing column(s) {', '.join(missing)}; "
                         "read them with geo_sppa.io.read_collisions")  # fmt: skip
    if not collisions.index.is_unique:
        raise InputError("collisions: the index has duplicate labels; call reset_index() first")


def _within(
    tree: shapely.STRtree, points: np.ndarray, distance_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (point, tree item, distance) of every pair at most ``distance_m`` apart.

    ``points``: geometries, none missing or empty.

    Sorted by point. The tree's envelopes are queried with each point's envelope grown by
    ``distance_m`` and the exact distances of those candidates kept where they are within it:
    the same pairs as ``predicate="dwithin"`` (distance <= ``distance_m``), without testing each
    pair twice.
    """
    box = shapely.bounds(points)
    corners = np.stack([box[:, :2] - distance_m, box[:, 2:] + distance_m], axis=1)
    point, item = tree.query(shapely.linestrings(corners))  # a box's diagonal: the box envelope
    if (point[1:] < point[:-1]).any():  # shapely returns them by input, but do not rely on it
        order = np.argsort(point, kind="stable")
        point, item = point[order], item[order]
    d = shapely.distance(points[point], tree.geometries.take(item))
    keep = d <= distance_m
    return point[keep], item[keep], d[keep]


def _first_per_point(point: np.ndarray, keys: tuple[np.ndarray, ...]) -> np.ndarray:
    """Return the position of each point's smallest candidate by ``keys``, most significant first.

    ``point`` is sorted; a point's candidates must differ in the last key. The same pick as the
    first of each point in ``np.lexsort((*reversed(keys), point))``, without the sort.
    """
    if not len(point):
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, point[1:] != point[:-1]])
    size = np.diff(np.r_[starts, len(point)])
    alive = np.ones(len(point), dtype=bool)
    for key in keys:
        value = np.where(alive, key, np.inf)
        alive &= value == np.repeat(np.minimum.reduceat(value, starts), size)
    return np.flatnonzero(alive)


def _preferred_links(
    collisions: gpd.GeoDataFrame,
    pos: np.ndarray,
    cand: _Candidates,
    links: gpd.GeoDataFrame,
    tie_m: float,
    prefer_factor: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the positions of collisions with a candidate, the chosen candidate of each, moves.

    ``cand`` is sorted by point. ``moves`` is True where the name preference chose a link other
    than the nearest.
    """
    rounded = np.round(cand.distance, 6)
    nearest_pick = _first_per_point(cand.point, (rounded, cand.link))
    nearest_link = cand.link[nearest_pick]
    per_point = np.full(len(pos), np.nan)
    per_point[cand.point[nearest_pick]] = cand.distance[nearest_pick]
    nearest_d = per_point[cand.point]
    near_enough = cand.distance <= np.maximum(nearest_d + tie_m, prefer_factor * nearest_d)
    kept = np.flatnonzero(near_enough)
    cand = cand.subset(kept)
    rounded = rounded[kept]
    many = np.bincount(cand.point, minlength=len(pos))[cand.point] > 1
    hints = [collisions[c].notna().to_numpy() for c in ("road_number", "location")
             if c in collisions.columns]  # fmt: skip
    if hints:
        many &= np.logical_or.reduce(hints)[pos[cand.point]]
    else:
        many[:] = False
    match = np.zeros(len(cand.point), bool)
    if many.any():
        match[many] = _names_match(collisions, pos[cand.point[many]], links, cand.link[many])
    pick = _first_per_point(cand.point, (~match, rounded, cand.link))
    chosen = cand.link[pick]
    return pos[cand.point[pick]], kept[pick], chosen != nearest_link


_SPLIT = re.compile(r"[;,/]\s*|\s+")


def _column_values(collisions: gpd.GeoDataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    if column not in collisions.columns:
        return np.full(len(rows), None, dtype=object)
    return collisions[column].iloc[rows].to_numpy(dtype=object)


def _names_match(
    collisions: gpd.GeoDataFrame, rows: np.ndarray, links: gpd.GeoDataFrame, link_rows: np.ndarray
) -> np.ndarray:
    """Return True where the link's ref is the road_number or its name/ref is in the location."""
    road = _column_values(collisions, "road_number", rows)
    where = _column_values(collisions, "location", rows)
    names = links["name"].iloc[link_rows].to_numpy(dtype=object)  # take, then convert
    refs = links["ref"].iloc[link_rows].to_numpy(dtype=object)
    out = np.zeros(len(rows), bool)
    expanded: dict[str, str] = {}
    for i in range(len(rows)):
        ref = refs[i] if isinstance(refs[i], str) else ""
        tokens = {t.upper() for t in _SPLIT.split(ref) if t}
        r = road[i]
        if isinstance(r, str) and r.replace(" ", "").upper() in tokens:
            out[i] = True
            continue
        loc = where[i]
        if not (isinstance(loc, str) and loc):
            continue
        if loc not in expanded:
            expanded[loc] = f" {loc.upper()} | {(site_name(loc) or '').upper()} "
        name = names[i].strip().upper() if isinstance(names[i], str) else ""
        words = ([name] if name else []) + sorted(tokens)
        out[i] = any(re.search(rf"\b{re.escape(w)}\b", expanded[loc]) for w in words)
    return out


def _set_aside(
    collisions: gpd.GeoDataFrame,
    far: np.ndarray,
    missing: np.ndarray,
    points: np.ndarray,
    tree: shapely.STRtree,
    source: str,
) -> pd.DataFrame:
    ids = collisions["collision_id"].to_numpy(dtype=object)
    detail = np.empty(0, dtype=object)
    if len(far):
        _, d = tree.query_nearest(points[far], return_distance=True, all_matches=False)
        detail = np.array([f"nearest road {x:.1f} m away" for x in d], dtype=object)
    return pd.DataFrame(
        {
            "source": source,
            "row": pd.array([pd.NA] * (len(far) + len(missing)), dtype="Int64"),
            "record_id": np.r_[ids[far], ids[missing]],
            "reason": ["beyond snap tolerance"] * len(far) + ["no geometry"] * len(missing),
            "detail": np.r_[detail, np.full(len(missing), "no point", dtype=object)],
        },
        index=collisions.index[np.r_[far, missing].astype(np.int64)],
    )


def _placed(
    rows: gpd.GeoDataFrame,
    points: np.ndarray,
    chosen: _Candidates,
    network: RoadNetwork,
    junction_radius_m: float,
) -> gpd.GeoDataFrame:
    """Return a copy of ``rows`` with link_id, chain_id, chain_m, snap_distance_m, junction_id.

    ``chosen``: the candidate each row snaps to, in row order.
    """
    links, chains, link = network.links, network.chains, chosen.link
    geoms = np.asarray(links.geometry.values, dtype=object)[link]
    along = shapely.line_locate_point(geoms, points)
    start = links["start_m"].to_numpy()[link]
    end = links["end_m"].to_numpy()[link]
    chain_m = np.where(links["forward"].to_numpy()[link], start + along, end - along)
    chain_id = links["chain_id"].iloc[link].to_numpy(dtype=object)
    chain = chains.index.get_indexer(pd.Index(chain_id, dtype=object))
    chain_len = np.r_[chains["length_m"].to_numpy(dtype=float), np.nan][chain]  # -1: not found
    ring = np.r_[chains["junction_id"].to_numpy(dtype=object), None][chain]
    snapped = rows.copy()
    snapped["link_id"] = links["link_id"].to_numpy()[link]
    snapped["chain_id"] = chain_id
    snapped["chain_m"] = np.clip(chain_m, 0.0, chain_len)
    snapped["snap_distance_m"] = chosen.distance
    snapped["junction_id"] = _junction_of(points, ring, network, junction_radius_m)
    return snapped


def _junction_of(
    points: np.ndarray, ring: np.ndarray, network: RoadNetwork, radius_m: float
) -> pd.api.extensions.ExtensionArray:
    """Return, per point, the junction of its chain (``ring``) or of the nearest junction node."""
    junctions = network.junctions
    out = np.array(ring, dtype=object)
    nodes = np.asarray(junctions["nodes"].to_numpy(), dtype=object)
    parts, owner = shapely.get_parts(nodes, return_index=True)
    if len(parts) and len(points):
        pi, ni, d = _within(shapely.STRtree(parts), points, radius_m)
        d = np.round(d, 6)
        ids = junctions["junction_id"].iloc[owner[ni]].to_numpy(dtype=object)
        order = np.lexsort((owner[ni], d, pi))  # junctions are sorted by id: owner breaks ties
        pi, ids = pi[order], ids[order]
        first = np.r_[True, pi[1:] != pi[:-1]][: len(pi)]
        pi, ids = pi[first], ids[first]
        fill = pd.isna(out[pi])
        out[pi[fill]] = ids[fill]
    return pd.array(out, dtype="string")
