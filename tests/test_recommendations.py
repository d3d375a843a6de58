"""Recommendations: each appears when its evidence is there, and never when it is not."""

from __future__ import annotations

import pandas as pd
import pytest

from geo_sppa.assessment.recommendations import (
    ENGAGEMENT,
    ENGINEERING_STUDY,
    MONITOR,
    POPULATION_CHECK,
    recommendations,
)
from geo_sppa.render.report_html import ReportInputs, assessment_report, executive_summary
from geo_sppa.render.report_recommendations import RECOMMENDATIONS_LEAD


def sites(**extra) -> pd.DataFrame:
    """Twelve ranked sites: ranks 1, 4 and 11 persistent (11 is outside the top 10), the rest new."""
    status = ["persistent" if r in (1, 4, 11) else "new" for r in range(1, 13)]
    frame = pd.DataFrame(
        {
            "rank": range(1, 13),
            "name": [f"Site {r}" for r in range(1, 13)],
            "total": [20 - r for r in range(1, 13)],
            "status": status,
            "previous_total": [7.0 if s == "persistent" else float("nan") for s in status],
        }
    )
    return frame.assign(**extra)


def wards(**extra) -> pd.DataFrame:
    """Three wards: A over-predicted, B under (possible under-reporting) and a cold spot, C none."""
    frame = pd.DataFrame(
        {
            "ward_name": ["A", "B", "C"],
            "observed": [300, 40, 100],
            "expected": [200.0, 95.5, 101.0],
            "direction": ["over", "under", ""],
            "label": [
                "more than deprivation predicts",
                "fewer than deprivation predicts (possible under-reporting)",
                "",
            ],
            "hotspot": ["", "cold spot", ""],
        }
    )
    return frame.assign(**extra)


def kinds(recs) -> list[str]:
    return [r.kind for r in recs]


def test_persistent_top_ranked_sites_get_an_engineering_study():
    (rec,) = recommendations(sites=sites())
    assert rec.kind == ENGINEERING_STUDY
    assert rec.subjects == ("Site 1", "Site 4")  # Site 11 is persistent but ranked outside 10
    assert rec.evidence[0] == (
        "Site 1: ranked 1 by casualty cost with 19 collisions, and a cluster site in the previous "
        "window too (7 collisions then)"
    )
    assert recommendations(sites=sites(), top_sites=11)[0].subjects[-1] == "Site 11"


def test_no_engineering_study_without_persistent_sites_or_a_previous_window():
    assert recommendations(sites=sites(status="new")) == []
    assert recommendations(sites=sites().drop(columns="status")) == []
    assert recommendations(sites=sites().iloc[:0]) == []
    assert recommendations() == []


def test_likely_regression_to_the_mean_means_monitor_first_not_a_study():
    notes = [""] * 12
    notes[0] = "likely regression to the mean: EB estimate 6.1 against 19 observed"
    notes[1] = "regression to the mean unlikely"  # says the opposite: not flagged
    recs = recommendations(sites=sites(rtm_note=notes))
    assert kinds(recs) == [ENGINEERING_STUDY, MONITOR]
    assert recs[0].subjects == ("Site 4",)  # Site 1 waits for monitoring
    assert recs[1].subjects == ("Site 1",)
    assert "EB estimate 6.1" in recs[1].evidence[0]
    flagged = [False] * 12
    flagged[3] = True
    assert kinds(recommendations(sites=sites(rtm_likely=flagged))) == [ENGINEERING_STUDY, MONITOR]
    # the column absent or empty: nobody is flagged
    assert kinds(recommendations(sites=sites(rtm_note=[""] * 12))) == [ENGINEERING_STUDY]


def test_wards_with_possible_under_reporting_get_engagement():
    (rec,) = recommendations(wards=wards())
    assert rec.kind == ENGAGEMENT and rec.subjects == ("B",)
    assert rec.evidence == (
        "B: 40 recorded against 95.5 expected from deprivation, below its prediction interval "
        "and a cold spot of the residuals (possible under-reporting)",
    )
    assert recommendations(wards=wards(direction=["over", "", ""], label=["x", "", ""])) == []


@pytest.mark.parametrize(
    ("imd_label", "months", "expected"),
    [
        ("IMD 2010", ("2018-10", "2021-01"), True),  # 11 years
        ("IMD 2015", ("2019-12", "2020-01"), True),  # 5 years: the edge
        ("IMD 2019", ("2018-10", "2021-01"), False),  # 2 years
        ("iod_custom.csv", ("2021-01",), False),  # no edition year: never called stale
        ("IMD 2010", (), False),  # no incident months
    ],
    ids=["11-years", "5-years-edge", "2-years", "no-year", "no-months"],
)
def test_stale_deprivation_means_checking_population_growth(imd_label, months, expected):
    recs = [
        r for r in recommendations(wards=wards(), imd_label=imd_label, months=months)
        if r.kind == POPULATION_CHECK
    ]  # fmt: skip
    assert bool(recs) == expected
    if expected:
        assert recs[0].subjects == ("A", "B")  # the flagged wards
        assert imd_label in recs[0].evidence[0]


def test_stale_deprivation_with_no_flagged_ward_names_every_ward():
    quiet = wards(direction="", label="")
    (rec,) = recommendations(wards=quiet, imd_label="IMD 2010", months=("2021-01",))
    assert rec.subjects == () and "every ward" in rec.action


def test_report_section_labels_suggestions_and_names_evidence():
    recs = recommendations(sites=sites(), wards=wards())
    page = assessment_report(ReportInputs(recommendations=recs))
    section = page.split('<section id="recommendations">')[1].split("</section>")[0]
    assert RECOMMENDATIONS_LEAD.split(",")[0] in section  # "Suggestions for the partnership..."
    assert section.count("<li data-kind=") == 2
    assert "Engineering study</span>" in section and "Community engagement</span>" in section
    assert "Evidence:" in section and "ranked 4 by casualty cost" in section
    summary = executive_summary(ReportInputs(recommendations=recs))
    assert summary == [
        "2 suggestions for the partnership to weigh: engineering study (2); community "
        "engagement (1) (see Recommendations)."
    ]
    empty = assessment_report(ReportInputs())
    section = empty.split('<section id="recommendations">')[1].split("</section>")[0]
    assert "The evidence supports no suggestion" in section and "<li data-kind=" not in section
    assert executive_summary(ReportInputs()) == []
