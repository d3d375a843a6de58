"""Junctions of a noded network: merged node groups, their frame and names.

Nodes merge when near each other, on one round face (a roundabout ring) or on ways tagged as one
roundabout; chains from a junction back to it that lie within its footprint are inside it.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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


def _junction_frame(
    nodes, lines, junction_of_node
) -> tuple[gpd.GeoDataFrame, pd.api.extensions.ExtensionArray]:
    """One row per junction: id, name, roads, n_nodes, centroid and nodes.

    Also returns the junction id of each junction number (a ``str`` array).
    """
    jn = np.flatnonzero(junction_of_node >= 0)
    if len(jn) == 0:
        return _no_junctions(), pd.array([], dtype="str")
    order = np.argsort(junction_of_node[jn], kind="stable")
    group, xy = junction_of_node[jn][order], nodes["node_xy"][jn][order]
    n_groups = int(junction_of_node.max()) + 1
    first = np.lexsort((xy[:, 1], xy[:, 0], group))  # the south-west-most node of each
    first = first[np.r_[True, group[first][1:] != group[first][:-1]][: len(first)]]
    id_of_group = _xy_ids(xy[first, 0], xy[first, 1])
    at = nodes["node_xy"][jn]  # the mean's sums depend on row order: node order, as before
    centre = pd.DataFrame({"x": at[:, 0], "y": at[:, 1]}).groupby(junction_of_node[jn]).mean()
    bounds, label, labels = _junction_roads(nodes, lines, junction_of_node, n_groups)
    roads = _road_tuples(bounds, label, labels)
    names = _junction_names(bounds, label, labels)
    by_id = id_of_group.argsort()  # unique: road_network merges nodes under 1.5 m apart
    index = pd.Index(id_of_group.take(by_id))
    out = gpd.GeoDataFrame(
        {
            "junction_id": id_of_group.take(by_id),
            "name": names.take(by_id),
            "roads": pd.Series(roads, dtype=object).take(by_id).to_numpy(),
            "n_nodes": np.bincount(group, minlength=n_groups)[by_id],
            "geometry": shapely.points(centre.to_numpy().reshape(-1, 2)[by_id]),
            "nodes": gpd.GeoSeries(shapely.multipoints(xy, indices=group)[by_id], crs=BNG,
                                   index=index),
        },
        geometry="geometry", crs=BNG, index=index,
    )  # fmt: skip
    return out, id_of_group


def _junction_ids(id_of_group, group: np.ndarray):
    """Junction id per junction number in ``group`` (-1: none): a ``str`` array, NaN for none.

    An object array of None when no entry has a junction (the column type that always had).
    """
    if not (group >= 0).any():
        return np.full(len(group), None, dtype=object)
    return id_of_group.take(group, allow_fill=True)


def _no_junctions() -> gpd.GeoDataFrame:
    """Return the junction frame of a network with no junction (its usual column types)."""
    none = gpd.GeoSeries([], crs=BNG, index=pd.Index([], dtype=object))
    return gpd.GeoDataFrame(
        {"junction_id": np.empty(0, object), "name": np.empty(0), "roads": np.empty(0, object),
         "n_nodes": np.empty(0, np.int64), "geometry": none, "nodes": none},
        geometry="geometry", crs=BNG, index=none.index,
    )  # fmt: skip


def _xy_ids(x: np.ndarray, y: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``"<e>_<n>"`` of coordinates rounded to metres, as a ``str`` array."""
    e, n = (pc.cast(pa.array(np.rint(v).astype(np.int64)), pa.string()) for v in (x, y))
    return pd.array(pc.binary_join_element_wise(e, n, "_"), dtype="str")


