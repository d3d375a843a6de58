"""``geo-sppa evaluate`` on the bundled data: cluster sites of one window treated the next day.

Leeds (network mode) treats the sites of a 2014-2016 cluster run on 1 January 2017; Peterborough
(radius mode) those of 2012-2014 on 1 January 2015. Nothing is known to have been built there, so
these runs show regression to the mean: the naive before/after ratio promises a large fall that
the EB estimate, which expects most of it anyway, does not confirm.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
from click.testing import CliRunner

from geo_sppa.cli.main import cli


def _invoke(*args) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def _treated(clusters: pd.DataFrame, date: str, path, **extra) -> object:
    frame = pd.DataFrame({"site_id": clusters["site_id"], "treatment_date": date,
                          "name": clusters["name"], **extra})  # fmt: skip
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def leeds(tmp_path_factory):
    """A Leeds cluster run 2014-2016 and its sites evaluated as treated on 2017-01-01."""
    t = tmp_path_factory.mktemp("leeds")
    _invoke("clusters", "--area", "leeds-central", "--years", "2014-2016", "--no-map",
            "-o", t / "clusters")  # fmt: skip
    clusters = pd.read_csv(t / "clusters" / "clusters.csv")
    treated = _treated(clusters, "2017-01-01", t / "treated.csv")
    output = _invoke("evaluate", "--area", "leeds-central", "--treated", treated,
                     "--sites", t / "clusters" / "clusters.csv", "-o", t / "out")  # fmt: skip
    return t / "out", clusters, output


@pytest.fixture(scope="module")
def peterborough(tmp_path_factory):
    """A Peterborough radius-mode run 2012-2014, its sites treated on 2015-01-01."""
    t = tmp_path_factory.mktemp("pb")
    _invoke("clusters", "--area", "peterborough", "--radius-mode", "--years", "2012-2014",
            "--no-map", "-o", t / "clusters")  # fmt: skip
    clusters = pd.read_csv(t / "clusters" / "clusters.csv")
    treated = _treated(clusters, "2015-01-01", t / "treated.csv")
    output = _invoke("evaluate", "--area", "peterborough", "--radius-mode", "--treated", treated,
                     "--sites", t / "clusters" / "clusters.csv", "-o", t / "out")  # fmt: skip
    return t / "out", clusters, output, t


def _check_outputs(out, clusters, output):
    """Every output written; every treated row evaluated or set aside; theta finite."""
    sites = pd.read_csv(out / "evaluate.csv")
    overall = pd.read_csv(out / "evaluate_overall.csv").iloc[0]
    aside = pd.read_csv(out / "evaluate_set_aside.csv")
    assert len(sites) + len(aside) == len(clusters)
    assert set(sites["site_id"]) <= set(clusters["site_id"])
    for value in ("theta", "theta_low", "theta_high", "theta_se", "expected_after"):
        assert math.isfinite(overall[value]), value
    assert overall["theta_low"] < overall["theta"] < overall["theta_high"]
    assert overall["observed_after"] == sites["observed_after"].sum()
    assert overall["expected_after"] == pytest.approx(sites["expected_after"].sum())
    html = (out / "evaluate.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "theta" in html
    assert re.search(rf"treated records read\s+{len(clusters)}\n", output)
    assert re.search(rf"treated records used\s+{len(sites)}\n", output)
    assert "SPF" in output and "theta =" in output
    return sites, overall


def test_leeds_network_mode(leeds):
    out, clusters, output = leeds
    sites, overall = _check_outputs(out, clusters, output)
    assert set(sites["kind"]) == {"junction", "link"}
    # cluster junctions are candidate junctions: their before count is the cluster's total
    # (named by the footprint when clusters.csv has one, else by the id)
    named = clusters.set_index("site_id").get("footprint", clusters.set_index("site_id").index)
    sites = sites.assign(named=sites["site_id"].map(pd.Series(named, index=clusters["site_id"])))
    junctions = sites[sites["named"].str.startswith("J")]
    totals = clusters.set_index("site_id")["total"]
    assert len(junctions) > 10
    assert (junctions["observed_before"] <= junctions["site_id"].map(totals)).all()
    assert (junctions["candidate_id"] == junctions["named"]).all()
    # selected for high 2014-2016 counts: the naive ratio promises a fall beyond the EB interval
    assert overall["naive_ratio"] < 0.8
    assert overall["naive_ratio"] < overall["theta_low"]
    assert (sites["eb_before"] < sites["observed_before"]).mean() > 0.9  # pulled towards the SPF
    assert not sites["partial_years"].any()  # data reach the end of 2019
    # theta per kind beside the overall; the treated sites are in the SPF fit
    groups = pd.read_csv(out / "evaluate_overall.csv").set_index("sites")
    assert list(groups.index) == ["all", "junction", "link"]
    for column in ("n_sites", "observed_after"):
        assert groups.loc[["junction", "link"], column].sum() == groups.loc["all", column]
    html = (out / "evaluate.html").read_text(encoding="utf-8")
    for kind in ("junction", "link"):
        assert f"{kind} sites: Over {groups.loc[kind, 'n_sites']} site(s)" in html
        assert groups.loc[kind, "n_sites"] == (sites["kind"] == kind).sum()
        assert groups.loc[kind, "theta_low"] < groups.loc[kind, "theta"]
        assert re.search(rf"effect, {kind} sites\s+Over {groups.loc[kind, 'n_sites']} site", output)
    assert re.search(r"reference group\s+[\d,]+ candidate sites .*offset log\(theta\).* theta converged",
                     output)  # fmt: skip


def test_peterborough_radius_mode(peterborough):
    out, clusters, output, _ = peterborough
    sites, overall = _check_outputs(out, clusters, output)
    assert set(sites["kind"]) == {"circle"}
    assert overall["naive_ratio"] < overall["theta_low"]
    # the data end in October 2017: the after period's last year is partial, and flagged
    assert sites["partial_years"].all()
    assert (sites["after_years"] < 3).all() and (sites["after_years"] > 2.8).all()
    assert (sites["after_end"] == "2017-10-31").all()


def test_coordinates_find_the_same_sites_as_site_ids(peterborough):
    """Radius mode: a treated file of eastings/northings evaluates the same cells as site_id."""
    out, clusters, _, t = peterborough
    by_id = pd.read_csv(out / "evaluate.csv")
    path = t / "by_xy.csv"
    pd.DataFrame({"easting": clusters["x"], "northing": clusters["y"],
                  "treatment_date": "2015-01-01"}).to_csv(path, index=False)  # fmt: skip
    _invoke("evaluate", "--area", "peterborough", "--radius-mode", "--treated", path,
            "-o", t / "xy")  # fmt: skip
    by_xy = pd.read_csv(t / "xy" / "evaluate.csv")
    assert list(by_xy["candidate_id"]) == list(by_id["candidate_id"])
    assert by_xy["theta"].tolist() == pytest.approx(by_id["theta"].tolist(), nan_ok=True)


def test_works_period_is_left_out_of_both_periods(peterborough):
    _, clusters, _, t = peterborough
    path = _treated(clusters.head(3), "2015-01-01", t / "works.csv",
                    works_start="2014-10-01", works_end="2015-03-31")  # fmt: skip
    _invoke("evaluate", "--area", "peterborough", "--radius-mode", "--treated", path,
            "--sites", t / "clusters" / "clusters.csv", "-o", t / "works")  # fmt: skip
    sites = pd.read_csv(t / "works" / "evaluate.csv")
    assert (sites["before_end"] == "2014-09-30").all()
    assert (sites["after_start"] == "2015-04-01").all()
    assert sites["partial_years"].all()
    assert sites["before_years"].tolist() == pytest.approx([2 + 273 / 365] * 3)


def test_a_row_outside_the_data_is_set_aside_with_its_reason(peterborough):
    _, clusters, _, t = peterborough
    path = t / "late.csv"
    frame = pd.DataFrame({"site_id": clusters["site_id"].head(2),
                          "treatment_date": ["2015-01-01", "2019-06-01"]})  # fmt: skip
    frame.to_csv(path, index=False)
    output = _invoke("evaluate", "--area", "peterborough", "--radius-mode", "--treated", path,
                     "--sites", t / "clusters" / "clusters.csv", "-o", t / "late")  # fmt: skip
    aside = pd.read_csv(t / "late" / "evaluate_set_aside.csv")
    assert aside["row"].tolist() == [2]
    assert aside["reason"].tolist() == ["treatment date after the data"]
    assert len(pd.read_csv(t / "late" / "evaluate.csv")) == 1
    assert "treatment date after the data" in output


def test_the_evaluation_page_in_a_browser(leeds, chromium):
    """The page opens offline: the chart image decodes and the table has a row per site."""
    from browser import open_in_browser

    out, _, _ = leeds
    sites = pd.read_csv(out / "evaluate.csv")
    with open_in_browser(out / "evaluate.html", browser=chromium) as view:
        width = view.page.locator("img").evaluate("img => img.naturalWidth")
        assert width > 500
        assert view.page.locator("tbody tr").count() == len(sites)
        lead = view.page.locator("p.lead").inner_text()
        assert f"theta = {pd.read_csv(out / 'evaluate_overall.csv')['theta'][0]:.2f}" in lead
        assert view.console_errors == []
        assert view.blocked_requests == []
