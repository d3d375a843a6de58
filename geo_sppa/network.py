"""Network-mode cluster scan: junction sites and 100 m road-link sites on a noded road network.

Three pure steps, each vectorised with shapely 2 / numpy so a national network (about a million
links, a few hundred thousand collisions) runs in well under a minute:

1. :func:`road_network` nodes a line layer at its endpoints and shared vertices (never at bare
   geometric crossings, so bridges do not become junctions), chains links through degree-2 nodes
   and merges the nodes of one physical junction (nodes within ``junction_merge_m``, transitively,
   plus every node on a small round face: a roundabout ring).
2. :func:`snapped_collisions` snaps each collision to the nearest link within a tolerance,
   preferring, among near-equal candidates, a road whose name or ref the collision names.
3. :func:`network_sites` counts collisions per junction and in 100 m windows along chains and
   keeps those meeting a :class:`~geo_sppa.rules.Rule`.

Design choices (see also each function):

* A junction is a node where 3+ link ends meet. Junction ids and chain ids come from rounded
  coordinates (metres), never from row order, and the network frames are sorted by keys derived
  from geometry, so shuffling the input rows changes nothing.
* Junction merging: junction nodes within ``junction_merge_m`` are merged transitively
  (union-find with ``connected_components``), and so are all junction nodes on a small, round
  face of the network (``polygonize`` of short chains; circularity >= 0.85, so square blocks are
  not roundabouts; at most ``roundabout_max_diameter_m`` across). Chains lying inside one
  junction (ring arcs, short connectors) belong to it.
* Snapping ties: among links within ``tie_m`` of the nearest, one named by the collision's
  ``road_number`` or ``location`` wins; then the nearest; then the lowest ``link_id``.
* Collisions in a qualifying junction site are not counted again in link windows; collisions at a
  junction that does not qualify on its own may still count in a link window along the road.
* Link windows are anchored at collisions (exact, equivalent to a step of 0 m), and chosen greedily:
  the peak window of a chain becomes a site, its collisions are removed, and the chain is scanned
  again. A run of qualifying windows therefore gives its peak as one site, and a long bad stretch
  gives several non-overlapping sites rather than one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.ops import substring

from geo_sppa.errors import InputError
from geo_sppa.rules import Rule

__all__ = [
    "RoadNetwork",
    "SnappedCollisions",
    "road_network",
    "snapped_collisions",
    "network_sites",
    "members_of_sites",
    "HIGHWAY_RANK",
]

BNG = "EPSG:27700"
_GRID = 100.0  # vertices are identified on a 1 cm grid
#: Importance of a road by OSM ``highway`` (or OS Open Roads class); lower is more important.
HIGHWAY_RANK: dict[str, float] = {
    "motorway": 0, "motorway_link": 0.5, "trunk": 1, "trunk_link": 1.5, "a road": 1.5,
    "primary": 2, "primary_link": 2.5, "secondary": 3, "secondary_link": 3.5, "b road": 3.5,
    "tertiary": 4, "tertiary_link": 4.5, "classified unnumbered": 4.5, "unclassified": 6,
    "residential": 7, "not classified": 7, "living_street": 8, "busway": 9, "service": 9,
}  # fmt: skip
_UNNAMED = "unnamed road"


@dataclass(frozen=True)
class RoadNetwork:
    """A noded, chained road network with merged junctions, all in EPSG:27700.

    Attributes
    ----------
    links
        Noded pieces of the input lines, sorted along their chains: ``link_id`` (int, position in
        this frame), ``chain_id``, ``start_m`` / ``end_m`` (measures along the chain),
        ``forward`` (True when the link runs the same way as its chain), ``road_id``, ``name``,
        ``ref``, ``highway``, ``geometry``.
    chains
        Maximal runs of links between junction or end nodes (through degree-2 nodes), running
        from their south-west end, indexed by ``chain_id`` (``"<e>_<n>-<e>_<n>"``: rounded start
        and end coordinates, metres; ``~k`` added for parallel chains with the same ends) and
        sorted by those coordinates: ``name``, ``ref``, ``highway`` (of the longest link),
        ``length_m``,
        ``start_junction_id`` / ``end_junction_id`` (NA at dead ends), ``junction_id`` (set when
        the chain lies inside one junction, e.g. a roundabout ring), ``geometry``.
    junctions
        One row per physical junction, indexed and sorted by ``junction_id`` (``"<e>_<n>"`` of its
        south-west-most node): ``name`` (``"<road A> junction <road B>"``), ``roads`` (tuple of
        road labels, most important first), ``n_nodes``, ``geometry`` (centroid of the nodes),
        ``nodes`` (MultiPoint).
    """

    links: gpd.GeoDataFrame
    chains: gpd.GeoDataFrame
    junctions: gpd.GeoDataFrame


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


# --------------------------------------------------------------------------------------------
# road_network
# --------------------------------------------------------------------------------------------


def road_network(
    roads: gpd.GeoDataFrame,
    *,
    junction_merge_m: float = 15.0,
    roundabout_max_diameter_m: float = 60.0,
) -> RoadNetwork:
    """Return the noded, chained network of ``roads`` with merged junctions.

    Parameters
    ----------
    roads
        Lines in EPSG:27700 with columns ``road_id, name, ref, highway, geometry``
        (LineString; MultiLineStrings are split into parts). Not modified.
    junction_merge_m
        Junction nodes closer than this, transitively, are one junction (dual carriageways,
        staggered and compact junctions), metres.
    roundabout_max_diameter_m
        Every junction node on a round face of the network (circularity 4*pi*A/P**2 >= 0.85)
        no wider than this is merged into one junction: a roundabout ring, metres.

    Raises
    ------
    InputError
        Wrong CRS, missing columns, or no usable line.
    """
    lines = _checked_roads(roads)
    nodes = _noded(lines)
    chain_of_link, (chain_geoms, first, last), measures = _chains(nodes)
    junction_of_node = _junction_groups(nodes, (chain_geoms, first, last), junction_merge_m,
                                        roundabout_max_diameter_m)
    junctions, id_of_group = _junction_frame(nodes, lines, junction_of_node)
    chains, links = _chain_and_link_frames(nodes, lines, chain_of_link, (chain_geoms, first, last),
                                           measures, junction_of_node, id_of_group,
                                           roundabout_max_diameter_m)  # fmt: skip
    return RoadNetwork(links=links, chains=chains, junctions=junctions)


def _checked_roads(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(roads, gpd.GeoDataFrame):
        raise InputError(f"roads: expected a GeoDataFrame, got {type(roads).__name__}")
    if roads.crs is None or not roads.crs.equals(BNG):
        raise InputError(
            f"roads: expected EPSG:27700 (British National Grid), found {roads.crs}; "
            "reproject with geo_sppa.crs.to_british_national_grid"
        )
    missing = [c for c in ("road_id", "name", "ref", "highway") if c not in roads.columns]
    if missing:
        raise InputError(f"roads: missing column(s) {', '.join(missing)}; the loader's "
                         "read_roads gives road_id, name, ref, highway, geometry")
    lines = roads[["road_id", "name", "ref", "highway", roads.geometry.name]]
    lines = lines.rename_geometry("geometry") if roads.geometry.name != "geometry" else lines
    kind = shapely.get_type_id(lines.geometry.values)
    lines = lines[(kind == 1) | (kind == 5)]
    if (kind == 5).any():
        lines = lines.explode(index_parts=False)
    lines = lines.reset_index(drop=True)
    lines = lines[~lines.geometry.is_empty & (lines.geometry.length > 0)].reset_index(drop=True)
    if lines.empty:
        raise InputError("roads: no LineString with a length; expected a road line layer")
    return lines


def _noded(lines: gpd.GeoDataFrame) -> dict:
    """Split lines at shared vertices; return link geometries, their source rows and end nodes."""
    coords, line = shapely.get_coordinates(lines.geometry.values, return_index=True)
    coords = np.round(coords, 2)
    same = np.r_[False, (line[1:] == line[:-1]) & (coords[1:] == coords[:-1]).all(axis=1)]
    coords, line = coords[~same], line[~same]
    keep = np.bincount(line, minlength=len(lines))[line] >= 2
    coords, line = coords[keep], line[keep]
    first = np.r_[True, line[1:] != line[:-1]]
    last = np.r_[line[1:] != line[:-1], True]
    keys, vid = _vertex_ids(coords)
    end_any = np.zeros(len(keys), bool)
    end_any[vid[first | last]] = True
    is_node = end_any | (np.bincount(vid, minlength=len(keys)) >= 2)
    split = is_node[vid] & ~first & ~last
    rep = 1 + split.astype(np.int64)
    c = np.cumsum(first.astype(np.int64) + split) - 1
    piece = np.repeat(c - split, rep)
    offsets = np.cumsum(rep) - rep
    piece[offsets[split] + 1] += 1
    pcoords = np.repeat(coords, rep, axis=0)
    pvid = np.repeat(vid, rep)
    starts = np.r_[True, piece[1:] != piece[:-1]]
    ends = np.r_[piece[1:] != piece[:-1], True]
    link_geoms = shapely.linestrings(pcoords, indices=piece)
    node_xy = np.zeros((len(keys), 2))
    node_xy[vid] = coords
    start, end = pvid[starts], pvid[ends]
    degree = np.bincount(np.r_[start, end], minlength=len(keys))
    return {
        "link_geoms": link_geoms, "link_line": np.repeat(line, rep)[starts],
        "start": start, "end": end, "degree": degree, "keys": keys, "node_xy": node_xy,
        "coords": pcoords, "offset": np.flatnonzero(starts),
        "n_coords": np.diff(np.r_[np.flatnonzero(starts), len(piece)]),
    }  # fmt: skip


def _vertex_ids(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return sorted unique integer keys of 1 cm grid cells and each coordinate's key index."""
    keys = _keys(coords)
    uniq, vid = np.unique(keys, return_inverse=True)
    return uniq, vid.ravel()


