"""geo_sppa.render maps: self-contained Folium maps, checked as HTML and in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import pandas as pd
import pytest
from browser import SKIP_ENV, click_without_mouse, launch_chromium, open_in_browser
from shapely.geometry import LineString, Point, Polygon

from geo_sppa.errors import InputError, OfflineError
from geo_sppa.render.maps import cluster_map, map_layer_counts, self_contained_html, ward_map

SITE_SCRIPT = "<script>window.__pwned=1</script>"
WARD_IMG = "<img src=x onerror=alert(1)>"
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "peterborough"  # bundled in the repository
BOUNDARIES = ROOT / "boundaries" / "peterborough"

REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*['\"]?\s*(https?:)?//", re.I)
REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*['\"]?\s*(https?:)?//", re.I)
REMOTE_IMPORT = re.compile(r"@import\s+(url\()?['\"]?(https?:)?//", re.I)


# ----------------------------------------------------------------------------- fixtures


def make_collisions(location: str = "THORPE RD JUNCTION LONGTHORPE") -> gpd.GeoDataFrame:
    """Nine collisions round Peterborough centre: three at the junction site J1 (one fatal),
    three along the link site L1, one at the lower-ranked junction J2, two at no site (C8, C9).
    C8's location text is ``location`` (for escaping tests)."""
    rows = [
        ("C1", "2015-01-03", "08:15", "fatal", 519001, 299002),
        ("C2", "2016-05-02", "17:30", "serious", 519006, 298997),
        ("C3", "2017-07-09", None, "slight", 518996, 299004),
        ("C4", "2015-02-02", "09:00", "slight", 519380, 299190),
        ("C5", "2016-03-03", "12:00", "slight", 519410, 299205),
        ("C6", "2017-04-04", "13:45", "slight", 519440, 299220),
        ("C7", "2016-09-09", "23:10", "slight", 518600, 298700),
        ("C8", "2015-11-11", "07:05", "serious", 518200, 299600),
        ("C9", "2017-12-12", "16:40", "slight", 519900, 298400),
    ]
    frame = pd.DataFrame(rows, columns=["collision_id", "date", "time", "severity", "x", "y"])
    frame["date"] = pd.to_datetime(frame["date"])
    frame["location"] = "A15 BOURGES BOULEVARD"
    frame.loc[frame["collision_id"] == "C8", "location"] = location
    geometry = gpd.points_from_xy(frame.pop("x"), frame.pop("y"))
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=27700)


def make_sites(name: str = "Thorpe Road / Longthorpe junction") -> gpd.GeoDataFrame:
    """Three sites: J1 (rank 1, a junction Point with a fatal collision, named ``name``), L1 (rank
    2, a 100 m link LineString, slight only) and J2 (rank 12, persistent, one slight)."""
    return gpd.GeoDataFrame(
        {
            "site_id": ["J1", "L1", "J2"],
            "site_type": ["junction", "link", "junction"],
            "name": [name, "A15 Bourges Boulevard", "Oundle Road roundabout"],
            "fatal": [1, 0, 0],
            "serious": [1, 0, 0],
            "slight": [1, 3, 1],
            "total": [3, 3, 1],
            "criterion": ["3+ fatal/serious", "5+ injury collisions", "any collision"],
            "casualties": pd.array([4, 3, pd.NA], dtype="Int64"),
            "cost_gbp": [2_500_000.0, 120_000.0, 30_000.0],
            "score": [15, 3, 1],
            "previous_total": pd.array([2, pd.NA, 4], dtype="Int64"),
            "status": ["persistent", "new", "persistent"],
            "x": [519001.0, 519410.0, 518600.0],
            "y": [299001.0, 299205.0, 298700.0],
            "rank": pd.array([1, 2, 12], dtype="Int64"),
            "collision_ids": [["C1", "C2", "C3"], ["C4", "C5", "C6"], ["C7"]],
        },
        geometry=[
            Point(519001, 299001),
            LineString([(519365, 299183), (519455, 299227)]),
            Point(518600, 298700),
        ],
        crs=27700,
    )


