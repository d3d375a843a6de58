"""The cluster map at scale (issue 12: a size budget) and the engineer's tools (issue 11: rank
numbers, search, filters, road labels, attribution), as HTML and in headless Chromium offline."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from browser import open_in_browser
from test_maps import SITE_SCRIPT, count, make_collisions, make_roads, make_sites, write

from geo_sppa.errors import InputError
from geo_sppa.render import cluster_map as cluster_module
from geo_sppa.render.maps import cluster_map, map_layer_counts, self_contained_html

BUDGET_BYTES = 20 * 1024 * 1024


def national_like(n_sites: int = 400, per_site: int = 5, n_other: int = 30_000,
                  n_roads: int = 30_000) -> tuple[gpd.GeoDataFrame, ...]:  # fmt: skip
    """A 40 km square with ``n_sites`` junction sites of ``per_site`` collisions each, ``n_other``
    collisions at no site (above the 20,000-point limit) and ``n_roads`` random 100 m roads (above
    the 20,000-line limit, so only roads near sites are drawn)."""
    rng = np.random.default_rng(7)
    origin = np.array([450_000.0, 250_000.0])
    centres = origin + rng.uniform(0, 40_000, (n_sites, 2))
    at_sites = np.repeat(centres, per_site, axis=0) + rng.normal(0, 5, (n_sites * per_site, 2))
    xy = np.r_[at_sites, origin + rng.uniform(0, 40_000, (n_other, 2))]
    n = len(xy)
    collisions = gpd.GeoDataFrame(
        {
            "collision_id": [f"C{i}" for i in range(n)],
            "date": pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), "D"),
            "time": "08:30",
            "severity": rng.choice(["fatal", "serious", "slight"], n, p=[0.02, 0.15, 0.83]),
            "location": "Somewhere",
        },
        geometry=shapely.points(xy),
        crs=27700,
    )
    ids = np.arange(n_sites * per_site).reshape(n_sites, per_site)
    sites = gpd.GeoDataFrame(
        {
            "site_id": [f"S{i + 1}" for i in range(n_sites)], "site_type": "junction",
            "name": [f"Junction {i + 1}" for i in range(n_sites)], "fatal": 0, "serious": 1,
            "slight": per_site - 1, "total": per_site, "criterion": "5+ injury",
            "cost_gbp": 100_000.0, "status": "new", "rank": np.arange(1, n_sites + 1),
            "collision_ids": [[f"C{j}" for j in row] for row in ids],
        },
        geometry=shapely.points(centres),
        crs=27700,
    )  # fmt: skip
    start = origin + rng.uniform(0, 40_000, (n_roads, 2))
    angle = rng.uniform(0, np.pi, n_roads)
    end = start + 100 * np.c_[np.cos(angle), np.sin(angle)]
    roads = gpd.GeoDataFrame(
        {"name": [f"Road {i % 500}" for i in range(n_roads)]},
        geometry=shapely.linestrings(np.stack([start, end], 1)),
        crs=27700,
    )
    return sites, collisions, roads


@pytest.fixture(scope="module")
def national():
    sites, collisions, roads = national_like()
    m = cluster_map(sites, collisions, roads=roads, tiles=None)
    return sites, collisions, roads, m, self_contained_html(m)


def test_large_map_stays_under_the_budget_and_says_what_it_drew(national):
    sites, collisions, roads, m, page = national
    assert len(page.encode("utf-8")) < BUDGET_BYTES
    contents = cluster_module.cluster_map_contents(m)
    assert (contents.sites, contents.site_collisions, contents.other_collisions) == (
        400,
        2000,
        30000,
    )
    assert contents.other_collisions_as == "heat"
    counts = map_layer_counts(m)
    assert counts["sites"] == 400 and counts["collisions"] == 2000  # every site collision drawn
    # The heat layer holds one weighted point per 400 m cell holding a collision at no site.
    others = shapely.get_coordinates(collisions.geometry.values[2000:])
    assert counts["heat"] == len(np.unique(np.floor(others / 400.0), axis=0))
    # Roads: only those within 150 m of a site (an independent count), of the 30,000 given.
    near = gpd.sjoin(roads, sites[["geometry"]], predicate="dwithin", distance=150.0)
    assert counts["roads"] == near.index.nunique() < len(roads) // 4
    assert contents.roads == counts["roads"] and contents.roads_given == len(roads)
    assert "the other 30,000 (more than 20,000) as a heat layer of 400 m cells" in page


@pytest.mark.parametrize(
    ("limit", "drawn_as", "points"), [(1, "heat", 7), (2, "points", 9)],
    ids=["limit below the 2 others: heat", "limit equal to the 2 others: points"],
)  # fmt: skip
def test_collisions_at_no_site_switch_to_heat_above_the_limit(monkeypatch, limit, drawn_as, points):
    """C8 and C9 are at no site: with the limit at 1 they become a heat layer, at 2 points."""
    monkeypatch.setattr(cluster_module, "POINT_LIMIT", limit)
    m = cluster_map(make_sites(), make_collisions(), tiles=None)
    contents = cluster_module.cluster_map_contents(m)
    assert contents.other_collisions_as == drawn_as and contents.other_collisions == 2
    assert map_layer_counts(m)["collisions"] == points
    page = self_contained_html(m)
    if drawn_as == "heat":
        assert "7 collisions at sites drawn as points; the other 2 (more than 1) as a heat" in page
    else:
        assert "All 9 collisions drawn as points." in page


def test_contents_of_a_map_not_made_by_cluster_map_is_an_error():
    import folium

    with pytest.raises(InputError, match="expected a map made by cluster_map"):
        cluster_module.cluster_map_contents(folium.Map())


def test_popups_come_from_one_data_table_not_one_template_each():
    page = self_contained_html(cluster_map(make_sites(), make_collisions(), tiles=None))
    # The popup markup is written once, in the page script, not once per site.
    assert page.count("GS.load(") == 1 and page.count('class="gs-popup"') == 1
    assert '"by_year":"2015: 1, 2016: 1, 2017: 1"' in page  # J1's row of the table


@pytest.mark.browser
def test_large_map_opens_with_every_site_drawn(tmp_path, chromium, national):
    sites, _, _, _, page = national
    path = tmp_path / "national.html"
    path.write_text(page, encoding="utf-8")
    with open_in_browser(path, browser=chromium) as view:
        assert view.errors() == [] and view.blocked_requests == []
        assert count(view, "path.gs-site") == len(sites)
        drawn = view.page.evaluate("() => window.geoSppaDrawn")
        assert drawn["collisions"] == 2000 and drawn["roads"] > 0
        assert count(view, "path.gs-collision") == 2000
        assert count(view, "canvas.leaflet-heatmap-layer") == 1  # shown: it holds the others
        assert 0 < drawn["site_ranks"] <= 300
        view.page.locator("path.gs-site-i0").click(force=True)
        assert view.page.locator(".leaflet-popup-content .gs-name").inner_text() == "Junction 1"


def small_map(tmp_path, stem: str = "tools", **kwargs):
    m = cluster_map(make_sites(**kwargs), make_collisions(), roads=make_roads(), tiles=None)
    return write(tmp_path, stem, m)


@pytest.mark.browser
def test_layers_above_the_svg_limit_are_drawn_on_a_canvas(tmp_path, chromium, monkeypatch):
    """With the SVG limit at 5, the 9 collisions are canvas drawings (no paths), all counted."""
    monkeypatch.setattr(cluster_module, "_SVG_LIMIT", 5)
    with open_in_browser(small_map(tmp_path, "canvas"), browser=chromium) as view:
        assert count(view, "path.gs-collision") == 0
        assert count(view, ".leaflet-gs-collisions-pane canvas") == 1
        assert view.page.evaluate("() => window.geoSppaDrawn.collisions") == 9
        assert count(view, "path.gs-site") == 3 and count(view, "path.gs-road") == 2
        view.page.locator('.gs-filter [data-sev="slight"]').uncheck()
        assert view.page.evaluate("() => window.geoSppaDrawn.collisions") == 3
        assert view.errors() == []


@pytest.mark.browser
def test_rank_numbers_and_attribution_are_drawn_offline(tmp_path, chromium):
    with open_in_browser(small_map(tmp_path), browser=chromium) as view:
        ranks = view.page.locator(".gs-rank").all_inner_texts()
        assert sorted(ranks, key=int) == ["1", "2", "12"]
        attribution = view.page.locator(".leaflet-control-attribution")
        assert attribution.is_visible()
        for part in ("\u00a9 OpenStreetMap contributors, ODbL",
                     "Contains OS data \u00a9 Crown copyright and database right", "OGL v3"):  # fmt: skip
            assert part in attribution.inner_text()
        assert view.errors() == [] and view.blocked_requests == []


@pytest.mark.browser
def test_search_finds_sites_and_roads(tmp_path, chromium):
    with open_in_browser(small_map(tmp_path), browser=chromium) as view:
        box = view.page.locator(".gs-search input")
        box.fill("thorpe")
        results = view.page.locator(".gs-search li")
        assert results.all_inner_texts() == [
            "#1 Thorpe Road / Longthorpe junction site J1", "Thorpe Road road",
            "Longthorpe Parkway road",
        ]  # fmt: skip
        box.fill("oundle")
        results.first.click()
        popup = view.page.locator(".leaflet-popup-content .gs-name")
        popup.wait_for()
        assert popup.inner_text() == "Oundle Road roundabout"
        box.fill("no such place")
        assert results.count() == 0
        assert view.errors() == []


@pytest.mark.browser
def test_search_results_show_markup_in_names_as_text(tmp_path, chromium):
    with open_in_browser(small_map(tmp_path, "xss", name=SITE_SCRIPT), browser=chromium) as view:
        view.page.locator(".gs-search input").fill("pwned")
        result = view.page.locator(".gs-search li")
        assert SITE_SCRIPT in result.inner_text() and result.locator("script").count() == 0
        assert view.page.evaluate("() => window.__pwned") is None


@pytest.mark.browser
def test_severity_and_year_filters_on_collision_points(tmp_path, chromium):
    with open_in_browser(small_map(tmp_path), browser=chromium) as view:
        assert count(view, "path.gs-collision") == 9
        view.page.locator('.gs-filter [data-sev="slight"]').uncheck()
        assert count(view, "path.gs-collision") == 3  # C1 fatal, C2 and C8 serious
        view.page.locator('.gs-filter [data-year="from"]').select_option("2016")
        assert count(view, "path.gs-collision") == 1  # C2, 2016
        view.page.locator('.gs-filter [data-sev="slight"]').check()
        assert count(view, "path.gs-collision") == 6  # C2, C3, C5, C6, C7, C9
        view.page.locator('.gs-filter [data-year="to"]').select_option("2016")
        assert count(view, "path.gs-collision") == 3  # C2, C5, C7
        assert view.page.evaluate("() => window.geoSppaDrawn.collisions") == 3
        assert view.errors() == []


@pytest.mark.browser
def test_road_names_are_labelled_at_street_zoom_only(tmp_path, chromium):
    with open_in_browser(small_map(tmp_path), browser=chromium) as view:
        assert count(view, ".gs-road-label") == 0
        name = view.page.evaluate("() => Object.keys(window).find(k => /^map_/.test(k))")
        view.page.evaluate(f"() => {name}.setView([52.57582, -0.24536], 17, {{animate: false}})")
        labels = view.page.locator(".gs-road-label").all_inner_texts()
        assert "Thorpe Road" in labels and "Longthorpe Parkway" in labels
        view.page.evaluate(f"() => {name}.setZoom(13, {{animate: false}})")
        assert view.page.evaluate("() => window.geoSppaDrawn.road_labels") == 0
        # Removed tooltips fade out (200 ms) before they leave the page.
        view.page.wait_for_function("() => !document.querySelector('.gs-road-label')")
        assert view.errors() == []


def test_collisions_without_a_location_are_left_off_the_map():
    """Regression: a collision with no geometry made NaN coordinates, which JSON cannot hold."""
    collisions = make_collisions()
    collisions.loc[collisions["collision_id"] == "C9", "geometry"] = None
    m = cluster_map(make_sites(), collisions, tiles=None)
    assert map_layer_counts(m)["collisions"] == 8
    assert cluster_module.cluster_map_contents(m).other_collisions == 1


def test_road_table_draws_each_part_of_a_multi_part_road_with_its_name():
    """A two-part road and a plain one: three drawn lines, each ``[name code, lat, lon, ...]``
    with its own vertices only (the table is built from one coordinate array, split by part)."""
    roads = gpd.GeoDataFrame(
        {"name": ["Two Part Road", "Plain Street"]},
        geometry=[
            shapely.MultiLineString([[(450000, 250000), (450100, 250000)],
                                     [(450200, 250000), (450300, 250090), (450400, 250100)]]),
            shapely.LineString([(450000, 250500), (450000, 250600)]),
        ],
        crs=27700,
    )  # fmt: skip
    table, n = cluster_module._road_table(roads, make_sites())
    assert n == 3 and table["names"] == ["Two Part Road", "Plain Street"]
    assert [line[0] for line in table["lines"]] == [0, 0, 1]
    assert [len(line) - 1 for line in table["lines"]] == [4, 6, 4]  # lat, lon per vertex
    for line, part in zip(table["lines"], [*roads.geometry[0].geoms, roads.geometry[1]],
                          strict=True):  # fmt: skip
        lonlat = gpd.GeoSeries([shapely.Point(c) for c in part.coords], crs=27700).to_crs(4326)
        assert line[1:] == pytest.approx(
            np.c_[lonlat.y, lonlat.x].ravel(), abs=2e-5
        )  # rounded to 5 decimals