def _keys(coords: np.ndarray) -> np.ndarray:
    xi = np.rint(coords[:, 0] * _GRID).astype(np.int64) + (1 << 30)
    yi = np.rint(coords[:, 1] * _GRID).astype(np.int64) + (1 << 30)
    return (xi << 32) | yi


def _chains(nodes: dict):
    """Chain links through degree-2 nodes.

    Each link is two half-edges (``i``: start to end, ``n + i``: end to start); a half-edge's
    successor continues through a degree-2 node, so chains are paths of half-edges, ranked by
    pointer jumping (O(log length) numpy passes). Of a path and its reverse, the one starting at
    the south-west end is kept. Rings of degree-2 nodes only (no junction) are merged apart.

    Returns
    -------
    tuple
        Chain number per link; (chain geometries, first and last coordinates); (start measure
        along the chain per link, NaN on rings, and whether the link runs the chain's way).
    """
    start, end, degree = nodes["start"], nodes["end"], nodes["degree"]
    n = len(start)
    node = np.r_[start, end]  # link end e: start side of link e, or end side of link e - n
    at2 = np.flatnonzero(degree[node] == 2)
    at2 = at2[np.argsort(node[at2], kind="stable")]
    other = np.full(2 * n, -1, np.int64)
    other[at2[0::2]], other[at2[1::2]] = at2[1::2], at2[0::2]
    half = np.arange(2 * n)
    succ = other[(half + n) % (2 * n)]  # leaves from the end its predecessor arrives at
    ptr = np.where(succ >= 0, succ, half)
    steps = (succ >= 0).astype(np.int64)
    active = succ >= 0
    for _ in range(int(np.ceil(np.log2(2 * n + 1))) + 2):  # rings never finish: capped
        idx = np.flatnonzero(active)
        if len(idx) == 0:
            break
        steps[idx] += steps[ptr[idx]]
        ptr[idx] = ptr[ptr[idx]]
        active[idx] = succ[ptr[idx]] >= 0
    on_path = succ[ptr] < 0
    return _path_chains(nodes, succ, ptr, steps, on_path)