def make_roads() -> gpd.GeoDataFrame:
    """Two straight roads crossing at the J1 junction."""
    return gpd.GeoDataFrame(
        {"name": ["Thorpe Road", "Longthorpe Parkway"]},
        geometry=[
            LineString([(517800, 298500), (519001, 299001), (520200, 299600)]),
            LineString([(519001, 297900), (519001, 299001), (518950, 300100)]),
        ],
        crs=27700,
    )


def make_wards(first_name: str = "Central") -> gpd.GeoDataFrame:
    """Three 1.2 km x 2 km wards side by side; the third has no IMD score (a 'No data' class) and
    the first is named ``first_name``."""
    boxes = [
        Polygon([(x, 298000), (x + 1200, 298000), (x + 1200, 300000), (x, 300000)])
        for x in (517800, 519000, 520200)
    ]
    return gpd.GeoDataFrame(
        {
            "ward_code": ["E05000001", "E05000002", "E05000003"],
            "ward_name": [first_name, "North", "Orton"],
            "population": [8200, 9100, 7600],
            "imd_score": [35.2, 12.8, None],
            "count": [120, 40, 75],
            "rate_per_1000": [14.63, 4.40, 9.87],
            "observed": [120, 40, 75],
            "expected": [90.5, 52.0, 70.1],
            "label": [
                "more than deprivation predicts",
                "fewer than deprivation predicts (possible under-reporting)",
                "",
            ],
        },
        geometry=boxes,
        crs=27700,
    )


