"""Tests for the ward table: LSOA -> ward, population-weighted IMD, incident counts and rates.

Synthetic fixtures in EPSG:27700, and the Peterborough files bundled in the repository.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from geo_sppa.bundled.areas import project_root
from geo_sppa.errors import InputError
from geo_sppa.wards.deprivation import (
    DOMAINS,
    deprivation_measure,
    exponential_transform,
    lsoa_deprivation,
    ward_deprivation,
)
from geo_sppa.wards.geography import (
    apportioned_counts,
    lsoa_to_ward,
    lsoa_ward_shares,
    ward_overlaps,
)
from geo_sppa.wards.incidents import incident_categories, ward_incident_counts
from geo_sppa.wards.rates import ward_rates, ward_table

ROOT = project_root()
DATA = ROOT / "data" / "peterborough"
BOUNDARIES = ROOT / "boundaries" / "peterborough"
X0, Y0 = 510_000, 290_000


# ---------------------------------------------------------------- synthetic fixtures


def two_wards() -> gpd.GeoDataFrame:
    """Two 1 km square wards side by side: W1 (west) and W2 (east)."""
    return gpd.GeoDataFrame(
        {"ward_code": ["W1", "W2"], "ward_name": ["West", "East"]},
        geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000), box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)],
        crs="EPSG:27700",
    )


def three_lsoas() -> gpd.GeoDataFrame:
    """Three LSOAs: A fully in W1, B 70% in W1 and 30% in W2 (straddles), C fully in W2."""
    return gpd.GeoDataFrame(
        {"lsoa_code": ["A", "B", "C"], "lsoa_name": ["a", "b", "c"]},
        geometry=[
            box(X0, Y0, X0 + 500, Y0 + 1000),
            box(X0 + 500, Y0, X0 + 1214.2857, Y0 + 1000),  # 500 m in W1, 214.3 m in W2
            box(X0 + 1214.2857, Y0, X0 + 2000, Y0 + 1000),
        ],
        crs="EPSG:27700",
    )


def population() -> pd.DataFrame:
    return pd.DataFrame({"lsoa_code": ["A", "B", "C"], "population": [1000, 3000, 2000]})


def imd_2011() -> pd.DataFrame:
    """IMD on LSOA 2011 with scores: A 10, B 30, C 50; domain scores too."""
    frame = pd.DataFrame(
        {"lsoa_code": ["A", "B", "C"], "vintage": 2011, "imd_score": [10.0, 30.0, 50.0]}
    )
    for domain in DOMAINS:
        frame[f"{domain}_score"] = [0.1, 0.2, 0.3]
        frame[f"{domain}_rank"] = [30000, 10000, 100]
        frame[f"{domain}_decile"] = [10, 4, 1]
    frame["imd_rank"] = [30000, 10000, 100]
    frame["imd_decile"] = [10, 4, 1]
    return frame


def incidents(
    points: list, categories: list[str] | None = None, lsoas: list | None = None
) -> gpd.GeoDataFrame:
    n = len(points)
    return gpd.GeoDataFrame(
        {
            "incident_id": [f"i{k}" for k in range(n)],
            "month": ["2019-01"] * (n - n // 2) + ["2019-02"] * (n // 2),
            "category": categories or ["Anti-social behaviour"] * n,
            "lsoa_code": lsoas or [pd.NA] * n,
            "location": ["On or near X"] * n,
        },
        geometry=points,
        crs="EPSG:27700",
    )


# ---------------------------------------------------------------- assignment


def test_lsoa_to_ward_uses_matching_lookup_column():
    """A lookup column whose codes equal the ward set is used as it stands (no geometry needed)."""
    lookup = pd.DataFrame(
        {
            "lsoa11_code": ["A", "B", "C"],
            "ward17_code": ["W1", "W2", "W2"],
            "ward13_code_derived": ["X", "Y", "Y"],
        }
    )
    table, method = lsoa_to_ward(two_wards(), lookup=lookup)
    assert method == "ward17_code"
    assert dict(zip(table["lsoa_code"], table["ward_code"], strict=True)) == {
        "A": "W1",
        "B": "W2",
        "C": "W2",
    }


def test_lsoa_to_ward_falls_back_to_largest_area_share():
    """B is 70% in W1: it goes to W1 with share 0.7 when the lookup's codes are another ward set."""
    lookup = pd.DataFrame({"lsoa11_code": ["A", "B", "C"], "ward17_code": ["Z1", "Z2", "Z2"]})
    table, method = lsoa_to_ward(two_wards(), lookup=lookup, lsoas=three_lsoas())
    assert method == "largest area share"
    got = table.set_index("lsoa_code")
    assert got["ward_code"].to_dict() == {"A": "W1", "B": "W1", "C": "W2"}
    assert got["share"].tolist() == pytest.approx([1.0, 0.7, 1.0], abs=1e-4)


