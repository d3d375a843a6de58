"""Planted networks for issue 10: windows along routes, carriageway pairs, large roundabouts,
network cleaning and link stretches placed on their collisions (all EPSG:27700)."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from geo_sppa.roads.network import network_sites, road_network, snapped_collisions
from geo_sppa.roads.rules import RULES

SPP = RULES["spp"]
X0, Y0 = 429000.0, 434000.0  # central Leeds, so coordinates look like real BNG


def roads(*rows: tuple, **tags: list) -> gpd.GeoDataFrame:
    """(name, ref, highway, [(dx, dy), ...]) rows, offsets in metres from (X0, Y0); ``tags`` are
    extra columns (e.g. ``oneway=[...]``), one value per row."""
    return gpd.GeoDataFrame(
        {
            "road_id": [f"r{i}" for i in range(len(rows))],
            "name": [r[0] for r in rows],
            "ref": [r[1] for r in rows],
            "highway": [r[2] for r in rows],
            **tags,
        },
        geometry=[LineString([(X0 + x, Y0 + y) for x, y in r[3]]) for r in rows],
        crs="EPSG:27700",
    )


def collisions(points, severities=None) -> gpd.GeoDataFrame:
    """Collisions at offsets ``points`` from (X0, Y0); all slight unless ``severities`` says."""
    return gpd.GeoDataFrame(
        {
            "collision_id": [f"c{i}" for i in range(len(points))],
            "severity": severities or ["slight"] * len(points),
        },
        geometry=[Point(X0 + x, Y0 + y) for x, y in points],
        crs="EPSG:27700",
    )


def scan(road_frame, collision_frame):
    net = road_network(road_frame)
    snapped = snapped_collisions(collision_frame, net)
    return net, snapped, network_sites(snapped.snapped, net, SPP)


def side_streets() -> gpd.GeoDataFrame:
    """Woodhouse Lane, 400 m E-W, with side streets every 20-40 m (x = 100, 130, 150, 190, 220),
    alternately north and south, each a T junction on a shared vertex."""
    xs = [100, 130, 150, 190, 220]
    main = ("Woodhouse Lane", "A660", "primary", [(0, 0), *[(x, 0) for x in xs], (400, 0)])
    names = ["Blenheim Walk", "Raglan Road", "Rossington Street", "Portland Way", "Cobden Place"]
    sides = [(n, None, "residential", [(x, 0), (x, 100 if i % 2 == 0 else -100)])
             for i, (n, x) in enumerate(zip(names, xs, strict=True))]  # fmt: skip
    return roads(main, *sides)


def test_window_spans_side_road_junctions():
    """Three slight collisions either side of the side street at x=150 (110-200 m along, over
    four side-street junctions) are one link site: the window runs along the route."""
    pts = [(110, 2), (120, 2), (140, -2), (160, 2), (175, -2), (200, 2)]
    net, _, sites = scan(side_streets(), collisions(pts))
    assert len(sites) == 1
    site = sites.iloc[0]
    assert (site["site_type"], site["total"]) == ("link", 6)
    assert site["route_m"] == pytest.approx(155)
    assert (site["start_m"], site["end_m"]) == pytest.approx((105, 205))
    assert site["name"] == "Woodhouse Lane nr Rossington Street"
    assert net.chains.loc[net.chains["name"] == "Woodhouse Lane", "route_id"].nunique() == 1


def test_different_names_do_not_continue():
    """A straight road that changes name at a crossroads is two routes: 3 + 3 either side of
    the change is no site."""
    net_roads = roads(
        ("Vicar Lane", None, "primary", [(0, 0), (200, 0)]),
        ("New Briggate", None, "primary", [(200, 0), (400, 0)]),
        ("Eastgate", None, "primary", [(200, -200), (200, 0), (200, 200)]),
    )
    pts = [(150, 2), (160, 2), (170, 2), (230, 2), (240, 2), (250, 2)]
    net, _, sites = scan(net_roads, collisions(pts))
    assert len(sites) == 0
    assert net.chains["route_id"].nunique() == 3


def test_unnamed_road_continues_straightest():
    """Where unnamed, a route continues along the straightest way (here 10 degrees off), not the
    side turn (90 degrees)."""
    bend = (200 + 200 * math.cos(math.radians(10)), 200 * math.sin(math.radians(10)))
    net_roads = roads(
        (None, None, "unclassified", [(0, 0), (200, 0)]),
        (None, None, "unclassified", [(200, 0), bend]),
        (None, None, "unclassified", [(200, 0), (200, 200)]),
    )
    chains = road_network(net_roads).chains
    straight = chains[chains.geometry.length > 0].sort_values("length_m")
    by_end = {tuple(round(v) for v in g.coords[-1]): r for g, r in
              zip(straight.geometry, straight["route_id"], strict=True)}  # fmt: skip
    west = chains[chains.geometry.apply(lambda g: round(g.coords[0][0]) == X0)]["route_id"].iloc[0]
    assert by_end[(round(X0 + bend[0]), round(Y0 + bend[1]))] == west
    assert by_end[(round(X0 + 200), round(Y0 + 200))] != west


def dual_carriageway() -> gpd.GeoDataFrame:
    """Leeds Road (A64): a single carriageway either side of a 640 m dual stretch whose two
    one-way carriageways (OSM ``oneway=yes``) run 20 m apart and meet the single road at
    (-20, 10) and (620, 10); Plaxton Street joins the southern carriageway at x=300."""
    return roads(
        ("Leeds Road", "A64", "trunk", [(-300, 10), (-20, 10)]),
        ("Leeds Road", "A64", "trunk", [(-20, 10), (0, 0), (300, 0), (600, 0), (620, 10)]),
        ("Leeds Road", "A64", "trunk", [(620, 10), (600, 20), (0, 20), (-20, 10)]),
        ("Leeds Road", "A64", "trunk", [(620, 10), (900, 10)]),
        ("Plaxton Street", None, "residential", [(300, 0), (300, -200)]),
        oneway=[None, "yes", "yes", None, None],
    )


def test_dual_carriageway_counts_both_carriageways():
    """Three collisions on each carriageway of one stretch make one link site of six; the two
    carriageways share one route measure."""
    pts = [(400, -1), (420, -1), (440, -1), (410, 21), (430, 21), (450, 21)]
    net, snapped, sites = scan(dual_carriageway(), collisions(pts))
    assert len(sites) == 1
    assert (sites["site_type"].iloc[0], sites["total"].iloc[0]) == ("link", 6)
    chains = net.chains
    routes = chains.loc[snapped.snapped["chain_id"].tolist(), "route_id"]
    assert routes.nunique() == 1
    assert chains["paired"].sum() >= 1


def test_two_way_parallel_roads_are_not_a_carriageway_pair():
    """The same layout without one-way tags: 3 + 3 on two separate roads is no site."""
    frame = dual_carriageway().assign(oneway=None)
    pts = [(400, -1), (420, -1), (440, -1), (410, 21), (430, 21), (450, 21)]
    assert len(scan(frame, collisions(pts))[2]) == 0


def roundabout(radius: float, *, tag: bool = False) -> gpd.GeoDataFrame:
    """A ring of four arcs (16 vertices each) with four named arms; ``tag`` marks the arcs
    ``junction=roundabout``. At 40 m and 70 m radius the arm nodes are 57 m and 99 m apart,
    far beyond the 15 m merge distance."""
    rows = []
    for q in range(4):
        arc = [(round(radius * math.cos(math.radians(a)), 6),
                round(radius * math.sin(math.radians(a)), 6))
               for a in np.linspace(90 * q, 90 * (q + 1), 17)]  # fmt: skip
        rows.append((None, None, "primary", arc))
    for q, name in enumerate(["Sheepscar Link", "Roundhay Road", "Sheepscar Street", "Meanwood"]):
        a = math.radians(90 * q)
        start = (round(radius * math.cos(a), 6), round(radius * math.sin(a), 6))
        rows.append((name, None, "primary", [start, (start[0] * 5, start[1] * 5)]))
    junction = ["roundabout"] * 4 + [None] * 4 if tag else [None] * 8
    return roads(*rows, junction=junction)


@pytest.mark.parametrize("diameter", [80, 140], ids=["80m", "140m"])
def test_large_roundabout_is_one_junction_site(diameter):
    """Six collisions around an 80 m or a 140 m roundabout (on the ring between the arms) make
    ONE junction site: the ring is found by its shape and its catchment is the whole ring."""
    r = diameter / 2
    pts = [(r * math.cos(math.radians(a)) * 1.02, r * math.sin(math.radians(a)) * 1.02)
           for a in (20, 70, 135, 200, 250, 315)]  # fmt: skip
    net, _, sites = scan(roundabout(r), collisions(pts))
    assert len(net.junctions) == 1
    assert list(sites["site_type"]) == ["junction"]
    assert sites["total"].iloc[0] == 6


def test_roundabout_limit_is_configurable():
    """With ``roundabout_max_diameter_m=100`` a 140 m ring is four junctions again."""
    assert len(road_network(roundabout(70), roundabout_max_diameter_m=100).junctions) == 4


def test_tagged_roundabout_merges_whatever_its_shape():
    """A square ring (not round, 200 m across) tagged junction=roundabout is one junction."""
    sq = [(-100, -100), (100, -100), (100, 100), (-100, 100), (-100, -100)]
    rows = [(None, None, "primary", [sq[i], sq[i + 1]]) for i in range(4)]
    rows += [("Arm %d" % i, None, "primary", [sq[i], (sq[i][0] * 3, sq[i][1] * 3)])
             for i in range(4)]  # fmt: skip
    tagged = roads(*rows, junction=["roundabout"] * 4 + [None] * 4)
    assert len(road_network(tagged).junctions) == 1
    assert len(road_network(tagged.assign(junction=None)).junctions) == 4


def test_every_way_drawn_twice_gives_the_same_sites():
    """The side-street network with every way drawn twice (one copy reversed) gives the same
    sites as drawn once, and reports the repair."""
    once = side_streets()
    twice = gpd.GeoDataFrame(
        np.concatenate([once.to_numpy(), once.assign(geometry=once.geometry.reverse()).to_numpy()]),
        columns=once.columns, geometry="geometry", crs=once.crs,
    )  # fmt: skip
    twice["road_id"] = [f"r{i}" for i in range(len(twice))]
    pts = [(110, 2), (120, 2), (140, -2), (160, 2), (175, -2), (200, 2), (131, 40)]
    net1, _, a = scan(once, collisions(pts))
    net2, _, b = scan(twice, collisions(pts))
    assert net2.repairs["duplicate_ways"] == len(once)
    assert net1.repairs["duplicate_ways"] == 0
    assert list(a["site_key"]) == list(b["site_key"])
    assert list(a["members"]) == list(b["members"])
    assert len(net1.chains) == len(net2.chains)


@pytest.mark.parametrize(("gap_m", "noded"), [(0.0, True), (1.5, True), (3.0, False)],
                         ids=["on-segment", "1.5m-short", "3m-short"])  # fmt: skip
def test_t_ending_mid_segment_is_a_junction(gap_m, noded):
    """Park Lane is one straight segment; Clarendon Road ends on it (or 1.5 m short of it)
    between its two vertices: noded into a T junction. 3 m short stays a dead end."""
    net = road_network(roads(
        ("Park Lane", None, "primary", [(-200, 0), (200, 0)]),
        ("Clarendon Road", None, "residential", [(50, 150), (50, gap_m)]),
    ))  # fmt: skip
    assert len(net.junctions) == (1 if noded else 0)
    assert net.repairs["ends_noded"] == (1 if noded else 0)
    if noded:
        assert net.junctions["name"].iloc[0] == "Park Lane junction Clarendon Road"
        assert net.junctions.geometry.iloc[0].distance(Point(X0 + 50, Y0)) < 0.01


def test_bridge_sharing_a_vertex_is_not_a_junction():
    """Wellington Bridge (bridge=yes, layer=1) passes over Kirkstall Road and both ways have a
    vertex at the crossing: the tags keep them apart. Untagged, the shared vertex is a junction."""
    rows = (
        ("Wellington Bridge", None, "primary", [(-100, 0), (0, 0), (100, 0)]),
        ("Kirkstall Road", None, "primary", [(0, -100), (0, 0), (0, 100)]),
    )
    bridged = road_network(roads(*rows, bridge=["yes", None], layer=["1", None]))
    assert len(bridged.junctions) == 0
    assert bridged.repairs["grade_separated_vertices"] == 1
    assert len(bridged.chains) == 2
    assert len(road_network(roads(*rows)).junctions) == 1


def test_bridge_with_no_shared_vertex_is_not_a_junction():
    """A bridge crossing with no vertex in common, with its tags: no junction, no repair."""
    net = road_network(roads(
        ("Wellington Bridge", None, "primary", [(-100, 0), (100, 0)]),
        ("Kirkstall Road", None, "primary", [(0, -100), (0, 100)]),
        bridge=["yes", None],
    ))  # fmt: skip
    assert len(net.junctions) == 0
    assert net.repairs == {"duplicate_ways": 0, "ends_noded": 0, "grade_separated_vertices": 0}


def test_link_stretch_is_centred_on_its_collisions():
    """Six collisions 200-240 m along Wellington Bridge, which runs on as Wellington Road past
    Bridge Street at x=300: the reported 100 m line is centred on them (170-270 m), stays on
    Wellington Bridge and is named after it and a road at the junction 60 m from its centre."""
    net_roads = roads(
        ("Wellington Bridge", None, "primary", [(0, 0), (300, 0)]),
        ("Wellington Road", None, "primary", [(300, 0), (800, 0)]),
        ("Bridge Street", None, "residential", [(300, 0), (300, 200)]),
    )
    pts = [(200, 1), (208, 1), (215, -1), (226, 1), (233, -1), (240, 1)]
    _, _, sites = scan(net_roads, collisions(pts))
    assert len(sites) == 1
    site = sites.iloc[0]
    assert (site["start_m"], site["end_m"]) == pytest.approx((170, 270))
    assert site.geometry.length == pytest.approx(100)
    assert site.geometry.distance(Point(X0 + 300, Y0)) == pytest.approx(30)
    assert site["name"] in ("Wellington Bridge nr Wellington Road",
                            "Wellington Bridge nr Bridge Street")  # fmt: skip
    assert site["chain_id"] == site["route_id"]


def test_site_frame_has_route_columns():
    """Link sites carry their route and the centre's measure; junction sites None and NaN."""
    pts = [(105, 1), (95, 1), (101, 8), (101, -8), (104, 4), (96, -4)]
    pts += [(250, 2), (260, 2), (280, -2), (300, 2), (320, -2), (340, 2)]
    _, _, sites = scan(side_streets(), collisions(pts))
    assert sorted(sites["site_type"]) == ["junction", "link"]
    j = sites[sites["site_type"] == "junction"].iloc[0]
    link = sites[sites["site_type"] == "link"].iloc[0]
    assert j["route_id"] is None and math.isnan(j["route_m"])
    assert isinstance(link["route_id"], str)
    assert link["route_m"] == pytest.approx((link["start_m"] + link["end_m"]) / 2)
