"""Per-site collision lists and the factor table with its binomial over-representation test."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from scipy.stats import binomtest
from shapely.geometry import Point

from geo_sppa.roads.factors import site_collisions, site_factors


def planted_area():
    """100 collisions in the window: 30 in the dark area-wide (30%), 2% on snow.

    Site A (rank 1) has 10: 8 in the dark (against 30%, planted over-represented) and weather
    fine in 7 of 10 (the area's 70%: ordinary). Site B (rank 2) has 2, both on snow: p is tiny
    but 2 < 3 collisions, so not flagged. The other 88 are in no site.
    """
    light = ["Dark"] * 8 + ["Day"] * 2 + ["Day"] * 2 + ["Dark"] * 22 + ["Day"] * 66
    weather = ["Fine"] * 7 + ["Rain"] * 3 + ["Fine"] * 2 + ["Fine"] * 61 + ["Rain"] * 27
    surface = ["Dry"] * 10 + ["Snow"] * 2 + ["Dry"] * 88
    site = ["A"] * 10 + ["B"] * 2 + [None] * 88
    return gpd.GeoDataFrame(
        {
            "site_id": pd.array(site, dtype="string"),
            "collision_id": [f"c{i:03d}" for i in range(100)],
            "date": pd.Timestamp("2015-01-01") + pd.to_timedelta(range(100), unit="D"),
            "time": "08:00",
            "severity": "slight",
            "casualties": pd.array([1] * 100, dtype="Int64"),
            "light": light,
            "weather": weather,
            "surface": surface,
        },
        geometry=[Point(500000 + i, 300000) for i in range(100)],
        crs=27700,
    )


SITES = pd.DataFrame({"site_id": ["A", "B"], "rank": [1, 2], "name": ["A road", "B road"]})


def row(table, site, factor, level):
    hit = table[(table.site_id == site) & (table.factor == factor) & (table.level == level)]
    assert len(hit) == 1, (site, factor, level)
    return hit.iloc[0]


def test_planted_over_represented_factor_is_flagged_and_an_ordinary_one_is_not():
    table = site_factors(SITES, planted_area())
    dark = row(table, "A", "light", "Dark")
    assert (dark["count"], dark["n"], dark["area_count"], dark["area_n"]) == (8, 10, 30, 100)
    assert dark["share"] == pytest.approx(0.8) and dark["area_share"] == pytest.approx(0.3)
    exact = binomtest(8, 10, 0.3, alternative="greater").pvalue
    assert dark["p_value"] == pytest.approx(exact, rel=1e-9)
    assert exact < 0.01 and dark["over_represented"]
    assert row(table, "A", "daylight_or_dark", "dark")["over_represented"]
    fine = row(table, "A", "weather", "Fine")
    assert fine["share"] == pytest.approx(0.7) and fine["area_share"] == pytest.approx(0.7)
    assert fine["p_value"] > 0.05 and not fine["over_represented"]
    snow = row(table, "B", "surface", "Snow")
    assert snow["p_value"] < 0.05 and snow["count"] == 2 and not snow["over_represented"]
    assert set(table.site_id) == {"A", "B"}
    assert table.groupby(["site_id", "factor"])["share"].sum().round(12).eq(1).all()


def test_collision_list_holds_each_site_collision_once_in_rank_order():
    area = planted_area()
    listed = site_collisions(SITES, area)
    assert listed["collision_id"].tolist() == [f"c{i:03d}" for i in range(12)]
    assert listed["rank"].tolist() == [1] * 10 + [2] * 2
    assert listed.loc[0, "date"] == "2015-01-01"
    assert (listed.loc[0, "easting"], listed.loc[0, "northing"]) == (500000.0, 300000.0)
    assert "speed_limit" not in listed.columns  # the data have none
    assert "casualties" in listed.columns and "light" in listed.columns
    pd.testing.assert_frame_equal(area, planted_area())  # input not modified