def test_ward_codes_matching_no_lookup_is_an_error():
    lookup = pd.DataFrame({"lsoa11_code": ["A", "B", "C"], "ward17_code": ["Z1", "Z2", "Z2"]})
    with pytest.raises(InputError, match=r"match no ward column of the LSOA lookup .*ward17_code"):
        lsoa_to_ward(two_wards(), lookup=lookup)


def test_lsoa_counts_apportioned_by_area_share():
    """B (70% W1, 30% W2) has 10 incidents: 7 go to W1, 3 to W2; LSOA Z is in no ward."""
    shares = lsoa_ward_shares(two_wards(), three_lsoas())
    assert shares.groupby("lsoa_code")["share"].sum().tolist() == pytest.approx([1.0, 1.0, 1.0])
    counts = pd.DataFrame({"lsoa_code": ["A", "B", "C", "Z"], "count": [4, 10, 6, 2]})
    by_ward, unplaced = apportioned_counts(counts, shares)
    assert by_ward["W1"] == pytest.approx(4 + 7, abs=1e-3)
    assert by_ward["W2"] == pytest.approx(3 + 6, abs=1e-3)
    assert unplaced.to_dict("records") == [
        {"lsoa_code": "Z", "count": 2, "reason": "LSOA not in any ward"}
    ]
    assert by_ward.sum() + unplaced["count"].sum() == pytest.approx(counts["count"].sum())


# ---------------------------------------------------------------- deprivation


def test_population_weighted_imd_by_hand():
    """W1 = A (10, pop 1000) + B (30, pop 3000): (10*1000 + 30*3000) / 4000 = 25; W2 = C = 50."""
    assignment = pd.DataFrame({"lsoa_code": ["A", "B", "C"], "ward_code": ["W1", "W1", "W2"]})
    out = ward_deprivation(assignment, population(), lsoa_deprivation(imd_2011()))
    assert out.loc["W1", "imd_score"] == pytest.approx(25.0)
    assert out.loc["W2", "imd_score"] == pytest.approx(50.0)
    assert out.loc["W1", "income_score"] == pytest.approx((0.1 * 1000 + 0.2 * 3000) / 4000)
    assert out["population"].to_dict() == {"W1": 4000, "W2": 2000}
    assert out["n_lsoa"].to_dict() == {"W1": 2, "W2": 1}


def test_imd_2001_joined_through_lookup_split_parent_inherits():
    """P (2001) split into A and B: both children take P's score 20; C is unchanged (score 50)."""
    imd = pd.DataFrame(
        {
            "lsoa_code": ["P", "C"],
            "vintage": 2001,
            "imd_score": [20.0, 50.0],
            "imd_rank": [5000, 100],
        }
    )
    lookup = pd.DataFrame({"lsoa11_code": ["A", "B", "C"], "lsoa01_code": ["P", "P", "C"]})
    by_lsoa = lsoa_deprivation(imd, lookup=lookup)
    assert by_lsoa.loc[["A", "B", "C"], "imd_score"].tolist() == [20.0, 20.0, 50.0]
    with pytest.raises(InputError, match="2001 LSOAs: pass the LSOA lookup"):
        lsoa_deprivation(imd)


def test_rank_only_imd_gives_rank_measure_not_score():
    """IoD 2019 File 2 has ranks only: the ward measure is a population-weighted mean rank, named
    so."""
    imd = imd_2011().assign(imd_score=np.nan)
    for domain in DOMAINS:
        imd[f"{domain}_score"] = np.nan
    assignment = pd.DataFrame({"lsoa_code": ["A", "B", "C"], "ward_code": ["W1", "W1", "W2"]})
    out = ward_deprivation(assignment, population(), lsoa_deprivation(imd))
    assert "imd_score" not in out.columns
    assert out.loc["W1", "imd_rank_popweighted"] == pytest.approx(
        (30000 * 1000 + 10000 * 3000) / 4000
    )
    assert out.loc["W2", "imd_pct_pop_decile1"] == pytest.approx(100.0)
    assert out.loc["W1", "imd_pct_pop_decile1"] == pytest.approx(0.0)