def _path_chains(nodes, succ, ptr, steps, on_path):
    start, end, xy = nodes["start"], nodes["end"], nodes["node_xy"]
    n = len(start)
    half = np.arange(2 * n)
    tail = np.where(half < n, start[half % n], end[half % n])
    head = np.where(half < n, end[half % n], start[half % n])
    length = shapely.length(nodes["link_geoms"])
    is_first = on_path & (np.bincount(succ[succ >= 0], minlength=2 * n) == 0)
    f = np.flatnonzero(is_first)
    last = ptr[f]
    keep = _south_west_first(xy[tail[f]], xy[head[last]], xy[head[f]], xy[tail[last]],
                             length[f % n], length[last % n], f < n)  # fmt: skip
    kept = np.zeros(2 * n, bool)
    kept[last[keep]] = True
    reverse_last = (f + n) % (2 * n)  # the last half-edge of the path run backwards
    keep &= ~(kept[reverse_last] & (reverse_last < last))  # full ties: keep one of the two
    chain_of_path = np.full(2 * n, -1, np.int64)
    chain_of_path[last[keep]] = np.arange(int(keep.sum()))
    member = np.flatnonzero(on_path & (chain_of_path[ptr] >= 0))
    chain = chain_of_path[ptr[member]]
    pos = -steps[member]
    order = np.lexsort((pos, chain))
    member, chain = member[order], chain[order]
    link = member % n
    new_chain = np.r_[True, chain[1:] != chain[:-1]][: len(chain)]
    cum = np.cumsum(length[link])
    before = cum - length[link]
    start_m = before - before[new_chain][np.cumsum(new_chain) - 1]
    geoms = (_joined(nodes, link, member < n, chain, new_chain) if len(member)
             else np.empty(0, dtype=object))  # fmt: skip
    chain_of_link = np.full(n, -1, np.int64)
    chain_of_link[link] = chain
    link_start = np.full(n, np.nan)
    link_start[link] = start_m
    forward = np.zeros(n, bool)
    forward[link] = member < n
    last_of_chain = np.r_[new_chain[1:], True][: len(chain)]
    first_xy, last_xy = xy[tail[member[new_chain]]], xy[head[member[last_of_chain]]]
    ring = chain_of_link < 0
    if ring.any():  # closed loops of degree-2 nodes only: rare, merged by GEOS
        geoms, first_xy, last_xy, chain_of_link = _rings(nodes, ring, chain_of_link, geoms,
                                                         first_xy, last_xy)  # fmt: skip
    return chain_of_link, (geoms, first_xy, last_xy), (link_start, forward)


