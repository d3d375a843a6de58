"""The assessment commands (risk, costs, trends, report) as registered in the CLI group."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from geo_sppa.cli.main import COMMANDS, cli

ASSESSMENT = ("risk", "costs", "trends", "report")


def test_commands_listed_with_one_line_purpose():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ASSESSMENT:
        assert name in COMMANDS and len(COMMANDS[name][2]) < 100
        assert f"  {name} " in result.output


@pytest.mark.parametrize("name", ASSESSMENT)
def test_each_command_has_help_with_example(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0 and "Example:" in result.output and "--output-dir" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["trends", "--years", "2012-2017", "--baseline-year", "2017"],
            "baseline year 2017 is only partly covered",
        ),
        (["trends", "--baseline-year", "2012"], "baseline year 2012 is outside the years"),
        (["trends", "--collisions", "nope.csv"], "nope.csv: no such collisions file"),
        (["costs", "--unit-costs", "nope.csv"], "nope.csv: no such unit-cost file"),
        (["risk", "--themes", "nope.csv"], "nope.csv: no such risk matrix file"),
    ],
    ids=[
        "partial-baseline",
        "baseline-outside-window",
        "missing-collisions",
        "missing-unit-costs",
        "missing-themes",
    ],
)
def test_bad_input_is_one_line_error(tmp_path, args, message):
    result = CliRunner().invoke(cli, [*args, "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_report_on_user_collisions(tmp_path):
    """A user STATS19-style file: no cluster sites, counts with casualties, the rest bundled."""
    path = tmp_path / "stats19.csv"
    path.write_text(
        "accident_index,location_easting_osgr,location_northing_osgr,date,accident_severity,number_of_casualties\n"
        "A1,518000,301000,01/01/2019,3,1\nA2,518100,301000,31/12/2019,2,2\nA3,518200,301000,01/01/2020,1,3\n"
        "A4,518300,301000,31/12/2020,3,1\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli,
        ["report", "--collisions", str(path), "-o", str(tmp_path / "out"), "--name", "mine.html"],
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "mine.html").read_text(encoding="utf-8")
    assert "No accident cluster sites in 2019-2020." in page
    assert (
        "stats19.csv" in page
        and "2020: 4 collisions" not in page
        and "2020: 2 collisions, unchanged" in page
    )


def test_leeds_report_uses_the_same_cluster_inputs_as_the_clusters_command(tmp_path):
    """The report and `geo-sppa clusters` must agree (same network, same service-road rule)."""
    import pandas as pd

    clusters = CliRunner().invoke(
        cli, ["clusters", "--area", "leeds-central", "--no-map", "-o", str(tmp_path / "c")]
    )
    assert clusters.exit_code == 0, clusters.output
    n_sites = len(pd.read_csv(tmp_path / "c" / "clusters.csv", encoding="utf-8-sig"))
    report = CliRunner().invoke(
        cli, ["report", "--area", "leeds-central", "-o", str(tmp_path / "r")]
    )
    assert report.exit_code == 0, report.output
    assert f"{n_sites} accident cluster sites in 2017-2019" in report.output
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    outliers = page.split('<section id="outliers">')[1].split("</section>")[0]
    assert "No ward outliers for this report." in outliers
    assert "has no bundled wards, population or incidents" in outliers
    assert outliers.count("<iframe") == 0 and page.count("<iframe") == 1  # the cluster map only
    clusters_part = page.split('<section id="clusters">')[1].split("</section>")[0]
    assert f"Top 20 of {n_sites} sites by casualty cost; all {n_sites} are in clusters.csv" in (
        clusters_part
    )
    written = pd.read_csv(tmp_path / "r" / "clusters.csv", encoding="utf-8-sig")
    assert len(written) == n_sites
    # the previous window 2014-2016 is in the data: its sites that no longer qualify are listed
    n_resolved = clusters_part.split("<h3>Resolved sites</h3><p>")[1].split(" sites of")[0]
    resolved_rows = clusters_part.split("<h3>Resolved sites</h3>")[1].count("<tr>") - 1
    assert int(n_resolved) == resolved_rows > 0
    risk = page.split('<section id="risk">')[1].split("</section>")[0]
    assert "No risk matrix for this report: the area &#x27;leeds-central&#x27; has no" in risk
    assert "pass --themes CSV" in risk and "<table" not in risk and "<img" not in risk
    summary = page.split('<section id="summary">')[1].split("</section>")[0]
    for borrowed in ("Domestic Abuse", "Top risks", "spp2012_risk_matrix"):
        assert borrowed not in summary and borrowed not in report.output
    assert "Risks: no risk matrix" in summary
    assert "none: no risk matrix for this area" in report.output


# ------------------------------------------------------------------------- run.json manifests

STATS19_HEADER = (
    "accident_index,location_easting_osgr,location_northing_osgr,date,accident_severity,"
    "number_of_casualties\n"
)
CLEAN_ROWS = "A1,518000,301000,01/01/2019,3,1\nA2,518100,301000,31/12/2019,2,2\n"
NO_PLACE_ROW = "A3,,301000,01/01/2020,1,3\n"  # no easting: set aside


def _collisions(path, rows):
    path.write_text(STATS19_HEADER + rows, encoding="utf-8")
    return path


def _output_names(entry):
    from pathlib import Path

    return [Path(o["path"]).name for o in entry["outputs"]]


def _input_names(entry):
    from pathlib import Path

    return [Path(i["path"]).name for i in entry["inputs"]]


def test_costs_manifest_and_a_stale_set_aside_file_removed(tmp_path):
    """A run that sets a record aside writes costs_set_aside.csv; the next, clean, run removes
    it and says so; the risk command's files in the same folder are left alone."""
    import json

    from run_manifest import checked_entry, sha256

    out = tmp_path / "o"
    risk = CliRunner().invoke(cli, ["risk", "-o", str(out)])
    assert risk.exit_code == 0, risk.output
    risk_before = {p.name: sha256(p) for p in out.glob("risk_matrix.*")}
    bad = _collisions(tmp_path / "bad.csv", CLEAN_ROWS + NO_PLACE_ROW)
    first = CliRunner().invoke(cli, ["costs", "--collisions", str(bad), "-o", str(out)])
    assert first.exit_code == 0, first.output
    entry = checked_entry(out, "costs", first.output)
    assert _output_names(entry) == [
        "costs_road.csv",
        "costs_crime.csv",
        "costs_set_aside.csv",
        "costs.png",
    ]
    assert _input_names(entry)[:2] == [
        "bad.csv",
        "peterborough_policeuk_street_crime_7months_2018_2021.csv",
    ]
    assert entry["counts"]["n_set_aside"] == 1 and entry["counts"]["n_read"] == 3 + 14459
    assert entry["options"]["unit_costs"] == "ho2005"
    clean = _collisions(tmp_path / "clean.csv", CLEAN_ROWS)
    second = CliRunner().invoke(cli, ["costs", "--collisions", str(clean), "-o", str(out)])
    assert second.exit_code == 0, second.output
    assert not (out / "costs_set_aside.csv").exists()
    assert "costs_set_aside.csv (left by an earlier run)" in second.output
    entry = checked_entry(out, "costs", second.output)
    assert entry["removed_from_earlier_run"] == ["costs_set_aside.csv"]
    assert entry["counts"]["n_set_aside"] == 0
    assert {p.name: sha256(p) for p in out.glob("risk_matrix.*")} == risk_before
    assert set(json.loads((out / "run.json").read_text())["runs"]) == {"risk", "costs"}


