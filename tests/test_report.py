"""The strategic-assessment report: built once per module, opened offline in headless Chromium."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest
from click.testing import CliRunner

from geo_sppa.assessment.risk import risk_matrix
from geo_sppa.cli.main import cli
from geo_sppa.render.assets import remote_references
from geo_sppa.render.report_html import SECTIONS, ReportInputs, assessment_report, executive_summary


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The report for the bundled Peterborough data (no arguments but the output folder)."""
    out = tmp_path_factory.mktemp("report")
    result = CliRunner().invoke(cli, ["report", "-o", str(out)])
    assert result.exit_code == 0, result.output
    path = out / "report.html"
    return path, path.read_text(encoding="utf-8"), result.output


def test_report_has_every_section_and_summary_facts(built):
    path, page, output = built
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    assert page.count('<p class="data">Data: ') == len(SECTIONS)  # each section names its data
    summary = page.split('<section id="summary">')[1].split("</section>")[0]
    assert "accident cluster sites in 2014-2016" in summary
    assert "wards flagged against deprivation" in summary
    assert (
        "down 9.1% on 2012" in summary
        and "2017 (01 Jan to 31 Oct, partial) not compared" in summary
    )
    assert "Domestic Abuse (risk 156)" in summary
    assert (
        "Road collisions from 01 Jan 2012 to 31 Oct 2017 cost £" in summary
        and "Recorded crime cost £" in summary
    )
    assert "Run summary" in output and "records" not in output or "read" in output


def test_report_is_self_contained(built):
    _, page, _ = built
    assert remote_references(page) == []
    for srcdoc in re.findall(r'srcdoc="([^"]*)"', page):  # the embedded maps, unescaped
        assert remote_references(html.unescape(srcdoc)) == []
    assert re.findall(r"""src\s*=\s*["'](?!data:)([^"']+)""", page) == []
    assert (
        page.count('src="data:image/png;base64,') >= 8
    )  # 2 outlier + 4 trend + costs + risk charts
    assert page.count("<iframe") == 2 and "srcdoc=" in page


def test_data_text_is_escaped():
    """Names from data cannot inject markup: a theme and a site name with tags are shown as text."""
    matrix = risk_matrix(
        pd.DataFrame({"theme": ["<script>alert(1)</script>"], "harm_score": ["2"], "gaps": ["3"]})
    )
    page = assessment_report(
        ReportInputs(
            title="T <b>",
            area="A & B",
            risk=matrix,
            risk_threshold=5,
            sources={"risk": "<img src=x onerror=alert(2)>.csv"},
        )
    )
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "T &lt;b&gt;" in page
    assert executive_summary(ReportInputs(risk=matrix)) == [
        "Top risks: <script>alert(1)</script> (risk 6)."
    ]
    assert "No cluster sites for this report." in page


@pytest.mark.browser
def test_report_opens_offline_without_errors(built, chromium):
    from browser import open_in_browser

    path, _, _ = built
    with open_in_browser(path, browser=chromium, settle_ms=800) as view:
        page = view.page
        for section in SECTIONS:
            assert page.locator(f"section#{section} h2").count() == 1
        assert page.locator("img.chart").count() >= 8
        widths = page.eval_on_selector_all("img.chart", "els => els.map(e => e.naturalWidth)")
        assert all(w > 100 for w in widths)  # every data: URI decoded to an image
        frames = [f for f in page.frames if f != page.main_frame]
        assert len(frames) == 2
        for frame in frames:
            frame.wait_for_selector(".leaflet-container", timeout=10_000)
            assert frame.locator(".leaflet-interactive").count() > 0
        assert page.locator("tr.priority").count() == 7
        assert view.console_errors == [] and view.page_errors == []
        assert view.blocked_requests == []
        assert view.dialogs == []
        view.screenshot("report")