def write(tmp_path: Path, name: str, m: folium.Map) -> Path:
    path = tmp_path / f"{name}.html"
    path.write_text(self_contained_html(m), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- HTML (no browser)


def all_maps() -> dict[str, folium.Map]:
    return {
        "cluster": cluster_map(make_sites(), make_collisions(), roads=make_roads(),
                               wards=make_wards(), radius_m=50),
        "cluster-tiles": cluster_map(make_sites(), make_collisions()),
        "ward": ward_map(make_wards()),
    }  # fmt: skip


@pytest.mark.parametrize("which", ["cluster", "cluster-tiles", "ward"])
def test_html_has_no_remote_script_or_stylesheet(which):
    page = self_contained_html(all_maps()[which])
    assert not REMOTE_SCRIPT.search(page)
    assert not REMOTE_LINK.search(page)
    assert not REMOTE_IMPORT.search(page)
    assert "cdn.jsdelivr.net" not in page and "cdnjs.cloudflare.com" not in page
    for asset in ("xstatic-leaflet:leaflet.js", "xstatic-leaflet:leaflet.css",
                  "geo-sppa:leaflet.fullscreen.js", "geo-sppa:leaflet.fullscreen.css"):  # fmt: skip
        assert f'data-asset="{asset}"' in page
    # Leaflet's stylesheet images and the fullscreen icon are data URIs, not files beside the page.
    assert "url(images/" not in page and "url(icon-fullscreen.svg)" not in page
    assert "bootstrap" not in page.lower() and "jquery" not in page.lower()
    assert len(page.encode("utf-8")) < 400_000  # Leaflet is ~160 kB of it


def test_cluster_map_inlines_heat_plugin_and_no_image_icons():
    page = self_contained_html(all_maps()["cluster"])
    assert 'data-asset="folium:leaflet_heat.min.js"' in page
    assert "L.heatLayer" in page
    assert "L.marker(" not in page and "AwesomeMarkers" not in page


def test_tiles_are_optional():
    with_tiles = self_contained_html(cluster_map(make_sites(), make_collisions()))
    without = self_contained_html(cluster_map(make_sites(), make_collisions(), tiles=None))
    assert "tile.openstreetmap.org" in with_tiles
    assert "{z}/{x}/{y}" not in without and "tile.openstreetmap" not in without


def test_unknown_remote_asset_raises_clear_error():
    m = ward_map(make_wards(), tiles=None)
    folium.plugins.MarkerCluster().add_to(m)
    with pytest.raises(OfflineError, match=r"leaflet\.markercluster.*no offline copy"):
        self_contained_html(m)


def test_layer_counts_equal_the_data():
    counts = map_layer_counts(all_maps()["cluster"])
    assert counts == {
        "sites": 3, "site_casings": 1, "site_radii": 2, "site_ranks": 3, "collisions": 9,
        "heat": 9, "roads": 2, "wards": 3,
    }  # fmt: skip
    assert map_layer_counts(all_maps()["ward"]) == {
        "ward:imd_score": 3, "ward:rate_per_1000": 3, "ward:label": 3,
    }  # fmt: skip


def test_ward_map_skips_missing_and_empty_columns():
    wards = make_wards().drop(columns=["label"]).assign(rate_per_1000=float("nan"))
    assert map_layer_counts(ward_map(wards)) == {"ward:imd_score": 3}


def test_ward_map_without_any_layer_column_is_an_error():
    wards = make_wards()[["ward_code", "ward_name", "geometry"]]
    with pytest.raises(InputError, match="none of the columns imd_score, rate_per_1000, label"):
        ward_map(wards)


@pytest.mark.parametrize(
    "frame, column", [("sites", "rank"), ("sites", "collision_ids"), ("collisions", "severity")],
    ids=["sites-rank", "sites-collision_ids", "collisions-severity"],
)  # fmt: skip
def test_cluster_map_missing_column_is_an_error(frame, column):
    sites, collisions = make_sites(), make_collisions()
    if frame == "sites":
        sites = sites.drop(columns=[column])
    else:
        collisions = collisions.drop(columns=[column])
    with pytest.raises(InputError, match=rf"{frame}: missing column\(s\) {column}"):
        cluster_map(sites, collisions)


def test_frame_without_crs_is_an_error():
    sites = make_sites().set_crs(None, allow_override=True)
    with pytest.raises(InputError, match="sites: the frame has no CRS"):
        cluster_map(sites, make_collisions())


def test_collision_ids_joined_as_text_are_understood():
    """A sites table read back from CSV holds collision_ids as 'C1;C2;C3'."""
    sites = make_sites()
    sites["collision_ids"] = sites["collision_ids"].map(";".join)
    page = self_contained_html(cluster_map(sites, make_collisions(), tiles=None))
    assert "2015: 1, 2016: 1, 2017: 1" in page


def test_missing_chromium_fails_loudly_unless_skip_is_set(monkeypatch):
    import browser

    monkeypatch.setattr(browser, "chromium_path", lambda: None)
    monkeypatch.delenv(SKIP_ENV, raising=False)
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        with launch_chromium():
            pass
    monkeypatch.setenv(SKIP_ENV, "1")
    with pytest.raises(pytest.skip.Exception, match="GEO_SPPA_SKIP_BROWSER=1"):
        with launch_chromium():
            pass


def legend_classes(page: str, column: str) -> list[str]:
    """The class labels in the legend of ward layer ``column`` (its HTML is a JSON string)."""
    import json

    start = page.index(f'data-legend\', "ward:{column}"')
    text = re.search(r'innerHTML = ("(?:[^"\\]|\\.)*")', page[start:]).group(1)
    return re.findall(r"</span>([^<]+)</div>", json.loads(text))


def six_wards(**columns) -> gpd.GeoDataFrame:
    """Six 1 km square wards in a row, with the given columns."""
    boxes = [Polygon([(x, 298000), (x + 1000, 298000), (x + 1000, 299000), (x, 299000)])
             for x in range(515000, 521000, 1000)]  # fmt: skip
    return gpd.GeoDataFrame(
        {"ward_name": [f"Ward {i}" for i in range(6)], **columns}, geometry=boxes, crs=27700
    )


def test_legend_numbers_have_separators_and_sensible_decimals():
    """Regression: the IMD rank legend read '1.402e+04 – 2.001e+04'."""
    wards = six_wards(
        imd_rank_popweighted=[4064.9, 4788.2, 9217.5, 14022.6, 20013.3, 24314.1],
        rate_per_1000=[2.9, 4.093, 10.04, 15.871, 23.35, 44.214],
        count=[3, 12, 150, 1520, 2400, 12000],
    )
    page = self_contained_html(
        ward_map(wards, layers=("imd_rank_popweighted", "rate_per_1000", "count"), tiles=None)
    )
    assert "e+0" not in page
    ranks = legend_classes(page, "imd_rank_popweighted")
    assert ranks and all(re.fullmatch(r"[\d,]+( \u2013 [\d,]+)?", r) for r in ranks), ranks
    assert ranks == ["4,065 \u2013 4,788", "4,788 \u2013 9,218", "9,218 \u2013 14,023",
                     "14,023 \u2013 20,013", "20,013 \u2013 24,314"]  # fmt: skip
    rates = legend_classes(page, "rate_per_1000")
    assert rates and all(re.fullmatch(r"\d+\.\d\d( \u2013 \d+\.\d\d)?", r) for r in rates), rates
    assert rates[0] == "2.90 \u2013 4.09" and rates[-1] == "23.35 \u2013 44.21"
    counts = legend_classes(page, "count")
    assert counts and all("." not in c for c in counts), counts
    assert counts == ["3 \u2013 12", "12 \u2013 150", "150 \u2013 1,520", "1,520 \u2013 2,400",
                      "2,400 \u2013 12,000"]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "rank", "shown"),
    [("persistent", 12, False), ("resolved", None, True), ("new", None, True)],
    ids=["all ranked", "a resolved site", "an unranked site"],
)
def test_resolved_legend_entry_only_when_such_a_site_is_drawn(status, rank, shown):
    """Regression: the grey 'Resolved / not ranked' entry was in every legend though no resolved
    or unranked site was ever drawn."""
    sites = make_sites()
    sites.loc[2, "status"] = status
    sites["rank"] = pd.array([1, 2, rank], dtype="Int64")
    page = self_contained_html(cluster_map(sites, make_collisions(), tiles=None))
    assert ("Resolved / not ranked" in page) is shown