def test_rank_only_imd_default_measure_is_the_rebuilt_score_by_hand():
    """IMD 2019 File 2: the default ward measure is the score rebuilt from the seven domain ranks
    (every domain rank of A is 30000, of B 10000, of C 100; weights sum to 0.999), weighted by
    population; the mean rank stays available."""
    imd = imd_2011().assign(imd_score=np.nan)
    for domain in DOMAINS:
        imd[f"{domain}_score"] = np.nan
    assignment = pd.DataFrame({"lsoa_code": ["A", "B", "C"], "ward_code": ["W1", "W1", "W2"]})
    out = ward_deprivation(assignment, population(), lsoa_deprivation(imd))
    n = 32_844

    def x(rank: int) -> float:  # the IMD exponential transform, written out
        r = (n + 1 - rank) / n
        return -23 * np.log(1 - r * (1 - np.exp(-100 / 23)))

    assert out.loc["W1", "imd_exp_score"] == pytest.approx(
        0.999 * (x(30000) * 1000 + x(10000) * 3000) / 4000
    )
    assert out.loc["W2", "imd_exp_score"] == pytest.approx(0.999 * x(100))
    assert deprivation_measure(out) == "imd_exp_score"
    assert deprivation_measure(out.drop(columns=["imd_exp_score"])) == "imd_rank_popweighted"


def test_exponential_transform_end_points_and_order():
    """Rank 1 (most deprived) -> 100; rank n (least deprived) -> just above 0 (23/n to first
    order: -23 ln(1 - x) ~ 23 x); values fall as the rank rises."""
    n = 32482
    values = exponential_transform(np.array([1, 100, 3248, 16241, n]), n=n)
    assert values[0] == pytest.approx(100.0)
    assert values[-1] == pytest.approx(23 * (1 - np.exp(-100 / 23)) / n, rel=1e-3)
    assert (np.diff(values) < 0).all()


# ---------------------------------------------------------------- incidents


def test_incident_buckets_outside_lsoa_only_and_no_location():
    """Four points: in W1, in W2, outside both (set aside), plus one LSOA-only record (via LSOA C ->
    W2)
    and one record with neither point nor LSOA (set aside, no location)."""
    points = [
        Point(X0 + 100, Y0 + 100),
        Point(X0 + 1500, Y0 + 500),
        Point(X0 + 5000, Y0 + 5000),
        None,
        None,
    ]
    frame = incidents(points, lsoas=[pd.NA, pd.NA, pd.NA, "C", pd.NA])
    assignment = pd.DataFrame({"lsoa_code": ["A", "B", "C"], "ward_code": ["W1", "W1", "W2"]})
    counts, set_aside = ward_incident_counts(frame, two_wards(), assignment)
    assert counts.to_dict() == {"W1": 1, "W2": 2}
    assert sorted(set_aside["reason"]) == ["no location", "outside every ward"]
    assert set(set_aside.columns) == {"source", "row", "record_id", "reason", "detail"}
    assert counts.sum() + len(set_aside) == len(frame)


def test_set_aside_detail_names_the_point_or_lsoa():
    """Regression (detail was built with iterrows): a point outside every ward gives its rounded
    coordinates, an LSOA-only record its LSOA code, a record with neither says so."""
    frame = incidents([Point(X0 + 5000.4, Y0 + 4999.6), None, None], lsoas=[pd.NA, "Z9", pd.NA])
    assignment = pd.DataFrame({"lsoa_code": ["A"], "ward_code": ["W1"]})
    _, set_aside = ward_incident_counts(frame, two_wards(), assignment, source="street.csv")
    assert set_aside["detail"].tolist() == [
        f"point at ({X0 + 5000}, {Y0 + 5000})",
        "LSOA Z9",
        "no point, no LSOA code",
    ]
    assert set_aside["reason"].tolist() == [
        "outside every ward",
        "LSOA not in the ward lookup",
        "no location",
    ]
    assert set_aside["row"].tolist() == [1, 2, 3]
    assert (set_aside["source"] == "street.csv").all()


