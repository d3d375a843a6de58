"""Tests for geo_sppa.roads.network: noding, junctions, snapping and the network-mode site scan."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from geo_sppa.errors import InputError
from geo_sppa.roads.network import (
    members_of_sites,
    network_sites,
    road_network,
    snapped_collisions,
)
from geo_sppa.roads.rules import RULES

SPP = RULES["spp"]
X0, Y0 = 518000.0, 298000.0  # central Peterborough, so coordinates look like real BNG
LEEDS = Path(__file__).resolve().parents[1] / "data" / "leeds-central"  # bundled


def roads(*rows: tuple) -> gpd.GeoDataFrame:
    """(name, ref, highway, [(dx, dy), ...]) rows, offsets in metres from (X0, Y0)."""
    return gpd.GeoDataFrame(
        {
            "road_id": [f"r{i}" for i in range(len(rows))],
            "name": [r[0] for r in rows],
            "ref": [r[1] for r in rows],
            "highway": [r[2] for r in rows],
        },
        geometry=[LineString([(X0 + x, Y0 + y) for x, y in r[3]]) for r in rows],
        crs="EPSG:27700",
    )


def collisions(points, severities=None, road_number=None, location=None) -> gpd.GeoDataFrame:
    """Collisions at offsets ``points`` from (X0, Y0); all slight unless ``severities`` says."""
    n = len(points)
    return gpd.GeoDataFrame(
        {
            "collision_id": [f"c{i}" for i in range(n)],
            "severity": severities or ["slight"] * n,
            "road_number": road_number or [None] * n,
            "location": location or [None] * n,
        },
        geometry=[Point(X0 + x, Y0 + y) for x, y in points],
        crs="EPSG:27700",
    )


def scan(road_frame, collision_frame, **kw):
    net = road_network(road_frame)
    snapped = snapped_collisions(collision_frame, net, **kw)
    return net, snapped, network_sites(snapped.snapped, net, SPP)


def crossroads() -> gpd.GeoDataFrame:
    """Bourges Boulevard (primary, E-W) crossed by Taverners Road (residential, N-S) at (0, 0).

    Both ways have a vertex at the crossing, so it is a 4-arm junction.
    """
    return roads(
        ("Taverners Road", None, "residential", [(0, -500), (0, 0), (0, 500)]),
        ("Bourges Boulevard", "A15", "primary", [(-500, 0), (0, 0), (500, 0)]),
    )


def lincoln_road() -> gpd.GeoDataFrame:
    """Lincoln Road, 1000 m E-W as two ways meeting at a degree-2 node at x=500; Stone Lane
    joins at x=0 (a T junction at the west end of the chain). One chain of 1000 m."""
    return roads(
        ("Lincoln Road", "A15", "primary", [(0, 0), (250, 0), (500, 0)]),
        ("Lincoln Road", "A15", "primary", [(500, 0), (1000, 0)]),
        ("Stone Lane", None, "residential", [(0, -300), (0, 0), (0, 300)]),
    )


def along(*xs: float, y: float = 2.0) -> list[tuple[float, float]]:
    return [(x, y) for x in xs]


# --------------------------------------------------------------------------------------------
# network building
# --------------------------------------------------------------------------------------------


def test_crossroads_is_one_junction_with_four_links():
    """A shared vertex where two ways cross makes a 4-arm junction named major road first."""
    net = road_network(crossroads())
    assert len(net.links) == 4
    assert len(net.chains) == 4
    assert list(net.junctions["name"]) == ["Bourges Boulevard junction Taverners Road"]
    assert net.junctions["junction_id"].iloc[0] == f"{X0:.0f}_{Y0:.0f}"


def test_bridge_without_shared_vertex_is_not_a_junction():
    """Two ways that cross with no shared vertex (a bridge) are not noded."""
    net = road_network(roads(
        ("Upper Road", None, "primary", [(-100, 0), (100, 0)]),
        ("Lower Road", None, "primary", [(0, -100), (0, 100)]),
    ))  # fmt: skip
    assert len(net.junctions) == 0
    assert len(net.links) == 2


def test_degree_two_node_chains_links():
    """Two ways meeting end to end (a degree-2 node) form one 1000 m chain of three links."""
    net = road_network(lincoln_road())
    chain = net.chains[net.chains["name"] == "Lincoln Road"]
    assert len(chain) == 1
    assert chain["length_m"].iloc[0] == pytest.approx(1000)
    links = net.links[net.links["chain_id"] == chain.index[0]]
    assert list(links["start_m"]) == pytest.approx([0, 500])
    assert chain.index[0] == f"{X0:.0f}_{Y0:.0f}-{X0 + 1000:.0f}_{Y0:.0f}"


def test_nearby_nodes_merge_into_one_junction():
    """A staggered junction: side roads join 10 m apart, closer than the 15 m merge distance."""
    net = road_network(roads(
        ("Main Road", None, "primary", [(-200, 0), (0, 0), (10, 0), (200, 0)]),
        ("North Lane", None, "residential", [(0, 0), (0, 200)]),
        ("South Lane", None, "residential", [(10, 0), (10, -200)]),
    ))  # fmt: skip
    assert len(net.junctions) == 1
    assert net.junctions["n_nodes"].iloc[0] == 2
    assert net.junctions["name"].iloc[0] == "Main Road junction North Lane"
    apart = road_network(roads(
        ("Main Road", None, "primary", [(-200, 0), (0, 0), (40, 0), (200, 0)]),
        ("North Lane", None, "residential", [(0, 0), (0, 200)]),
        ("South Lane", None, "residential", [(40, 0), (40, -200)]),
    ))  # fmt: skip
    assert len(apart.junctions) == 2


def roundabout(radius: float = 25.0) -> gpd.GeoDataFrame:
    """A roundabout of four ways (arcs, 8 vertices each) with four arms at 0/90/180/270 degrees.

    With radius 25 m the arm nodes are 35 m apart, farther than the 15 m merge distance: only the
    round-face rule can merge them.
    """
    rows = []
    for q in range(4):
        arc = [(radius * math.cos(math.radians(a)), radius * math.sin(math.radians(a)))
               for a in np.linspace(90 * q, 90 * (q + 1), 9)]  # fmt: skip
        arc[-1] = (round(arc[-1][0], 6), round(arc[-1][1], 6))
        arc[0] = (round(arc[0][0], 6), round(arc[0][1], 6))
        rows.append((None, None, "primary", arc))
    names = ["Oundle Road", "Shrewsbury Avenue", "Longthorpe Parkway", "Thorpe Road"]
    for q, name in enumerate(names):
        a = math.radians(90 * q)
        start = (round(radius * math.cos(a), 6), round(radius * math.sin(a), 6))
        rows.append((name, None, "primary" if q % 2 == 0 else "secondary",
                     [start, (start[0] * 12, start[1] * 12)]))  # fmt: skip
    return roads(*rows)


def test_roundabout_ring_is_one_junction():
    """Four arm nodes on a 50 m roundabout are one junction; ring arcs lie inside it."""
    net = road_network(roundabout())
    assert len(net.junctions) == 1
    assert net.junctions["n_nodes"].iloc[0] == 4
    assert net.junctions.geometry.iloc[0].distance(Point(X0, Y0)) < 0.01
    ring = net.chains[net.chains["highway"] == "primary"]
    assert ring["junction_id"].notna().sum() == 4


def test_large_round_face_is_not_a_roundabout():
    """A 200 m ring is wider than the 60 m roundabout limit: four separate junctions."""
    assert len(road_network(roundabout(radius=100)).junctions) == 4


def test_wrong_crs_is_an_input_error():
    """Roads in EPSG:4326 are refused with a message naming the fix."""
    with pytest.raises(InputError, match="expected EPSG:27700.*to_british_national_grid"):
        road_network(crossroads().to_crs(4326))


def test_junction_merge_under_the_id_rounding_is_an_input_error():
    """Junction ids round to the metre: nodes 0.4 m apart must merge, so under 1.5 m is refused."""
    with pytest.raises(InputError, match=r"junction_merge_m: expected at least 1\.5 m, found 0\.1"):
        road_network(crossroads(), junction_merge_m=0.1)
    assert len(road_network(crossroads(), junction_merge_m=1.5).junctions) == 1  # the threshold


def test_missing_road_column_is_an_input_error():
    """A layer without highway names the missing column."""
    with pytest.raises(InputError, match="missing column.*highway"):
        road_network(crossroads().drop(columns="highway"))


def test_unsnapped_collisions_are_an_input_error():
    """network_sites on raw collisions (not snapped) names the missing columns and the fix."""
    net = road_network(crossroads())
    with pytest.raises(InputError, match="missing column.*chain_id.*snapped_collisions"):
        network_sites(collisions([(1, 1)]), net, SPP)


# --------------------------------------------------------------------------------------------
# snapping
# --------------------------------------------------------------------------------------------


def test_collision_beyond_tolerance_is_set_aside():
    """One collision 41.2 m from the only road is set aside with its reason and distance."""
    net = road_network(lincoln_road())
    result = snapped_collisions(collisions([(700, 5), (700, 41.2)]), net)
    assert list(result.snapped["collision_id"]) == ["c0"]
    row = result.set_aside.iloc[0]
    assert (row["record_id"], row["reason"]) == ("c1", "beyond snap tolerance")
    assert row["detail"] == "nearest road 41.2 m away"
    assert list(result.set_aside.columns) == ["source", "row", "record_id", "reason", "detail"]


def test_snapped_keeps_index_columns_and_measures():
    """Snapped rows keep their index and columns; chain_m is the distance along the chain."""
    frame = collisions([(700, 5), (120, -3)]).set_index(pd.Index([10, 20]))
    frame["extra"] = ["x", "y"]
    result = snapped_collisions(frame, road_network(lincoln_road()))
    snapped = result.snapped
    assert list(snapped.index) == [10, 20]
    assert list(snapped["extra"]) == ["x", "y"]
    assert list(snapped["chain_m"]) == pytest.approx([700, 120])
    assert list(snapped["snap_distance_m"]) == pytest.approx([5, 3])
    assert snapped.geometry.equals(frame.geometry)


def parallel_roads() -> gpd.GeoDataFrame:
    """Lincoln Road (A15) at y=0 and an unnamed service road at y=3, both 400 m long."""
    return roads(
        ("Lincoln Road", "A15", "primary", [(0, 0), (400, 0)]),
        (None, None, "service", [(0, 3), (400, 3)]),
    )


@pytest.mark.parametrize(
    ("road_number", "location", "expected"),
    [
        ("A15", None, "Lincoln Road"),
        (None, "LINCOLN ROAD NEAR NO. 42", "Lincoln Road"),
        (None, None, None),
    ],
    ids=["road-number-match", "location-text-match", "no-hint-nearest"],
)
def test_name_preference_between_near_equal_roads(road_number, location, expected):
    """A collision 1.8 m from Lincoln Road and 1.2 m from a service road goes to Lincoln Road
    when it names the road, and to the nearer service road otherwise."""
    net = road_network(parallel_roads())
    frame = collisions([(200, 1.8)], road_number=[road_number], location=[location])
    snapped = snapped_collisions(frame, net).snapped
    link = net.links.loc[snapped["link_id"].iloc[0]]
    assert link["name"] == expected or (expected is None and pd.isna(link["name"]))


def test_junction_radius_assigns_junction():
    """Collisions 19 m from the junction node belong to it; 21 m away do not."""
    net = road_network(crossroads())
    snapped = snapped_collisions(collisions([(19, 1), (0, 21)]), net).snapped
    assert snapped["junction_id"].iloc[0] == f"{X0:.0f}_{Y0:.0f}"
    assert pd.isna(snapped["junction_id"].iloc[1])


# --------------------------------------------------------------------------------------------
# sites
# --------------------------------------------------------------------------------------------


def test_junction_site_on_crossroads():
    """Six slight collisions within 20 m of a crossroads make one junction site."""
    pts = [(5, 1), (-8, 1), (1, 12), (1, -15), (18, 0), (-3, -3)]
    _, snapped, sites = scan(crossroads(), collisions(pts))
    assert len(sites) == 1
    site = sites.iloc[0]
    assert (site["site_type"], site["total"]) == ("junction", 6)
    assert site["site_key"] == f"J{X0:.0f}_{Y0:.0f}"
    assert site["name"] == "Bourges Boulevard junction Taverners Road"
    assert sorted(site["members"]) == sorted(snapped.snapped.index)
    assert math.isnan(site["start_m"])
    assert sites.crs == "EPSG:27700"


def test_mid_link_site():
    """Six collisions between 600 m and 680 m along Lincoln Road make one 100 m link site,
    centred on them (590-690 m; it used to start at the first collision and run 20 m past the
    last). Stone Lane is 640 m away, beyond 100 m, so the name carries a grid reference."""
    _, _, sites = scan(lincoln_road(), collisions(along(600, 610, 630, 650, 670, 680)))
    assert len(sites) == 1
    site = sites.iloc[0]
    assert site["site_type"] == "link"
    assert site["name"] == f"Lincoln Road, E{X0 + 640:.0f} N{Y0:.0f}"
    assert (site["start_m"], site["end_m"]) == pytest.approx((590, 690))
    assert site.geometry.length == pytest.approx(100)
    assert site["site_key"].endswith("@590")
    assert site["route_m"] == pytest.approx(640)


def test_window_straddles_link_break():
    """Collisions on both sides of the degree-2 node at x=500 count in one window."""
    _, _, sites = scan(lincoln_road(), collisions(along(460, 470, 490, 510, 530, 550)))
    assert len(sites) == 1
    assert sites["total"].iloc[0] == 6
    assert sites["start_m"].iloc[0] == pytest.approx(455)  # centred on 460-550


def test_roundabout_site():
    """Six collisions on different arms and the ring of a roundabout are one junction site."""
    pts = [(30, 1), (-1, 33), (-36, 0), (2, -29), (18, 18), (-17, -18)]
    _, snapped, sites = scan(roundabout(), collisions(pts))
    assert snapped.snapped["junction_id"].nunique() == 1
    assert list(sites["site_type"]) == ["junction"]
    assert sites["total"].iloc[0] == 6
    assert sites["name"].iloc[0] == "Longthorpe Parkway junction Oundle Road"


@pytest.mark.parametrize(
    ("severities", "qualifies"),
    [
        (["slight"] * 6, True),
        (["slight"] * 5, False),
        (["serious"] * 3, True),
        (["serious"] * 2, False),
        (["fatal", "serious", "serious"], True),
        (["serious"] + ["slight"] * 4, True),
        (["slight"] * 4 + ["fatal"], True),
        (["slight"] * 4, False),
        (["serious", "slight", "slight", "slight"], False),
    ],
    ids=[
        "6-slight-yes",
        "5-slight-no",
        "3-serious-yes",
        "2-serious-no",
        "3-ksi-with-fatal-yes",
        "5-with-1-serious-yes",
        "5-with-1-fatal-yes",
        "4-slight-no",
        "4-with-1-serious-no",
    ],
)
def test_thresholds_on_a_link(severities, qualifies):
    """Counts exactly at each SPP threshold qualify; one below does not (mid-link, 10 m apart)."""
    pts = along(*(700 + 10 * i for i in range(len(severities))))
    _, _, sites = scan(lincoln_road(), collisions(pts, severities=severities))
    assert (len(sites) == 1) is qualifies


@pytest.mark.parametrize(
    ("gap_m", "n_sites"), [(100.0, 1), (100.1, 0), (99.9, 1)], ids=["100m", "100.1m", "99.9m"]
)
def test_window_length_edge(gap_m, n_sites):
    """Three collisions at 650 m and three at 650 m + gap: one window holds all six only when
    the gap is at most 100 m."""
    pts = along(650, 650, 650, 650 + gap_m, 650 + gap_m, 650 + gap_m, y=0)
    _, _, sites = scan(lincoln_road(), collisions(pts))
    assert len(sites) == n_sites


def test_short_chain_window_is_the_whole_chain():
    """On a 60 m cul-de-sac chain the window is the whole chain."""
    net_roads = roads(
        ("Main Road", None, "primary", [(-200, 0), (0, 0), (200, 0)]),
        ("Short Close", None, "residential", [(0, 0), (0, 60)]),
    )
    _, _, sites = scan(net_roads, collisions([(1, y) for y in (25, 30, 35, 40, 45, 50)]))
    assert len(sites) == 1
    assert (sites["start_m"].iloc[0], sites["end_m"].iloc[0]) == pytest.approx((0, 60))
    assert sites.geometry.iloc[0].length == pytest.approx(60)


def test_qualifying_junction_collisions_not_counted_again_on_link():
    """Six collisions at the junction (a site) plus three 30-60 m along Bourges Boulevard: the
    three are too few for a link site because the junction's six are not counted again."""
    pts = [(5, 1), (-8, 1), (1, 12), (1, -15), (10, 0), (-3, -3), (30, 1), (45, 1), (60, 1)]
    _, _, sites = scan(crossroads(), collisions(pts))
    assert list(sites["site_type"]) == ["junction"]


