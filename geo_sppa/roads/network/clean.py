"""Network cleaning around noding: road tags that matter for topology, duplicate links, loose ends.

Three repairs, each counted in :attr:`RoadNetwork.repairs <geo_sppa.roads.network.RoadNetwork>`:

* ``duplicate_ways``: input lines that repeat another line (in whole or in part) have their
  repeated pieces dropped, so a layer with every way drawn twice gives the network drawn once;
* ``ends_noded``: a line end (a dead end) within ``end_snap_m`` of another line, but not on a
  shared vertex, is moved onto that line and the line gets a vertex there: a T whose minor road
  stops between two vertices of the main road becomes a junction;
* ``grade_separated_vertices``: a vertex inside a bridge, tunnel or ``layer`` != 0 way that another
  way on a different layer shares is not a node, so a bridge drawn with a vertex over the road
  below is not a junction (ways still join at their ends, where a bridge meets its approaches).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["TAG_COLUMNS", "public_roads", "road_tags"]

GRID = 100.0  # vertices are identified on a 1 cm grid
#: Optional road attributes read when present (OSM tags; OS Open Roads ``form_of_way``).
TAG_COLUMNS = ("oneway", "junction", "bridge", "tunnel", "layer", "dual_carriageway",
               "form_of_way")  # fmt: skip
_YES = {"yes", "true", "1", "-1", "t", "y"}


def grid_keys(coords: np.ndarray) -> np.ndarray:
    """Return one int64 key per coordinate: its 1 cm grid cell."""
    xi = np.rint(coords[:, 0] * GRID).astype(np.int64) + (1 << 30)
    yi = np.rint(coords[:, 1] * GRID).astype(np.int64) + (1 << 30)
    return (xi << 32) | yi


def road_tags(lines: pd.DataFrame) -> pd.DataFrame:
    """Return ``grade`` (int layer), ``roundabout`` and ``carriageway`` (one-way) per line.

    ``grade`` is the OSM ``layer`` when it is a number, else 1 on a bridge, -1 in a tunnel, else
    0. ``roundabout``: OSM ``junction=roundabout`` / ``circular`` or OS Open Roads
    ``form_of_way`` Roundabout. ``carriageway``: one carriageway of a divided road (OSM
    ``oneway`` yes/-1 or ``dual_carriageway=yes``, OS Open Roads Dual Carriageway).
    """
    n = len(lines)

    def text(col: str) -> tuple[np.ndarray, list[str]]:
        """Codes and lower-case stripped distinct values ("" last, for missing)."""
        if col not in lines.columns:
            return np.full(n, 0, np.int64), [""]
        codes, uniq = pd.factorize(lines[col], use_na_sentinel=True)
        return codes, [str(v).strip().lower() for v in uniq] + [""]

    def has(col: str, values: set[str], part: str = "\0") -> np.ndarray:
        codes, uniq = text(col)
        return np.array([v in values or part in v for v in uniq], dtype=bool)[codes]

    codes, uniq = text("layer")
    layer = pd.to_numeric(pd.Series(uniq), errors="coerce").to_numpy()[codes]
    fallback = np.where(
        has("bridge", _YES | {"viaduct"}, "bridge"),
        1,
        np.where(has("tunnel", _YES | {"culvert", "building_passage"}), -1, 0),
    )
    grade = np.where(np.isnan(layer), fallback, np.round(np.nan_to_num(layer))).astype(np.int64)
    roundabout = has("junction", {"roundabout", "circular"}) | has(
        "form_of_way", set(), "roundabout"
    )
    carriageway = (has("oneway", _YES) | has("dual_carriageway", _YES)
                   | has("form_of_way", set(), "dual carriageway"))  # fmt: skip
    return pd.DataFrame(
        {"grade": grade, "roundabout": roundabout, "carriageway": carriageway},
        index=lines.index,
    )


def layered_vertex_ids(keys_all, vid, line, inner, grade) -> tuple[np.ndarray, np.ndarray, int]:
    """Split vertex ids by grade at the inner vertices of grade-separated lines.

    Returns the new sorted keys (one per vertex id, repeated where a cell has several grades),
    the new id per coordinate and how many cells were split.
    """
    g = np.where(inner, grade[line], 0)
    if not g.any():
        return keys_all, vid, 0
    combined = vid.astype(np.int64) * 256 + (np.clip(g, -100, 100) + 128)
    uniq, new = np.unique(combined, return_inverse=True)
    cell = uniq // 256
    split = int(len(uniq) - len(np.unique(cell)))
    return keys_all[cell], new.ravel(), split


def unique_links(nodes: dict, lines: pd.DataFrame) -> tuple[dict, int]:
    """Drop links that repeat another link (same end nodes, length and midpoint).

    Of repeated links the one from the line with the smallest ``road_id`` (as text) stays, so the
    result does not depend on row order. Returns the reduced ``nodes`` and how many input lines
    lost a piece.
    """
    start, end = nodes["start"], nodes["end"]
    lo, hi = np.minimum(start, end), np.maximum(start, end)
    pair = lo * len(nodes["keys"]) + hi  # node ids are below len(keys)
    maybe = np.flatnonzero(pd.Series(pair).duplicated(keep=False).to_numpy())
    if len(maybe) == 0:
        return nodes, 0
    geoms = nodes["link_geoms"][maybe]
    length_cm = np.rint(shapely.length(geoms) * GRID).astype(np.int64)
    mid = shapely.get_coordinates(shapely.line_interpolate_point(geoms, 0.5, normalized=True))
    road = lines["road_id"].astype(str).to_numpy()[nodes["link_line"][maybe]]
    rank = pd.Series(road).rank(method="dense").to_numpy()
    frame = pd.DataFrame({"lo": lo[maybe], "hi": hi[maybe], "len": length_cm,
                          "mid": grid_keys(np.round(mid, 1)), "rank": rank,
                          "pos": maybe})  # fmt: skip
    frame = frame.sort_values(["lo", "hi", "len", "mid", "rank", "pos"], kind="stable")
    repeated = frame.duplicated(["lo", "hi", "len", "mid"]).to_numpy()
    drop = frame["pos"].to_numpy()[repeated]
    if len(drop) == 0:
        return nodes, 0
    keep = np.ones(len(start), bool)
    keep[drop] = False
    n_ways = len(np.unique(nodes["link_line"][drop]))
    out = dict(nodes)
    for key in ("link_geoms", "link_line", "start", "end", "offset", "n_coords"):
        out[key] = nodes[key][keep]
    out["degree"] = np.bincount(np.r_[out["start"], out["end"]], minlength=len(nodes["keys"]))
    return out, n_ways


def lines_with_ends_noded(lines, nodes: dict, tolerance_m: float, grade) -> tuple[object, int]:
    """Move dead ends within ``tolerance_m`` of another link onto it, adding a vertex there.

    Returns the new line geometries (``None`` when nothing moved) and how many ends moved.
    """
    if tolerance_m <= 0:
        return None, 0
    dead = np.flatnonzero(nodes["degree"] == 1)
    if len(dead) == 0:
        return None, 0
    dead_xy = nodes["node_xy"][dead]
    link_geoms = nodes["link_geoms"]
    link_i, dead_i = shapely.STRtree(shapely.points(dead_xy)).query(
        link_geoms, predicate="dwithin", distance=tolerance_m
    )
    own = (nodes["start"][link_i] == dead[dead_i]) | (nodes["end"][link_i] == dead[dead_i])
    link_i, dead_i = link_i[~own], dead_i[~own]
    if len(link_i) == 0:
        return None, 0
    geoms = np.asarray(lines.geometry.values, dtype=object)
    coords, line = shapely.get_coordinates(geoms, return_index=True)
    first = np.r_[True, line[1:] != line[:-1]]
    last = np.r_[line[1:] != line[:-1], True]
    ends = np.flatnonzero(first | last)
    at = pd.Series(ends, index=grid_keys(np.round(coords[ends], 2)))
    at = at[~at.index.duplicated()]
    end_pos = at.reindex(grid_keys(np.round(dead_xy[dead_i], 2))).to_numpy()
    target_line = nodes["link_line"][link_i]
    ok = ~np.isnan(end_pos)
    end_pos = np.where(ok, end_pos, 0).astype(np.int64)
    ok &= grade[line[end_pos]] == grade[target_line]
    ok &= line[end_pos] != target_line
    if not ok.any():
        return None, 0
    d = shapely.distance(shapely.points(dead_xy[dead_i[ok]]), link_geoms[link_i[ok]])
    pick = pd.DataFrame({"dead": dead_i[ok], "d": np.round(d, 6), "link": link_i[ok],
                         "end_pos": end_pos[ok], "line": target_line[ok]})  # fmt: skip
    pick = pick.sort_values(["dead", "d", "link"]).drop_duplicates("dead")
    target = geoms[pick["line"].to_numpy()]
    proj = shapely.line_locate_point(target, shapely.points(dead_xy[pick["dead"].to_numpy()]))
    new_xy = shapely.get_coordinates(shapely.line_interpolate_point(target, proj))
    moved = coords.copy()
    moved[pick["end_pos"].to_numpy()] = new_xy
    measure = _vertex_measures(coords, line, first)
    all_xy = np.r_[moved, new_xy]
    all_line = np.r_[line, pick["line"].to_numpy()]
    all_m = np.r_[measure, proj]
    order = np.lexsort((np.r_[np.zeros(len(line)), np.ones(len(new_xy))], all_m, all_line))
    out = shapely.linestrings(all_xy[order], indices=all_line[order])
    return out, len(pick)


def _vertex_measures(coords: np.ndarray, line: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Distance of each vertex from the start of its line."""
    step = np.r_[0.0, np.hypot(*np.diff(coords, axis=0).T)]
    step[first] = 0.0
    cum = np.cumsum(step)
    return cum - cum[np.flatnonzero(first)][np.cumsum(first) - 1]


def public_roads(
    roads: gpd.GeoDataFrame, *, keep_service: bool = False
) -> tuple[gpd.GeoDataFrame, int]:
    """Return the roads a cluster scan should use and how many ways were left out.

    OSM ``highway=service`` ways (car parks, alleys, private access) crowd city centres with
    junctions that swallow collisions on the public road, so they are left out unless
    ``keep_service``. The caller's frame is not modified.
    """
    if keep_service or "highway" not in roads:
        return roads, 0
    service = roads["highway"].astype("string").str.lower().eq("service").fillna(False).to_numpy()
    return roads[~service], int(service.sum())