def test_point_on_shared_boundary_counted_once():
    """A point exactly on the W1/W2 boundary is counted in one ward only."""
    frame = incidents([Point(X0 + 1000, Y0 + 500)])
    counts, set_aside = ward_incident_counts(
        frame, two_wards(), pd.DataFrame({"lsoa_code": [], "ward_code": []})
    )
    assert sorted(counts.tolist()) == [0, 1]
    assert set_aside.empty


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-500, 2500), st.floats(-500, 1500), st.booleans()),
        min_size=1,
        max_size=30,
    ),
    st.randoms(use_true_random=False),
)
def test_every_incident_lands_in_exactly_one_bucket_and_order_does_not_matter(rows, random):
    """Counted in one ward, or set aside with a reason; shuffling rows changes nothing."""
    points = [None if missing else Point(X0 + x, Y0 + y) for x, y, missing in rows]
    lsoas = ["A" if missing else pd.NA for _, _, missing in rows]
    frame = incidents(points, lsoas=lsoas)
    assignment = pd.DataFrame({"lsoa_code": ["A"], "ward_code": ["W1"]})
    counts, set_aside = ward_incident_counts(frame, two_wards(), assignment)
    assert counts.sum() + len(set_aside) == len(frame)
    order = list(range(len(frame)))
    random.shuffle(order)
    shuffled, _ = ward_incident_counts(frame.iloc[order], two_wards(), assignment)
    pd.testing.assert_series_equal(counts, shuffled)


# ---------------------------------------------------------------- ward_rates


def _rates(**kwargs):
    points = (
        [Point(X0 + 100, Y0 + 100)] * 4
        + [Point(X0 + 1500, Y0 + 500)] * 2
        + [Point(X0 + 1600, Y0 + 500)]
    )
    categories = ["Anti-social behaviour"] * 6 + ["Burglary"]
    lookup = pd.DataFrame({"lsoa11_code": ["A", "B", "C"], "ward17_code": ["W1", "W1", "W2"]})
    options = dict(
        population=population(),
        incidents=incidents(points, categories),
        imd=imd_2011(),
        lookup=lookup,
    )
    options.update(kwargs)
    return ward_rates(two_wards(), **options)


def test_ward_rates_columns_counts_and_rates():
    result = _rates()
    data = result.data.set_index("ward_code")
    columns = result.data.columns.tolist()
    assert columns[:4] == ["ward_code", "ward_name", "population", "n_lsoa"]
    assert columns[-4:] == ["count", "rate_per_1000", "rate_per_1000_per_year", "geometry"]
    assert {"imd_score", "income_score", "imd_exp_score", "imd_no_crime_score"} <= set(columns)
    assert result.data.crs.to_epsg() == 27700
    assert data["count"].to_dict() == {"W1": 4, "W2": 2}
    assert data.loc["W1", "rate_per_1000"] == pytest.approx(1000 * 4 / 4000)
    assert data.loc["W2", "rate_per_1000_per_year"] == pytest.approx(1000 * 2 / 2000 * 12 / 2)
    assert result.months == ("2019-01", "2019-02")
    assert (result.n_read, result.n_in_category, result.n_used) == (7, 6, 6)
    assert any("2 month(s) 2019-01, 2019-02" in note for note in result.notes)
    assert result.imd_measure == "imd_score"


def test_ward_rates_all_categories():
    """The Burglary at (1600, 500) is counted too: W2 has 3."""
    result = _rates(category="all")
    assert result.data.set_index("ward_code")["count"].to_dict() == {"W1": 4, "W2": 3}
    assert (result.category, result.n_in_category, result.n_used) == ("all", 7, 7)


def test_unknown_category_lists_those_present_with_counts():
    with pytest.raises(
        InputError,
        match=r"no incidents of category 'Domestic abuse'.*"
        r"Anti-social behaviour \(6\); Burglary \(1\)",
    ):
        _rates(category="Domestic abuse")


@pytest.mark.parametrize(
    ("ward_source", "prefix"),
    [(None, "wards"), ("own_wards.gpkg", r"own_wards\.gpkg")],
    ids=["default label", "file name"],
)
def test_zero_population_error_names_the_ward_file_and_the_fix(ward_source, prefix):
    """Regression: the message had no file name and no way out but merging wards."""
    lookup = pd.DataFrame({"lsoa11_code": ["A", "B", "C"], "ward17_code": ["W1", "W1", "W2"]})
    pop = population().assign(population=[1000, 3000, 0])
    options = {"ward_source": ward_source} if ward_source else {}
    with pytest.raises(
        InputError,
        match=rf"^{prefix}: 1 ward\(s\) have zero population \(no LSOA with residents is "
        r"assigned to them\): W2 East; .*--ward-set.*--lsoas.*--population.*merge these wards",
    ):
        _rates(population=pop, lookup=lookup, **options)