def test_non_qualifying_junction_collisions_count_on_link():
    """Two collisions at a junction (no site) and four 25-60 m along the road: the six share one
    100 m window, so a link site is found."""
    pts = [(5, 1), (10, 1), (25, 1), (35, 1), (50, 1), (60, 1)]
    _, _, sites = scan(crossroads(), collisions(pts))
    assert list(sites["site_type"]) == ["link"]
    assert sites["total"].iloc[0] == 6
    assert sites["name"].iloc[0] == "Bourges Boulevard nr Taverners Road"


def test_long_bad_stretch_gives_non_overlapping_sites():
    """Twelve collisions spread over 220 m give two sites that neither overlap nor share."""
    pts = along(*np.linspace(600, 820, 12))
    _, _, sites = scan(lincoln_road(), collisions(pts))
    assert len(sites) == 2
    a, b = sites.sort_values("start_m").itertuples()
    assert a.end_m <= b.start_m
    assert not set(a.members) & set(b.members)


def test_members_of_sites_matches_and_counts_other_periods():
    """members_of_sites gives a site's own members back, and finds another period's collisions
    in the same footprints."""
    pts = [(5, 1), (-8, 1), (1, 12), (1, -15), (18, 0), (-3, -3)] + along(300, 320, 340, 360,
                                                                         380, 390)  # fmt: skip
    net, snapped, sites = scan(crossroads(), collisions(pts))
    assert len(sites) == 2
    assert list(members_of_sites(snapped.snapped, sites)) == list(sites["members"])
    other = snapped_collisions(collisions([(2, 2), (350, -1), (450, 1)]), net).snapped
    found = members_of_sites(other, sites)
    assert sorted(len(m) for m in found) == [1, 1]


