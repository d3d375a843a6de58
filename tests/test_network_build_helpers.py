"""The vectorised helpers of the network build give what their plain definitions give."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString

from geo_sppa.roads.network.build import (
    _along_chains,
    _chain_ids,
    _chain_order,
    _chains,
    _checked_roads,
    _cleaned,
    _junction_ids,
    _longest_per_chain,
    _next_to_ends_of,
    _packed,
    _path_order,
)
from geo_sppa.roads.network.junctions import _junction_names, _road_tuples, _xy_ids


def test_packed_sorts_as_the_pair():
    rng = np.random.default_rng(0)
    a, b = rng.integers(-(2**31) + 1, 2**31 - 1, (2, 5000))
    a[:2500] = rng.integers(-3, 3, 2500)  # many equal first values
    order = np.argsort(_packed(a, b), kind="stable")
    assert np.array_equal(order, np.lexsort((b, a)))


def _lexsorted_chain_order(geoms, ends, length):
    """The order as one seven-key lexsort (midpoints of every chain)."""
    mid = shapely.get_coordinates(shapely.line_interpolate_point(geoms, 0.5, normalized=True))
    keys = (mid[:, 1], mid[:, 0], np.round(length, 3), *ends[:, ::-1].T)
    return np.lexsort(keys)


def test_chain_order_ties_by_length_then_midpoint():
    ends = np.array([[5, 5, 9, 9], [0, 0, 1, 1], [5, 5, 9, 9], [5, 5, 9, 9], [0, 0, 1, 2]])
    geoms = np.array(
        [LineString(c) for c in ([(5, 5), (7, 8), (9, 9)], [(0, 0), (1, 1)],
                                 [(5, 5), (7, 6), (9, 9)], [(5, 5), (9, 9)], [(0, 0), (1, 2)])]
    )  # fmt: skip
    length = shapely.length(geoms)
    order = _chain_order(geoms, ends, length)
    assert order.tolist() == [1, 4, 3, 0, 2]  # 3 is shortest; 0 and 2 tie on length
    assert order.tolist() == _lexsorted_chain_order(geoms, ends, length).tolist()
    far = np.array([[2**31, 0, 0, 0], [-(2**31), 0, 0, 0]])
    assert _chain_order(geoms[:2], far, length[:2]).tolist() == [1, 0]


def test_chain_order_matches_the_lexsort_on_random_chains():
    rng = np.random.default_rng(2)
    ends = rng.integers(0, 4, (400, 4))  # many chains share their ends
    xy = np.c_[ends[:, :2], rng.uniform(0, 4, (400, 2)), ends[:, 2:]].reshape(400, 3, 2)
    geoms = np.array([LineString(c) for c in xy])
    length = shapely.length(geoms)
    expected = _lexsorted_chain_order(geoms, ends, length)
    assert _chain_order(geoms, ends, length).tolist() == expected.tolist()


def test_chain_ids_text_and_rank_suffix():
    ends = np.array([[400004, 445634, -12, 7], [1, 2, 3, 4], [1, 2, 3, 4]])
    ids = _chain_ids(ends, np.array([0, 0, 1]))
    assert ids.dtype == "str"
    assert list(ids) == ["400004_445634--12_7", "1_2-3_4", "1_2-3_4~1"]
    assert list(_chain_ids(ends[:1], np.array([0]))) == ["400004_445634--12_7"]


def test_junction_ids_missing_and_none():
    ids = _xy_ids(np.array([10.4, 10.6]), np.array([-0.6, 3.0]))
    assert list(ids) == ["10_-1", "11_3"]
    got = _junction_ids(ids, np.array([1, -1, 0]))
    assert got.dtype == "str" and got[0] == "11_3" and pd.isna(got[1]) and got[2] == "10_-1"
    none = _junction_ids(ids, np.array([-1, -1]))
    assert none.dtype == object and none.tolist() == [None, None]


def test_longest_per_chain_first_of_equals():
    chain = np.array([0, 0, 0, 1, 2, 2])
    length = np.array([1.0, 3.0, 3.0, 0.5, 2.0, 1.0])
    assert _longest_per_chain(chain, length).tolist() == [1, 3, 4]
    by_length = np.lexsort((-length, chain))
    first = by_length[np.r_[True, chain[by_length][1:] != chain[by_length][:-1]]]
    assert _longest_per_chain(chain, length).tolist() == first.tolist()


def test_along_chains_matches_lexsort():
    # links 0..6: chain 1 along path [4, 0, 2], chain 0 along [5, 1], ring chain 2 = {3, 6}
    chain = np.array([1, 0, 1, 2, 1, 0, 2])
    start_m = np.array([10.0, 5.0, 20.0, 7.0, 0.0, 0.0, 2.0])
    path = np.array([4, 0, 2, 5, 1])
    order = _along_chains(path, chain, start_m)
    assert order.tolist() == np.lexsort((start_m, chain)).tolist() == [5, 1, 4, 0, 2, 6, 3]
    tied = start_m.copy()
    tied[2] = tied[0]  # equal measures: the order lexsort gives
    assert _along_chains(path, chain, tied).tolist() == np.lexsort((tied, chain)).tolist()


def test_junction_names_and_road_tuples():
    labels = np.array(["High Street", "A1", "unnamed road"], dtype=object)
    bounds = np.array([0, 2, 3, 3, 4])  # junctions with two roads, one, none, one unnamed
    label = np.array([1, 0, 0, 2])
    assert _road_tuples(bounds, label, labels) == [
        ("A1", "High Street"), ("High Street",), (), ("unnamed road",)
    ]  # fmt: skip
    names = _junction_names(bounds, label, labels)
    assert names.dtype == "str"
    assert list(names) == [
        "A1 junction High Street", "High Street junction", "unnamed road junction",
        "unnamed road junction",
    ]  # fmt: skip


def test_path_order_places_half_edges_as_the_lexsort():
    # chain 1: half-edges 7, 3, 9 (steps 2, 1, 0); chain 0: 4, 8 (steps 1, 0)
    member = np.array([3, 8, 9, 4, 7])
    chain = np.array([1, 0, 1, 0, 1])
    steps = np.array([1, 0, 0, 1, 2])
    got, got_chain = _path_order(member, chain, steps)
    order = np.lexsort((-steps, chain))
    assert got.tolist() == member[order].tolist() == [4, 8, 7, 3, 9]
    assert got_chain.tolist() == [0, 0, 1, 1, 1]
    steps[2] = 1  # not 0 .. length - 1 on chain 1: sorted instead, the same way
    got, _ = _path_order(member, chain, steps)
    assert got.tolist() == member[np.lexsort((-steps, chain))].tolist()
    empty = np.empty(0, np.int64)
    assert [len(x) for x in _path_order(empty, empty, empty)] == [0, 0]


def test_chain_coordinates_next_to_ends_match_the_chain_geometries():
    rows = [[(0, 0), (50, 5), (100, 0)], [(100, 0), (100, 50)], [(100, 0), (150, -5), (200, 0)],
            [(200, 0), (0, 0)], [(100, 50), (120, 80), (90, 90), (100, 50)],
            [(500, 500), (600, 500), (600, 600), (500, 500)], [(300, 0), (200, 0)]]  # fmt: skip
    roads = gpd.GeoDataFrame(
        {"road_id": [f"r{i}" for i in range(len(rows))], "name": "A", "ref": None,
         "highway": "primary"},
        geometry=[LineString([(518000 + x, 298000 + y) for x, y in r]) for r in rows],
        crs="EPSG:27700",
    )  # fmt: skip
    _, nodes, _ = _cleaned(_checked_roads(roads), 2.0)
    _, (geoms, _, _), (second, penultimate), _ = _chains(nodes)
    expected = _next_to_ends_of(geoms)
    assert len(geoms) >= 5  # paths, a loop at a junction and a ring with no junction
    assert np.array_equal(second, expected[0]) and np.array_equal(penultimate, expected[1])