@pytest.mark.parametrize(
    "asked",
    [
        "anti-social behaviour",
        "ANTI-SOCIAL BEHAVIOUR",
        "  Anti-social   behaviour ",
        "aNti-Social behaviour",
    ],
    ids=["lower", "upper", "extra-space", "mixed"],
)
def test_category_matches_ignoring_case_and_space_and_keeps_the_data_spelling(asked):
    """Regression: --category "anti-social behaviour" was rejected as unknown."""
    result = _rates(category=asked)
    assert result.category == "Anti-social behaviour"
    assert result.data["count"].sum() == 6
    assert any("category 'Anti-social behaviour'" in note for note in result.notes)


def test_category_all_ignores_case():
    result = _rates(category=" ALL ")
    assert result.category == "all"
    assert result.data["count"].sum() == 7


def test_unknown_category_after_normalising_is_still_an_error():
    with pytest.raises(InputError, match=r"no incidents of category 'anti social behaviour'"):
        _rates(category="anti social behaviour")


def overlapping_wards(overlap_m: float) -> gpd.GeoDataFrame:
    """W1 and W2 are 1 km squares; W2 is moved west so the two overlap by a strip ``overlap_m``
    wide and 1 km tall (123 m = 12.3 ha = 12.3% of each ward), W3 only touches W2."""
    return gpd.GeoDataFrame(
        {"ward_code": ["W1", "W2", "W3"], "ward_name": ["West", "East", "Far East"]},
        geometry=[
            box(X0, Y0, X0 + 1000, Y0 + 1000),
            box(X0 + 1000 - overlap_m, Y0, X0 + 2000 - overlap_m, Y0 + 1000),
            box(X0 + 2000 - overlap_m, Y0, X0 + 3000 - overlap_m, Y0 + 1000),
        ],
        crs="EPSG:27700",
    )


def test_ward_overlaps_lists_overlapping_pairs_not_touching_ones():
    pairs = ward_overlaps(overlapping_wards(123))
    assert pairs[["ward_code_a", "ward_code_b"]].values.tolist() == [["W1", "W2"]]
    assert pairs.loc[0, "overlap_m2"] == pytest.approx(123_000)
    assert pairs.loc[0, "share_a"] == pytest.approx(0.123)
    assert ward_overlaps(two_wards()).empty


def test_overlapping_wards_are_an_error_naming_both_and_the_fix():
    """Regression: an incident in the overlap was silently counted in one ward of the two."""
    lookup = pd.DataFrame({"lsoa11_code": ["A", "B", "C"], "ward17_code": ["W1", "W2", "W3"]})
    with pytest.raises(
        InputError,
        match=r"^bad\.gpkg: wards W1 West and W2 East overlap by 12\.3 ha "
        r"\(12\.3% of the smaller ward\); the boundary layer must not overlap "
        r"\(fix the geometry or pass a clean layer\)$",
    ):
        ward_rates(
            overlapping_wards(123),
            population=population(),
            incidents=incidents([Point(X0 + 100, Y0 + 100)]),
            lookup=lookup,
            ward_source="bad.gpkg",
        )


def test_sliver_overlap_under_one_percent_is_accepted():
    """A 5 m digitising sliver (0.5% of each ward) is tolerated."""
    lookup = pd.DataFrame({"lsoa11_code": ["A", "B", "C"], "ward17_code": ["W1", "W2", "W3"]})
    result = ward_rates(
        overlapping_wards(5),
        population=population(),
        incidents=incidents([Point(X0 + 100, Y0 + 100)]),
        lookup=lookup,
    )
    assert result.data["count"].tolist() == [1, 0, 0]


def test_ward_layer_not_in_british_national_grid_is_a_one_line_error():
    """No silent reprojection inside the analysis: a ward layer in EPSG:4326 is refused, naming the
    file and the fix (the readers reproject once, at read time)."""
    lookup = pd.DataFrame({"lsoa11_code": ["A", "B", "C"], "ward17_code": ["W1", "W1", "W2"]})
    with pytest.raises(
        InputError,
        match=r"^own\.geojson: expected EPSG:27700 \(British National Grid\), found EPSG:4326; "
        r"reproject with geo_sppa\.crs\.to_british_national_grid$",
    ):
        ward_rates(
            two_wards().to_crs(4326),
            population=population(),
            incidents=incidents([Point(X0 + 100, Y0 + 100)]),
            lookup=lookup,
            ward_source="own.geojson",
        )