def test_trends_manifest_and_road_user_outputs_of_an_earlier_run_removed(tmp_path):
    """The bundled file has road-user flags (trends_road_users.csv and .png); a run on a file
    without them removes the earlier run's road-user files, and names them."""
    from run_manifest import checked_entry

    out = tmp_path / "o"
    first = CliRunner().invoke(cli, ["trends", "-o", str(out)])
    assert first.exit_code == 0, first.output
    entry = checked_entry(out, "trends", first.output)
    assert {"trends_road_users.csv", "trends_road_users.png"} <= set(_output_names(entry))
    assert _input_names(entry) == [
        "peterborough_rtc_cambsinsight_2012_2017.csv",
        "peterborough_population_lsoa11.csv",
    ]
    counts = entry["counts"]
    assert counts["n_read"] == 3329 and counts["n_set_aside"] == 0
    assert counts["n_used"] + counts["n_outside_years"] == 3329
    # the latest three complete years of a file that ends in October 2017, and no end date given
    assert entry["options"]["years"] == [2014, 2016] and entry["options"]["end_date"] is None
    own = _collisions(tmp_path / "own.csv", CLEAN_ROWS + NO_PLACE_ROW)
    second = CliRunner().invoke(cli, ["trends", "--collisions", str(own), "-o", str(out)])
    assert second.exit_code == 0, second.output
    entry = checked_entry(out, "trends", second.output)
    assert sorted(entry["removed_from_earlier_run"]) == [
        "trends_road_users.csv",
        "trends_road_users.png",
    ]
    assert not list(out.glob("trends_road_users.*"))
    assert "trends_road_users.png (left by an earlier run)" in second.output
    assert entry["counts"]["n_read"] == 3 and entry["counts"]["n_set_aside"] == 1


