"""Disclosure: with ``--suppress-below``, no written output or printed line gives a suppressed count.

Bundled Peterborough, anti-social behaviour, 2013 wards, IMD 2010: Barnack has 9 incidents, the only
count below 10. The attacker knows the count is one of 1..9 and tries the routes issue 14 names:
Barnack's expected count times the observed/expected ratio, the total minus the other wards, and the
printed overall funnel rate times the population minus the other wards; and, more generally, any
figure that moves with the count. Each route is tried on the outputs of three worlds that differ
only in Barnack's count (1, 5 or 9: the other incidents relabelled to another category, so the
records read do not change). A route recovers the count only if its answer differs between the
worlds; every published figure, every printed line and both charts must be the same in all three.
"""

from __future__ import annotations

import io as stdio
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo_sppa import io
from geo_sppa.render.charts import funnel_chart, outlier_scatter
from geo_sppa.wards.outliers import WardOutliers, ward_outliers

CATEGORY = "Anti-social behaviour"
THRESHOLD = 10


def _inputs() -> dict:
    from geo_sppa.cli.wards import read_ward_inputs

    frames = read_ward_inputs(area="peterborough", incidents=None, category=CATEGORY, crs=None)
    assert frames is not None
    return frames


def _world(frames: dict, barnack_count: int) -> dict:
    """The inputs with all but ``barnack_count`` of Barnack's ASB incidents relabelled."""
    incidents = frames["incidents"]
    barnack = frames["wards"].loc[frames["wards"]["ward_name"] == "Barnack", "geometry"].union_all()
    inside = incidents.within(barnack).to_numpy() & (incidents["category"] == CATEGORY).to_numpy()
    assert inside.sum() == 9, "the bundled data have 9 ASB incidents in Barnack"
    relabel = np.flatnonzero(inside)[: 9 - barnack_count]
    changed = incidents.copy()
    changed.loc[changed.index[relabel], "category"] = "Other crime"
    return {**frames, "incidents": changed}


def _published(result: WardOutliers, tmp_path, name: str) -> dict[str, bytes | str]:
    """Every output the CLI writes or prints, as bytes or text."""
    folder = tmp_path / name
    folder.mkdir()
    csv = io.write_csv(result.data, folder / "outliers.csv")
    gpkg = gpd.read_file(io.write_gpkg(result.data, folder / "o.gpkg", layer="outliers"))
    scatter = io.write_png(
        outlier_scatter(result.data, result.report.fit, title=result.title), folder / "s.png"
    )
    funnel = io.write_png(
        funnel_chart(result.data, result.report.overdispersion, title="funnel"), folder / "f.png"
    )
    buffer = stdio.StringIO()
    gpkg.drop(columns="geometry").to_csv(buffer)
    summary = "\n".join(f"{label}: {text}" for label, text in result.summary)
    return {
        "csv": csv.read_bytes(),
        "gpkg": buffer.getvalue(),
        "scatter.png": scatter.read_bytes(),
        "funnel.png": funnel.read_bytes(),
        "summary": summary,
        "flagged": repr(result.flagged),
    }


@pytest.fixture(scope="module")
def worlds(tmp_path_factory) -> dict[int, tuple[WardOutliers, dict]]:
    frames = _inputs()
    out = {}
    for k in (1, 5, 9):
        result = ward_outliers(**_world(frames, k), rng=1, suppress_below=THRESHOLD)
        out[k] = (result, _published(result, tmp_path_factory.mktemp("disclosure"), f"k{k}"))
    return out


def _route_expected_times_ratio(table: pd.DataFrame) -> float:
    """Barnack's expected count times its observed/expected ratio (rate over expected rate)."""
    row = table[table["ward_name"] == "Barnack"].iloc[0]
    return float(row["expected"] * row["rate_per_1000"] / row["expected_rate_per_1000"])


def _route_total_minus_others(table: pd.DataFrame) -> float:
    """The sum of the expected counts (a Poisson or NB fit reproduces the total) minus the others."""
    visible = pd.to_numeric(table["observed"], errors="coerce")
    return float(table["expected"].sum() - visible.sum())


def _route_funnel_rate(summary: str, table: pd.DataFrame) -> float:
    """The printed overall funnel rate times the population, minus the visible counts."""
    match = re.search(r"funnel: overall ([0-9.]+) per 1,000", summary)
    assert match, summary
    rate = float(match.group(1))
    visible = pd.to_numeric(table["observed"], errors="coerce")
    return rate * table["population"].sum() / 1000 - float(visible.sum())


def test_the_worlds_differ_only_in_barnacks_count(worlds):
    for k, (result, _) in worlds.items():
        exact = result.rates.data.set_index("ward_name")["count"]
        assert exact["Barnack"] == k
        assert (exact.drop("Barnack") >= THRESHOLD).all()
    counts = [r.rates.data["count"].drop(r.rates.data.index[0]) for r, _ in worlds.values()]
    pd.testing.assert_series_equal(counts[0], counts[2])


@pytest.mark.parametrize(
    "route",
    [_route_expected_times_ratio, _route_total_minus_others, "funnel rate"],
    ids=["expected x ratio", "total minus the others", "funnel rate x population minus the others"],
)
def test_no_route_recovers_the_suppressed_count(worlds, route):
    answers = []
    for _, published in worlds.values():
        table = pd.read_csv(stdio.BytesIO(published["csv"]), encoding="utf-8-sig")  # type: ignore[arg-type]
        if route == "funnel rate":
            answers.append(_route_funnel_rate(published["summary"], table))  # type: ignore[arg-type]
        else:
            answers.append(route(table))
    # withheld (NaN in every world) or the same answer whatever the count: the candidate set is
    # every count from 1 to 9, not one
    if all(np.isnan(a) for a in answers):
        return
    assert answers[0] == pytest.approx(answers[1]) == pytest.approx(answers[2])


@pytest.mark.parametrize(
    "output", ["csv", "gpkg", "scatter.png", "funnel.png", "summary", "flagged"]
)
def test_every_output_is_the_same_whatever_the_suppressed_count(worlds, output):
    """Any figure that moved with the count would narrow the candidates below 1..9."""
    published = [p[output] for _, p in worlds.values()]
    assert published[0] == published[1] == published[2]


def test_suppressed_ward_keeps_its_prediction_and_loses_what_its_count_decides(worlds):
    result, published = worlds[9]
    table = pd.read_csv(
        stdio.BytesIO(published["csv"]), encoding="utf-8-sig", keep_default_na=False
    )  # type: ignore[arg-type]
    row = table[table["ward_name"] == "Barnack"].iloc[0]
    assert row["observed"] == "<10"
    for column in ("rate_per_1000", "p_value", "q_value", "studentized_residual", "funnel_z",
                   "cooks_distance", "gi_z", "funnel", "hotspot", "outside_pi", "flagged_fdr"):  # fmt: skip
        assert row[column] == "", column
    assert float(row["expected"]) > 0 and float(row["pi_high"]) > float(row["pi_low"])
    assert "Barnack" in dict(result.summary)["disclosure"]
    assert result.report.fit.n == 23
