"""``geo-sppa map`` redraws saved results without re-running the analysis."""

from __future__ import annotations

from click.testing import CliRunner

from geo_sppa.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def test_map_clusters_redraws_from_gpkg(tmp_path):
    first = run("clusters", "--years", "2014-2016", "-o", tmp_path)
    assert first.exit_code == 0, first.output
    (tmp_path / "clusters.html").unlink()
    again = run("map", "clusters", tmp_path / "clusters.gpkg", "-o", tmp_path / "again.html")
    assert again.exit_code == 0, again.output
    html = (tmp_path / "again.html").read_text(encoding="utf-8")
    assert "leaflet" in html.lower() and '<script src="http' not in html
    assert "sites" in again.output and "again.html" in again.output


def test_map_wards_redraws_from_gpkg(tmp_path):
    first = run("wards", "-o", tmp_path)
    assert first.exit_code == 0, first.output
    again = run("map", "wards", tmp_path / "wards.gpkg", "-o", tmp_path / "w.html")
    assert again.exit_code == 0, again.output
    assert "24" in again.output and (tmp_path / "w.html").stat().st_size > 10_000


def test_map_missing_results_is_one_line_error(tmp_path):
    result = CliRunner().invoke(cli, ["map", "clusters", str(tmp_path / "none.gpkg")])
    assert result.exit_code == 1 and "none.gpkg: no such results file" in result.output