def _label_codes(lines: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per line, the code of its label (its name, else its ref, else ``unnamed road``).

    Returns the codes and the distinct labels they index; equal texts share a code.
    """
    name, names = _label_values(lines["name"])
    ref, refs = _label_values(lines["ref"])
    texts = np.r_[names, refs, np.array([_UNNAMED], dtype=object)]
    code_of_text, labels = pd.factorize(texts, use_na_sentinel=True)
    at = np.where(pd.notna(names)[name], name,
                  np.where(pd.notna(refs)[ref], len(names) + ref, len(texts) - 1))  # fmt: skip
    return code_of_text[at], np.asarray(labels, dtype=object)


def _label_values(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``values`` and their stripped non-empty texts (None where empty or missing).

    The texts end with None, for missing values (code -1).
    """
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    clean = np.array([v.strip() or None if isinstance(v, str) else None for v in uniq] + [None],
                     dtype=object)  # fmt: skip
    return codes, clean


def _ranks(highway: pd.Series) -> np.ndarray:
    codes, uniq = pd.factorize(highway, use_na_sentinel=True)
    rank = np.array([HIGHWAY_RANK.get(str(v).strip().lower(), 10.0) for v in uniq] + [10.0])
    return rank[codes]


def _junction_roads(
    nodes, lines, junction_of_node, n_groups
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the road labels meeting at each junction, most important first.

    Named roads come before ``unnamed road``, then by highway rank, then by how many link ends
    carry the label, then alphabetically. Returns where each junction's labels start and end
    (``n_groups + 1`` bounds), the label codes in that order, and the labels they index.
    """
    code, labels = _label_codes(lines)
    alpha = np.empty(len(labels), np.int64)
    alpha[np.argsort(labels.astype(str), kind="stable")] = np.arange(len(labels))
    row = np.r_[nodes["link_line"], nodes["link_line"]]
    jun = junction_of_node[np.r_[nodes["start"], nodes["end"]]]
    at = jun >= 0
    j, lab, rank = jun[at], code[row[at]], _ranks(lines["highway"])[row[at]]
    key = j * len(labels) + lab  # one int64 per (junction, label), sorting as the pair
    order = np.argsort(key)
    key, rank = key[order], rank[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]][: len(key)])
    count = np.diff(np.r_[starts, len(key)])
    rank = np.minimum.reduceat(rank, starts) if len(key) else rank  # the pair's best rank
    j, lab = np.divmod(key[starts], len(labels))
    order = np.lexsort((alpha[lab], -count, rank, labels[lab] == _UNNAMED, j))
    return np.searchsorted(j[order], np.arange(n_groups + 1)), lab[order], labels


def _road_tuples(bounds: np.ndarray, label: np.ndarray, labels: np.ndarray) -> list[tuple]:
    """Per junction, the tuple of its road labels (``bounds`` index into ``label``)."""
    text = labels[label].tolist()
    return [
        tuple(text[a:b]) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
    ]


def _junction_names(
    bounds: np.ndarray, label: np.ndarray, labels: np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """``"<road A> junction <road B>"`` per junction (``"<road A> junction"`` with one road).

    ``unnamed road junction`` where no road meets. A ``str`` array.
    """
    count = np.diff(bounds)
    text = pa.array(np.r_[labels, np.array([_UNNAMED], dtype=object)], pa.string())
    none = len(labels)  # the extra "unnamed road"
    at = np.r_[label, none]
    first = np.where(count >= 1, at[bounds[:-1]], none)
    second = np.where(count >= 2, at[np.minimum(bounds[:-1] + 1, len(label))], none)
    a, b = text.take(pa.array(first)), text.take(pa.array(second))
    one = pc.binary_join_element_wise(a, "junction", " ")
    two = pc.binary_join_element_wise(a, "junction", b, " ")
    return pd.array(pc.if_else(pa.array(count >= 2), two, one), dtype="str")


def _split_by(keys: np.ndarray, values: np.ndarray, n_groups: int, kind=tuple) -> list:
    """``values`` grouped by sorted integer ``keys`` in ``0 .. n_groups - 1``, one entry each."""
    bounds = np.searchsorted(keys, np.arange(n_groups + 1))
    return [kind(values[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _inside_junction(geoms, ends, start_ids, length, junctions, roundabout_chain) -> np.ndarray:
    """Return True for chains from a junction back to it that lie within its footprint.

    Short loops (up to pi * 60 m, as before), ring arcs no farther from the junction's centre
    than its farthest node plus 10 m, and chains of ways tagged as a roundabout. ``ends`` are
    the junction numbers at each chain's start and end (-1: none), ``start_ids`` the ids at its
    start.
    """
    start, end = ends
    loop = (start == end) & (start >= 0)
    inside = loop & ((length <= np.pi * 60.0) | roundabout_chain)
    rest = np.flatnonzero(loop & ~inside)
    if len(rest):
        at = junctions.loc[start_ids[rest]]
        centre = at.geometry.to_numpy()
        radius = shapely.hausdorff_distance(at["nodes"].to_numpy(), centre)
        inside[rest] = shapely.hausdorff_distance(geoms[rest], centre) <= radius + 10.0
    return inside
