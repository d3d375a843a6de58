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
    # the latest three complete years, as `trends` and `costs` choose them: 2017 stops in October
    assert "Road collisions: 2016: 599 collisions, up 19.1% on 2014." in summary
    assert "partial" not in summary
    assert "Domestic Abuse (risk 156)" in summary
    assert (
        "Road collisions from 01 Jan 2014 to 31 Dec 2016 cost £108.0m at 2014 prices (1,659 "
        "collisions; £36.0m a year over 3 years)." in summary
    )
    # the crime figure names its own period and price years and is never set beside the road one
    assert (
        "Recorded crime cost £48.8m over 7 months, 2018-10 to 2021-01 at 1999/2000 and 2003/04 "
        "prices" in summary
    )
    assert (
        "Not comparable with the road figure (different period and price year: 2014 against "
        "1999/2000 and 2003/04); do not add them." in summary
    )
    run = output.split("Run summary")[1]
    for line in (
        r"collisions +peterborough_rtc_cambsinsight_2012_2017\.csv: 3,329 read, 3,329 used, "
        r"0 set aside",
        r"risk themes +spp2012_risk_matrix\.csv: 22 read, 22 used, 0 set aside",
        r"top risk +Domestic Abuse \(156\)",
        r"wrote +\S+report\.html \(\d+\.\d MB\)",
    ):
        assert re.search(line + "\n", run), line


def test_report_lists_top_sites_of_all_and_no_resolved_without_a_previous_window(built):
    path, page, _ = built
    clusters = page.split('<section id="clusters">')[1].split("</section>")[0]
    assert "Top 20 of 63 sites by casualty cost; all 63 are in clusters.csv" in clusters
    assert len(pd.read_csv(path.parent / "clusters.csv", encoding="utf-8-sig")) == 63
    assert "No previous window in the data, so no site can be called resolved." in clusters