def test_no_collisions_gives_empty_frames():
    """An empty collision frame gives no snapped rows, no set-aside rows and no sites."""
    net, snapped, sites = scan(crossroads(), collisions([]))
    assert (len(snapped.snapped), len(snapped.set_aside), len(sites)) == (0, 0, 0)
    assert sites.crs == "EPSG:27700"
    assert "members" in sites.columns


def test_closed_loop_at_a_junction_starts_there():
    """A loop road leaving and rejoining Main Road at one node is one closed chain whose
    measures start at the junction node."""
    net = road_network(roads(
        ("Main Road", None, "primary", [(0, 0), (100, 0), (200, 0)]),
        ("Loop Close", None, "residential", [(100, 0), (150, 50), (100, 100), (50, 50), (100, 0)]),
    ))  # fmt: skip
    loop = net.chains[net.chains["name"] == "Loop Close"].iloc[0]
    assert loop.geometry.coords[0] == (X0 + 100, Y0)
    assert loop["length_m"] == pytest.approx(400 * math.sqrt(2) / 2 * 1, rel=1e-9)


def test_isolated_ring_and_reversed_digitising():
    """A ring of two ways with no junction is one closed chain from its south-west-most vertex;
    digitising a road the other way round gives the same chain id and measures."""
    ring = [(10 * math.cos(t), 10 * math.sin(t)) for t in np.linspace(0, 2 * np.pi, 13)]
    ring = [(round(x, 6), round(y, 6)) for x, y in ring]
    ring[-1] = ring[0]
    net = road_network(roads(("Ring", None, "residential", ring[:7]),
                             ("Ring", None, "residential", ring[6:])))  # fmt: skip
    assert len(net.chains) == 1
    assert net.chains["length_m"].iloc[0] == pytest.approx(62.12, abs=0.01)
    assert sorted(net.links["start_m"]) == pytest.approx([0, 31.06], abs=0.01)
    flipped = lincoln_road()
    flipped.loc[1, "geometry"] = flipped.geometry[1].reverse()
    a, b = road_network(lincoln_road()), road_network(flipped)
    assert list(a.chains.index) == list(b.chains.index)
    assert list(a.links["start_m"]) == pytest.approx(list(b.links["start_m"]))
    assert list(b.links["forward"]) != list(a.links["forward"])


