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
