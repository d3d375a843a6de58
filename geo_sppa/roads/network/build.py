"""Build a :class:`RoadNetwork`: noding, chains through degree-2 nodes, merged junctions."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo_sppa.collector import collector_paused
from geo_sppa.crs import BNG, require_bng
from geo_sppa.errors import InputError
from geo_sppa.roads.network.clean import (
    TAG_COLUMNS,
    grid_keys,
    layered_vertex_ids,
    lines_with_ends_noded,
    public_roads,
    road_tags,
    unique_links,
)
from geo_sppa.roads.network.junctions import (
    _UNNAMED,
    HIGHWAY_RANK,
    _inside_junction,
    _junction_frame,
    _junction_groups,
    _junction_ids,
    _split_by,
)
from geo_sppa.roads.network.routes import chain_routes

__all__ = ["HIGHWAY_RANK", "RoadNetwork", "public_roads", "road_network", "_UNNAMED", "_split_by"]


@dataclass(frozen=True)
class RoadNetwork:
    """A noded, chained road network with merged junctions, all in EPSG:27700.

    Treat its frames as read-only: the link scan caches what it derives from them once per
    network (:mod:`geo_sppa.roads.network.sites`); build a new network rather than edit one.

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
        the chain lies inside one junction, e.g. a roundabout ring), ``route_id`` (the route the
        chain belongs to, see :mod:`~geo_sppa.roads.network.routes`), ``route_from_m`` /
        ``route_to_m`` (route measures at the chain's start and end), ``paired`` (True when the
        chain is a carriageway placed on its partner's route), ``geometry``.
    junctions
        One row per physical junction, indexed and sorted by ``junction_id`` (``"<e>_<n>"`` of its
        south-west-most node): ``name`` (``"<road A> junction <road B>"``), ``roads`` (tuple of
        road labels, most important first), ``n_nodes``, ``geometry`` (centroid of the nodes),
        ``nodes`` (MultiPoint).
    repairs
        Counts of the cleaning repairs (see :mod:`~geo_sppa.roads.network.clean`):
        ``duplicate_ways``, ``ends_noded``, ``grade_separated_vertices``.

    """

    links: gpd.GeoDataFrame
    chains: gpd.GeoDataFrame
    junctions: gpd.GeoDataFrame
    repairs: dict[str, int] = field(default_factory=dict)


#: Smallest junction merge distance: nodes whose coordinates round to the same metre (under
#: sqrt(2) m apart) must be one junction, or two junctions would share an id.
_MIN_MERGE_M = 1.5


def road_network(
    roads: gpd.GeoDataFrame,
    *,
    junction_merge_m: float = 15.0,
    roundabout_max_diameter_m: float = 150.0,
    end_snap_m: float = 2.0,
    carriageway_pair_m: float = 30.0,
) -> RoadNetwork:
    """Return the noded, chained network of ``roads`` with merged junctions.

    Parameters
    ----------
    roads
        Lines in EPSG:27700 with columns ``road_id, name, ref, highway, geometry``
        (LineString; MultiLineStrings are split into parts), and optionally the tags
        ``oneway, junction, bridge, tunnel, layer, dual_carriageway, form_of_way``. Not modified.
    junction_merge_m
        Junction nodes closer than this, transitively, are one junction (dual carriageways,
        staggered and compact junctions), metres; at least 1.5 (junction ids are coordinates
        rounded to the metre, which nodes less than 1.5 m apart can share).
    roundabout_max_diameter_m
        Every junction node on a round face of the network (circularity 4*pi*A/P**2 >= 0.85,
        >= 0.92 when wider than 60 m) no wider than this is merged into one junction: a
        roundabout ring, metres. Ways tagged as roundabouts are merged whatever their size.
    end_snap_m
        A dead end this close to another line is noded onto it, metres (0: never).
    carriageway_pair_m
        One-way carriageways of one road this close share a route, metres.

    Raises
    ------
    InputError
        Wrong CRS, missing columns, no usable line, or ``junction_merge_m`` under 1.5.

    """
    if not junction_merge_m >= _MIN_MERGE_M:
        raise InputError(
            f"junction_merge_m: expected at least {_MIN_MERGE_M:g} m, found {junction_merge_m:g}; "
            "junction ids are node coordinates rounded to the metre, so closer nodes would share "
            "one id: merge them (the default is 15 m)"
        )
    with collector_paused():
        lines = _checked_roads(roads)
        lines, nodes, repairs = _cleaned(lines, end_snap_m)
        chain_of_link, (chain_geoms, first, last), near, measures = _chains(nodes)
        junction_of_node = _junction_groups(
            nodes, (chain_geoms, first, last), junction_merge_m, roundabout_max_diameter_m,
            lines["roundabout"].to_numpy()[nodes["link_line"]],
        )  # fmt: skip
        junctions, id_of_group = _junction_frame(nodes, lines, junction_of_node)
        chains, links = _chain_and_link_frames(
            nodes, lines, chain_of_link, (chain_geoms, first, last), (near, measures),
            junction_of_node, (id_of_group, junctions), carriageway_pair_m,
        )  # fmt: skip
    return RoadNetwork(links=links, chains=chains, junctions=junctions, repairs=repairs)


def _cleaned(lines: gpd.GeoDataFrame, end_snap_m: float) -> tuple[gpd.GeoDataFrame, dict, dict]:
    """Node the lines, drop repeated links and node loose ends onto lines (then node again)."""
    grade = lines["grade"].to_numpy()
    nodes, split = _noded(lines)
    nodes, dup = unique_links(nodes, lines)
    moved, n_ends = lines_with_ends_noded(lines, nodes, end_snap_m, grade)
    if n_ends:
        lines = lines.set_geometry(gpd.GeoSeries(np.asarray(moved), crs=BNG, index=lines.index))
        nodes, split = _noded(lines)
        nodes, dup = unique_links(nodes, lines)
    repairs = {"duplicate_ways": dup, "ends_noded": n_ends, "grade_separated_vertices": split}
    return lines, nodes, repairs


def _checked_roads(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    require_bng(roads, what="roads")
    missing = [c for c in ("road_id", "name", "ref", "highway") if c not in roads.columns]
    if missing:
        raise InputError(
            f"roads: missing column(s) {', '.join(missing)}; the loader's "
            "read_roads gives road_id, name, ref, highway, geometry"
        )
    tags = [c for c in TAG_COLUMNS if c in roads.columns]
    lines = roads[["road_id", "name", "ref", "highway", *tags, roads.geometry.name]]
    lines = lines.rename_geometry("geometry") if roads.geometry.name != "geometry" else lines
    kind = shapely.get_type_id(lines.geometry.values)
    lines = lines[(kind == 1) | (kind == 5)]
    if (kind == 5).any():
        lines = lines.explode(index_parts=False)
    lines = lines.reset_index(drop=True)
    lines = lines[~lines.geometry.is_empty & (lines.geometry.length > 0)].reset_index(drop=True)
    if lines.empty:
        raise InputError("roads: no LineString with a length; expected a road line layer")
    flags = road_tags(lines)
    return gpd.GeoDataFrame(
        pd.concat([lines[["road_id", "name", "ref", "highway"]], flags], axis=1),
        geometry=lines.geometry.values, crs=BNG,
    )  # fmt: skip


def _noded(lines: gpd.GeoDataFrame) -> tuple[dict, int]:
    """Split lines at shared vertices; return links, their source rows and end nodes.

    Also returns how many shared vertices were kept apart by grade separation.
    """
    coords, line = shapely.get_coordinates(lines.geometry.values, return_index=True)
    coords = np.round(coords, 2)
    same = np.r_[False, (line[1:] == line[:-1]) & (coords[1:] == coords[:-1]).all(axis=1)]
    coords, line = coords[~same], line[~same]
    keep = np.bincount(line, minlength=len(lines))[line] >= 2
    coords, line = coords[keep], line[keep]
    first = np.r_[True, line[1:] != line[:-1]]
    last = np.r_[line[1:] != line[:-1], True]
    keys, vid = _vertex_ids(coords)
    keys, vid, split_cells = layered_vertex_ids(keys, vid, line, ~first & ~last,
                                                lines["grade"].to_numpy())  # fmt: skip
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
    }, split_cells  # fmt: skip


def _vertex_ids(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return sorted unique integer keys of 1 cm grid cells and each coordinate's key index."""
    keys = _keys(coords)
    uniq, vid = np.unique(keys, return_inverse=True)
    return uniq, vid.ravel()


_keys = grid_keys


def _chains(nodes: dict):
    """Chain links through degree-2 nodes.

    Each link is two half-edges (``i``: start to end, ``n + i``: end to start); a half-edge's
    successor continues through a degree-2 node, so chains are paths of half-edges, ranked by
    pointer jumping (O(log length) numpy passes). Of a path and its reverse, the one starting at
    the south-west end is kept. Rings of degree-2 nodes only (no junction) are merged apart.

    Returns
    -------
    tuple
        Chain number per link; (chain geometries, first and last coordinates); (the second and
        the second-last coordinates of each chain); (start measure
        along the chain per link, NaN on rings, whether the link runs the chain's way, and the
        links not on rings, chain by chain along each chain).

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
    member, chain = _path_order(member, chain_of_path[ptr[member]], steps[member])
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
    near = _next_to_ends(nodes, link, member < n, new_chain, last_of_chain)
    ring = chain_of_link < 0
    if ring.any():  # closed loops of degree-2 nodes only: rare, merged by GEOS
        n_paths = len(geoms)
        geoms, first_xy, last_xy, chain_of_link = _rings(nodes, ring, chain_of_link, geoms,
                                                         first_xy, last_xy)  # fmt: skip
        near = tuple(np.r_[a, b] for a, b in zip(near, _next_to_ends_of(geoms[n_paths:]),
                                                 strict=True))  # fmt: skip
    return chain_of_link, (geoms, first_xy, last_xy), near, (link_start, forward, link)


def _next_to_ends(nodes, link, fwd, new_chain, last_of_chain) -> tuple[np.ndarray, np.ndarray]:
    """Per chain, the coordinates after its first and before its last (from its end links)."""
    off, cnt, xy = nodes["offset"][link], nodes["n_coords"][link], nodes["coords"]
    a, b = new_chain, last_of_chain
    second = xy[np.where(fwd[a], off[a] + 1, off[a] + cnt[a] - 2)]
    penultimate = xy[np.where(fwd[b], off[b] + cnt[b] - 2, off[b] + 1)]
    return second, penultimate


def _next_to_ends_of(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the second and the second-last coordinates of each line."""
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    n = np.bincount(idx, minlength=len(geoms))
    off = np.cumsum(n) - n
    return coords[off + 1], coords[off + n - 2]


def _path_order(member, chain, steps) -> tuple[np.ndarray, np.ndarray]:
    """Sort half-edges by chain, then along it: as ``np.lexsort((-steps, chain))``.

    ``steps`` counts the half-edges to the chain's end, 0 .. length - 1 on each chain, so each
    half-edge's place is known without sorting (a sort is the fallback otherwise).
    """
    size = np.bincount(chain, minlength=int(chain.max(initial=-1)) + 1)
    at = np.full(len(member), -1, np.int64)
    if (steps >= 0).all() and (steps < size[chain]).all():
        at[(np.cumsum(size) - size)[chain] + size[chain] - 1 - steps] = np.arange(len(member))
    if (at < 0).any():
        at = np.lexsort((-steps, chain))
    return member[at], chain[at]


def _south_west_first(a, b, a2, b2, len_a, len_b, fwd) -> np.ndarray:
    """Return True for the one path of each pair (a path and its reverse) starting south-west."""

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


def _chain_and_link_frames(nodes, lines, chain_of_link, chains, measures, junction_of_node,
                           junction_data, pair_m):  # fmt: skip
    """Build the chains frame (sorted by end coordinates) and the links frame (along chains)."""
    geoms, first, last = chains
    near, measures = measures
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
    ids = _chain_ids(ends, np.arange(len(same)) - group_start)
    id_of_group, junctions = junction_data
    start_node, end_node = _node_at(nodes, first), _node_at(nodes, last)
    sg, eg = junction_of_node[start_node], junction_of_node[end_node]
    sj = _junction_ids(id_of_group, sg)
    links, longest, (row, link_chain) = _link_frame(
        nodes, lines, chain_of_link, (geoms, first, last), measures, ids
    )
    rb = lines["roundabout"].to_numpy()[row]
    rb_chain = np.bincount(link_chain, weights=rb, minlength=len(ids)) == np.bincount(
        link_chain, minlength=len(ids))  # fmt: skip
    inside = _inside_junction(geoms, (sg, eg), sj, length, junctions, rb_chain)
    carriageway = lines["carriageway"].to_numpy()[row[longest]]
    name, ref = links["name"].array.take(longest), links["ref"].array.take(longest)
    per_chain = {"chain_id": ids, "geometry": geoms, "length_m": length, "name": name, "ref": ref,
                 "start": first, "second": near[0][order], "penultimate": near[1][order],
                 "end": last}  # fmt: skip
    routes = chain_routes(per_chain, start_node, end_node, carriageway, pair_m=pair_m)
    frame = gpd.GeoDataFrame(
        {"chain_id": ids, "name": name, "ref": ref,
         "highway": links["highway"].array.take(longest),
         "length_m": length, "start_junction_id": sj,
         "end_junction_id": _junction_ids(id_of_group, eg),
         "junction_id": _junction_ids(id_of_group, np.where(inside, sg, -1)), **routes},
        geometry=geoms, crs=BNG, index=pd.Index(ids),
    )  # fmt: skip
    return frame, links


def _chain_ids(ends: np.ndarray, rank: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``"<e>_<n>-<e>_<n>"`` per chain from its rounded end coordinates, ``~k`` added for rank k.

    A ``str`` array; ``rank`` counts the earlier chains with the same ends (0: none).
    """
    e0, n0, e1, n1 = (pc.cast(pa.array(col), pa.string()) for col in ends.T)
    ids = pc.binary_join_element_wise(pc.binary_join_element_wise(e0, n0, "_"),
                                      pc.binary_join_element_wise(e1, n1, "_"), "-")  # fmt: skip
    if rank.any():
        tilde = pc.binary_join_element_wise("~", pc.cast(pa.array(rank), pa.string()), "")
        ids = pc.binary_join_element_wise(ids, pc.if_else(pa.array(rank > 0), tilde, ""), "")
    return pd.array(ids, dtype="str")


def _chain_order(geoms, ends, length) -> np.ndarray:
    """Order chains by rounded end coordinates, then length, then midpoint (parallel chains)."""
    if np.abs(ends).max(initial=0) < 1 << 31:  # metres in EPSG:27700: always
        order = np.lexsort((_packed(ends[:, 2], ends[:, 3]), _packed(ends[:, 0], ends[:, 1])))
    else:
        order = np.lexsort((ends[:, 3], ends[:, 2], ends[:, 1], ends[:, 0]))
    same = (ends[order][1:] == ends[order][:-1]).all(axis=1)
    tied = np.flatnonzero(np.r_[same, False] | np.r_[False, same])
    if len(tied):  # chains with the same ends: by length, then midpoint
        group = np.cumsum(np.r_[True, ~same])[tied]
        chain = order[tied]
        mid = shapely.get_coordinates(
            shapely.line_interpolate_point(geoms[chain], 0.5, normalized=True)
        )
        order[tied] = chain[np.lexsort((mid[:, 1], mid[:, 0], np.round(length[chain], 3), group))]
    return order


def _packed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One int64 per row that sorts as the pair ``(a, b)`` does (``|a|, |b| < 2**31``)."""
    return a * (1 << 32) + (b + (1 << 31))


def _node_at(nodes, xy: np.ndarray) -> np.ndarray:
    return np.searchsorted(nodes["keys"], _keys(np.round(xy, 2)))


def _link_frame(nodes, lines, chain_of_link, chains, measures, chain_ids):
    """Links with their chain, measures along it and direction, sorted along chains.

    Returns the frame, per chain the row of its longest link, and per link its input line
    and chain number.
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
    order = _along_chains(measures[2], chain_of_link, start_m)
    row = nodes["link_line"][order]
    links = gpd.GeoDataFrame(
        {
            "link_id": np.arange(len(order)),
            "chain_id": chain_ids.take(chain_of_link[order]),
            "start_m": start_m[order],
            "end_m": np.minimum(start_m + length, chain_len)[order],
            "forward": forward[order],
            "road_id": lines["road_id"].array.take(row),
            "name": lines["name"].array.take(row),
            "ref": lines["ref"].array.take(row),
            "highway": lines["highway"].array.take(row),
        },
        geometry=link_geoms[order],
        crs=BNG,
    )
    return (
        links,
        _longest_per_chain(chain_of_link[order], length[order]),
        (row, chain_of_link[order]),
    )


def _along_chains(path: np.ndarray, chain: np.ndarray, start_m: np.ndarray) -> np.ndarray:
    """Return the links sorted by chain, then start measure: ``np.lexsort((start_m, chain))``.

    ``path`` lists the links of all but ring chains, chain by chain, each chain's in order along
    it; their blocks are moved into chain order rather than sorted (ring links are sorted).
    """
    rest = np.ones(len(chain), bool)
    rest[path] = False
    rest = np.flatnonzero(rest)
    grouped = np.r_[path, rest[np.lexsort((start_m[rest], chain[rest]))]]
    c = chain[grouped]
    new = np.r_[True, c[1:] != c[:-1]][: len(c)]
    if not (np.diff(start_m[grouped])[~new[1:]] > 0).all():  # equal measures: sort as lexsort
        return np.lexsort((start_m, chain))
    size = np.bincount(c, minlength=int(c.max(initial=-1)) + 1)
    block_start = np.flatnonzero(new)[np.cumsum(new) - 1]
    order = np.empty_like(grouped)
    order[(np.cumsum(size) - size)[c] + np.arange(len(c)) - block_start] = grouped
    return order


def _longest_per_chain(chain: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Per chain ``0 .. k - 1``, the position of its longest link (the first of equals).

    ``chain`` is sorted and holds every chain number.
    """
    starts = np.flatnonzero(np.r_[True, chain[1:] != chain[:-1]])
    longest = np.maximum.reduceat(length, starts) if len(chain) else length[:0]
    at = np.flatnonzero(length == np.repeat(longest, np.diff(np.r_[starts, len(chain)])))
    return at[np.r_[True, chain[at][1:] != chain[at][:-1]]]