def test_multilinestring_roads_are_split_into_parts():
    """A MultiLineString road row is used part by part."""
    frame = crossroads()
    frame.loc[0, "geometry"] = shapely.MultiLineString(
        [[(X0, Y0 - 500), (X0, Y0)], [(X0, Y0), (X0, Y0 + 500)]]
    )
    assert road_network(frame).junctions["name"].tolist() == [
        "Bourges Boulevard junction Taverners Road"
    ]


# --------------------------------------------------------------------------------------------
# invariants
# --------------------------------------------------------------------------------------------


def invariant_case():
    """A crossroads, Lincoln Road and a roundabout with a junction cluster, a straddling link
    cluster, a roundabout cluster, scattered singles and one collision 50 m off every road."""
    net_roads = pd.concat(
        [
            crossroads(),
            lincoln_road().assign(geometry=lincoln_road().geometry.translate(0, 2000)),
            roundabout().assign(geometry=roundabout().geometry.translate(3000, 0)),
        ],
        ignore_index=True,
    )
    net_roads["road_id"] = [f"r{i}" for i in range(len(net_roads))]
    rng = np.random.default_rng(3)
    pts = [(5, 1), (-8, 1), (1, 12), (1, -15), (18, 0), (-3, -3), (200, 50)]
    pts += [(x, 2001) for x in (460, 470, 490, 510, 530, 550, 900)]
    pts += [(3000 + x, y) for x, y in [(30, 1), (-1, 33), (-36, 0), (2, -29), (18, 18)]]
    pts += [(float(x), 1.0) for x in rng.uniform(-480, 480, 20)]
    sev = list(rng.choice(["slight", "serious", "fatal"], len(pts), p=[0.8, 0.17, 0.03]))
    return gpd.GeoDataFrame(net_roads, crs="EPSG:27700"), collisions(pts, severities=sev)


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_row_order_changes_nothing(random):
    """Shuffling road and collision rows gives the same site keys and members."""
    net_roads, frame = invariant_case()
    _, _, expected = scan(net_roads, frame)
    r_order = list(range(len(net_roads)))
    c_order = list(range(len(frame)))
    random.shuffle(r_order)
    random.shuffle(c_order)
    _, _, got = scan(net_roads.iloc[r_order], frame.iloc[c_order])
    assert list(got["site_key"]) == list(expected["site_key"])
    assert list(got["members"]) == list(expected["members"])
    assert len(expected) >= 3


