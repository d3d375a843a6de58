"""Junctions of a noded network: merged node groups, their frame and names.

Nodes merge when near each other, on one round face (a roundabout ring) or on ways tagged as one
roundabout; chains from a junction back to it that lie within its footprint are inside it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo_sppa.crs import BNG

__all__ = ["HIGHWAY_RANK"]

#: Importance of a road by OSM ``highway`` (or OS Open Roads class); lower is more important.
HIGHWAY_RANK: dict[str, float] = {
    "motorway": 0, "motorway_link": 0.5, "trunk": 1, "trunk_link": 1.5, "a road": 1.5,
    "primary": 2, "primary_link": 2.5, "secondary": 3, "secondary_link": 3.5, "b road": 3.5,
    "tertiary": 4, "tertiary_link": 4.5, "classified unnumbered": 4.5, "unclassified": 6,
    "residential": 7, "not classified": 7, "living_street": 8, "busway": 9, "service": 9,
}  # fmt: skip
_UNNAMED = "unnamed road"


def _junction_groups(nodes, chains, merge_m, ring_d, roundabout_link) -> np.ndarray:
    """Return, per node, its junction number (-1 for nodes that are not junctions)."""
    jn = np.flatnonzero(nodes["degree"] >= 3)
    out = np.full(len(nodes["degree"]), -1, np.int64)
    if len(jn) == 0:
        return out
    pts = shapely.points(nodes["node_xy"][jn])
    tree = shapely.STRtree(pts)
    a, b = tree.query(pts, predicate="dwithin", distance=merge_m)
    ring_a, ring_b = _roundabout_pairs(tree, chains, ring_d)
    tag_a, tag_b = _tagged_roundabout_pairs(nodes, jn, roundabout_link)
    a, b = np.r_[a, ring_a, tag_a], np.r_[b, ring_b, tag_b]
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(jn), len(jn)))
    _, group = connected_components(graph, directed=False)
    out[jn] = group
    return out


def _tagged_roundabout_pairs(nodes, jn, roundabout_link) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of junction nodes (positions in ``jn``) joined by links tagged as a roundabout."""
    if not roundabout_link.any():
        return np.empty(0, np.int64), np.empty(0, np.int64)
    n = len(nodes["degree"])
    s, e = nodes["start"][roundabout_link], nodes["end"][roundabout_link]
    _, comp = connected_components(coo_matrix((np.ones(len(s)), (s, e)), shape=(n, n)),
                                   directed=False)  # fmt: skip
    on = np.zeros(n, bool)
    on[s], on[e] = True, True
    pos = np.flatnonzero(on[jn])
    if len(pos) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    first = pd.Series(pos).groupby(comp[jn[pos]]).transform("min").to_numpy()
    return first, pos


def _roundabout_pairs(tree, chains, ring_d) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of junction nodes (positions in the tree) on one small round face of the network."""
    chain_geoms, first, last = chains
    length = shapely.length(chain_geoms)
    chord = np.hypot(*(last - first).T)
    cand = chain_geoms[(length <= np.pi * ring_d / 2) & (chord <= ring_d)]
    if len(cand) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    parts = shapely.get_parts(shapely.polygonize(cand))
    faces = np.asarray(shapely.polygons(shapely.get_exterior_ring(parts)), dtype=object)
    round_ = 4 * np.pi * shapely.area(faces) / np.maximum(shapely.length(faces), 1e-9) ** 2
    across = shapely.minimum_bounding_radius(faces) * 2
    faces = faces[(round_ >= np.where(across > 60.0, 0.92, 0.85)) & (across <= ring_d)]
    face, node = tree.query(faces, predicate="dwithin", distance=0.05)
    if len(face) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    first = pd.Series(node).groupby(face).transform("min").to_numpy()
    return first, node


def _junction_frame(nodes, lines, junction_of_node) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """One row per junction: id, name, roads, n_nodes, centroid and nodes."""
    jn = np.flatnonzero(junction_of_node >= 0)
    group = junction_of_node[jn]
    xy = nodes["node_xy"][jn]
    frame = pd.DataFrame({"group": group, "x": xy[:, 0], "y": xy[:, 1]})
    first = frame.sort_values(["group", "x", "y"]).drop_duplicates("group").set_index("group")
    ids = _xy_ids(first["x"].to_numpy(), first["y"].to_numpy())
    id_of_group = pd.Series(ids, index=first.index)
    order = np.argsort(group, kind="stable")
    mp = shapely.multipoints(shapely.points(xy[order]), indices=group[order])
    centre = frame.groupby("group")[["x", "y"]].mean()
    roads = _junction_roads(nodes, lines, junction_of_node)
    out = gpd.GeoDataFrame(
        {
            "junction_id": id_of_group.sort_index().to_numpy(),
            "n_nodes": np.bincount(group),
            "nodes": gpd.GeoSeries(mp, crs=BNG),
        },
        geometry=shapely.points(centre.sort_index().to_numpy()),
        crs=BNG,
    )
    out["roads"] = pd.Series(roads, index=out.index, dtype=object)
    out["name"] = [_junction_name(r) for r in out["roads"]]
    group_ids = out["junction_id"].to_numpy(dtype=object)
    out = out.set_index("junction_id", drop=False).sort_index()
    out.index.name = None
    return out[["junction_id", "name", "roads", "n_nodes", "geometry", "nodes"]], group_ids


def _xy_ids(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xs, ys = np.rint(x).astype(np.int64).tolist(), np.rint(y).astype(np.int64).tolist()
    return np.array([f"{a}_{b}" for a, b in zip(xs, ys, strict=True)], dtype=object)


def _labels(lines: gpd.GeoDataFrame) -> pd.Series:
    """Return each road's label: its name, else its ref, else NA."""
    return pd.Series(_label_values(lines["name"]), index=lines.index).fillna(
        pd.Series(_label_values(lines["ref"]), index=lines.index)
    )


