"""``geo-sppa map`` redraws saved results without re-running the analysis."""

from __future__ import annotations

import re

import pandas as pd
from click.testing import CliRunner

from geo_sppa.cli.main import cli
from geo_sppa.render.assets import remote_references


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def test_map_clusters_redraws_from_gpkg(tmp_path):
    first = run("clusters", "--years", "2014-2016", "-o", tmp_path)
    assert first.exit_code == 0, first.output
    (tmp_path / "clusters.html").unlink()
    args = ["-o", tmp_path / "again", "--name", "again.html"]
    again = run("map", "clusters", tmp_path / "clusters.gpkg", *args)
    assert again.exit_code == 0, again.output
    html = (tmp_path / "again" / "again.html").read_text(encoding="utf-8")
    assert "L.map(" in html and '<script src="http' not in html
    assert remote_references(html) == []
    sites = pd.read_csv(tmp_path / "clusters.csv", encoding="utf-8-sig")
    assert re.search(rf"sites +{len(sites):,}\n", again.output)
    assert re.search(rf"wrote +{re.escape(str(tmp_path / 'again' / 'again.html'))}\n", again.output)
    assert "gs-ward-outline" in html and "gs-road" in html  # the area's context layers
    import pyogrio
    from run_manifest import checked_entry

    from geo_sppa.bundled.areas import bundled_area

    entry = checked_entry(tmp_path / "again", "map clusters again.html", again.output)
    area = bundled_area("peterborough")
    assert [i["path"] for i in entry["inputs"]] == [
        str(tmp_path / "clusters.gpkg"),
        str(area.roads or area.context_roads),
        str(area.wards[area.default_ward_set]),
    ]
    n_collisions = pyogrio.read_info(tmp_path / "clusters.gpkg", layer="collisions")["features"]
    assert entry["counts"] == {"sites": len(sites), "collisions": n_collisions}
    assert entry["options"] == {"area": "peterborough", "no_context": False, "name": "again.html"}


def test_map_wards_redraws_from_gpkg(tmp_path):
    first = run("wards", "-o", tmp_path)
    assert first.exit_code == 0, first.output
    again = run("map", "wards", tmp_path / "wards.gpkg", "-o", tmp_path / "w")
    assert again.exit_code == 0, again.output
    assert re.search(r"wards +24\n", again.output)
    assert re.search(r"layers +imd_score, rate_per_1000\n", again.output)
    assert (tmp_path / "w").is_dir()  # -o is a folder, as for every command
    html = (tmp_path / "w" / "wards_map.html").read_text(encoding="utf-8")
    assert "gs-ward-imd_score" in html and "gs-ward-rate_per_1000" in html
    assert remote_references(html) == []


def test_map_missing_results_is_one_line_error(tmp_path):
    result = CliRunner().invoke(cli, ["map", "clusters", str(tmp_path / "none.gpkg")])
    assert result.exit_code == 1 and "none.gpkg: no such results file" in result.output


def test_map_never_overwrites_the_commands_own_map(tmp_path):
    """Without -o the redrawn map goes beside RESULTS as <stem>_map.html; wards.html is kept."""
    first = run("wards", "-o", tmp_path)
    assert first.exit_code == 0, first.output
    before = (tmp_path / "wards.html").read_bytes()
    again = run("map", "wards", tmp_path / "wards.gpkg")
    assert again.exit_code == 0, again.output
    assert (tmp_path / "wards.html").read_bytes() == before
    assert (tmp_path / "wards_map.html").is_file()
    (tmp_path / "file").write_text("x", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["map", "wards", str(tmp_path / "wards.gpkg"), "-o", str(tmp_path / "file")]
    )
    assert result.exit_code == 2  # a file is not a folder: a usage error


def test_each_redrawn_map_has_its_own_manifest_entry(tmp_path):
    """Two ward maps redrawn into one folder are two runs of `map wards`: the second never
    removes the first, and the wards command's own entry and files stay as they were."""
    import json
    import shutil

    from run_manifest import checked_entry, sha256

    assert run("wards", "-o", tmp_path).exit_code == 0
    before = json.loads((tmp_path / "run.json").read_text())["runs"]["wards"]
    shutil.copy(tmp_path / "wards.gpkg", tmp_path / "other.gpkg")
    first = run("map", "wards", tmp_path / "wards.gpkg")
    assert first.exit_code == 0, first.output
    entry = checked_entry(tmp_path, "map wards wards_map.html", first.output)
    assert [i["path"] for i in entry["inputs"]] == [str(tmp_path / "wards.gpkg")]
    assert entry["counts"] == {"wards": 24, "layers": ["imd_score", "rate_per_1000"]}
    kept = sha256(tmp_path / "wards_map.html")
    second = run("map", "wards", tmp_path / "other.gpkg")
    assert second.exit_code == 0, second.output
    assert (
        checked_entry(tmp_path, "map wards other_map.html", second.output)[
            "removed_from_earlier_run"
        ]
        == []
    )
    assert sha256(tmp_path / "wards_map.html") == kept
    runs = json.loads((tmp_path / "run.json").read_text())["runs"]
    assert set(runs) == {"wards", "map wards wards_map.html", "map wards other_map.html"}
    assert runs["wards"] == before
    for record in before["outputs"]:
        assert sha256(record["path"]) == record["sha256"]