def _south_west_first(a, b, a2, b2, len_a, len_b, fwd) -> np.ndarray:
    """True for the one path of each pair (a path and its reverse) that starts south-west."""
    def less(p, q):
        return (p[:, 0] < q[:, 0]) | ((p[:, 0] == q[:, 0]) & (p[:, 1] < q[:, 1]))

    def same(p, q):
        return (p == q).all(axis=1)

    tie3 = (len_a == len_b) & fwd
    tie2 = np.where(same(a2, b2), (len_a < len_b) | tie3, less(a2, b2))
    return np.where(same(a, b), tie2, less(a, b))


def _joined(nodes, link, fwd, chain, new_chain) -> np.ndarray:
    """Chain geometries from their links' coordinates, in order, shared nodes once."""
    off, cnt = nodes["offset"][link], nodes["n_coords"][link]
    skip = (~new_chain).astype(np.int64)
    use = cnt - skip
    base = np.where(fwd, off + skip, off + cnt - 1 - skip)
    rep = np.repeat(np.arange(len(link)), use)
    within = np.arange(int(use.sum())) - np.repeat(np.cumsum(use) - use, use)
    idx = np.where(fwd[rep], base[rep] + within, base[rep] - within)
    return shapely.linestrings(nodes["coords"][idx], indices=chain[rep])


