"""Snap collisions to a road network, preferring the road each collision names."""

from __future__ import annotations

import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_sppa.crs import require_bng
from geo_sppa.errors import InputError
from geo_sppa.roads.network.build import RoadNetwork


@dataclass(frozen=True)
class SnappedCollisions:
    """Collisions placed on a :class:`RoadNetwork`.

    Attributes
    ----------
    snapped
        The input rows that snapped (same index, input columns kept) plus ``link_id``,
        ``chain_id``, ``chain_m`` (measure along the chain, m), ``snap_distance_m`` and
        ``junction_id`` (NA unless within the junction radius); geometry is the original point.
    set_aside
        Rows that could not be snapped: ``source``, ``row`` (NA), ``record_id``, ``reason``
        (``beyond snap tolerance`` or ``no geometry``), ``detail``.

    """

    snapped: gpd.GeoDataFrame
    set_aside: pd.DataFrame


def snapped_collisions(
    collisions: gpd.GeoDataFrame,
    network: RoadNetwork,
    *,
    tolerance_m: float = 30.0,
    junction_radius_m: float = 20.0,
    tie_m: float = 3.0,
    source: str = "collisions",
) -> SnappedCollisions:
    """Return collisions snapped to the nearest link of ``network``, and those set aside.

    Among links no more than ``tie_m`` farther than the nearest one, a link whose ``ref`` equals
    the collision's ``road_number``, or whose name or ref appears in its ``location`` text, wins;
    otherwise the nearest wins (exact ties: the lowest ``link_id``, which does not depend on
    input row order). A collision belongs to a junction when its point lies within
    ``junction_radius_m`` of one of the junction's nodes, or when it snaps to a chain inside the
    junction (a roundabout ring), which takes precedence.

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
        Candidates within this distance of the nearest are near-equal, metres.
    source
        Value for the ``source`` column of the set-aside rows.

    """
    _check_collisions(collisions)
    points = np.asarray(collisions.geometry.values, dtype=object)
    present = ~(shapely.is_missing(points) | shapely.is_empty(points))
    links = network.links
    link_geoms = np.asarray(links.geometry.values, dtype=object)
    tree = shapely.STRtree(link_geoms)
    pos = np.flatnonzero(present)
    # every link within tolerance, then the nearest: cheaper than query_nearest at this radius
    cand_pt, cand_link = tree.query(points[pos], predicate="dwithin", distance=tolerance_m)
    cand_d = shapely.distance(points[pos][cand_pt], link_geoms[cand_link])
    near, link = _preferred_links(collisions, pos, (cand_pt, cand_link, cand_d), links, tie_m)
    far = np.setdiff1d(pos, near)
    set_aside = _set_aside(collisions, far, np.flatnonzero(~present), points, tree, source)
    snapped = collisions.iloc[near].copy()
    _place(snapped, points[near], link, network, junction_radius_m)
    return SnappedCollisions(snapped=snapped, set_aside=set_aside)


def _check_collisions(collisions: gpd.GeoDataFrame) -> None:
    require_bng(collisions, what="collisions")
    missing = [c for c in ("collision_id", "severity") if c not in collisions.columns]
    if missing:
        raise InputError(f"collisions: missing column(s) {', '.join(missing)}; "
                         "read them with geo_sppa.io.read_collisions")  # fmt: skip
    if not collisions.index.is_unique:
        raise InputError("collisions: the index has duplicate labels; call reset_index() first")


def _preferred_links(collisions, pos, candidates, links, tie_m) -> tuple[np.ndarray, np.ndarray]:
    """Return the positions of collisions with a candidate link, and the chosen link of each."""
    cand_pt, cand_link, cand_d = candidates
    order = np.lexsort((cand_d, cand_pt))
    cand_pt, cand_link, cand_d = cand_pt[order], cand_link[order], cand_d[order]
    first = np.r_[True, cand_pt[1:] != cand_pt[:-1]][: len(cand_pt)]
    nearest = cand_d[first][np.cumsum(first) - 1]
    keep = cand_d <= nearest + tie_m
    cand_pt, cand_link, cand_d = cand_pt[keep], cand_link[keep], cand_d[keep]
    many = np.bincount(cand_pt, minlength=len(pos))[cand_pt] > 1
    hints = [collisions[c].notna().to_numpy() for c in ("road_number", "location")
             if c in collisions.columns]  # fmt: skip
    many &= np.logical_or.reduce(hints)[pos[cand_pt]] if hints else False
    match = np.zeros(len(cand_pt), bool)
    if many.any():
        match[many] = _names_match(collisions, pos[cand_pt[many]], links, cand_link[many])
    order = np.lexsort((cand_link, np.round(cand_d, 6), ~match, cand_pt))
    first = np.r_[True, cand_pt[order][1:] != cand_pt[order][:-1]][: len(cand_pt)]
    return pos[cand_pt[order][first]], cand_link[order][first]


