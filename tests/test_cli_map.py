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
    again = run("map", "clusters", tmp_path / "clusters.gpkg", "-o", tmp_path / "again.html")
    assert again.exit_code == 0, again.output
    html = (tmp_path / "again.html").read_text(encoding="utf-8")
    assert "L.map(" in html and '<script src="http' not in html
    assert remote_references(html) == []
    sites = pd.read_csv(tmp_path / "clusters.csv", encoding="utf-8-sig")
    assert re.search(rf"sites +{len(sites):,}\n", again.output)
    assert re.search(rf"wrote +{re.escape(str(tmp_path / 'again.html'))}\n", again.output)
    assert "gs-ward-outline" in html and "gs-road" in html  # the area's context layers


def test_map_wards_redraws_from_gpkg(tmp_path):
    first = run("wards", "-o", tmp_path)
    assert first.exit_code == 0, first.output
    again = run("map", "wards", tmp_path / "wards.gpkg", "-o", tmp_path / "w.html")
    assert again.exit_code == 0, again.output
    assert re.search(r"wards +24\n", again.output)
    assert re.search(r"layers +imd_score, rate_per_1000\n", again.output)
    html = (tmp_path / "w.html").read_text(encoding="utf-8")
    assert "gs-ward-imd_score" in html and "gs-ward-rate_per_1000" in html
    assert remote_references(html) == []


def test_map_missing_results_is_one_line_error(tmp_path):
    result = CliRunner().invoke(cli, ["map", "clusters", str(tmp_path / "none.gpkg")])
    assert result.exit_code == 1 and "none.gpkg: no such results file" in result.output