def test_lsoas_and_points_not_in_british_national_grid_are_refused():
    with pytest.raises(InputError, match=r"^LSOA boundaries: expected EPSG:27700"):
        lsoa_ward_shares(two_wards(), three_lsoas().to_crs(4326))
    frame = incidents([Point(X0 + 100, Y0 + 100)]).to_crs(4326)
    with pytest.raises(InputError, match=r"^incident points: expected EPSG:27700"):
        ward_incident_counts(frame, two_wards(), pd.DataFrame({"lsoa_code": [], "ward_code": []}))


def _table(**kwargs):
    """Three ASB incidents in W1, two in W2, one Burglary in W2, and one record the reader set
    aside (as in geo_sppa.io.Loaded.set_aside)."""
    points = [Point(X0 + 100, Y0 + 100)] * 3 + [Point(X0 + 1500, Y0 + 500)] * 2
    points.append(Point(X0 + 1600, Y0 + 500))
    categories = ["Anti-social behaviour"] * 5 + ["Burglary"]
    read_set_aside = pd.DataFrame(
        {
            "source": ["street.csv"],
            "row": [9],
            "record_id": ["r9"],
            "reason": ["missing coordinates"],
            "detail": [""],
        }
    )
    lookup = pd.DataFrame({"lsoa11_code": ["A", "B", "C"], "ward17_code": ["W1", "W1", "W2"]})
    return ward_table(
        two_wards(),
        population=population(),
        incidents=incidents(points, categories),
        category="anti-social behaviour",
        source="street.csv",
        ward_source="wards.gpkg",
        imd=imd_2011(),
        lookup=lookup,
        read_set_aside=read_set_aside,
        read_notes=("street.csv: reprojected from EPSG:4326 to EPSG:27700",),
        ward_label="test wards",
        imd_label="IMD 2019",
        **kwargs,
    )


def test_ward_table_summary_counts_every_record():
    """7 read = 5 used + 1 in another category + 1 set aside by the reader."""
    table = _table()
    summary = dict(table.summary)
    assert summary["records read"] == "7"
    assert summary["records used"] == "5"
    assert summary["  other categories"] == "1 (not counted)"
    assert summary["set aside"] == "1"
    assert summary["  - missing coordinates"] == "1"
    assert summary["category"] == "Anti-social behaviour"
    assert summary["ward set"] == "test wards, 2 wards; LSOAs assigned by ward17_code"
    assert summary["deprivation"] == "IMD 2019 (LSOA 2011), measure imd_score"
    assert ("note", "street.csv: reprojected from EPSG:4326 to EPSG:27700") in table.summary
    assert table.set_aside["record_id"].tolist() == ["r9"]
    assert table.disclosure is None
    pd.testing.assert_frame_equal(table.data, table.rates.data)
    assert table.columns == (
        "ward_code",
        "ward_name",
        "population",
        "imd_score",
        "count",
        "rate_per_1000",
    )
    assert table.map_layers == ("imd_score", "rate_per_1000")


def test_ward_table_suppression_withholds_every_figure_the_small_count_follows_from():
    """W2 has 2 (< 3): shown as <3 and its rate blanked; the total used (5) and the other
    categories (1, which gives 7 - 1 - 1 = 5) are withheld; the exact table stays in ``rates``."""
    table = _table(suppress_below=3)
    summary = dict(table.summary)
    assert table.data["count"].tolist() == ["3", "<3"]
    assert table.data["rate_per_1000"].isna().tolist() == [False, True]
    assert summary["records used"].startswith("3 in the wards shown; 1 more with counts 1-2")
    assert "5" not in summary["records used"]
    assert summary["  other categories"].startswith("not shown")
    assert table.rates.data["count"].tolist() == [3, 2]
    assert table.disclosure == (
        "counts below 3 suppressed: 1-2 shown as <3, their rates blanked, the exact total withheld"
    )


def test_names_moved_out_of_rates_still_import_from_it():
    from geo_sppa.wards import geography, incidents, outliers, rates

    assert rates.lsoa_to_ward is geography.lsoa_to_ward
    assert rates.matching_category is incidents.matching_category
    assert rates.LABEL_OVER == outliers.LABEL_OVER
    assert rates.LABEL_UNDER == outliers.LABEL_UNDER
    with pytest.raises(AttributeError, match="has no attribute 'LABEL_SIDEWAYS'"):
        rates.LABEL_SIDEWAYS  # noqa: B018


def test_incident_categories_counts():
    frame = incidents([None, None, None], ["B", "A", "B"])
    assert incident_categories(frame).to_dict() == {"B": 2, "A": 1}


# ---------------------------------------------------------------- Peterborough known values