def test_cluster_map_with_no_collisions_still_renders():
    m = cluster_map(make_sites(), make_collisions().iloc[0:0], tiles=None)
    counts = map_layer_counts(m)
    assert counts["sites"] == 3 and counts["collisions"] == 0 and "heat" not in counts
    assert "L.map(" in self_contained_html(m)


def test_cluster_map_with_no_sites_still_renders():
    m = cluster_map(make_sites().iloc[0:0], make_collisions(), tiles=None)
    assert map_layer_counts(m)["sites"] == 0
    assert "L.map(" in self_contained_html(m)


def test_names_from_data_are_escaped_in_html():
    cluster = self_contained_html(
        cluster_map(make_sites(SITE_SCRIPT), make_collisions("<b>A15</b>"), wards=make_wards())
    )
    ward = self_contained_html(ward_map(make_wards(WARD_IMG), title="<i>Wards</i>"))
    for page, raw in ((cluster, SITE_SCRIPT), (cluster, "<b>A15</b>"), (ward, WARD_IMG),
                      (ward, "<i>Wards</i>")):  # fmt: skip
        # Neither raw nor as JSON with only < and > escaped: data text reaches JS pre-escaped.
        assert raw not in page
        assert raw.replace("<", "\\u003c").replace(">", "\\u003e") not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in cluster.replace("\\u0026", "&")
    assert "<title>&lt;i&gt;Wards&lt;/i&gt;</title>" in ward


def test_peterborough_maps_are_under_10_mb():
    cluster, ward = peterborough_maps()
    for m in (cluster, ward):
        assert len(self_contained_html(m).encode("utf-8")) < 10 * 1024 * 1024
    assert map_layer_counts(cluster)["collisions"] == 3329
    assert map_layer_counts(ward)["ward:imd_score"] == 24