def _rings(nodes, ring, chain_of_link, geoms, first_xy, last_xy):
    """Append chains for rings with no junction: merged lines, canonical start and direction."""
    links = np.flatnonzero(ring)
    local = np.full(len(ring), -1, np.int64)
    local[links] = np.arange(len(links))
    node = np.r_[nodes["start"][links], nodes["end"][links]]
    who = np.r_[np.arange(len(links)), np.arange(len(links))]
    order = np.argsort(node, kind="stable")
    a, b = who[order][0::2], who[order][1::2]
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(links), len(links)))
    k, comp = connected_components(graph, directed=False)
    o = np.argsort(comp, kind="stable")
    merged = shapely.line_merge(shapely.multilinestrings(nodes["link_geoms"][links][o],
                                                         indices=comp[o]))  # fmt: skip
    merged, f, l_ = _canonical(merged)
    chain_of_link = chain_of_link.copy()
    chain_of_link[links] = len(geoms) + comp
    return np.r_[geoms, merged], np.r_[first_xy, f], np.r_[last_xy, l_], chain_of_link


def _ends(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last coordinates of each line."""
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    n = np.bincount(idx, minlength=len(geoms))
    off = np.cumsum(n) - n
    return coords[off], coords[off + n - 1]


def _canonical(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orient lines from their south-west end; closed lines start at their lowest vertex.

    Returns the lines and their first and last coordinates.
    """
    geoms = geoms.copy()
    first, last = _ends(geoms)
    flip = (first[:, 0] > last[:, 0]) | ((first[:, 0] == last[:, 0]) & (first[:, 1] > last[:, 1]))
    geoms[flip] = shapely.reverse(geoms[flip])
    first[flip], last[flip] = last[flip], first[flip].copy()
    for i in np.flatnonzero((first == last).all(axis=1)):
        geoms[i] = _canonical_ring(geoms[i])
        first[i] = last[i] = shapely.get_coordinates(geoms[i])[0]
    return geoms, first, last


def _canonical_ring(ring: shapely.LineString) -> shapely.LineString:
    xy = shapely.get_coordinates(ring)[:-1]
    k = np.lexsort((xy[:, 1], xy[:, 0]))[0]
    xy = np.roll(xy, -k, axis=0)
    if len(xy) > 2 and tuple(xy[-1]) < tuple(xy[1]):
        xy = np.r_[xy[:1], xy[1:][::-1]]
    return shapely.LineString(np.r_[xy, xy[:1]])


def _junction_groups(nodes, chains, merge_m, ring_d) -> np.ndarray:
    """Return, per node, its junction number (-1 for nodes that are not junctions)."""
    jn = np.flatnonzero(nodes["degree"] >= 3)
    out = np.full(len(nodes["degree"]), -1, np.int64)
    if len(jn) == 0:
        return out
    pts = shapely.points(nodes["node_xy"][jn])
    tree = shapely.STRtree(pts)
    a, b = tree.query(pts, predicate="dwithin", distance=merge_m)
    ring_a, ring_b = _roundabout_pairs(tree, chains, ring_d)
    a, b = np.r_[a, ring_a], np.r_[b, ring_b]
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(jn), len(jn)))
    _, group = connected_components(graph, directed=False)
    out[jn] = group
    return out