def _imd(path: Path, code: str, vintage: int) -> pd.DataFrame:
    raw = pd.read_csv(path)
    names = {
        "IMD": "imd",
        "Income": "income",
        "Employment": "employment",
        "Education": "education",
        "Health": "health",
        "Crime": "crime",
        "Housing_and_Access": "housing",
        "Environment": "environment",
    }
    out = pd.DataFrame({"lsoa_code": raw[code], "vintage": vintage})
    for source, name in names.items():
        for kind in ("score", "rank", "decile"):
            out[f"{name}_{kind}"] = raw.get(f"{source}_{kind}", np.nan)
    return out


@pytest.fixture(scope="module")
def peterborough():
    lookup = pd.read_csv(BOUNDARIES / "peterborough_lsoa11_lookup.csv")
    pop = pd.read_csv(DATA / "peterborough_population_lsoa11.csv")
    pop = pd.DataFrame({"lsoa_code": pop["lsoa11_code"], "population": pop["pop_total_mid2015"]})
    return {
        "lookup": lookup,
        "population": pop,
        "imd2010": _imd(DATA / "peterborough_imd2010_lsoa01.csv", "lsoa01_code", 2001),
        "imd2019": _imd(DATA / "peterborough_imd2019_lsoa11.csv", "lsoa11_code", 2011),
    }


#: The extract's own roll-up of IMD 2010 to wards (``peterborough_ward_aggregates_<set>_DERIVED``
#: in the shared data, not bundled): ward code -> (population-weighted IMD 2010 score rounded to
#: 2 dp, mid-2015 population). Derived independently, not truth: a cross-check.
WD13_DERIVED = {
    "E05002169": (9.08, 3103),
    "E05002170": (34.92, 9828),
    "E05002171": (22.73, 3040),
    "E05002172": (43.57, 12873),
    "E05002173": (40.51, 9870),
    "E05002174": (36.1, 12146),
    "E05002175": (18.97, 6250),
    "E05002176": (23.29, 12075),
    "E05002177": (8.71, 7056),
    "E05002178": (16.31, 2730),
    "E05002179": (37.47, 6362),
    "E05002180": (9.15, 2647),
    "E05002181": (37.94, 10270),
    "E05002182": (18.54, 8253),
    "E05002183": (9.98, 16053),
    "E05002184": (22.44, 11063),
    "E05002185": (36.66, 8952),
    "E05002186": (35.58, 7723),
    "E05002187": (22.26, 10796),
    "E05002188": (20.59, 3003),
    "E05002189": (24.54, 5962),
    "E05002190": (17.22, 7592),
    "E05002191": (11.08, 6064),
    "E05002192": (12.99, 9192),
}

WD22_DERIVED = {
    "E05010805": (9.08, 3103),
    "E05010806": (34.92, 9828),
    "E05010807": (42.66, 12553),
    "E05010808": (40.51, 9870),
    "E05010809": (32.93, 9636),
    "E05010810": (18.16, 8980),
    "E05010811": (23.41, 9634),
    "E05010812": (19.67, 11618),
    "E05010813": (9.75, 6038),
    "E05010814": (15.09, 8123),
    "E05010815": (10.23, 7540),
    "E05010816": (10.23, 6575),
    "E05010817": (39.29, 10711),
    "E05010818": (37.94, 10270),
    "E05010819": (18.54, 8253),
    "E05010820": (22.44, 11063),
    "E05010821": (34.65, 11450),
    "E05010822": (29.04, 10587),
    "E05010823": (20.86, 8371),
    "E05010824": (17.01, 8997),
    "E05010825": (14.95, 6038),
    "E05010826": (7.32, 3665),
}


@pytest.mark.parametrize(
    ("column", "derived"),
    [("ward13_code_derived", WD13_DERIVED), ("ward17_code", WD22_DERIVED)],
    ids=["WD13 derived", "WD22 ONS best fit"],
)
def test_peterborough_popweighted_imd2010_matches_derived_table(peterborough, column, derived):
    """Every ward's population-weighted IMD 2010 score and population, to the rounding."""
    assignment = peterborough["lookup"][["lsoa11_code", column]].set_axis(
        ["lsoa_code", "ward_code"], axis=1
    )
    lsoa_imd = lsoa_deprivation(peterborough["imd2010"], lookup=peterborough["lookup"])
    out = ward_deprivation(assignment, peterborough["population"], lsoa_imd)
    assert sorted(out.index) == sorted(derived)
    codes = list(derived)
    np.testing.assert_allclose(
        out.loc[codes, "imd_score"], [derived[c][0] for c in codes], atol=0.006
    )
    np.testing.assert_array_equal(out.loc[codes, "population"], [derived[c][1] for c in codes])


