"""``geo-sppa clusters`` end to end on the bundled real data and on user files."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import LineString, Point

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
    assert summary_value(text, "records read") == "3,329"
    assert summary_value(text, "mode").startswith("radius: 50 m circles")
    assert "pass --roads FILE" in summary_value(text, "mode")
    # data stop 31 Oct 2017: the latest three complete years
    assert summary_value(text, "window").startswith("2014-2016 (")
    assert summary_value(text, "previous window") == "none (the data do not reach back)"
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
    assert summary_value(result.output, "window").startswith("2015-2017 (")
    assert summary_value(result.output, "previous window") == "2012-2014"


@pytest.fixture(scope="module")
def leeds(tmp_path_factory):
    out = tmp_path_factory.mktemp("leeds")
    return run("clusters", "--area", "leeds-central", "--years", "2017-2019", "-o", out), out


def test_leeds_central_is_network_mode(leeds):
    result, out = leeds
    assert result.exit_code == 0, result.output
    assert summary_value(result.output, "mode").startswith("network: 100 m road windows")
    assert summary_value(result.output, "window").startswith("2017-2019 (")
    assert summary_value(result.output, "previous window") == "2014-2016"
    table = pd.read_csv(out / "clusters.csv", encoding="utf-8-sig")
    assert len(table) > 0
    assert set(table["site_type"]) == {"junction", "link"}
    assert "highway=service ways left out of the scan" in result.output
    aside = pd.read_csv(out / "clusters_set_aside.csv", encoding="utf-8-sig")
    read = int(summary_value(result.output, "records read").replace(",", ""))
    used = int(summary_value(result.output, "records used").replace(",", ""))
    window_aside = aside[aside["reason"] == "beyond snap tolerance"]
    assert read == 5461 and 0 < len(window_aside) == read - used
    assert set(aside["reason"]) == {
        "beyond snap tolerance",
        "beyond snap tolerance, previous window",
    }
    assert set(aside["source"]) == {"leeds_central_rtc_2009_2019.csv"}
    assert window_aside["detail"].str.match(r"nearest road \d+\.\d m away").all()
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


def _stats19(path, rows):
    header = "accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_future_dates_are_set_aside_and_never_move_the_window(tmp_path):
    """Three rows dated 2031 used to move the default window to 2028-2030 and analyse nothing."""
    rows = [f"2016A{i},{520000 + i},{300000 + i},3,0{i + 1}/03/2016" for i in range(6)]
    rows += [f"2031X{i},520000,300000,3,01/01/2031" for i in range(3)]
    path = _stats19(tmp_path / "future.csv", rows)
    result = run(
        "clusters", "--collisions", path, "--years", "2014-2016", "--no-map", "-o", tmp_path / "o"
    )
    assert result.exit_code == 0, result.output
    assert summary_value(result.output, "window").startswith("2014-2016 (6 collisions")
    assert summary_value(result.output, "- future date") == "3"
    aside = pd.read_csv(tmp_path / "o" / "clusters_set_aside.csv", encoding="utf-8-sig")
    assert aside["record_id"].tolist() == ["2031X0", "2031X1", "2031X2"]
    assert aside["row"].tolist() == [7, 8, 9]


def test_mixed_day_month_orders_refused_then_read_with_date_format(tmp_path):
    rows = [
        "A1,520000,300000,3,25/03/2016",  # only day-first
        "A2,520000,300000,3,03/26/2016",  # only month-first
        "A3,520000,300000,3,04/05/2016",  # either
    ]
    path = _stats19(tmp_path / "mixed.csv", rows)
    refused = run(
        "clusters", "--collisions", path, "--years", "2016", "--no-map", "-o", tmp_path / "a"
    )
    assert refused.exit_code == 1
    assert "mixed.csv: column 'date' mixes day-first and month-first dates" in refused.output
    assert "--date-format %d/%m/%Y" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    forced = run(
        "clusters", "--collisions", path, "--date-format", "%m/%d/%Y", "--years", "2016",
        "--no-map", "-o", tmp_path / "b",
    )  # fmt: skip
    assert forced.exit_code == 0, forced.output
    aside = pd.read_csv(tmp_path / "b" / "clusters_set_aside.csv", encoding="utf-8-sig")
    assert aside[["record_id", "reason"]].values.tolist() == [["A1", "unparseable date"]]


def test_manifest_written_last_and_stale_outputs_of_an_earlier_run_removed(tmp_path):
    """run.json names every output with its checksum; a file an earlier run wrote and this one
    does not (a map, when this run has --no-map) and a partial file of a killed run are removed."""
    import hashlib
    import json

    out = tmp_path / "o"
    first = run("clusters", "--years", "2015-2017", "--no-map", "-o", out)
    assert first.exit_code == 0, first.output
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["latest"] == "clusters"
    entry = manifest["runs"]["clusters"]
    names = [Path(o["path"]).name for o in entry["outputs"]]
    assert names[:3] == ["clusters.csv", "clusters.gpkg", "clusters.geojson"]
    for record in entry["outputs"]:
        data = Path(record["path"]).read_bytes()
        assert record["bytes"] == len(data)
        assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["inputs"][0]["path"].endswith("peterborough_rtc_cambsinsight_2012_2017.csv")
    assert entry["counts"]["n_read"] == 3329 and entry["options"]["years"] == [2015, 2017]
    assert "geopandas" in entry["versions"] and "pyarrow" in entry["versions"]
    # An earlier run's output this run will not write, and a partial file from a killed run.
    entry["outputs"].append({"path": str(out / "clusters.html")})
    (out / "run.json").write_text(json.dumps(manifest))
    (out / "clusters.html").write_text("<html>an earlier run's map</html>")
    (out / ".clusters.partial-999.gpkg").write_text("half")
    second = run("clusters", "--years", "2015-2017", "--no-map", "-o", out)
    assert second.exit_code == 0, second.output
    assert not (out / "clusters.html").exists()
    assert not (out / ".clusters.partial-999.gpkg").exists()
    assert "clusters.html (left by an earlier run)" in second.output
    again = json.loads((out / "run.json").read_text())["runs"]["clusters"]
    assert set(again["removed_from_earlier_run"]) == {
        "clusters.html",
        ".clusters.partial-999.gpkg",
    }


def test_a_run_that_fails_while_writing_leaves_the_earlier_outputs_whole(tmp_path, monkeypatch):
    """Outputs are written under a temporary name and renamed: a failure part-way leaves no
    half-written file and no complete-looking file from the failed run."""
    import geo_sppa.io.outputs as outputs

    out = tmp_path / "o"
    assert run("clusters", "--years", "2015-2017", "--no-map", "-o", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(frame, path):
        raise OSError("disk full")

    monkeypatch.setattr(outputs, "write_geojson", broken)
    failed = CliRunner().invoke(
        cli, ["clusters", "--years", "2014-2016", "--no-map", "-o", str(out)]
    )
    assert failed.exit_code == 1
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(after) == set(before)  # nothing partial left beside them
    assert after["clusters.geojson"] == before["clusters.geojson"]
    assert after["run.json"] == before["run.json"]  # the manifest still names the earlier run


class _Terminal:
    """A stand-in stderr that says it is a terminal and keeps what is drawn."""

    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_progress_names_each_stage_on_a_terminal_and_nothing_when_quiet():
    from geo_sppa.cli.progress import Progress

    shown, hidden = _Terminal(), _Terminal()
    for stream, quiet in ((shown, False), (hidden, True)):
        with Progress(["reading inputs", "cluster scan"], file=stream, quiet=quiet) as progress:
            with progress.stage("reading inputs"):
                pass
            with progress.stage("cluster scan"):
                pass
    assert "geo-sppa: reading inputs" in shown.text and "geo-sppa: cluster scan" in shown.text
    assert "[1/2 stages" in shown.text
    assert hidden.text == ""
    assert set(progress.seconds) == {"reading inputs", "cluster scan"}


def test_progress_is_silent_when_stderr_is_not_a_terminal(tmp_path):
    result = CliRunner().invoke(
        cli, ["clusters", "--years", "2015-2017", "--no-map", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0
    assert "stages" not in result.output


def test_peterborough_collision_list_holds_exactly_the_collisions_of_the_sites(peterborough):
    result, out = peterborough
    assert "clusters_collisions.csv" in result.output and "clusters_factors.csv" in result.output
    sites = pd.read_csv(out / "clusters.csv", encoding="utf-8-sig", dtype={"site_id": str})
    listed = pd.read_csv(
        out / "clusters_collisions.csv", encoding="utf-8-sig", dtype={"collision_id": str}
    )
    pairs = zip(sites["site_id"], sites["collision_ids"], strict=True)
    expected = {(s, c) for s, ids in pairs for c in ids.split(";")}
    got = set(zip(listed["site_id"].astype(str), listed["collision_id"], strict=True))
    assert got == expected and len(listed) == len(expected) == sites["total"].sum()
    rank_of = dict(zip(sites["site_id"], sites["rank"], strict=True))
    assert (listed["site_id"].map(rank_of) == listed["rank"]).all()
    assert listed["rank"].is_monotonic_increasing
    for column in ("light", "weather", "surface", "speed_limit", "vehicle_types", "manoeuvres"):
        assert listed[column].notna().any(), column
    assert listed["date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_peterborough_factor_shares_equal_a_hand_count(peterborough):
    _, out = peterborough
    listed = pd.read_csv(out / "clusters_collisions.csv", encoding="utf-8-sig")
    factors = pd.read_csv(out / "clusters_factors.csv", encoding="utf-8-sig")
    window = gpd.read_file(out / "clusters.gpkg", layer="collisions")
    first = listed[listed["rank"] == 1]
    light = factors[(factors["rank"] == 1) & (factors["factor"] == "light")].set_index("level")
    by_hand = first["light"].value_counts()
    assert light["count"].to_dict() == by_hand.to_dict()
    assert (light["n"] == len(first)).all()
    for level, count in by_hand.items():
        assert light.loc[level, "share"] == pytest.approx(count / len(first))
        area = (window["light"] == level).sum() / window["light"].notna().sum()
        assert light.loc[level, "area_share"] == pytest.approx(area)
    flagged = factors[factors["over_represented"]]
    assert (flagged["p_value"] < 0.05).all() and (flagged["count"] >= 3).all()


@pytest.mark.parametrize(
    "rank_by, keys, words",
    [
        ("total", ["total", "ksi", "cost_gbp"], "injury collisions"),
        ("ksi", ["ksi", "total", "cost_gbp"], "fatal and serious collisions"),
        ("score", ["score", "cost_gbp", "total"], "severity score"),
    ],
    ids=["total", "ksi", "score"],
)
def test_rank_by_reorders_the_same_sites_as_documented(
    peterborough, tmp_path, rank_by, keys, words
):
    _, out = peterborough
    again = run("clusters", "--rank-by", rank_by, "--no-map", "-o", tmp_path)
    assert again.exit_code == 0, again.output
    assert summary_value(again.output, "ranked by") == f"{words} (--rank-by {rank_by})"
    assert f"ranked by {words}" in again.output
    by_cost = pd.read_csv(out / "clusters.csv", encoding="utf-8-sig")
    ranked = pd.read_csv(tmp_path / "clusters.csv", encoding="utf-8-sig")
    assert set(ranked["site_id"]) == set(by_cost["site_id"])
    ranked = ranked.assign(ksi=ranked["fatal"] + ranked["serious"])
    expected = ranked.sort_values([*keys, "site_id"], ascending=[False] * 3 + [True])
    assert ranked["site_id"].tolist() == expected["site_id"].tolist()
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    assert ranked["site_id"].tolist() != by_cost["site_id"].tolist()  # the order does change
    listed = pd.read_csv(tmp_path / "clusters_collisions.csv", encoding="utf-8-sig")
    assert listed["rank"].is_monotonic_increasing


def test_rank_by_cost_is_the_default_and_named_in_the_summary(peterborough):
    result, _ = peterborough
    assert summary_value(result.output, "ranked by") == "casualty cost (--rank-by cost)"
    assert run("clusters", "--rank-by", "name").exit_code == 2


def test_peterborough_dossier_prints_one_a4_page_per_site(peterborough, chromium):
    """clusters_sites.html: every site on its own A4 page, offline, with a plan of its collisions."""
    import re

    from browser import open_in_browser

    _, out = peterborough
    sites = pd.read_csv(out / "clusters.csv", encoding="utf-8-sig")
    with open_in_browser(out / "clusters_sites.html", browser=chromium) as view:
        page = view.page
        assert view.errors() == [] and view.blocked_requests == []
        assert page.locator("section.site").count() == len(sites)
        ids = page.eval_on_selector_all("section.site", "s => s.map(e => e.id)")
        assert ids == sites.sort_values("rank")["site_id"].astype(str).tolist()
        drawn = page.eval_on_selector_all(
            "section.site", "s => s.map(e => e.querySelectorAll('svg.plan circle').length)"
        )
        assert drawn == sites.sort_values("rank")["total"].tolist()
        pdf = page.pdf(format="A4")
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == len(sites)


def test_vehicles_and_casualties_join_into_the_collision_list(tmp_path):
    """Six collisions at one spot (a site) with 2019-layout vehicle and casualty files: 2021A0
    has a car and a pedal cycle and two casualties, one serious; one row of each file names a
    collision that is not in the collision file and is set aside."""
    rows = ["accident_index,location_easting_osgr,location_northing_osgr,accident_severity,date"]
    rows += [f"2021A{i},{520000 + i},{300000 + i},3,0{i + 1}/03/2021" for i in range(6)]
    (tmp_path / "acc.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "veh.csv").write_text(
        "accident_index,vehicle_reference,vehicle_type,vehicle_manoeuvre\n"
        "2021A0,1,9,18\n2021A0,2,1,9\n2021Z9,1,9,18\n"
    )
    (tmp_path / "cas.csv").write_text(
        "accident_index,casualty_reference,casualty_class,casualty_severity,age_of_casualty\n"
        "2021A0,1,1,3,40\n2021A0,2,3,2,9\n2021Z9,1,1,3,30\n"
    )
    out = tmp_path / "o"
    result = run(
        "clusters", "--collisions", tmp_path / "acc.csv", "--vehicles", tmp_path / "veh.csv",
        "--casualties", tmp_path / "cas.csv", "--years", "2021-2021", "--no-map", "-o", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    listed = pd.read_csv(out / "clusters_collisions.csv", encoding="utf-8-sig").set_index(
        "collision_id"
    )
    assert listed.loc["2021A0", "vehicle_types"] == "Car; Pedal cycle"
    assert listed.loc["2021A0", "manoeuvres"] == "Going ahead other; Turning right"
    assert (listed.loc["2021A0", "casualties"], listed.loc["2021A0", "ksi_casualties"]) == (2, 1)
    assert listed.loc["2021A0", "casualty_classes"] == "Driver or rider; Pedestrian"
    assert pd.isna(listed.loc["2021A1", "casualties"])
    aside = pd.read_csv(out / "clusters_parts_set_aside.csv", encoding="utf-8-sig")
    assert aside[["source", "record_id", "reason"]].values.tolist() == [
        ["veh.csv", "2021Z9", "no such collision"],
        ["cas.csv", "2021Z9", "no such collision"],
    ]
    assert "clusters_parts_set_aside.csv" in result.output


def test_a_window_past_the_data_resolves_no_site(tmp_path):
    """Peterborough's data stop in October 2017: a 2017-2019 window must not turn the 2014-2016
    sites into 'resolved' ones because the months after October 2017 are missing."""
    result = run("clusters", "--years", "2017-2019", "--no-map", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    assert summary_value(result.output, "sites").endswith(", 0 resolved")
    notes = [line for line in result.output.splitlines() if "no site called resolved" in line]
    assert len(notes) == 1 and "last collision 31 Oct 2017" in notes[0]
    assert not (tmp_path / "clusters_resolved.csv").exists()


def test_leeds_summary_counts_the_network_repairs(leeds):
    result, _ = leeds
    notes = [line for line in result.output.splitlines() if "road network cleaned" in line]
    assert len(notes) == 1
    assert "7 duplicate ways removed, 12 line ends within 2 m noded" in notes[0]


def test_the_summary_says_what_the_map_draws(peterborough):
    result, _ = peterborough
    # 1,659 collisions in 2014-2016: under the 20,000-point budget, so all are points
    assert summary_value(result.output, "map") == "All 1,659 collisions drawn as points."


def test_road_features_without_lines_are_counted_not_dropped(tmp_path):
    """Null geometries and points in a road layer used to vanish with no count."""
    rows = [f"2016A{i},{520000 + i},{300000},3,0{i + 1}/03/2016" for i in range(6)]
    path = _stats19(tmp_path / "six.csv", rows)
    roads = tmp_path / "roads.gpkg"
    gpd.GeoDataFrame(
        {"name": ["Mill Road", "Ghost", "Bus stop"]},
        geometry=[
            LineString([(519900, 300000), (520200, 300000)]),
            None,
            Point(520000, 300010),
        ],
        crs=27700,
    ).to_file(roads)
    result = run(
        "clusters", "--collisions", path, "--roads", roads, "--years", "2016", "--no-map",
        "-o", tmp_path / "o",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if "road features set aside" in line]
    assert len(notes) == 1
    assert "roads.gpkg: 2 of 3 road features set aside as not lines (1 Point, 1 empty)" in notes[0]


def test_above_the_point_limit_the_map_aggregates_and_the_summary_says_so(tmp_path, monkeypatch):
    """With the point budget lowered to 100, Peterborough's 1,659 collisions of 2014-2016 no
    longer fit: the ones at no site become a heat layer and the run summary says which."""
    import geo_sppa.render.cluster_map as cluster_map

    monkeypatch.setattr(cluster_map, "POINT_LIMIT", 100)
    result = run("clusters", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    note = summary_value(result.output, "map")
    assert note.startswith("462 collisions at sites drawn as points; the other 1,197")
    assert "as a heat layer" in note


def test_a_run_killed_part_way_leaves_no_complete_looking_output_set(tmp_path):
    """Kill `geo-sppa clusters` (SIGKILL, as a machine shutting down would) as soon as its
    first output appears: no run.json, and every output file present is whole."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "o"
    proc = subprocess.Popen(
        [sys.executable, "-m", "geo_sppa", "-q", "clusters", "--area", "leeds-central", "-o",
         str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "clusters.csv").exists():
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not (out / "run.json").exists()
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert "clusters.csv" in visible
    table = pd.read_csv(out / "clusters.csv", encoding="utf-8-sig")  # whole: it parses
    assert len(table) > 0 and table["rank"].tolist() == list(range(1, len(table) + 1))
    if "clusters.gpkg" in visible:  # renamed into place only with all three layers
        import pyogrio

        assert {n for n, _ in pyogrio.list_layers(out / "clusters.gpkg")} >= {
            "clusters",
            "collisions",
            "run",
        }
    # a new run removes the partial files the killed one left
    assert run("clusters", "--area", "leeds-central", "--no-map", "-o", out).exit_code == 0
    assert [p.name for p in out.iterdir() if ".partial-" in p.name] == []


def test_the_dossier_covers_the_top_sites_and_says_so(tmp_path):
    """A national run has thousands of sites; the dossier pages the best-ranked ones only."""
    result = run("clusters", "--dossier-sites", "5", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    page = (tmp_path / "clusters_sites.html").read_text(encoding="utf-8")
    assert page.count('<section class="site"') == 5
    table = pd.read_csv(tmp_path / "clusters.csv", encoding="utf-8-sig")
    top = table.sort_values("rank")["site_id"].head(5).tolist()
    assert [f'id="{sid}"' in page for sid in top] == [True] * 5
    assert "the top 5 of 63 sites by rank" in page
    assert summary_value(result.output, "dossier").startswith("This dossier has a page for each")


def test_the_map_and_the_collisions_layer_hold_the_collisions_the_run_used(leeds):
    """The 23 Leeds collisions beyond the snap tolerance are set aside, so they are neither drawn
    nor counted in the window layer (they used to make the map say 1,273 against 1,250 used)."""
    import pyogrio

    result, out = leeds
    in_window = int(
        summary_value(result.output, "window").split("(")[1].split()[0].replace(",", "")
    )
    assert in_window == 1250
    assert summary_value(result.output, "map") == f"All {in_window:,} collisions drawn as points."
    layer = pyogrio.read_dataframe(out / "clusters.gpkg", layer="collisions")
    aside = pd.read_csv(out / "clusters_set_aside.csv", encoding="utf-8-sig")
    assert len(layer) == in_window
    assert not set(layer["collision_id"]) & set(aside["record_id"])


def test_leeds_set_aside_trail_lists_the_previous_window_too(leeds):
    """The previous window's collisions beyond the snap tolerance are in clusters_set_aside.csv
    with their window and distance, as many as the summary's note says; the summary's set-aside
    count is the window's rows."""
    import re

    result, out = leeds
    aside = pd.read_csv(out / "clusters_set_aside.csv", encoding="utf-8-sig")
    previous = aside[aside["reason"] == "beyond snap tolerance, previous window"]
    note = next(line for line in result.output.splitlines() if "previous window 2014-2016:" in line)
    n_note = int(re.search(r"2014-2016: (\d+) collisions beyond", note).group(1))
    assert n_note == len(previous) > 0
    assert (
        previous["detail"]
        .str.fullmatch(r"previous window 2014-2016: nearest road \d+\.\d m away")
        .all()
    )
    assert pd.to_numeric(previous["detail"].str.extract(r"(\d+\.\d) m")[0]).gt(30).all()
    shown = int(summary_value(result.output, "set aside").split()[0].replace(",", ""))
    assert shown == len(aside) - len(previous)
    assert previous["row"].is_unique and previous["record_id"].str.match(r"201[456]_").all()


def test_site_ksi_casualties_sum_the_casualty_file(tmp_path):
    """Six collisions at one spot, each with casualty rows (2023 layout, collision_index):
    casualty severities 1, 2, 3, 3 on the first, 2 on the second, 3 on the rest: the site has 9
    casualties, 3 of them killed or seriously injured. Without the file both are NA."""
    rows = ["collision_index,location_easting_osgr,location_northing_osgr,collision_severity,date"]
    rows += [f"2023A{i},{520000 + i},{300000 + i},3,0{i + 1}/03/2023" for i in range(6)]
    (tmp_path / "acc.csv").write_text("\n".join(rows) + "\n")
    severities = {0: [1, 2, 3, 3], 1: [2], 2: [3], 3: [3], 4: [3], 5: [3]}
    cas = ["collision_index,casualty_reference,casualty_class,casualty_severity"]
    cas += [f"2023A{i},{k + 1},1,{s}" for i, ss in severities.items() for k, s in enumerate(ss)]
    (tmp_path / "cas.csv").write_text("\n".join(cas) + "\n")
    common = ["clusters", "--collisions", tmp_path / "acc.csv", "--years", "2023-2023", "--no-map"]
    with_file = run(*common, "--casualties", tmp_path / "cas.csv", "-o", tmp_path / "a")
    assert with_file.exit_code == 0, with_file.output
    site = pd.read_csv(tmp_path / "a" / "clusters.csv", encoding="utf-8-sig").iloc[0]
    assert (site["total"], site["casualties"], site["ksi_casualties"]) == (6, 9, 3)
    without = run(*common, "-o", tmp_path / "b")
    assert without.exit_code == 0, without.output
    site = pd.read_csv(tmp_path / "b" / "clusters.csv", encoding="utf-8-sig").iloc[0]
    assert pd.isna(site["ksi_casualties"]) and pd.isna(site["casualties"])


def test_peterborough_link_sites_get_indicative_flow_rates(peterborough):
    """The bundled DfT count points give link sites with a count point on their road within
    500 m a rate per million vehicle-km: each equals total / (AADT x 365 x 3 x 0.1 km) x 1e6
    (50 m circles: 100 m of road); the summary counts them; junction sites have none."""
    import re

    result, out = peterborough
    sites = pd.read_csv(out / "clusters.csv", encoding="utf-8-sig")
    rated = sites[sites["rate_per_mvkm"].notna()]
    line = summary_value(result.output, "traffic flow")
    shown = re.match(r"(\d+) of (\d+) link sites have an indicative collision rate", line)
    assert shown, line
    assert int(shown.group(1)) == len(rated) > 0
    assert int(shown.group(2)) == int((sites["site_type"] == "link").sum())
    assert "peterborough_dft_countpoints_aadt.geojson" in line
    assert set(rated["site_type"]) == {"link"}
    by_hand = rated["total"] / (rated["aadt"] * 365 * 3 * 0.1) * 1e6
    assert rated["rate_per_mvkm"].to_numpy() == pytest.approx(by_hand.to_numpy(), abs=1e-3)
    assert (rated["count_point_m"] <= 500).all() and rated["count_point_id"].notna().all()
    assert sites["flow_note"].notna().all()  # every site says why it has no rate
    dossier = (out / "clusters_sites.html").read_text(encoding="utf-8")
    assert dossier.count("traffic flow (indicative):") == len(rated)


def test_counts_file_that_does_not_exist_is_a_one_line_error(tmp_path):
    result = run("clusters", "--counts", tmp_path / "nope.csv", "--no-map", "-o", tmp_path)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("Error: ")
    assert "nope.csv: no such count point file; check the path passed to --counts" in result.output


def test_map_and_dossier_link_to_each_other(tmp_path, chromium):
    """With --dossier-sites 2, the map opened at #<site_id> shows that site's popup; the
    popups of ranks 1-2 link to their dossier page (whose section exists and links back to
    the map at the same fragment); rank 3's popup has no dossier link."""
    from urllib.parse import quote

    from browser import open_in_browser

    result = run("clusters", "--dossier-sites", "2", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    ranked = pd.read_csv(tmp_path / "clusters.csv", encoding="utf-8-sig").sort_values("rank")
    ids = ranked["site_id"].astype(str).tolist()
    map_url = (tmp_path / "clusters.html").resolve().as_uri()
    with open_in_browser(tmp_path / "clusters_sites.html", browser=chromium) as view:
        page = view.page
        assert page.eval_on_selector_all("section.site", "s => s.map(e => e.id)") == ids[:2]
        back = page.locator(f"section.site#{ids[1]} a.map-link").get_attribute("href")
        assert back == f"clusters.html#{quote(ids[1], safe='')}"
    with open_in_browser(tmp_path / "clusters.html", browser=chromium) as view:
        page = view.page
        for rank, sid in enumerate(ids[:3], start=1):
            page.goto(f"{map_url}#{quote(sid, safe='')}")
            page.wait_for_function(
                f"window.geoSppaDrawn && window.geoSppaDrawn.followed === {sid!r}"
            )
            # a hash change in the open page closes the last popup (200 ms fade) and opens this
            page.wait_for_function("document.querySelectorAll('.leaflet-popup').length === 1")
            popup = page.locator(".leaflet-popup .gs-popup")
            assert popup.get_attribute("data-site") == sid
            links = popup.locator("a")
            if rank <= 2:
                assert links.get_attribute("href") == f"clusters_sites.html#{quote(sid, safe='')}"
            else:
                assert links.count() == 0
        assert view.page_errors == []