def test_risk_manifest_removes_only_its_own_earlier_outputs(tmp_path):
    """An output the risk entry lists and this run does not write is removed; the same kind of
    file listed by another command's entry, and a file no entry lists, are kept."""
    import json

    from run_manifest import checked_entry

    out = tmp_path / "o"
    first = CliRunner().invoke(cli, ["risk", "--threshold", "40", "-o", str(out)])
    assert first.exit_code == 0, first.output
    entry = checked_entry(out, "risk", first.output)
    assert _input_names(entry) == ["spp2012_risk_matrix.csv"]
    assert entry["options"] == {"area": "peterborough", "threshold": 40.0}
    assert entry["counts"]["n_read"] == entry["counts"]["n_used"] == 22
    manifest = json.loads((out / "run.json").read_text())
    manifest["runs"]["risk"]["outputs"].append({"path": str(out / "risk_old.csv")})
    manifest["runs"]["other"] = {"outputs": [{"path": str(out / "shared.csv")}]}
    manifest["runs"]["risk"]["outputs"].append({"path": str(out / "shared.csv")})
    (out / "run.json").write_text(json.dumps(manifest))
    for name in ("risk_old.csv", "shared.csv", "mine.csv"):
        (out / name).write_text("x")
    second = CliRunner().invoke(cli, ["risk", "-o", str(out)])
    assert second.exit_code == 0, second.output
    assert not (out / "risk_old.csv").exists()
    assert (out / "shared.csv").exists() and (out / "mine.csv").exists()
    assert checked_entry(out, "risk", second.output)["removed_from_earlier_run"] == ["risk_old.csv"]
    assert "other" in json.loads((out / "run.json").read_text())["runs"]


def test_report_manifest_and_a_stale_set_aside_file_removed(tmp_path):
    """report_set_aside.csv of a run that set a collision aside goes with the next clean run."""
    from run_manifest import checked_entry, sha256

    out = tmp_path / "o"
    bad = _collisions(tmp_path / "bad.csv", CLEAN_ROWS + NO_PLACE_ROW)
    first = CliRunner().invoke(cli, ["report", "--collisions", str(bad), "-o", str(out)])
    assert first.exit_code == 0, first.output
    entry = checked_entry(out, "report", first.output)
    assert _output_names(entry) == ["report.html", "clusters.csv", "report_set_aside.csv"]
    names = _input_names(entry)
    assert names[0] == "bad.csv" and "spp2012_risk_matrix.csv" in names
    assert "peterborough_wards_2013_wd13.geojson" in names  # the ward outliers' boundaries
    assert entry["counts"]["n_set_aside"] >= 1 and entry["counts"]["n_sites"] == 0
    assert any(r["input"] == "collisions" and r["set_aside"] == 1
               for r in entry["counts"]["by_input"])  # fmt: skip
    (out / "trends_by_year.csv").write_text("another command's file")
    kept = sha256(out / "trends_by_year.csv")
    clean = _collisions(tmp_path / "clean.csv", CLEAN_ROWS)
    second = CliRunner().invoke(cli, ["report", "--collisions", str(clean), "-o", str(out)])
    assert second.exit_code == 0, second.output
    entry = checked_entry(out, "report", second.output)
    assert _output_names(entry) == ["report.html", "clusters.csv"]
    assert entry["removed_from_earlier_run"] == ["report_set_aside.csv"]
    assert not (out / "report_set_aside.csv").exists()
    assert "report_set_aside.csv (left by an earlier run)" in second.output
    assert sha256(out / "trends_by_year.csv") == kept