def test_exponential_recombination_reproduces_published_imd2010_scores(peterborough):
    """The official IMD combination (exponentially transformed domain ranks, published weights)
    reproduces the published IMD 2010 score of every Peterborough LSOA to within 0.01."""
    lsoa = lsoa_deprivation(peterborough["imd2010"], lookup=peterborough["lookup"])
    np.testing.assert_allclose(lsoa["imd_exp_score"], lsoa["imd_score"], atol=0.01)
    assert (lsoa["imd_no_crime_score"] != lsoa["imd_exp_score"]).all()


def test_imd2019_reconstruction_matches_published_la_average(peterborough):
    """Published IMD 2019 LA summary for Peterborough: population-weighted average score 27.821."""
    lsoa = lsoa_deprivation(peterborough["imd2019"])
    pop = peterborough["population"].set_index("lsoa_code")["population"]
    average = (lsoa["imd_exp_score"] * pop.reindex(lsoa.index)).sum() / pop.sum()
    assert average == pytest.approx(27.821, abs=0.005)


def test_largest_share_reproduces_the_derived_wd13_lookup():
    """The lookup's ward13_code_derived was made by largest overlap in EPSG:27700; assigning the
    same LSOAs to the same wards from geometry must give the same ward for all 112 LSOAs."""
    wards = gpd.read_file(BOUNDARIES / "peterborough_wards_2013_wd13.geojson").to_crs(27700)
    wards = wards.rename(columns={"WD13CD": "ward_code", "WD13NM": "ward_name"})
    lsoas = gpd.read_file(BOUNDARIES / "peterborough_lsoa11.geojson").to_crs(27700)
    lsoas = lsoas.rename(columns={"LSOA11CD": "lsoa_code"})
    table, method = lsoa_to_ward(wards, lsoas=lsoas)
    assert method == "largest area share"
    lookup = pd.read_csv(BOUNDARIES / "peterborough_lsoa11_lookup.csv").set_index("lsoa11_code")
    got = table.set_index("lsoa_code")
    assert len(got) == 112
    assert (got["ward_code"] == lookup.loc[got.index, "ward13_code_derived"]).all()
    np.testing.assert_allclose(
        got["share"], lookup.loc[got.index, "ward13_overlap_share"], atol=0.002
    )


def test_set_aside_rows_point_at_the_file_row_and_keep_the_id(tmp_path):
    """Regression (issue 13): ``wards_set_aside.csv`` rows pointed at the row among the chosen
    category's records, not the file row, and records without a Crime ID (police.uk ASB) lost
    their id. File rows 1-6: ASB in W1, burglary outside (another category, not set aside), ASB
    outside with an id (row 3), ASB in W2, ASB outside without an id (row 5), ASB with an LSOA
    the lookup lacks (row 6)."""
    from geo_sppa.io import read_incidents

    rows = [
        ("a1", "Anti-social behaviour", X0 + 100, Y0 + 100, ""),
        ("b1", "Burglary", X0 + 9000, Y0 + 9000, ""),
        ("a3", "Anti-social behaviour", X0 + 9000, Y0 + 100, ""),
        ("", "Anti-social behaviour", X0 + 1500, Y0 + 500, ""),
        ("", "Anti-social behaviour", X0 + 9500, Y0 + 100, ""),
        ("", "Anti-social behaviour", "", "", "Z"),
    ]
    path = tmp_path / "street.csv"
    lines = ["Crime ID,Month,Crime type,easting,northing,LSOA code"]
    lines += [f"{i},2019-01,{c},{x},{y},{lsoa}" for i, c, x, y, lsoa in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = read_incidents(path)
    assert loaded.set_aside.empty
    rates = ward_rates(
        two_wards(), population=population(), incidents=loaded.data, lsoas=three_lsoas(),
        source=path.name,
    )  # fmt: skip
    aside = rates.set_aside.set_index("row")
    assert list(aside.index) == [3, 5, 6]
    assert aside.loc[3, "record_id"] == "a3"
    assert aside.loc[5, "record_id"] == "street.csv:5"  # no Crime ID: the reader's label
    assert aside.loc[6, "record_id"] == "street.csv:6"
    assert aside.loc[3, "reason"] == aside.loc[5, "reason"] == "outside every ward"
    assert aside.loc[6, "reason"] == "LSOA not in the ward lookup"
    assert (aside["source"] == "street.csv").all()