def peterborough_maps() -> tuple[folium.Map, folium.Map]:
    """Real Peterborough collisions (3,329), main roads and 2013 wards, with synthetic sites (the
    20 busiest 50 m grid cells) and synthetic ward numbers: a full-size map for size checks."""
    raw = pd.read_csv(DATA / "peterborough_rtc_cambsinsight_2012_2017.csv", low_memory=False)
    collisions = gpd.GeoDataFrame(
        {
            "collision_id": raw["Reference"].astype(str) + "-" + raw.index.astype(str),
            "date": pd.to_datetime(raw["Date"].astype(str), format="%Y%m%d"),
            "time": raw["Time"].astype(int).map(lambda t: f"{t // 100:02d}:{t % 100:02d}"),
            "severity": raw["Severity"].str.lower(),
            "location": raw["Location"],
        },
        geometry=gpd.points_from_xy(raw["Easting"], raw["Northing"]),
        crs=27700,
    )
    cell = (
        (collisions.geometry.x // 50).astype(int).astype(str)
        + "_"
        + (collisions.geometry.y // 50).astype(int).astype(str)
    )
    busiest = cell.value_counts().head(20).index
    rows = []
    for rank, key in enumerate(busiest, start=1):
        hits = collisions[cell == key]
        sev = hits["severity"].value_counts()
        rows.append({
            "site_id": f"S{rank}", "site_type": "junction", "name": hits["location"].iloc[0],
            "fatal": int(sev.get("fatal", 0)), "serious": int(sev.get("serious", 0)),
            "slight": int(sev.get("slight", 0)), "total": len(hits), "criterion": "6+ injury",
            "casualties": len(hits), "cost_gbp": 100_000.0 * len(hits), "score": len(hits),
            "previous_total": None, "status": "new", "x": hits.geometry.x.mean(),
            "y": hits.geometry.y.mean(), "rank": rank,
            "collision_ids": hits["collision_id"].tolist(),
            "geometry": Point(hits.geometry.x.mean(), hits.geometry.y.mean()),
        })  # fmt: skip
    sites = gpd.GeoDataFrame(rows, crs=27700)
    roads = gpd.read_file(DATA / "peterborough_osm_mainroad_segments_rcpt2020.geojson").to_crs(
        27700
    )
    wards = gpd.read_file(BOUNDARIES / "peterborough_wards_2013_wd13.geojson").to_crs(27700)
    wards = wards.rename(columns={"WD13CD": "ward_code", "WD13NM": "ward_name"})
    counts = gpd.sjoin(collisions, wards[["ward_code", "geometry"]]).groupby("ward_code").size()
    wards["population"] = 8000 + (wards.index * 397) % 5000
    wards["imd_score"] = 8.0 + (wards.index * 7.3) % 40
    wards["count"] = wards["ward_code"].map(counts).fillna(0).astype(int)
    wards["rate_per_1000"] = wards["count"] / wards["population"] * 1000
    wards["label"] = ["more than deprivation predicts" if i % 7 == 0 else "" for i in wards.index]
    cluster = cluster_map(sites, collisions, roads=roads, wards=wards, tiles=None,
                          title="Peterborough cluster sites 2012\u20132017")  # fmt: skip
    ward = ward_map(wards, tiles=None, title="Peterborough wards (synthetic rates)")
    return cluster, ward


# ----------------------------------------------------------------------------- in the browser


def count(view, selector: str) -> int:
    return view.page.locator(selector).count()


def assert_clean(view) -> None:
    assert view.errors() == []
    assert view.blocked_requests == []
    assert view.dialogs == []
    assert view.page.evaluate("() => typeof window.L === 'object' && !!window.L.map")
    assert count(view, ".leaflet-container") == 1


@pytest.mark.browser
def test_cluster_map_in_browser(tmp_path, chromium):
    sites, collisions = make_sites(), make_collisions()
    m = cluster_map(sites, collisions, roads=make_roads(), wards=make_wards(), tiles=None,
                    radius_m=50, title="Cluster sites 2015\u20132017")  # fmt: skip
    with open_in_browser(write(tmp_path, "cluster", m), browser=chromium) as view:
        assert_clean(view)
        assert count(view, "path.gs-site") == len(sites)
        assert count(view, "path.gs-site-junction") == 2
        assert count(view, "path.gs-site-link") == 1
        assert count(view, "path.gs-site-radius") == 2
        assert count(view, "path.gs-collision") == len(collisions)
        assert count(view, "path.gs-collision-fatal") == 1
        assert count(view, "path.gs-road") == 2
        assert count(view, "path.gs-ward-outline") == 3
        # Outline = worst severity (J1 had a fatal, J2 slight only); rank 1 is drawn on top.
        assert view.page.locator("path.gs-site-i0").get_attribute("stroke") == "#000000"
        assert view.page.locator("path.gs-site-i2").get_attribute("stroke") == "#ffffff"
        assert view.page.locator("path.gs-site").last.get_attribute("class").find("gs-site-i0") > 0
        assert view.page.locator('.gs-legend[data-legend="cluster"]').is_visible()
        assert view.page.locator(".leaflet-control-scale").is_visible()
        assert view.page.locator(".leaflet-control-zoom-fullscreen").is_visible()
        assert view.page.locator(".gs-title").inner_text().startswith("Cluster sites")

        view.page.locator("path.gs-site-i0").click()
        popup = view.page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert popup.locator(".gs-name").inner_text() == sites["name"].iloc[0]
        text = popup.inner_text()
        for expected in ("1 fatal, 1 serious, 1 slight (3 in all)", "2015: 1", "2017: 1",
                         "\u00a32,500,000", "3+ fatal/serious", "Persistent", "03 Jan 2015",
                         "08:15", "fatal"):  # fmt: skip
            assert expected in text

        # The layer control toggles collisions off and the heat layer on, without errors.
        view.page.locator(".leaflet-control-layers label", has_text="Collisions by").click()
        assert count(view, "path.gs-collision") == 0
        view.page.locator(".leaflet-control-layers label", has_text="heat").click()
        assert count(view, "canvas.leaflet-heatmap-layer") == 1
        assert view.errors() == []
    # For review, in a fresh page (screenshots after real mouse input can be half-painted).
    with open_in_browser(tmp_path / "cluster.html", browser=chromium) as view:
        click_without_mouse(view.page.locator("path.gs-site-i0"))
        view.page.locator(".leaflet-popup-content").wait_for()
        view.screenshot("cluster_map_popup")


@pytest.mark.browser
def test_link_site_popup_in_browser(tmp_path, chromium):
    m = cluster_map(make_sites(), make_collisions(), tiles=None)
    with open_in_browser(write(tmp_path, "cluster-link", m), browser=chromium) as view:
        view.page.locator("path.gs-site-link").click()
        popup = view.page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert popup.locator(".gs-name").inner_text() == "A15 Bourges Boulevard"
        assert "Road link" in popup.inner_text()
        assert view.errors() == []


def drawn_choropleths(view) -> dict[str, int]:
    """Ward column -> number of its SVG paths on the map now."""
    return view.page.evaluate(
        """() => { const out = {};
        for (const p of document.querySelectorAll('path.gs-ward')) {
            const c = [...p.classList].find(k => k.startsWith('gs-ward-'));
            out[c.slice(8)] = (out[c.slice(8)] || 0) + 1; }
        return out; }"""
    )


def shown_legends(view) -> list[str]:
    """Keys of the ward legends on the map now."""
    return view.page.eval_on_selector_all(
        '.gs-legend[data-legend^="ward:"]', "els => els.map(e => e.dataset.legend)"
    )


@pytest.mark.browser
def test_ward_map_in_browser(tmp_path, chromium):
    """Choosing a layer (a radio button) shows exactly one choropleth and only its legend."""
    wards = make_wards()
    m = ward_map(wards, tiles=None, title="Wards: deprivation and incidents",
                 category="Anti-social behaviour", months=("2018-10", "2019-03", "2021-01"))  # fmt: skip
    with open_in_browser(write(tmp_path, "wards", m), browser=chromium) as view:
        assert_clean(view)
        assert drawn_choropleths(view) == {"imd_score": len(wards)}
        assert shown_legends(view) == ["ward:imd_score"]
        legend = view.page.locator('.gs-legend[data-legend="ward:imd_score"]')
        assert legend.is_visible() and "No data" in legend.inner_text()
        radios = view.page.locator('.leaflet-control-layers-base input[type="radio"]')
        assert radios.count() == 3  # one choice per choropleth; no checkbox overlays them
        assert view.page.locator('.leaflet-control-layers input[type="checkbox"]').count() == 0

        view.screenshot("ward_map")
        view.page.locator("path.gs-ward-imd_score").first.hover()
        tooltip = view.page.locator(".leaflet-tooltip")
        tooltip.wait_for()
        assert tooltip.locator(".gs-name").inner_text() == "Central"
        assert "35.2" in tooltip.inner_text() and "8,200" in tooltip.inner_text()

        rate = "Anti-social behaviour per 1,000 residents over the period, Oct 2018 - Jan 2021"
        for text, column in ((rate, "rate_per_1000"), ("Outlier", "label"),
                             ("Deprivation", "imd_score"), (rate, "rate_per_1000")):  # fmt: skip
            view.page.locator(".leaflet-control-layers-base label", has_text=text).click()
            assert drawn_choropleths(view) == {column: len(wards)}, column
            assert shown_legends(view) == [f"ward:{column}"], column
        legend = view.page.locator('.gs-legend[data-legend="ward:rate_per_1000"]')
        assert legend.inner_text().startswith(rate + " (3 months)")
        view.page.locator(".leaflet-control-layers-base label", has_text="Outlier").click()
        assert "Not flagged" in view.page.locator('[data-legend="ward:label"]').inner_text()
        assert view.errors() == []


@pytest.mark.browser
def test_ward_map_tiles_stay_an_overlay_beside_the_choropleth_choice(tmp_path, chromium):
    """The background tiles are a checkbox of their own: choosing a choropleth keeps them."""
    m = ward_map(make_wards(), layers=("imd_score", "rate_per_1000"))
    with open_in_browser(write(tmp_path, "wards_tiles", m), browser=chromium) as view:
        overlays = view.page.locator(".leaflet-control-layers-overlays label")
        assert [t.strip() for t in overlays.all_inner_texts()] == [
            "Background map (needs internet)"
        ]
        view.page.locator(".leaflet-control-layers-base label", has_text="per 1,000").click()
        assert drawn_choropleths(view) == {"rate_per_1000": 3}
        assert view.page.locator(".leaflet-control-layers-overlays input").is_checked()


def test_ward_layer_titles_name_category_unit_and_period():
    from geo_sppa.render.ward_map import ward_layer_title, ward_period

    months = ("2018-10", "2018-11", "2019-05", "2019-06", "2020-03", "2020-04", "2021-01")
    assert ward_period(months) == "Oct 2018 - Jan 2021 (7 months)"
    assert ward_period(["2020-02"]) == "Feb 2020 (1 month)" and ward_period([]) == ""
    assert ward_layer_title(
        "rate_per_1000_per_year", category="Anti-social behaviour", months=months
    ) == ("Anti-social behaviour per 1,000 residents per year, Oct 2018 - Jan 2021 (7 months)")
    assert ward_layer_title("rate_per_1000") == "Incidents per 1,000 residents over the period"
    assert ward_layer_title("imd_score", category="x") == "Deprivation (IMD score)"
    page = ward_map(make_wards(), layer_titles={"imd_score": "IMD <2010>"}, tiles=None)
    text = page.get_root().render()
    assert "IMD <2010>" not in text and "IMD &lt;2010&gt;" in text.replace("\\u0026", "&")


@pytest.mark.browser
def test_markup_in_names_shows_as_text_and_never_runs(tmp_path, chromium):
    cluster = cluster_map(make_sites(SITE_SCRIPT), make_collisions("<img src=y onerror=alert(2)>"),
                          wards=make_wards(WARD_IMG), tiles=None)  # fmt: skip
    ward = ward_map(make_wards(WARD_IMG), tiles=None, title="<img src=z onerror=alert(3)>")
    with open_in_browser(write(tmp_path, "xss-cluster", cluster), browser=chromium) as view:
        view.page.locator("path.gs-site-i0").click()
        popup = view.page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert popup.locator(".gs-name").inner_text() == SITE_SCRIPT
        assert popup.locator("script").count() == 0
        view.page.locator("path.gs-collision-serious").nth(1).hover()  # C8, at no site
        # .first: under load the pointer can cross a second point while the map settles
        tip = view.page.locator(".leaflet-tooltip", has_text="Serious").first
        tip.wait_for()
        assert "<img src=y onerror=alert(2)>" in tip.inner_text()
        assert tip.locator("img").count() == 0
        view.page.wait_for_timeout(200)
        assert view.page.evaluate("() => window.__pwned") is None
        assert view.dialogs == [] and view.errors() == []
    with open_in_browser(write(tmp_path, "xss-ward", ward), browser=chromium) as view:
        assert view.page.locator(".gs-title").inner_text() == "<img src=z onerror=alert(3)>"
        view.page.locator("path.gs-ward-imd_score").first.hover()
        tooltip = view.page.locator(".leaflet-tooltip").first  # one, even if a second opens
        tooltip.wait_for()
        assert tooltip.locator(".gs-name").inner_text() == WARD_IMG
        assert view.page.locator(".leaflet-container img[src='x'], img[src='z']").count() == 0
        view.page.wait_for_timeout(200)
        assert view.dialogs == [] and view.errors() == []


@pytest.mark.browser
def test_tiles_fail_quietly_offline(tmp_path, chromium):
    """With tiles on and no network, only tile images are attempted; everything else draws."""
    m = cluster_map(make_sites(), make_collisions(), roads=make_roads())
    with open_in_browser(write(tmp_path, "tiles", m), browser=chromium) as view:
        assert view.blocked_requests, "expected the browser to try the tile server"
        for url, kind in view.blocked_requests:
            assert kind == "image" and url.startswith("https://tile.openstreetmap.org/"), (
                url,
                kind,
            )
        assert view.errors(ignore_blocked=("https://",)) == []
        assert count(view, "path.gs-site") == 3
        assert count(view, "path.gs-collision") == 9
        assert view.page.locator('.gs-legend[data-legend="cluster"]').is_visible()


@pytest.mark.browser
def test_peterborough_maps_in_browser(tmp_path, chromium):
    cluster, ward = peterborough_maps()
    with open_in_browser(write(tmp_path, "pb-cluster", cluster), browser=chromium) as view:
        assert_clean(view)
        assert count(view, "path.gs-collision") == 3329
        assert count(view, "path.gs-site") == 20
        assert count(view, "path.gs-ward-outline") == 24
        view.screenshot("peterborough_cluster_map")
        click_without_mouse(view.page.locator("path.gs-site-i0"))
        view.page.locator(".leaflet-popup-content .gs-name").wait_for()
        view.screenshot("peterborough_cluster_map_popup")
    with open_in_browser(write(tmp_path, "pb-ward", ward), browser=chromium) as view:
        assert_clean(view)
        assert count(view, "path.gs-ward-imd_score") == 24
        view.screenshot("peterborough_ward_map")


def test_maps_module_re_exports_the_one_implementation():
    """geo_sppa.render.maps keeps the public names; each is defined once, in its own module."""
    from geo_sppa.render import cluster_map as cluster_module
    from geo_sppa.render import maps, web_map
    from geo_sppa.render import ward_map as ward_module

    assert maps.cluster_map is cluster_module.cluster_map
    assert maps.ward_map is ward_module.ward_map
    assert maps.self_contained_html is web_map.self_contained_html
    assert maps.map_layer_counts is web_map.map_layer_counts
    import geo_sppa

    assert geo_sppa.cluster_map is cluster_module.cluster_map
    assert geo_sppa.self_contained_html is web_map.self_contained_html
