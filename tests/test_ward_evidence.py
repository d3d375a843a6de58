"""Evidence for each flagged ward and one verdict across the model, the funnel and Gi* (issue 14).

Planted wards: 30 NB wards (``planted_nb(1)`` of ``tests/test_outliers.py``) with W10 at double its
mean and W25 at half, both flagged after the false discovery rate correction. The evidence each reading reads is planted beside them: a large
``deprivation_change`` (the ``iod2025`` ward-table column, added here by hand), incidents piled into
one LSOA, night-time incidents, and other recorded crime.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geo_sppa.wards.evidence import (
    IncidentProfile,
    incident_profile,
    moved_places,
    ward_evidence,
    ward_verdicts,
)
from geo_sppa.wards.outliers import deprivation_outliers, outlier_report
from tests.test_outliers import planted_nb, ward_table

DOUBLE, HALF = 10, 25


@pytest.fixture(scope="module")
def planted() -> gpd.GeoDataFrame:
    return planted_nb(1)


@pytest.fixture(scope="module")
def flagged(planted) -> pd.DataFrame:
    data = deprivation_outliers(planted).data
    assert data.loc[DOUBLE, "direction"] == "over" and data.loc[HALF, "direction"] == "under"
    return data


def _profile(data: pd.DataFrame, *, top_share: float, other_ratio: float) -> IncidentProfile:
    """Every ward spreads its incidents over 4 LSOAs and has 3 times as much other crime, except
    the planted double (``top_share`` in one LSOA holding a quarter of the residents) and the
    planted half (other crime ``other_ratio`` times the usual)."""
    codes = data["ward_code"]
    top = pd.DataFrame(
        {"lsoa_code": [f"L{c}" for c in codes], "share": 0.3, "population_share": 0.25},
        index=codes,
    )
    top.loc[codes.iloc[DOUBLE], "share"] = top_share
    other = pd.Series(3.0 * data["count"].to_numpy(), index=codes)
    other.iloc[HALF] = data["count"].iloc[HALF] * 3.0 * other_ratio
    return IncidentProfile(other=other, top_lsoa=top)


def test_no_evidence_leaves_every_reading_unsupported_and_says_what_was_not_tested(flagged):
    out = ward_evidence(flagged)
    assert (
        out.loc[DOUBLE, "label"]
        == "more than deprivation predicts (no reading supported by the data)"
    )
    assert "stale deprivation: not tested" in out.loc[DOUBLE, "evidence"]
    assert "denominator: not tested" in out.loc[DOUBLE, "evidence"]
    assert "under-reporting: not tested" in out.loc[HALF, "evidence"]
    assert "out of date" not in out.loc[DOUBLE, "label"]


@pytest.mark.parametrize(
    ("change", "stale"),
    [(8, True), (moved_places(30), True), (moved_places(30) - 1, False), (0, False), (-8, False)],
    ids=["moved 8 towards more deprived", "at the edge", "one short", "no move", "the wrong way"],
)
def test_large_deprivation_change_gives_the_stale_reading_to_the_double(flagged, change, stale):
    data = flagged.assign(deprivation_change=0)
    data.loc[DOUBLE, "deprivation_change"] = change
    out = ward_evidence(data)
    assert ("may be out of date" in out.loc[DOUBLE, "label"]) is stale
    assert out.loc[DOUBLE, "evidence"].startswith(
        f"stale deprivation: {'supported' if stale else 'weakened'}"
    )


def test_the_half_gets_the_stale_reading_when_it_became_less_deprived(flagged):
    data = flagged.assign(deprivation_change=0)
    data.loc[HALF, "deprivation_change"] = -6
    data.loc[DOUBLE, "deprivation_change"] = -6
    out = ward_evidence(data)
    assert "may be out of date" in out.loc[HALF, "label"]
    assert "may be out of date" not in out.loc[DOUBLE, "label"]


def test_population_growth_supports_the_stale_reading(flagged):
    data = flagged.assign(population_change=0.02)
    data.loc[DOUBLE, "population_change"] = 0.25
    out = ward_evidence(data)
    assert "may be out of date" in out.loc[DOUBLE, "label"]
    assert "population grew 25%" in out.loc[DOUBLE, "evidence"]


@pytest.mark.parametrize(("share", "denominator"), [(0.7, True), (0.5, True), (0.45, False)])
def test_incidents_concentrated_in_one_lsoa_give_the_denominator_reading(
    flagged, share, denominator
):
    out = ward_evidence(flagged, profile=_profile(flagged, top_share=share, other_ratio=1))
    assert ("town-centre or visitor" in out.loc[DOUBLE, "label"]) is denominator
    assert "out of date" not in out.loc[DOUBLE, "label"]
    assert f"{share:.0%} of incidents, 25% of residents" in out.loc[DOUBLE, "evidence"]


@pytest.mark.parametrize(("ratio", "under"), [(2.0, True), (1.0, False), (0.5, False)])
def test_low_share_of_the_wards_other_crime_gives_under_reporting(flagged, ratio, under):
    """Other wards have 3 other crimes per incident of the category; the half has 3 x ``ratio``.
    With twice the usual other crime its category is half its usual share (under-reporting); with
    the usual or less, its other crime is as low as the category (a quiet ward)."""
    out = ward_evidence(flagged, profile=_profile(flagged, top_share=0.3, other_ratio=ratio))
    assert ("under-reporting" in out.loc[HALF, "label"]) is under
    assert f"under-reporting: {'supported' if under else 'weakened'}" in out.loc[HALF, "evidence"]


def test_incident_profile_from_points_finds_the_busy_lsoa_and_the_night():
    """Two 1 km wards; ward A has 6 ASB incidents, 4 in LSOA A1 at 23:00, and 6 other crimes."""
    from shapely.geometry import box

    wards = gpd.GeoDataFrame(
        {"ward_code": ["A", "B"]},
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
        crs=27700,
    )
    rows = [("Anti-social behaviour", "A1", 23)] * 4 + [("Anti-social behaviour", "A2", 12)] * 2
    rows += [("Burglary", "A2", 12)] * 6 + [("Anti-social behaviour", "B1", 12)] * 3
    incidents = gpd.GeoDataFrame(
        {
            "category": [r[0] for r in rows],
            "lsoa_code": [r[1] for r in rows],
            "hour": [r[2] for r in rows],
        },
        geometry=[Point(1500 if r[1] == "B1" else 500, 500) for r in rows],
        crs=27700,
    )
    population = pd.DataFrame({"lsoa_code": ["A1", "A2", "B1"], "population": [100, 300, 500]})
    profile = incident_profile(
        incidents, wards, category="Anti-social behaviour", population=population
    )
    assert profile.top_lsoa.loc["A", "lsoa_code"] == "A1"
    assert profile.top_lsoa.loc["A", "share"] == pytest.approx(4 / 6)
    assert profile.top_lsoa.loc["A", "population_share"] == pytest.approx(100 / 400)
    assert profile.other is not None and profile.other.get("A") == 6
    assert profile.night is not None and profile.night["A"] == pytest.approx(4 / 6)
    assert profile.night_authority == pytest.approx(4 / 9)


def test_verdict_agrees_and_disagrees_with_the_funnel_and_gi_star(planted):
    data = outlier_report(planted, rng=1).data
    verdicts = data.set_index("ward_code")[["verdict", "verdict_reason", "funnel", "direction"]]
    assert verdicts.loc["W10", "verdict"] == "more than deprivation predicts"
    assert verdicts.loc["W25", "verdict"] == "fewer than deprivation predicts"
    quiet = verdicts[verdicts["direction"] == ""]
    assert (quiet["verdict"] == "as deprivation predicts").all()
    funnel_only = quiet[quiet["funnel"] != "within"]
    assert len(funnel_only), "some unflagged ward is outside the funnel (it ignores deprivation)"
    assert funnel_only["verdict_reason"].str.contains("ignores deprivation").all()
    spots = data.set_index("ward_code")["hotspot"].reindex(quiet.index)
    agree = quiet[(quiet["funnel"] == "within") & (spots == "")]
    assert (agree["verdict_reason"] == "").all()


def test_verdict_reasons_by_hand():
    frame = pd.DataFrame(
        {
            "direction": ["over", "", "", "under", ""],
            "funnel": ["within", "above 99.8%", "within", "above 95%", "within"],
            "hotspot": ["", "", "hot spot", "", ""],
            "outside_pi": [True, True, False, True, False],
            "p_value": [0.001, 0.013, 0.5, 0.002, 0.4],
            "suppressed": [False, False, False, False, True],
        }
    )
    out = ward_verdicts(frame)
    assert list(out["verdict"]) == [
        "more than deprivation predicts",
        "as deprivation predicts",
        "as deprivation predicts",
        "fewer than deprivation predicts",
        "not assessed (count suppressed)",
    ]
    assert "ordinary for the authority" in out.loc[0, "verdict_reason"]
    assert "p = 0.013" in out.loc[1, "verdict_reason"]
    assert out.loc[2, "verdict_reason"].startswith("Gi* finds a hot spot")
    assert "the other way" in out.loc[3, "verdict_reason"]
    assert out.loc[4, "verdict_reason"] == ""


def test_clean_data_evidence_only_where_some_method_flags():
    clean = ward_table(30, 7, nx=6)
    data = outlier_report(clean, rng=1).data
    some = (data["direction"] != "") | data["outside_pi"] | data["funnel"].str.contains("99.8")
    assert ((data["evidence"] != "") == some).all()
    assert (data.loc[data["direction"] == "", "label"] == "").all()
    assert np.isin(data["verdict"], ["as deprivation predicts", *_model_verdicts()]).all()


def _model_verdicts() -> list[str]:
    return ["more than deprivation predicts", "fewer than deprivation predicts"]


def test_outlier_report_reads_the_iod2025_ward_table_columns(planted):
    """The ``iod2025`` ward table adds ``deprivation_change`` (Int64, NA without two releases) and
    ``population_change``; the report's label follows them."""
    change = pd.array([0] * len(planted), dtype="Int64")
    change[DOUBLE] = 6
    change[3] = pd.NA
    wards = planted.assign(
        deprivation_rank_la_2010=np.arange(1, 31),
        deprivation_change=change,
        population_change=np.nan,
    )
    data = outlier_report(wards, rng=1, permutations=0).data
    assert data.loc[DOUBLE, "label"] == (
        "more than deprivation predicts (the deprivation data may be out of date for this ward)"
    )
    assert "moved 6 place(s) towards more deprived" in data.loc[DOUBLE, "evidence"]
    assert "may be out of date" not in data.loc[HALF, "label"]
