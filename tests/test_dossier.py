"""The printable site dossier: one A4 page per site, offline, with its plan drawn."""

from __future__ import annotations

import re

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString
from test_factors import SITES, planted_area

from geo_sppa.render.dossier import site_dossier_html
from geo_sppa.roads.factors import site_collisions, site_factors


def pdf_pages(pdf: bytes) -> int:
    """Page objects in a PDF (``/Type /Page``, not ``/Pages``)."""
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def two_sites():
    """The planted area of test_factors (site A: 10 collisions, 8 dark; B: 2 on snow), with
    site centres, severity counts and one named road through site A."""
    sites = SITES.assign(
        site_type=["junction", "link"], fatal=[0, 0], serious=[0, 0], slight=[10, 2],
        total=[10, 2], criterion=["6+ injury collisions", "none"], status=["new", "new"],
        cost_gbp=[1e5, 2e4], score=[10, 2], x=[500004.5, 500010.5], y=[300000.0, 300000.0],
        previous_total=pd.array([4, pd.NA], dtype="Int64"),
        previous_n_2012=pd.array([1, pd.NA], dtype="Int64"),
        previous_n_2013=pd.array([3, pd.NA], dtype="Int64"),
    )  # fmt: skip
    roads = gpd.GeoDataFrame(
        {"name": ["Planted Road <b>"], "ref": [None]},
        geometry=[LineString([(499900, 300000), (500100, 300000)])],
        crs=27700,
    )
    area = planted_area()
    return sites, site_collisions(sites, area), site_factors(sites, area), roads


def test_dossier_prints_one_a4_page_per_site_offline_with_its_plan(tmp_path, chromium):
    from browser import open_in_browser

    sites, listed, factors, roads = two_sites()
    html = site_dossier_html(
        sites, listed, factors, title="Planted", window=(2015, 2015), roads=roads
    )
    assert "<script" not in html and "http" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "Planted Road &lt;b&gt;" in html  # text is escaped
    path = tmp_path / "clusters_sites.html"
    path.write_text(html, encoding="utf-8")
    with open_in_browser(path, browser=chromium) as view:
        page = view.page
        assert view.errors() == [] and view.blocked_requests == []
        assert page.locator("section.site").count() == 2
        assert page.locator("section.site").nth(0).get_attribute("id") == "A"
        plan_a = page.locator("#A svg.plan")
        assert plan_a.locator("circle.collision").count() == 10
        assert plan_a.locator("polyline").count() == 1
        assert page.locator("#B svg.plan circle.collision").count() == 2
        assert page.locator("#A h1").inner_text() == "1. A road"
        assert "light" in page.locator("#A").inner_text()  # dark is over-represented at A
        assert "No factor over-represented" in page.locator("#B").inner_text()
        assert "previous window (2012: 1; 2013: 3)" in page.locator("#A").inner_text()
        assert pdf_pages(page.pdf(format="A4")) == 2


def test_dossier_pages_link_back_to_the_map_and_state_the_flow_rate():
    """Site B (a link) has an indicative rate, site A (a junction) a flow note only: B's page
    states the rate and count point, A's says nothing of flow; each page links to the map at
    its own (URL-encoded) site id."""
    sites, listed, factors, roads = two_sites()
    sites = sites.assign(
        site_id=["A/1", "B"], aadt=[None, 27378.0], aadt_year=[None, "2016"],
        count_point_id=[None, "46221"], count_point_m=[None, 158.3],
        rate_per_mvkm=[None, 2.669], flow_note=["junction site: rates per vehicle-km are for "
                                                "links", "indicative: ..."],
    )  # fmt: skip
    listed = listed.assign(site_id=listed["site_id"].replace({"A": "A/1"}))
    factors = factors.assign(site_id=factors["site_id"].replace({"A": "A/1"}))
    html = site_dossier_html(sites, listed, factors, title="T", window=(2015, 2015), roads=roads)
    page_a, page_b = html.split('<section class="site"')[1:]
    assert 'href="clusters.html#A%2F1"' in page_a and 'href="clusters.html#B"' in page_b
    assert (
        "traffic flow (indicative): 2.67 collisions per million vehicle-km, AADT 27,378 (2016) "
        "at DfT count point 46221, 158 m away" in page_b
    )
    assert "traffic flow" not in page_a and "rates per vehicle-km" not in page_a


def test_year_table_counts_are_whole_numbers_beside_the_previous_window_row():
    """Site A has a previous-window row; its year table still prints 10 slight as "10", not
    "10.0" (the previous row has no severity counts, which once made the columns decimal)."""
    sites, listed, factors, roads = two_sites()
    html = site_dossier_html(sites, listed, factors, title="P", window=(2015, 2015), roads=roads)
    page_a = html.split('id="A"')[1].split("</section>")[0]
    year_table = page_a.split("Collisions by year and severity</h2>")[1].split("</table>")[0]
    assert "<td>2015</td><td>0</td><td>0</td><td>10</td><td>10</td>" in year_table
    assert ".0<" not in year_table
    assert "previous window (2012: 1; 2013: 3)" in year_table
