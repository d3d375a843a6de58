"""Attribute-aware snapping: the road a collision names wins unless it is much farther away."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from geo_sppa.roads.clusters import cluster_sites
from geo_sppa.roads.network import road_network, snapped_collisions

X0, Y0 = 518_000.0, 298_000.0


def two_roads(named_y: float, other_y: float, other: str = "Mill Lane") -> gpd.GeoDataFrame:
    """Mill Road (B1234) along y = named_y and another road along y = other_y, 400 m each,
    not connected (so no junction is near the collisions)."""
    return gpd.GeoDataFrame(
        {
            "road_id": ["mill-road", "other"],
            "name": ["Mill Road", other],
            "ref": ["B1234", None],
            "highway": ["secondary", "residential"],
        },
        geometry=[
            LineString([(X0, Y0 + named_y), (X0 + 400, Y0 + named_y)]),
            LineString([(X0, Y0 + other_y), (X0 + 400, Y0 + other_y)]),
        ],
        crs=27700,
    )


def one_collision(location: str | None, road_number: str | None = None) -> gpd.GeoDataFrame:
    """One slight collision at (200, 0) from the origin."""
    return gpd.GeoDataFrame(
        {"collision_id": ["c0"], "severity": ["slight"], "road_number": [road_number],
         "location": [location]},
        geometry=[Point(X0 + 200, Y0)], crs=27700,
    )  # fmt: skip


def snapped_road(network, snapped) -> str:
    return str(network.links.loc[snapped.snapped["link_id"].iloc[0], "name"])


@pytest.mark.parametrize(
    ("named_m", "other_m", "tolerance_m", "expected"),
    [
        (16.0, 9.0, 30.0, "Mill Road"),
        (17.9, 9.0, 30.0, "Mill Road"),
        (18.1, 9.0, 30.0, "Mill Lane"),
        (40.0, 9.0, 30.0, "Mill Lane"),
        (40.0, 9.0, 50.0, "Mill Lane"),
        (1.8, 0.5, 30.0, "Mill Road"),
    ],
    ids=[
        "16m-vs-9m-named-wins",
        "17.9m-just-under-twice",
        "18.1m-just-over-twice",
        "40m-beyond-tolerance",
        "40m-within-tolerance-but-over-twice",
        "1.8m-vs-0.5m-within-3m-tie",
    ],
)
def test_named_road_wins_unless_much_farther(named_m, other_m, tolerance_m, expected):
    """A collision recorded on "B1234 Mill Road", ``named_m`` from Mill Road and ``other_m``
    from Mill Lane (on the other side), goes to Mill Road when it is at most twice as far as the
    nearest (or within 3 m of it) and within the tolerance."""
    network = road_network(two_roads(named_m, -other_m))
    snapped = snapped_collisions(one_collision("B1234 MILL ROAD"), network, tolerance_m=tolerance_m)
    assert snapped_road(network, snapped) == expected
    moved = expected == "Mill Road"
    assert snapped.n_moved_by_name == int(moved)
    assert snapped.snapped["moved_by_name"].tolist() == [moved]
    assert snapped.snapped["snap_distance_m"].iloc[0] == pytest.approx(
        named_m if moved else other_m
    )


@pytest.mark.parametrize(
    ("location", "road_number", "expected"),
    [
        ("MILL RD OS 12", None, "Mill Road"),
        (None, "B1234", "Mill Road"),
        ("B1234", None, "Mill Road"),
        ("WINDMILL ROAD", None, "Mill Lane"),
        (None, None, "Mill Lane"),
    ],
    ids=["abbreviated-name", "road-number", "ref-in-text", "name-inside-a-word", "no-hint"],
)
def test_what_counts_as_naming_the_road(location, road_number, expected):
    """Abbreviations are expanded (MILL RD = Mill Road), the road number matches the ref, and a
    name only matches as whole words (WINDMILL ROAD is not Mill Road)."""
    network = road_network(two_roads(16.0, -9.0))
    snapped = snapped_collisions(one_collision(location, road_number), network)
    assert snapped_road(network, snapped) == expected


def test_cluster_summary_counts_collisions_moved_by_name():
    """Six collisions 16 m from Mill Road and 9 m from Mill Lane, recorded on B1234 Mill Road,
    plus two unnamed ones: the six move, the count and the summary note say 6."""
    roads = two_roads(16.0, -9.0)
    points = [Point(X0 + 150 + 10 * i, Y0) for i in range(8)]
    frame = gpd.GeoDataFrame(
        {
            "collision_id": [f"c{i}" for i in range(8)],
            "date": pd.to_datetime(["2015-06-01"] * 8),
            "severity": ["slight"] * 8,
            "location": ["B1234 MILL ROAD"] * 6 + [None, None],
        },
        geometry=points,
        crs=27700,
    )
    result = cluster_sites(frame, roads=roads, years=(2014, 2016))
    assert result.counts["n_moved_by_name"] == 6
    assert (
        "6 collisions in 2014-2016 snapped to the road their record names rather than a nearer "
        "one (at most twice as far)" in result.notes
    )
    assert result.sites["name"].tolist() == ["B1234 Mill Road"]
    assert result.sites["total"].tolist() == [6]
    assert result.sites.geometry.iloc[0].distance(roads.geometry.iloc[0]) == pytest.approx(0)
