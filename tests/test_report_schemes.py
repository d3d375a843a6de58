"""``geo-sppa report --treated``: the "Effect of schemes" section matches ``geo-sppa evaluate``.

The Leeds cluster sites of 2014-2016 are treated on 1 January 2017 (as in
tests/test_cli_evaluate.py); the report and the evaluate command run on the same files, and the
report's theta, interval and per-site rows must be evaluate's.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from click.testing import CliRunner

from geo_sppa.cli.main import cli


def _invoke(*args, code: int = 0) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def leeds(tmp_path_factory):
    """Clusters 2014-2016, every site treated 2017-01-01; evaluate and report on the same files."""
    t = tmp_path_factory.mktemp("schemes")
    _invoke("clusters", "--area", "leeds-central", "--years", "2014-2016", "--no-map",
            "-o", t / "clusters")  # fmt: skip
    sites = t / "clusters" / "clusters.csv"
    clusters = pd.read_csv(sites)
    treated = t / "treated.csv"
    pd.DataFrame({"site_id": clusters["site_id"], "treatment_date": "2017-01-01",
                  "name": clusters["name"]}).to_csv(treated, index=False)  # fmt: skip
    _invoke("evaluate", "--area", "leeds-central", "--treated", treated, "--sites", sites,
            "-o", t / "eval")  # fmt: skip
    output = _invoke("report", "--area", "leeds-central", "--treated", treated, "--sites", sites,
                     "-o", t / "report")  # fmt: skip
    page = (t / "report" / "report.html").read_text(encoding="utf-8")
    return t, clusters, output, page


def _section(page: str) -> str:
    found = re.search(r'<section id="schemes">(.*?)</section>', page, re.S)
    assert found, "no Effect of schemes section"
    return found.group(1)


def test_overall_theta_is_evaluates(leeds):
    t, _, output, page = leeds
    overall = pd.read_csv(t / "eval" / "evaluate_overall.csv").set_index("sites")
    body = _section(page)
    assert "<h2>Effect of schemes</h2>" in body
    for group, row in overall.iterrows():  # all, then each kind (junction, link)
        words = (f"theta = {row['theta']:.2f} (95% interval {row['theta_low']:.2f} to "
                 f"{row['theta_high']:.2f})")  # fmt: skip
        label = "All treated" if group == "all" else str(group).capitalize()
        assert re.search(rf"{label} sites: Over {int(row['n_sites'])} site\(s\).*?"
                         + re.escape(words), body), (group, words)  # fmt: skip
        assert f"naive before/after ratio is {row['naive_ratio']:.2f}" in body
    assert "regression to the mean" in body
    assert "Effect of schemes: All treated sites" in page  # the executive summary says it too
    assert "effect of schemes" in output and "theta =" in output
    # placed before the recommendations, and in the navigation
    assert page.index('id="schemes"') < page.index('id="recommendations"')
    assert '<a href="#schemes">' in page


def test_one_row_per_evaluated_site(leeds):
    t, clusters, output, page = leeds
    sites = pd.read_csv(t / "eval" / "evaluate.csv")
    aside = pd.read_csv(t / "eval" / "evaluate_set_aside.csv")
    assert len(sites) + len(aside) == len(clusters)
    body = _section(page)
    table = body.split("<h3>Per site")[1]
    assert f"({len(sites)})</h3>" in table
    assert table.count("<tr") == len(sites) + 1  # the header, then one row per site
    for _, site in sites.iterrows():
        assert f"{site['theta']:.2f}" in table and f"{site['expected_after']:.1f}" in table
    # the treated rows are counted in the set-aside section like the other inputs
    counts = re.search(r"treated sites</td><td>treated.csv</td>(.*?)</tr>", page, re.S)
    assert counts, "no treated row in the set-aside table"
    numbers = [int(n.replace(",", "")) for n in re.findall(r">([\d,]+)</td>", counts.group(1))]
    assert numbers[:3] == [len(clusters), len(sites), len(aside)]
    assert re.search(rf"treated sites\s+treated.csv: {len(clusters)} read, {len(sites)} used",
                     output)  # fmt: skip


def test_no_treated_no_section():
    from geo_sppa.render.report_html import SECTIONS, ReportInputs, report_sections

    assert report_sections(ReportInputs()) == SECTIONS and "schemes" not in SECTIONS


def test_bad_treated_file_same_error_as_evaluate(tmp_path):
    bad = tmp_path / "treated.csv"
    bad.write_text("site,when\n1,2017-01-01\n", encoding="utf-8")
    messages = []
    for command in ("evaluate", "report"):
        output = _invoke(command, "--area", "leeds-central", "--treated", bad,
                         "-o", tmp_path / command, code=1)  # fmt: skip
        errors = [line for line in output.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "Traceback" not in output, output
        messages.append(errors[0])
    assert messages[0] == messages[1]
    assert "treated.csv" in messages[0] and "treatment_date" in messages[0]
    assert not (tmp_path / "report" / "report.html").exists()


def test_sites_without_treated_is_refused(tmp_path):
    sites = tmp_path / "clusters.csv"
    sites.write_text("site_id\n1\n", encoding="utf-8")
    output = _invoke("report", "--area", "leeds-central", "--sites", sites,
                     "-o", tmp_path / "out", code=1)  # fmt: skip
    assert "Error: clusters.csv: --sites" in output and "--treated FILE" in output
    assert not (tmp_path / "out" / "report.html").exists()