def test_every_collision_lands_in_one_bucket():
    """Each collision is in exactly one of: one site, no site, set aside."""
    net_roads, frame = invariant_case()
    _, snapped, sites = scan(net_roads, frame)
    in_sites = [label for m in sites["members"] for label in m]
    assert len(in_sites) == len(set(in_sites))
    aside = set(snapped.set_aside.index)
    assert set(in_sites) <= set(snapped.snapped.index)
    assert not aside & set(snapped.snapped.index)
    assert len(snapped.snapped) + len(aside) == len(frame)
    assert list(snapped.set_aside["reason"]) == ["beyond snap tolerance"]


# --------------------------------------------------------------------------------------------
# real data: central Leeds
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def leeds():
    if not LEEDS.exists():
        pytest.skip("Leeds data not available")
    net_roads = gpd.read_file(LEEDS / "leeds_central_roads_osm.geojson").to_crs(27700)
    net_roads = net_roads.rename(columns={"osm_id": "road_id"})
    raw = pd.read_csv(LEEDS / "leeds_central_rtc_2009_2019.csv", dtype={"time_24h": str})
    raw = raw[raw["year"].between(2017, 2019)]
    frame = gpd.GeoDataFrame(
        {
            "collision_id": raw["collision_id"].astype(str),
            "severity": raw["severity"].str.lower(),
            "road_number": raw["road_class_and_number"],
        },
        geometry=gpd.points_from_xy(raw["easting"], raw["northing"]),
        crs=27700,
    )
    net = road_network(net_roads)
    snapped = snapped_collisions(frame, net)
    return frame, net, snapped, network_sites(snapped.snapped, net, SPP)


def test_leeds_real_network(leeds):
    """Central Leeds OSM network with 2017-2019 collisions: nearly all snap, sites are found,
    no collision is in two sites, every site has a name."""
    frame, net, snapped, sites = leeds
    assert len(snapped.snapped) / len(frame) >= 0.98
    assert len(snapped.snapped) + len(snapped.set_aside) == len(frame)
    assert len(sites) >= 10
    labels = [label for m in sites["members"] for label in m]
    assert len(labels) == len(set(labels))
    assert sites["name"].str.len().gt(0).all()
    assert set(sites["site_type"]) == {"junction", "link"}
    assert shapely.is_valid(sites.geometry.values).all()
    assert list(members_of_sites(snapped.snapped, sites)) == list(sites["members"])
    top = sites.sort_values(["total", "ksi"], ascending=False)["name"].head(3).tolist()
    assert "Woodhouse Lane junction Headingley Lane" in top
