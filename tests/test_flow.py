"""Traffic flow at link sites: DfT count points read, matched by road and distance, and rates."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from geo_sppa.errors import InputError
from geo_sppa.io.count_points import read_count_points
from geo_sppa.roads.flow import FLOW_COLUMNS, MATCH_M, road_key, site_flows, site_roads

X0, Y0 = 518_000.0, 298_000.0
WINDOW = (2014, 2016)
IOW = Path("/work/shared/data/isle-of-wight/isle_of_wight_dft_countpoints_aadt.geojson")


def link_site(total: int = 6, *, dx: float = 0.0) -> gpd.GeoDataFrame:
    """One 100 m link window west-east centred on (X0 + dx, Y0), ``total`` collisions."""
    x = X0 + dx
    return gpd.GeoDataFrame(
        {"site_id": ["S1"], "site_type": ["link"], "total": [total], "x": [x], "y": [Y0]},
        geometry=[LineString([(x - 50, Y0), (x + 50, Y0)])],
        crs=27700,
    )


def points(rows) -> gpd.GeoDataFrame:
    """Count points from ``(id, road, year, aadt, dx, dy)`` rows, offsets from (X0, Y0)."""
    cp, road, year, aadt, dx, dy = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"count_point_id": list(cp), "road_name": list(road), "year": list(year),
         "aadt": [float(a) for a in aadt]},
        geometry=[Point(X0 + a, Y0 + b) for a, b in zip(dx, dy, strict=True)],
        crs=27700,
    )  # fmt: skip


def flows(sites, cps, road="A15", **kw) -> pd.DataFrame:
    roads = pd.Series([road] * len(sites), index=sites.index, dtype="string")
    return site_flows(sites, cps, roads=roads, window=WINDOW, **kw)


def test_rate_by_hand_for_one_link_site():
    """6 collisions in 3 years on 100 m of the A15, count point 120 m north with AADT 20,000
    in each year: 6 / (20,000 x 365 x 3 x 0.1) x 1e6 = 2.7397 per million vehicle-km."""
    cps = points([("7", "A15", y, 20_000, 0, 120) for y in (2014, 2015, 2016)])
    row = flows(link_site(6), cps).iloc[0]
    assert list(flows(link_site(6), cps).columns) == FLOW_COLUMNS
    assert row["rate_per_mvkm"] == pytest.approx(6 / (20_000 * 365 * 3 * 0.1) * 1e6, abs=1e-3)
    assert row["rate_per_mvkm"] == pytest.approx(2.740, abs=1e-3)
    assert (row["aadt"], row["aadt_year"], row["count_point_id"]) == (
        20_000,
        "2014; 2015; 2016",
        "7",
    )
    assert row["count_point_m"] == pytest.approx(120.0)
    assert row["flow_note"].startswith("indicative: count point 7 on A15, 120 m away")


def test_nearest_year_is_used_and_said():
    """Counts only in 2010 (AADT 10,000) and 2019 (30,000): 2014 is nearest 2010, 2015 and 2016
    nearest 2019, so the AADT is (10,000 + 30,000 + 30,000) / 3."""
    cps = points([("7", "A15", 2010, 10_000, 0, 50), ("7", "A15", 2019, 30_000, 0, 50)])
    row = flows(link_site(6), cps).iloc[0]
    assert row["aadt"] == pytest.approx(70_000 / 3, abs=0.1)
    assert row["aadt_year"] == "2010; 2019"
    assert "nearest year with a count to 2014-2016" in row["flow_note"]
    assert row["rate_per_mvkm"] == pytest.approx(6 / (70_000 / 3 * 365 * 3 * 0.1) * 1e6, abs=1e-3)


def test_count_point_on_another_road_or_600m_away_is_not_matched():
    """An A47 count point 20 m from the site and an A15 one 600 m along: neither gives a rate."""
    cps = points([("1", "A47", 2015, 30_000, 0, 20), ("2", "A15", 2015, 20_000, 600, 0)])
    row = flows(link_site(6), cps).iloc[0]
    assert pd.isna(row["rate_per_mvkm"]) and pd.isna(row["count_point_id"])
    assert row["flow_note"] == "no count point on A15 within 500 m"


@pytest.mark.parametrize(
    ("distance", "matched"), [(MATCH_M - 0.1, True), (MATCH_M, True), (MATCH_M + 0.1, False)],
    ids=["499.9m", "500m", "500.1m"],
)  # fmt: skip
def test_match_distance_edges(distance, matched):
    cps = points([("2", "A15", 2015, 20_000, distance, 0)])
    assert pd.notna(flows(link_site(6), cps).iloc[0]["rate_per_mvkm"]) is matched


def test_the_nearest_of_two_matching_count_points_is_used():
    cps = points([("far", "A15", 2015, 10_000, 300, 0), ("near", "a 15", 2015, 40_000, -90, 0)])
    row = flows(link_site(6), cps).iloc[0]
    assert (row["count_point_id"], row["aadt"]) == ("near", 40_000)


def test_junction_and_unnumbered_sites_get_no_rate_and_say_why():
    cps = points([("7", "A15", 2015, 20_000, 0, 10)])
    junction = link_site(6).assign(site_type="junction")
    assert flows(junction, cps).iloc[0]["flow_note"].startswith("junction site")
    unnamed = flows(link_site(6), cps, road=None).iloc[0]
    assert pd.isna(unnamed["rate_per_mvkm"]) and "no road number" in unnamed["flow_note"]


def test_radius_mode_site_length_is_the_circle_diameter():
    """A radius-mode Point site of 50 m circles counts 100 m of road; 40 m circles 80 m."""
    cps = points([("7", "A15", y, 20_000, 0, 30) for y in (2014, 2015, 2016)])
    site = link_site(6).set_geometry([Point(X0, Y0)], crs=27700)
    assert flows(site, cps, radius_m=50).iloc[0]["rate_per_mvkm"] == pytest.approx(2.740, abs=1e-3)
    assert flows(site, cps, radius_m=40).iloc[0]["rate_per_mvkm"] == pytest.approx(
        6 / (20_000 * 365 * 3 * 0.08) * 1e6, abs=1e-3
    )
    assert pd.isna(flows(site, cps).iloc[0]["rate_per_mvkm"])  # no radius: no length


def test_road_key_and_site_roads():
    keys = road_key(pd.Series(["a 15", "A1(M)", "C", "U", "Lincoln Road", None, "B1443"]))
    assert keys.tolist()[:2] == ["A15", "A1(M)"] and keys.tolist()[-1] == "B1443"
    assert keys.iloc[2:6].isna().all()
    collisions = pd.DataFrame(
        {
            "site_id": ["S1", "S1", "S1", "S2", None],
            "road_number": ["A47", "A15", "A15", None, "A1"],
        }
    )
    roads = site_roads(pd.Series(["S1", "S2"]), collisions)
    assert roads.iloc[0] == "A15" and pd.isna(roads.iloc[1])


def test_reads_the_dft_aadf_by_direction_csv(tmp_path):
    """DfT download layout: both directions of count point 99 in 2015 add up to its AADT;
    a row with no flow and a row with no place are set aside by file row; lat/lon only."""
    (tmp_path / "aadf.csv").write_text(
        "count_point_id,direction_of_travel,year,road_name,latitude,longitude,all_motor_vehicles\n"
        "99,N,2015,A15,52.57,-0.24,9000\n99,S,2015,A15,52.57,-0.24,11000\n"
        "99,N,2016,A15,52.57,-0.24,\n100,C,2016,A47,,,5000\n"
    )
    loaded = read_count_points(tmp_path / "aadf.csv")
    assert loaded.data[["count_point_id", "road_name", "year", "aadt"]].values.tolist() == [
        ["99", "A15", 2015, 20000.0]
    ]
    assert loaded.data.crs.to_epsg() == 27700
    assert loaded.set_aside[["row", "record_id", "reason"]].values.tolist() == [
        [4, "100", "missing coordinates"],
        [3, "99", "no usable flow"],
    ]


def test_reads_the_cyipt_count_point_layer():
    """The Isle of Wight extract: cp, road, maxyear, aadt, points in EPSG:4326."""
    loaded = read_count_points(IOW)
    assert len(loaded.data) == loaded.n_read == 58 and loaded.set_aside.empty
    assert loaded.data["year"].between(2000, 2016).all() and (loaded.data["aadt"] > 0).all()
    bounds = loaded.data.total_bounds  # on the island, in British National Grid
    assert 420_000 < bounds[0] < bounds[2] < 470_000 and 70_000 < bounds[1] < bounds[3] < 100_000


def test_a_file_with_no_flow_column_is_a_one_line_error(tmp_path):
    (tmp_path / "cp.csv").write_text(
        "count_point_id,year,road_name,easting,northing\n1,2015,A1,1,2\n"
    )
    with pytest.raises(
        InputError, match=r"cp.csv: no count point aadt column \(looked for all_motor"
    ):
        read_count_points(tmp_path / "cp.csv")
