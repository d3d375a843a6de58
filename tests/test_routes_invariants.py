"""Hypothesis invariants of the route scan: the same sites whatever the drawing of the network.

Ways duplicated, reversed, split at extra vertices or shuffled, and every coordinate shifted by
a constant, all give the same sites (site keys, members, counts and measures).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from geo_sppa.roads.network import network_sites, road_network, snapped_collisions
from geo_sppa.roads.rules import RULES

SPP = RULES["spp"]
X0, Y0 = 430000.0, 433500.0


def base_case() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Harehills Road (N-S, 500 m) with side streets at 30-40 m spacing, crossed by Roundhay
    Road; clusters: 3 + 3 across two side streets, six at the crossroads, and singles."""
    ys = [0, 100, 135, 170, 200, 240, 300, 500]
    rows = [("Harehills Road", "B6159", "tertiary", [(0, y) for y in ys])]
    rows.append(("Roundhay Road", "A58", "primary", [(-300, 300), (0, 300), (300, 300)]))
    for i, y in enumerate(ys[1:6]):
        side = 120 if i % 2 == 0 else -120
        rows.append((f"Side Street {i}", None, "residential", [(0, y), (side, y)]))
    frame = gpd.GeoDataFrame(
        {"road_id": [f"r{i}" for i in range(len(rows))], "name": [r[0] for r in rows],
         "ref": [r[1] for r in rows], "highway": [r[2] for r in rows]},
        geometry=[LineString([(X0 + x, Y0 + y) for x, y in r[3]]) for r in rows],
        crs="EPSG:27700",
    )  # fmt: skip
    pts = [(2, 112), (-2, 122), (2, 140), (-2, 160), (2, 178), (-2, 206)]
    pts += [(5, 302), (-6, 298), (2, 310), (-2, 290), (9, 301), (-9, 299)]
    pts += [(2, 30), (-150, 302), (2, 420), (3, 450)]
    sev = ["slight"] * 5 + ["serious"] + ["slight"] * 10
    collisions = gpd.GeoDataFrame(
        {"collision_id": [f"c{i}" for i in range(len(pts))], "severity": sev},
        geometry=[Point(X0 + x, Y0 + y) for x, y in pts],
        crs="EPSG:27700",
    )
    return frame, collisions


def sites_of(road_frame, collision_frame) -> pd.DataFrame:
    net = road_network(road_frame)
    snapped = snapped_collisions(collision_frame, net)
    return network_sites(snapped.snapped, net, SPP)


def summary(sites: pd.DataFrame, keys: bool = True) -> list[tuple]:
    """Comparable rows: type, members, counts, rounded measures (and site keys)."""
    rows = [(t, tuple(m), n, k, round(float(s), 2) if s == s else None,
             round(float(e), 2) if e == e else None) for t, m, n, k, s, e in
            zip(sites["site_type"], sites["members"], sites["total"], sites["ksi"],
                sites["start_m"], sites["end_m"], strict=True)]  # fmt: skip
    if keys:
        rows = [(*r, key) for r, key in zip(rows, sites["site_key"], strict=True)]
    return sorted(rows, key=str)


@pytest.fixture(scope="module")
def expected():
    frame, coll = base_case()
    sites = sites_of(frame, coll)
    assert sorted(sites["site_type"]) == ["junction", "link"]
    return summary(sites)


def _split(line: LineString, at: float) -> list[LineString]:
    """The line cut into two ways at a new vertex ``at`` (share of its length) on a segment."""
    cut = shapely.line_interpolate_point(line, at, normalized=True)
    xy = np.asarray(line.coords)
    d = shapely.line_locate_point(line, [Point(p) for p in xy])
    k = int(np.searchsorted(d, at * line.length))
    c = (round(cut.x, 2), round(cut.y, 2))
    return [LineString([*map(tuple, xy[:k]), c]), LineString([c, *map(tuple, xy[k:])])]


@settings(max_examples=12, deadline=None)
@given(
    reverse=st.lists(st.booleans(), min_size=7, max_size=7),
    duplicate=st.lists(st.booleans(), min_size=7, max_size=7),
    split=st.lists(st.sampled_from([0.0, 0.3, 0.55, 0.8]), min_size=7, max_size=7),
    seed=st.integers(0, 10_000),
)
def test_same_sites_however_the_ways_are_drawn(expected, reverse, duplicate, split, seed):
    """Reversing, duplicating, splitting at an extra vertex and shuffling ways changes nothing."""
    frame, coll = base_case()
    rows = []
    for i, row in enumerate(frame.itertuples()):
        line = row.geometry.reverse() if reverse[i] else row.geometry
        parts = _split(line, split[i]) if split[i] else [line]
        copies = parts + (parts[::-1] if duplicate[i] else [])
        rows += [(row.name, row.ref, row.highway, g) for g in copies]
    order = np.random.default_rng(seed).permutation(len(rows))
    drawn = gpd.GeoDataFrame(
        {"road_id": [f"w{i}" for i in range(len(rows))],
         "name": [rows[i][0] for i in order], "ref": [rows[i][1] for i in order],
         "highway": [rows[i][2] for i in order]},
        geometry=[rows[i][3] for i in order], crs="EPSG:27700",
    )  # fmt: skip
    shuffled = coll.iloc[np.random.default_rng(seed + 1).permutation(len(coll))]
    assert summary(sites_of(drawn, shuffled)) == expected


@settings(max_examples=8, deadline=None)
@given(dx=st.integers(-20_000, 20_000), dy=st.integers(-20_000, 20_000))
def test_same_sites_when_everything_shifts(expected, dx, dy):
    """Shifting every coordinate by whole metres keeps the sites (keys carry coordinates, so
    they are compared without)."""
    frame, coll = base_case()
    moved = frame.assign(geometry=frame.geometry.translate(dx, dy))
    got = sites_of(moved, coll.assign(geometry=coll.geometry.translate(dx, dy)))
    assert summary(got, keys=False) == [r[:-1] for r in expected]