def test_report_passes_years_ward_set_and_suppression_through(tmp_path):
    """--years past the data end, the 2022 wards, and suppression: all honoured. On the 2022
    wards Barnack (9 ASB incidents) and Wittering (15) are below 20: the report's ward map shows
    them as <20, and only Central (555, the one flag after the FDR correction) is listed."""
    args = ["report", "--years", "2017-2019", "--ward-set", "2022", "--suppress-below", "20"]
    result = CliRunner().invoke(cli, [*args, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    clusters = page.split('<section id="clusters">')[1].split("</section>")[0]
    incomplete = "Window 2017-2019 is incomplete: the data stop 31 Oct 2017"
    assert "3 sites meet the rule" in clusters and incomplete in clusters
    assert "not listed as resolved: missing months cannot resolve a site" in clusters
    assert "<h3>Resolved sites</h3>" not in clusters
    summary = page.split('<section id="summary">')[1].split("</section>")[0]
    assert "no site called resolved" in summary
    assert "Road collisions from 01 Jan 2017 to 31 Oct 2017 cost" in summary
    assert "over 10 months" in summary
    trends = page.split('<section id="trends">')[1].split("</section>")[0]
    assert incomplete in trends
    outliers = page.split('<section id="outliers">')[1].split("</section>")[0]
    assert "wards 2022 (WD22, current)" in outliers
    assert "<td>Central</td><td>555</td>" in outliers
    ward_map = html.unescape(re.findall(r'srcdoc="([^"]*)"', outliers)[0])
    for ward in ("Barnack", "Wittering"):
        tip = ward_map.split(ward, 1)[1].split("gs-tip")[0]  # its popup, JSON-escaped
        cell = r"Incidents\\u003c/th\\u003e\\u003ctd\\u003e\\u0026lt;20\\u003c"
        assert re.search(cell, tip), ward


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


def test_report_footer_credits_every_dataset(built):
    """OpenStreetMap (ODbL), Crown copyright and the OGL v3, in a footer after the sections."""
    _, page, _ = built
    footer = page.split('<footer id="attribution">')[1].split("</footer>")[0]
    assert page.index('<footer id="attribution">') > page.rindex("</section>")
    assert (
        "\u00a9 OpenStreetMap contributors" in footer and "Open Database Licence (ODbL)" in footer
    )
    assert "Crown copyright" in footer and "Open Government Licence v3.0" in footer
    for source in ("STATS19", "police.uk", "Office for National Statistics", "IMD"):
        assert source in footer, source


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
        (wards,) = [f for f in frames if f.locator("path.gs-ward").count()]
        drawn = wards.eval_on_selector_all(
            "path.gs-ward", "els => [...new Set(els.map(e => e.getAttribute('class')))]"
        )
        assert len(drawn) == 1 and "gs-ward-label" in drawn[0]  # one choropleth: the labels
        assert wards.locator('.leaflet-control-layers-base input[type="radio"]').count() >= 3
        legends = wards.eval_on_selector_all(".gs-legend", "els => els.map(e => e.dataset.legend)")
        assert legends == ["ward:label"]
        recs = page.locator("section#recommendations")
        assert "Suggestions for the partnership to weigh" in recs.inner_text()
        assert page.locator("section#set_aside table tr").count() >= 5  # header + 4 inputs
        assert page.locator("tr.priority").count() == 7
        footer = page.locator("footer#attribution")
        assert footer.is_visible() and "OpenStreetMap contributors" in footer.inner_text()
        assert view.console_errors == [] and view.page_errors == []
        assert view.blocked_requests == []
        assert view.dialogs == []
        view.screenshot("report")


@pytest.fixture(scope="module")
def assessment():
    """The Peterborough assessment from Python, as the report command runs it."""
    from geo_sppa.assessment.pipeline import strategic_assessment

    return strategic_assessment("peterborough")


def test_assessment_is_frozen_and_names_its_inputs(assessment):
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        assessment.title = "changed"
    assert assessment.collisions_path.name == "peterborough_rtc_cambsinsight_2012_2017.csv"
    assert assessment.incidents_path is not None and assessment.incidents is not None
    assert assessment.themes_bundled and assessment.themes_path.name == "spp2012_risk_matrix.csv"
    assert assessment.outliers is not None and assessment.outliers_missing == ""
    assert assessment.outliers.category == "Anti-social behaviour"
    assert len(assessment.outliers.months) == 7 and assessment.crime_months[0] == "2018-10"
    assert assessment.road_period == "01 Jan 2014 to 31 Dec 2016"
    assert assessment.years == (2014, 2016) and assessment.cluster_coverage == ""
    window = assessment.clusters.window
    assert assessment.cluster_collisions["year"].between(*window).all()
    assert len(assessment.cluster_collisions) < len(assessment.collisions.data)
    assert set(assessment.sources) == set(SECTIONS)


def test_assessment_numbers_equal_the_commands(assessment, tmp_path):
    """strategic_assessment() and the costs, trends and risk commands agree number for number."""
    runner = CliRunner()
    for command in ("costs", "trends", "risk"):
        result = runner.invoke(cli, [command, "-o", str(tmp_path / command)])
        assert result.exit_code == 0, result.output

    def csv(name):
        return pd.read_csv(tmp_path / name, encoding="utf-8-sig")

    road = csv("costs/costs_road.csv")
    assert road["cost_gbp"].tolist() == pytest.approx(assessment.costs.road["cost_gbp"].tolist())
    assert road["collisions"].tolist() == assessment.costs.road["collisions"].tolist()
    crime = csv("costs/costs_crime.csv")
    assert crime["cost_gbp"].sum() == pytest.approx(assessment.costs.crime["cost_gbp"].sum())
    by_year = csv("trends/trends_by_year.csv")
    assert by_year["total"].tolist() == assessment.trends.by_year["total"].tolist()
    assert by_year["ksi"].tolist() == assessment.trends.by_year["ksi"].tolist()
    risk = csv("risk/risk_matrix.csv")
    assert risk["theme"].tolist() == assessment.risk["theme"].tolist()
    assert risk["risk"].tolist() == assessment.risk["risk"].tolist()


def test_report_page_is_built_from_the_assessment(assessment, built):
    """The command's page and the Python one state the same figures."""
    from geo_sppa.render.report_page import report_inputs

    inputs = report_inputs(assessment)
    assert inputs.outliers is assessment.outliers.report
    assert set(inputs.trend_charts) == {
        "Collisions by year and severity",  # 2014-2016 are complete: no "(* partial year)"
        "Monthly collisions and the rolling 12-month count and rate",
        "Seasonality: collisions by month of year",
        "Collisions by road user involved",
    }
    charts = [*inputs.outlier_charts.values(), *inputs.trend_charts.values()]
    charts += [inputs.cost_chart, inputs.risk_chart]
    assert len(charts) == 8
    for chart in charts:  # every chart names its data at its foot, none in its title
        assert [t.get_text()[:8] for t in chart.texts if t is not chart._suptitle] == ["Source: "]
        assert ".csv" not in " ".join(ax.get_title() for ax in chart.axes)
        assert ".csv" not in chart.get_suptitle()
    assert "spp2012_risk_matrix.csv" in inputs.risk_chart.texts[0].get_text()
    _, page, output = built
    for point in executive_summary(inputs):
        assert f"  - {point}" in output
    total = assessment.costs.road["cost_gbp"].iloc[-1]
    assert f"cost \u00a3{total / 1e6:,.1f}m" in page


def test_pipeline_does_not_import_click():
    """The library path of the report is callable from Python without the CLI's click.

    (pyplot is imported by mapclassify, which the ward map needs; the backend is not switched:
    see tests/test_trends.py.)
    """
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, geo_sppa.assessment.pipeline, geo_sppa.render.report_page; "
        "print('click' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_empty_category_is_a_one_line_error():
    """An empty --category would make the ward step list categories instead: refused up front."""
    from geo_sppa.assessment.pipeline import strategic_assessment
    from geo_sppa.errors import InputError

    with pytest.raises(InputError, match="expected a police.uk crime type .* pass --category NAME"):
        strategic_assessment("peterborough", category=" ")


def test_ward_map_names_hot_spots_in_words_and_colours_them_hot_red_cold_blue():
    """Three square wards labelled hot, cold and nothing: red, blue and pale grey, in words."""
    import geopandas as gpd
    from shapely.geometry import box

    from geo_sppa.render.ward_map import ward_map

    wards = gpd.GeoDataFrame(
        {"ward_name": ["A", "B", "C"], "hotspot": ["hot spot", "cold spot", ""]},
        geometry=[box(500000 + i * 1000, 300000, 501000 + i * 1000, 301000) for i in range(3)],
        crs="EPSG:27700",
    )
    page = ward_map(wards, layers=("hotspot",), tiles=None).get_root().render()
    assert "Hot and cold spots of the residuals (Getis-Ord Gi*)" in page
    fills = re.findall(r'"fill": "(#[0-9a-f]{6})"', page)
    assert fills == ["#d7301f", "#2b8cbe", "#f0f0f0"]  # A hot, B cold, C not flagged


def test_report_ward_map_title_names_category_unit_and_period(assessment):
    from geo_sppa.render.report_page import _outlier_title

    assert _outlier_title(assessment.outliers) == (
        "Anti-social behaviour per 1,000 residents, 2018-10 to 2021-01 (7 months): wards against "
        "IMD 2010 score without the crime domain"
    )


# ----------------------------------------------------------------- Leeds, options, set aside, PDF


@pytest.fixture(scope="module")
def leeds(tmp_path_factory):
    """The Leeds report (no risk matrix of its own) and `geo-sppa clusters` on the same area."""
    out = tmp_path_factory.mktemp("leeds")
    runner = CliRunner()
    result = runner.invoke(cli, ["report", "--area", "leeds-central", "-o", str(out / "r")])
    assert result.exit_code == 0, result.output
    clusters = runner.invoke(cli, ["clusters", "--area", "leeds-central", "-o", str(out / "c")])
    assert clusters.exit_code == 0, clusters.output
    page = (out / "r" / "report.html").read_text(encoding="utf-8")
    return out, page, result.output


def section(page: str, name: str) -> str:
    return page.split(f'<section id="{name}">')[1].split("</section>")[0]


def test_leeds_report_borrows_no_risk_matrix(leeds):
    _, page, output = leeds
    for theme in ("Domestic Abuse", "Drugs misuse", "spp2012_risk_matrix"):
        assert theme not in page and theme not in output
    risk = section(page, "risk")
    assert "No risk matrix for this report" in risk and "--themes" in risk
    assert 'tr class="priority"' not in page and "<img" not in risk
    assert "Risks: no risk matrix" in section(page, "summary")


def test_leeds_report_recommends_a_study_of_its_persistent_top_sites(leeds):
    """Every persistent site ranked 1-10 in clusters.csv, and only those, is named for a study."""
    out, page, _ = leeds
    sites = pd.read_csv(out / "r" / "clusters.csv", encoding="utf-8-sig")
    persistent = sites[(sites["status"] == "persistent") & (sites["rank"] <= 10)]
    assert len(persistent) >= 1
    recs = section(page, "recommendations")
    assert "Suggestions for the partnership to weigh" in recs
    study = recs.split('data-kind="engineering study"')[1].split("</ul></li>")[0]
    for name in sites["name"]:
        listed = f"<li>{html.escape(name)}: ranked" in study
        assert listed == (name in set(persistent["name"])), name


def test_leeds_report_lists_set_aside_counts_and_writes_them_as_clusters_does(leeds):
    """The 23 collisions beyond the snap tolerance: counted per input in the report, and
    report_set_aside.csv holds the same records as clusters_set_aside.csv (1-based file row,
    record id, reason; the previous window's 36 after them), each row pointing at its own line
    of the collision file."""
    from geo_sppa.bundled.areas import bundled_area

    out, page, output = leeds
    ours = pd.read_csv(out / "r" / "report_set_aside.csv", encoding="utf-8-sig")
    theirs = pd.read_csv(out / "c" / "clusters_set_aside.csv", encoding="utf-8-sig")
    assert list(ours.columns[:5]) == ["input", "source", "row", "record_id", "reason"]
    pd.testing.assert_frame_equal(
        ours[["row", "record_id", "reason"]].reset_index(drop=True),
        theirs[["row", "record_id", "reason"]].reset_index(drop=True),
    )
    previous = ours["reason"] == "beyond snap tolerance, previous window"
    n = int((~previous).sum())
    assert (n, int(previous.sum())) == (23, 36)
    assert set(ours["reason"][~previous]) == {"beyond snap tolerance"}
    raw = pd.read_csv(bundled_area("leeds-central").collisions, dtype=str)
    assert raw["collision_id"].iloc[ours["row"] - 1].tolist() == ours["record_id"].tolist()
    table = section(page, "set_aside")
    assert f"{n + 36:,} records set aside across the inputs" in table
    assert "report_set_aside.csv" in table
    assert f"<td>beyond snap tolerance ({n})</td>" in table
    assert re.search(r"set aside +%d records across the inputs" % (n + 36), output)
    assert "report_set_aside.csv" in output


def test_peterborough_report_lists_every_input_with_nothing_set_aside(built):
    path, page, _ = built
    table = section(page, "set_aside")
    assert "0 records set aside across the inputs." in table
    for name in ("collisions", "incidents", "wards and deprivation (IMD 2010)", "risk themes"):
        assert f"<td>{name}</td>" in table, name
    assert "<td>peterborough_policeuk_street_crime_7months_2018_2021.csv</td>" in table
    assert not (path.parent / "report_set_aside.csv").exists()  # nothing set aside: no file


def test_peterborough_recommendation_names_its_stale_deprivation(built):
    """IMD 2010 against incidents to 2021: check population growth of the flagged ward (West)."""
    _, page, _ = built
    recs = section(page, "recommendations")
    assert 'data-kind="check population growth"' in recs
    assert "IMD 2010 is 11 years older than the latest incidents (2021-01)" in recs
    assert "the flagged wards since 2010" in recs
    assert 'data-kind="engineering study"' not in recs  # no previous window: nothing persistent


def test_report_years_and_ward_set_equal_the_commands(tmp_path):
    """report --years 2015-2016 --ward-set 2022 and clusters/costs/trends --years 2015-2016,
    outliers --ward-set 2022: the same sites, costs, yearly counts and flagged wards."""
    runner = CliRunner()
    years = ["--years", "2015-2016"]
    result = runner.invoke(cli, ["report", *years, "--ward-set", "2022", "-o", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    for command, args in (("clusters", years), ("costs", years), ("trends", years),
                          ("outliers", ["--ward-set", "2022"])):  # fmt: skip
        run = runner.invoke(cli, [command, *args, "-o", str(tmp_path / command)])
        assert run.exit_code == 0, run.output
    page = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")

    def csv(name):
        return pd.read_csv(tmp_path / name, encoding="utf-8-sig")

    ours, theirs = csv("r/clusters.csv"), csv("clusters/clusters.csv")
    assert ours["name"].tolist() == theirs["name"].tolist()
    assert ours["total"].tolist() == theirs["total"].tolist()
    assert f"{len(theirs)} sites meet the rule" in section(page, "clusters")
    assert "in 2015-2016" in section(page, "clusters")
    road = csv("costs/costs_road.csv")
    total = road[road["severity"] == "total"].iloc[0]
    summary = section(page, "summary")
    assert f"cost £{total['cost_gbp'] / 1e6:,.1f}m at {int(total['price_year'])} prices" in summary
    assert f"({int(total['collisions']):,} collisions;" in summary
    by_year = csv("trends/trends_by_year.csv")
    assert by_year["year"].tolist() == [2015, 2016]
    trends = section(page, "trends")
    for _, row in by_year.iterrows():
        assert (
            f"<td>{row['label']}</td>" in trends and f'<td class="n">{row["total"]}</td>' in trends
        )
    flagged = csv("outliers/outliers.csv")
    flagged = flagged[flagged["label"].fillna("") != ""]
    outliers = section(page, "outliers")
    assert f"{len(flagged)} of {len(csv('outliers/outliers.csv'))} wards" in outliers
    assert all(f"<td>{html.escape(n)}</td>" in outliers for n in flagged["ward_name"])
    assert "wards 2022 (WD22, current)" in outliers


@pytest.mark.browser
def test_report_pdf_is_a4_with_a_page_per_section(tmp_path, chromium):
    """--pdf prints through headless Chromium: several A4 pages, every section title in the text,
    each section starting a page of its own (print CSS)."""
    pypdf = pytest.importorskip("pypdf", reason="pypdf reads the printed PDF (test extra)")
    from geo_sppa.render.report_html import SECTION_TITLES

    result = CliRunner().invoke(cli, ["report", "--pdf", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert re.search(r"wrote +\S+report\.pdf\n", result.output)
    reader = pypdf.PdfReader(tmp_path / "report.pdf")
    assert len(reader.pages) > len(SECTIONS)
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    texts = [p.extract_text() for p in reader.pages]
    starts = {}
    for key in SECTIONS:
        title = SECTION_TITLES[key]
        pages = [i for i, t in enumerate(texts) if t.lstrip().startswith(title) or
                 re.search(r"\n%s\n" % re.escape(title), "\n" + t)]  # fmt: skip
        assert pages, title
        starts[key] = pages[0]
    order = [starts[k] for k in SECTIONS]
    assert order == sorted(order) and len(set(order)) == len(SECTIONS)  # a page each, in order
    assert "Data sources and attribution" in "".join(texts)


def test_pdf_without_chromium_is_a_one_line_error_naming_the_install(tmp_path, monkeypatch):
    import geo_sppa.render.report_page as report_page

    monkeypatch.setattr(report_page, "chromium_executable", lambda: None)
    result = CliRunner().invoke(cli, ["report", "--pdf", "-o", str(tmp_path)])
    assert result.exit_code == 1
    message = result.output.strip().splitlines()[-1]
    assert message.startswith("Error: --pdf needs headless Chromium")
    assert "apt-get install -y chromium" in message and "leave out --pdf" in message
    assert not (tmp_path / "report.pdf").exists()
