"""``geo-sppa clusters`` end to end on the bundled real data and on user files."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from geo_sppa.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def summary_value(output: str, label: str) -> str:
    """The value printed beside ``label`` in the run summary."""
    for line in output.splitlines():
        if line.strip().startswith(label + " "):
            return line.strip()[len(label) :].strip()
    raise AssertionError(f"no {label!r} line in the summary")


@pytest.fixture(scope="module")
def peterborough(tmp_path_factory):
    out = tmp_path_factory.mktemp("pboro")
    return run("clusters", "-o", out), out


def test_default_run_is_radius_mode_on_peterborough(peterborough):
    result, out = peterborough
    assert result.exit_code == 0, result.output
    text = result.output
    assert (
        "records read       3,329" in text
        or "records read  3,329" in text.replace("  ", " ")
        or "3,329" in text
    )
    assert "radius: 50 m circles" in text and "--roads" in text
    assert "2014-2016" in text  # data stop 31 Oct 2017: latest three complete years
    for name in (
        "clusters.csv",
        "clusters.gpkg",
        "clusters.geojson",
        "clusters.html",
        "clusters_set_aside.csv",
    ):
        assert (out / name).is_file(), name


def test_peterborough_outputs_agree_and_follow_the_rule(peterborough):
    _, out = peterborough
    table = pd.read_csv(out / "clusters.csv", encoding="utf-8-sig")
    layer = gpd.read_file(out / "clusters.gpkg", layer="clusters")
    geojson = gpd.read_file(out / "clusters.geojson")
    assert len(table) == len(layer) == len(geojson) > 0
    assert layer.crs.to_epsg() == 27700 and geojson.crs.to_epsg() == 4326
    ksi = table["fatal"] + table["serious"]
    meets = (table["total"] >= 6) | (ksi >= 3) | ((table["total"] >= 5) & (ksi >= 1))
    assert meets.all()
    assert (table["total"] == table[["fatal", "serious", "slight"]].sum(axis=1)).all()
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    assert table["cost_gbp"].is_monotonic_decreasing
    ids = table["collision_ids"].str.split(";").explode()
    assert ids.is_unique  # each collision in at most one site
    assert (table["collision_ids"].str.split(";").map(len) == table["total"]).all()
    assert table["site_id"].is_unique and table["name"].notna().all()
    assert set(table["status"]) <= {"new", "persistent"}


def test_peterborough_set_aside_file_accounts_for_every_record(peterborough):
    result, out = peterborough
    aside = pd.read_csv(out / "clusters_set_aside.csv", encoding="utf-8-sig")
    assert list(aside.columns) == ["source", "row", "record_id", "reason", "detail"]
    read = int(summary_value(result.output, "records read").replace(",", ""))
    used = int(summary_value(result.output, "records used").replace(",", ""))
    shown = summary_value(result.output, "set aside").split()[0]
    assert int(shown.replace(",", "")) == len(aside) == read - used


def test_same_run_twice_gives_same_site_ids(peterborough, tmp_path):
    _, out = peterborough
    again = run("clusters", "-o", tmp_path)
    assert again.exit_code == 0
    first = pd.read_csv(out / "clusters.csv", encoding="utf-8-sig")
    second = pd.read_csv(tmp_path / "clusters.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(first, second)


def test_years_option_and_previous_window(tmp_path):
    result = run("clusters", "--years", "2015-2017", "--no-map", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    assert "2015-2017" in result.output and "2012-2014" in result.output


@pytest.fixture(scope="module")
def leeds(tmp_path_factory):
    out = tmp_path_factory.mktemp("leeds")
    return run("clusters", "--area", "leeds-central", "--years", "2017-2019", "-o", out), out


def test_leeds_central_is_network_mode(leeds):
    result, out = leeds
    assert result.exit_code == 0, result.output
    assert (
        "network" in result.output and "2017-2019" in result.output and "2014-2016" in result.output
    )
    table = pd.read_csv(out / "clusters.csv", encoding="utf-8-sig")
    assert len(table) > 0
    assert set(table["site_type"]) == {"junction", "link"}
    assert "highway=service ways left out of the scan" in result.output
    aside = pd.read_csv(out / "clusters_set_aside.csv", encoding="utf-8-sig")
    read = int(summary_value(result.output, "records read").replace(",", ""))
    used = int(summary_value(result.output, "records used").replace(",", ""))
    assert read == 5461 and 0 < len(aside) == read - used
    assert set(aside["reason"]) == {"beyond snap tolerance"}
    assert set(aside["source"]) == {"leeds_central_rtc_2009_2019.csv"}
    assert aside["detail"].str.match(r"nearest road \d+\.\d m away").all()
    assert aside["row"].between(1, read).all()  # file rows, not positions
    assert set(table["status"]) <= {"new", "persistent"}
    layer = gpd.read_file(out / "clusters.gpkg", layer="clusters")
    links = layer[layer["site_type"] == "link"]
    assert (links.geom_type == "LineString").all()
    assert (links.length <= 100.0 + 1e-6).all()
    assert table["collision_ids"].str.split(";").explode().is_unique


def test_user_collisions_with_rule_and_clauses(tmp_path):
    """A user's STATS19 file: six collisions at one spot in 2021 make a site under 'spp'; under a
    custom rule of 7+ they do not."""
    rows = ["accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date"]
    rows += [f"2021A{i},{520000 + i},{300000 + i},3,0{i + 1}/03/2021" for i in range(6)]
    rows += ["2019B1,530000,310000,3,01/01/2019"]
    path = tmp_path / "mine.csv"
    path.write_text("\n".join(rows) + "\n")
    result = run(
        "clusters", "--collisions", path, "--years", "2019-2021", "--no-map", "-o", tmp_path / "a"
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "a" / "clusters.csv", encoding="utf-8-sig")
    assert table["total"].tolist() == [6]
    custom = run(
        "clusters",
        "--collisions",
        path,
        "--years",
        "2019-2021",
        "--clause",
        "7:0",
        "--no-map",
        "-o",
        tmp_path / "b",
    )
    assert custom.exit_code == 0, custom.output
    assert pd.read_csv(tmp_path / "b" / "clusters.csv", encoding="utf-8-sig").empty


@pytest.mark.browser
def test_leeds_cluster_map_from_the_cli_in_browser(leeds, chromium):
    """The HTML the command writes: every site and collision drawn, offline, and the top site's popup."""
    from browser import open_in_browser

    result, out = leeds
    table = pd.read_csv(out / "clusters.csv", encoding="utf-8-sig")
    collisions = gpd.read_file(out / "clusters.gpkg", layer="collisions")
    with open_in_browser(out / "clusters.html", browser=chromium) as view:
        page = view.page
        assert view.errors(ignore_blocked=("https://tile.openstreetmap.org",)) == []
        assert all(
            url.startswith("https://tile.openstreetmap.org") and kind == "image"
            for url, kind in view.blocked_requests
        )
        assert view.dialogs == []
        assert page.locator("path.gs-site").count() == len(table)
        assert page.locator("path.gs-site-link").count() == (table["site_type"] == "link").sum()
        assert (
            page.locator("path.gs-site-junction").count()
            == (table["site_type"] == "junction").sum()
        )
        assert page.locator("path.gs-collision").count() == len(collisions)
        assert page.locator('.gs-legend[data-legend="cluster"]').is_visible()
        page.locator("path.gs-site-i0").click(force=True)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        assert (
            popup.locator(".gs-name").inner_text() == table.loc[table["rank"] == 1, "name"].iloc[0]
        )
        view.screenshot("leeds_cli_cluster_map")


def test_roads_far_from_every_collision_is_one_line_error(tmp_path):
    """A road layer of another area (or a wrong CRS) must not quietly give zero sites."""
    from shapely.geometry import LineString

    far = tmp_path / "far_roads.gpkg"
    gpd.GeoDataFrame(
        {"name": ["Elsewhere Road"], "highway": ["primary"]},
        geometry=[LineString([(400000, 200000), (400500, 200000)])],
        crs=27700,
    ).to_file(far)
    result = CliRunner().invoke(
        cli, ["clusters", "--roads", str(far), "--no-map", "-o", str(tmp_path / "o")]
    )
    assert result.exit_code == 1
    assert "none of the 1,659 collisions in 2014-2016 lies within 30 m of a road" in result.output
