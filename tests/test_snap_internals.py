"""The snap's vectorised pair search and per-collision pick match their plain definitions."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo_sppa.roads.network.snap import _first_per_point, _within


def _segments(rng: np.random.Generator, n: int) -> np.ndarray:
    starts = rng.uniform(0, 1000, (n, 2))
    return shapely.linestrings(np.stack([starts, starts + rng.uniform(-80, 80, (n, 2))], 1))


@pytest.mark.parametrize("kind", ["points", "lines"])
def test_within_finds_the_dwithin_pairs_and_their_distances(kind: str) -> None:
    """The envelope query and exact distance find what dwithin finds, at the same distances."""
    rng = np.random.default_rng(3)
    lines = _segments(rng, 400)
    points = (
        shapely.points(rng.uniform(0, 1000, (300, 2))) if kind == "points" else _segments(rng, 300)
    )
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
    """The per-point minimum by reduceat picks what the lexsort it replaces picked."""
    rng = np.random.default_rng(5)
    point = np.sort(rng.integers(0, 200, 1000))
    tie = rng.integers(0, 3, 1000).astype(float)  # many ties on the first keys
    flag = rng.integers(0, 2, 1000).astype(bool)
    link = rng.permutation(1000)  # distinct within each point
    order = np.lexsort((link, tie, ~flag, point))
    first = order[np.r_[True, point[order][1:] != point[order][:-1]]]
    assert np.array_equal(_first_per_point(point, (~flag, tie, link)), np.sort(first))
    assert len(_first_per_point(point[:0], (tie[:0],))) == 0
