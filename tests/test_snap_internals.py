"""The snap's vectorised pair search and per-collision pick match their plain definitions."""

from __future__ import annotations

import numpy as np
import shapely

from geo_sppa.roads.network.snap import _first_per_point, _within


def test_within_finds_the_dwithin_pairs_and_their_distances() -> None:
    rng = np.random.default_rng(3)
    starts = rng.uniform(0, 1000, (400, 2))
    lines = shapely.linestrings(np.stack([starts, starts + rng.uniform(-80, 80, (400, 2))], 1))
    points = shapely.points(rng.uniform(0, 1000, (300, 2)))
    tree = shapely.STRtree(lines)
    point, item, d = _within(tree, points, 30.0)
    want_point, want_item = tree.query(points, predicate="dwithin", distance=30.0)
    got = np.lexsort((item, point))
    want = np.lexsort((want_item, want_point))
    assert len(point) > 50
    assert np.array_equal(point[got], want_point[want])
    assert np.array_equal(item[got], want_item[want])
    assert np.array_equal(d, shapely.distance(points[point], lines[item]))
    assert (np.diff(point) >= 0).all()


def test_first_per_point_is_the_first_of_a_lexsort() -> None:
    rng = np.random.default_rng(5)
    point = np.sort(rng.integers(0, 200, 1000))
    tie = rng.integers(0, 3, 1000).astype(float)  # many ties on the first keys
    flag = rng.integers(0, 2, 1000).astype(bool)
    link = rng.permutation(1000)  # distinct within each point
    order = np.lexsort((link, tie, ~flag, point))
    first = order[np.r_[True, point[order][1:] != point[order][:-1]]]
    assert np.array_equal(_first_per_point(point, (~flag, tie, link)), np.sort(first))
    assert len(_first_per_point(point[:0], (tie[:0],))) == 0