def _roundabout_pairs(tree, chains, ring_d) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of junction nodes (positions in the tree) on one small round face of the network."""
    chain_geoms, first, last = chains
    length = shapely.length(chain_geoms)
    chord = np.hypot(*(last - first).T)
    cand = chain_geoms[(length <= np.pi * ring_d) & (chord <= ring_d)]
    if len(cand) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    faces = shapely.get_parts(shapely.polygonize(cand))
    faces = shapely.polygons(shapely.get_exterior_ring(faces))
    round_ = 4 * np.pi * shapely.area(faces) / np.maximum(shapely.length(faces), 1e-9) ** 2
    small = shapely.minimum_bounding_radius(faces) * 2 <= ring_d
    faces = faces[(round_ >= 0.85) & small]
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
    id_of_group = out["junction_id"].to_numpy(dtype=object)
    out = out.set_index("junction_id", drop=False).sort_index()
    out.index.name = None
    return out[["junction_id", "name", "roads", "n_nodes", "geometry", "nodes"]], id_of_group


def _xy_ids(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xs, ys = np.rint(x).astype(np.int64).tolist(), np.rint(y).astype(np.int64).tolist()
    return np.array([f"{a}_{b}" for a, b in zip(xs, ys)], dtype=object)


def _labels(lines: gpd.GeoDataFrame) -> pd.Series:
    """A road's label: its name, else its ref, else NA."""
    return pd.Series(_label_values(lines["name"]), index=lines.index).fillna(
        pd.Series(_label_values(lines["ref"]), index=lines.index)
    )


