"""The two ward-outlier charts, read back from the drawn artists (issue 14).

Planted wards (``planted_nb(1)``: W10 doubled, W25 halved, both flagged) and a tight cluster of
flagged wards whose labels would overlap if drawn at one offset.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.text import Annotation

from geo_sppa.render.charts import funnel_chart, outlier_scatter
from geo_sppa.render.outlier_charts import (
    FLAG_COLOURS,
    imd_edition,
    measure_axis_label,
    period_text,
)
from geo_sppa.wards.outliers import outlier_report
from tests.test_outliers import planted_nb


@pytest.fixture(scope="module")
def report():
    return outlier_report(planted_nb(1), rng=1, permutations=0)


def _draw(fig):
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _point_colours(ax) -> list[str]:
    """Colours of the ward markers (the scatter collection with one point per ward)."""
    collections = [c for c in ax.collections if len(c.get_offsets()) > 1]
    faces = collections[-1].get_facecolors()
    return [to_hex(f) for f in faces]


@pytest.mark.parametrize(
    ("measure", "edition", "text"),
    [
        ("imd_score", 2010, "IMD 2010 score (higher = more deprived)"),
        ("imd_no_crime_score", "2019", "IMD 2019 score without the crime domain (higher = more deprived)"),
        ("imd_rank_popweighted", 2019, "IMD 2019 rank, population-weighted mean (lower = more deprived)"),
        ("income_score", None, "IMD income domain score (higher = more deprived)"),
    ],
)  # fmt: skip
def test_measure_axis_label_names_edition_and_direction(measure, edition, text):
    assert measure_axis_label(measure, edition) == text


def test_period_and_edition_texts():
    months = ("2018-10", "2018-11", "2018-12", "2019-01", "2019-02", "2019-08", "2021-01")
    assert period_text(months) == "2018-10 to 2021-01 (7 months, not contiguous)"
    assert period_text(("2020-01", "2020-02", "2020-03")) == "2020-01 to 2020-03 (3 months)"
    assert imd_edition("IMD 2010") == "2010" and imd_edition("my_imd.csv") is None


@pytest.mark.parametrize("chart", ["scatter", "funnel"])
def test_axis_titles_period_legend_outside_and_one_colour_meaning(report, chart):
    data = report.data
    period = "2020-01 to 2020-12 (12 months)"
    if chart == "scatter":
        fig = outlier_scatter(data, report.fit, title="t", edition=2019, period=period)
    else:
        fig = funnel_chart(data, report.overdispersion, title="t", period=period)
    renderer = _draw(fig)
    ax = fig.axes[0]
    expected_x = (
        "IMD 2019 score (higher = more deprived)"
        if chart == "scatter"
        else "population (residents)"
    )
    assert ax.get_xlabel() == expected_x
    assert ax.get_ylabel() == "incidents per 1,000 residents"
    assert period in ax.get_title()
    legend = ax.get_legend()
    assert legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1
    keys = [t.get_text() for t in legend.get_texts()]
    assert {"more than deprivation predicts (flagged)", "fewer than deprivation predicts (flagged)",
            "not flagged"} <= set(keys)  # fmt: skip
    colours = _point_colours(ax)
    expected = [FLAG_COLOURS[d] for d in data["direction"]]
    assert colours == expected
    assert colours[10] == "#b2182b" and colours[25] == "#2166ac"


def test_only_flagged_wards_labelled_in_the_scatter(report):
    fig = outlier_scatter(report.data, report.fit)
    _draw(fig)
    labels = {a.get_text() for a in fig.axes[0].texts if isinstance(a, Annotation)}
    assert labels == {"Ward 10", "Ward 25"}


def test_ols_lower_bounds_clipped_at_zero():
    planted = planted_nb(1)
    ols = outlier_report(planted, model="ols", rng=1, permutations=0)
    data = ols.data.assign(pi_low=-50.0)  # intervals reaching below zero
    fig = outlier_scatter(data, ols.fit)
    _draw(fig)
    ax = fig.axes[0]
    bars = ax.collections[0].get_segments()
    assert min(seg[:, 1].min() for seg in bars) == 0.0
    assert ax.get_ylim()[0] == 0.0


def test_labels_of_a_tight_cluster_do_not_overlap(report):
    """Six flagged wards at almost the same point: every label box is clear of the others."""
    data = report.data.copy()
    cluster = data.index[:6]
    data.loc[cluster, "direction"] = "over"
    data.loc[cluster, "imd_score"] = 30.0 + np.arange(6) * 0.05
    data.loc[cluster, "observed"] = (
        data.loc[cluster, "population"] * 0.06 * (1 + np.arange(6) * 0.003)
    ).round()
    fig = outlier_scatter(data, report.fit)
    renderer = _draw(fig)
    boxes = [a.get_window_extent(renderer) for a in fig.axes[0].texts if isinstance(a, Annotation)]
    assert len(boxes) >= 6
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)


def test_funnel_labels_flagged_and_beyond_99_8(report):
    data = report.data
    fig = funnel_chart(data, report.overdispersion)
    _draw(fig)
    labels = {a.get_text() for a in fig.axes[0].texts if isinstance(a, Annotation)}
    beyond = set(data.loc[data["funnel"].str.contains("99.8"), "ward_name"])
    flagged = set(data.loc[data["direction"] != "", "ward_name"])
    assert labels == beyond | flagged
    assert pd.Series(sorted(labels)).is_unique