_SPLIT = re.compile(r"[;,/]\s*|\s+")


def _names_match(collisions, rows, links, link_rows) -> np.ndarray:
    """True where link's ref equals the road_number or its name/ref appears in the location."""
    n = len(rows)
    road = (collisions["road_number"].to_numpy(dtype=object)[rows]
            if "road_number" in collisions.columns else np.full(n, None))  # fmt: skip
    where = (collisions["location"].to_numpy(dtype=object)[rows]
             if "location" in collisions.columns else np.full(n, None))  # fmt: skip
    names = links["name"].to_numpy(dtype=object)[link_rows]
    refs = links["ref"].to_numpy(dtype=object)[link_rows]
    out = np.zeros(n, bool)
    for i in range(n):
        ref = refs[i] if isinstance(refs[i], str) else ""
        tokens = {t.upper() for t in _SPLIT.split(ref) if t}
        r = road[i]
        if isinstance(r, str) and r.replace(" ", "").upper() in tokens:
            out[i] = True
            continue
        loc = where[i]
        if isinstance(loc, str) and loc:
            text = f" {loc.upper()} "
            name = names[i] if isinstance(names[i], str) else ""
            out[i] = (
                bool(name)
                and name.upper() in text
                or any(re.search(rf"\b{re.escape(t)}\b", text) for t in tokens)
            )
    return out


def _set_aside(collisions, far, missing, points, tree, source) -> pd.DataFrame:
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


def _place(snapped, points, link, network, junction_radius_m) -> None:
    """Add link_id, chain_id, chain_m, snap_distance_m and junction_id to ``snapped`` in place."""
    links = network.links
    geoms = np.asarray(links.geometry.values, dtype=object)[link]
    along = shapely.line_locate_point(geoms, points)
    start = links["start_m"].to_numpy()[link]
    end = links["end_m"].to_numpy()[link]
    chain_m = np.where(links["forward"].to_numpy()[link], start + along, end - along)
    chain_id = links["chain_id"].to_numpy(dtype=object)[link]
    chain_len = network.chains["length_m"].reindex(chain_id).to_numpy()
    snapped["link_id"] = links["link_id"].to_numpy()[link]
    snapped["chain_id"] = chain_id
    snapped["chain_m"] = np.clip(chain_m, 0.0, chain_len)
    snapped["snap_distance_m"] = shapely.distance(points, geoms)
    snapped["junction_id"] = _junction_of(points, chain_id, network, junction_radius_m)


def _junction_of(points, chain_id, network, radius_m) -> pd.array:
    """Per point, the junction of its chain (ring) or of the nearest junction node in range."""
    junctions = network.junctions
    out = network.chains["junction_id"].reindex(chain_id).to_numpy(dtype=object).copy()
    parts, owner = shapely.get_parts(junctions["nodes"].values, return_index=True)
    if len(parts) and len(points):
        pi, ni = shapely.STRtree(parts).query(points, predicate="dwithin", distance=radius_m)
        d = np.round(shapely.distance(points[pi], parts[ni]), 6)
        ids = junctions["junction_id"].to_numpy(dtype=object)[owner[ni]]
        order = np.lexsort((owner[ni], d, pi))  # junctions are sorted by id: owner breaks ties
        pi, ids = pi[order], ids[order]
        first = np.r_[True, pi[1:] != pi[:-1]][: len(pi)]
        pi, ids = pi[first], ids[first]
        fill = pd.isna(out[pi])
        out[pi[fill]] = ids[fill]
    return pd.array(out, dtype="string")