def _label_values(values: pd.Series) -> np.ndarray:
    """Return stripped non-empty strings, NA elsewhere (computed once per distinct value)."""
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    clean = np.array([v.strip() or None if isinstance(v, str) else None for v in uniq] + [None],
                     dtype=object)  # fmt: skip
    return clean[codes]


def _ranks(highway: pd.Series) -> np.ndarray:
    codes, uniq = pd.factorize(highway, use_na_sentinel=True)
    rank = np.array([HIGHWAY_RANK.get(str(v).strip().lower(), 10.0) for v in uniq] + [10.0])
    return rank[codes]


def _junction_roads(nodes, lines, junction_of_node) -> list[tuple]:
    """Per junction number, the tuple of road labels meeting there, most important first.

    Named roads come before ``unnamed road``, then by highway rank, then by how many link ends
    carry the label, then alphabetically.
    """
    code, found = pd.factorize(_labels(lines).fillna(_UNNAMED), use_na_sentinel=False)
    uniq = np.asarray(found, dtype=object)
    alpha = np.empty(len(uniq), np.int64)
    alpha[np.argsort(uniq.astype(str), kind="stable")] = np.arange(len(uniq))
    row = np.r_[nodes["link_line"], nodes["link_line"]]
    jun = junction_of_node[np.r_[nodes["start"], nodes["end"]]]
    at = jun >= 0
    j, lab, rank = jun[at], code[row[at]], _ranks(lines["highway"])[row[at]]
    order = np.lexsort((rank, lab, j))
    j, lab, rank = j[order], lab[order], rank[order]
    new = np.r_[True, (j[1:] != j[:-1]) | (lab[1:] != lab[:-1])][: len(j)]
    starts = np.flatnonzero(new)
    count = np.diff(np.r_[starts, len(j)])
    j, lab, rank = j[new], lab[new], rank[new]  # rank: the group's minimum (sorted)
    order = np.lexsort((alpha[lab], -count, rank, uniq[lab] == _UNNAMED, j))
    n_groups = int(junction_of_node.max()) + 1
    return _split_by(j[order], uniq[lab[order]], n_groups)


def _split_by(keys: np.ndarray, values: np.ndarray, n_groups: int, kind=tuple) -> list:
    """``values`` grouped by sorted integer ``keys`` in ``0 .. n_groups - 1``, one entry each."""
    bounds = np.searchsorted(keys, np.arange(n_groups + 1))
    return [kind(values[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _junction_name(roads: tuple) -> str:
    if not roads:
        return f"{_UNNAMED} junction"
    if len(roads) == 1:
        return f"{roads[0]} junction" if roads[0] != _UNNAMED else f"{_UNNAMED} junction"
    return f"{roads[0]} junction {roads[1]}"


def _inside_junction(geoms, ends, length, junctions, roundabout_chain) -> np.ndarray:
    """Return True for chains from a junction back to it that lie within its footprint.

    Short loops (up to pi * 60 m, as before), ring arcs no farther from the junction's centre
    than its farthest node plus 10 m, and chains of ways tagged as a roundabout.
    """
    sj, ej = ends
    loop = (sj == ej) & pd.notna(sj)
    inside = loop & ((length <= np.pi * 60.0) | roundabout_chain)
    rest = np.flatnonzero(loop & ~inside)
    if len(rest):
        at = junctions.loc[sj[rest]]
        centre = at.geometry.to_numpy()
        radius = shapely.hausdorff_distance(at["nodes"].to_numpy(), centre)
        inside[rest] = shapely.hausdorff_distance(geoms[rest], centre) <= radius + 10.0
    return inside