def _label_values(values: pd.Series) -> np.ndarray:
    """Stripped non-empty strings, NA elsewhere (computed once per distinct value)."""
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
    code, uniq = pd.factorize(_labels(lines).fillna(_UNNAMED), use_na_sentinel=False)
    uniq = np.asarray(uniq, dtype=object)
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
    return [kind(values[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _junction_name(roads: tuple) -> str:
    if not roads:
        return f"{_UNNAMED} junction"
    if len(roads) == 1:
        return f"{roads[0]} junction" if roads[0] != _UNNAMED else f"{_UNNAMED} junction"
    return f"{roads[0]} junction {roads[1]}"


def _chain_and_link_frames(nodes, lines, chain_of_link, chains, measures, junction_of_node,
                           id_of_group, ring_d):  # fmt: skip
    """Build the chains frame (sorted by end coordinates) and the links frame (along chains)."""
    geoms, first, last = chains
    length = shapely.length(geoms)
    ends = np.rint(np.c_[first, last]).astype(np.int64)
    order = _chain_order(geoms, ends, length)
    geoms, first, last = geoms[order], first[order], last[order]
    length, ends = length[order], ends[order]
    new_pos = np.empty_like(order)
    new_pos[order] = np.arange(len(order))
    chain_of_link = new_pos[chain_of_link]
    same = np.r_[False, (ends[1:] == ends[:-1]).all(axis=1)]
    group_start = np.maximum.accumulate(np.where(same, 0, np.arange(len(same))))
    rank = np.arange(len(same)) - group_start
    ids = np.array([f"{a}_{b}-{c}_{d}" + (f"~{r}" if r else "") for (a, b, c, d), r in
                    zip(ends.tolist(), rank.tolist())], dtype=object)  # fmt: skip
    jid = np.r_[id_of_group, None]  # group -1 (no junction) maps to None
    sj = jid[junction_of_node[_node_at(nodes, first)]]
    ej = jid[junction_of_node[_node_at(nodes, last)]]
    inside = (sj == ej) & pd.notna(sj) & (length <= np.pi * ring_d)
    links, longest = _link_frame(nodes, lines, chain_of_link, (geoms, first, last), measures, ids)
    frame = gpd.GeoDataFrame(
        {"chain_id": ids, "name": links["name"].to_numpy()[longest],
         "ref": links["ref"].to_numpy()[longest], "highway": links["highway"].to_numpy()[longest],
         "length_m": length, "start_junction_id": sj, "end_junction_id": ej,
         "junction_id": np.where(inside, sj, None)},
        geometry=geoms, crs=BNG, index=pd.Index(ids),
    )  # fmt: skip
    return frame, links


def _chain_order(geoms, ends, length) -> np.ndarray:
    """Order chains by rounded end coordinates, then length, then midpoint (parallel chains)."""
    mx = my = np.zeros(len(geoms))
    key = (ends[:, 0] << 42) ^ (ends[:, 1] << 21) ^ (ends[:, 2] << 10) ^ ends[:, 3]
    dup = pd.Series(key).duplicated(keep=False).to_numpy()
    if dup.any():
        mid = shapely.get_coordinates(
            shapely.line_interpolate_point(geoms[dup], 0.5, normalized=True)
        )
        mx, my = mx.copy(), my.copy()
        mx[dup], my[dup] = mid[:, 0], mid[:, 1]
    return np.lexsort((my, mx, np.round(length, 3), ends[:, 3], ends[:, 2], ends[:, 1],
                       ends[:, 0]))  # fmt: skip


def _node_at(nodes, xy: np.ndarray) -> np.ndarray:
    return np.searchsorted(nodes["keys"], _keys(np.round(xy, 2)))


def _link_frame(nodes, lines, chain_of_link, chains, measures, chain_ids):
    """Links with their chain, measures along it and direction, sorted along chains.

    Returns the frame and, per chain, the row of its longest link.
    """
    geoms = chains[0]
    link_geoms = nodes["link_geoms"]
    length = shapely.length(link_geoms)
    chain_len = shapely.length(geoms)[chain_of_link]
    start_m, forward = measures[0].copy(), measures[1].copy()
    ring = np.isnan(start_m)
    if ring.any():  # a ring: the link's midpoint is unique on it, its ends are not
        g = geoms[chain_of_link[ring]]
        lg = link_geoms[ring]
        mid = shapely.line_locate_point(g, shapely.line_interpolate_point(lg, 0.5, normalized=True))
        quarter = shapely.line_locate_point(
            g, shapely.line_interpolate_point(lg, 0.25, normalized=True)
        )
        start_m[ring], forward[ring] = mid - length[ring] / 2, quarter <= mid
    start_m = np.maximum(start_m, 0.0)
    order = np.lexsort((start_m, chain_of_link))
    row = nodes["link_line"][order]
    links = gpd.GeoDataFrame(
        {
            "link_id": np.arange(len(order)),
            "chain_id": chain_ids[chain_of_link[order]],
            "start_m": start_m[order],
            "end_m": np.minimum(start_m + length, chain_len)[order],
            "forward": forward[order],
            "road_id": lines["road_id"].to_numpy()[row],
            "name": lines["name"].to_numpy()[row],
            "ref": lines["ref"].to_numpy()[row],
            "highway": lines["highway"].to_numpy()[row],
        },
        geometry=link_geoms[order],
        crs=BNG,
    )
    by_length = np.lexsort((-length[order], chain_of_link[order]))
    owner = chain_of_link[order][by_length]
    firsts = np.r_[True, owner[1:] != owner[:-1]]
    return links, by_length[firsts]


# --------------------------------------------------------------------------------------------
# snapped_collisions
# --------------------------------------------------------------------------------------------


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
    if not isinstance(collisions, gpd.GeoDataFrame):
        raise InputError(f"collisions: expected a GeoDataFrame, got {type(collisions).__name__}")
    if collisions.crs is None or not collisions.crs.equals(BNG):
        raise InputError(
            f"collisions: expected EPSG:27700 (British National Grid), found {collisions.crs}; "
            "reproject with geo_sppa.crs.to_british_national_grid"
        )
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
            out[i] = bool(name) and name.upper() in text or any(
                re.search(rf"\b{re.escape(t)}\b", text) for t in tokens
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


# --------------------------------------------------------------------------------------------
# network_sites, members_of_sites
# --------------------------------------------------------------------------------------------

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
            members = pos[lo[b]:hi[b]]
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
        k = lo[i] + max(int(np.searchsorted(starts[lo[i]:hi[i]], mid_m[i], "right")) - 1, 0)
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
