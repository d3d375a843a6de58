"""The safety performance function: candidate sites over the whole area and the NB2 fit."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo_sppa.errors import InputError
from geo_sppa.roads.spf import (
    SpfFit,
    candidate_site_counts,
    fit_spf,
    grid_candidates,
    spf_summary,
)
from geo_sppa.roads.spf_candidates import index_positions

YEARS = [2014, 2015, 2016]


def simulated_sites(n: int, *, k: float, rng: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Sites drawn from a known NB SPF: kind and speed effects, segment length, year effects.

    Each site has one gamma-distributed long-run rate (shape 1/k) shared by its years, so the
    counts of one site-year are NB2 with dispersion k around the SPF's mu.
    """
    gen = np.random.default_rng(rng)
    kind = gen.choice(["link", "junction"], n, p=[0.7, 0.3])
    speed = gen.choice(["30", "40", "60"], n, p=[0.6, 0.25, 0.15])
    length = np.where(kind == "link", gen.uniform(20, 100, n), np.nan)
    log_len = np.where(kind == "link", np.log(np.nan_to_num(length, nan=100) / 100), 0.0)
    truth = {"(intercept)": np.log(0.25), "kind[junction]": 0.6, "speed_limit[40]": 0.35,
             "speed_limit[60]": -0.5, "log_length_m": 0.8}  # fmt: skip
    eta = (truth["(intercept)"] + truth["kind[junction]"] * (kind == "junction")
           + truth["speed_limit[40]"] * (speed == "40") + truth["speed_limit[60]"] * (speed == "60")
           + truth["log_length_m"] * np.round(log_len, 2))  # fmt: skip
    rate = gen.gamma(1 / k, k, n) * np.exp(eta)
    effects = {2014: 1.0, 2015: 0.85, 2016: 1.2}
    counts = pd.DataFrame({y: gen.poisson(rate * e) for y, e in effects.items()})
    covariates = pd.DataFrame({"kind": kind, "speed_limit": speed, "log_length_m": log_len})
    return counts, covariates, {"coefficients": truth, "k": k, "effects": effects}


def test_fit_recovers_the_known_coefficients_dispersion_and_year_effects():
    counts, covariates, truth = simulated_sites(60_000, k=0.7)
    fit = fit_spf(counts, covariates)
    assert not fit.fallback
    assert fit.covariates == ("kind", "speed_limit", "log_length_m")
    assert fit.n_sites == 60_000
    assert fit.k == pytest.approx(truth["k"], rel=0.08)
    for name, value in truth["coefficients"].items():
        assert fit.coefficients[name] == pytest.approx(value, abs=0.05), name
    for year, effect in truth["effects"].items():
        assert fit.year_effects[year] == pytest.approx(effect, rel=0.04), year
    assert "k = " in fit.note and "60,000 candidate sites x 3 years" in fit.note
    multiplier = np.exp(fit.coefficients["kind[junction]"])
    assert f"kind[junction] x{multiplier:.2f}" in spf_summary(fit)


def test_fit_matches_statsmodels_negative_binomial():
    """An independent NB2 maximum likelihood fit (statsmodels) on the stacked site-years."""
    sm = pytest.importorskip("statsmodels.api")
    counts, covariates, _ = simulated_sites(3_000, k=1.2, rng=11)
    fit = fit_spf(counts, covariates)
    rows = covariates.loc[covariates.index.repeat(3)].reset_index(drop=True)
    year = np.tile(YEARS, len(counts))
    x = pd.DataFrame({
        "const": 1.0,
        "kind[junction]": (rows["kind"] == "junction").astype(float),
        "speed_limit[40]": (rows["speed_limit"] == "40").astype(float),
        "speed_limit[60]": (rows["speed_limit"] == "60").astype(float),
        "log_length_m": rows["log_length_m"].round(2),
        "y2015": (year == 2015).astype(float),
        "y2016": (year == 2016).astype(float),
    })  # fmt: skip
    y = counts.to_numpy().ravel()
    ref = sm.NegativeBinomial(y, x, loglike_method="nb2").fit(disp=0, maxiter=200)
    assert fit.k == pytest.approx(ref.params["alpha"], rel=2e-3)
    assert fit.coefficients["(intercept)"] == pytest.approx(ref.params["const"], abs=2e-3)
    for name in ("kind[junction]", "speed_limit[40]", "speed_limit[60]", "log_length_m"):
        assert fit.coefficients[name] == pytest.approx(ref.params[name], abs=2e-3), name
    assert fit.year_effects[2016] == pytest.approx(np.exp(ref.params["y2016"]), rel=2e-3)


def test_predict_gives_mu_per_site_and_year_and_refuses_unknown_years():
    counts, covariates, _ = simulated_sites(5_000, k=0.5)
    fit = fit_spf(counts, covariates)
    probe = pd.DataFrame(
        {"kind": ["junction", "link"], "speed_limit": ["40", "30"], "log_length_m": [0.0, 0.0]},
        index=["a", "b"],
    )
    mu = fit.predict(probe, YEARS)
    assert list(mu.index) == ["a", "b"] and list(mu.columns) == YEARS
    c = fit.coefficients
    expected = np.exp(c["(intercept)"] + c["kind[junction]"] + c["speed_limit[40]"])
    assert mu.loc["a", 2014] == pytest.approx(expected)
    assert mu.loc["b", 2016] == pytest.approx(np.exp(c["(intercept)"]) * fit.year_effects[2016])
    with pytest.raises(InputError, match=r"no year effect for \[2020\]"):
        fit.predict(probe, [2020])
    with pytest.raises(InputError, match="covariate column 'speed_limit' missing"):
        fit.predict(probe[["kind", "log_length_m"]], YEARS)


def test_no_covariates_falls_back_to_gamma_poisson_with_a_note():
    counts, _, truth = simulated_sites(40_000, k=0.9)
    fit = fit_spf(counts, None)
    assert fit.fallback and fit.covariates == ()
    assert fit.note.startswith("SPF fallback (no covariates): covariate-free gamma-Poisson")
    # without the covariates the rate varies more between sites, so k is larger than 0.9
    assert fit.k > truth["k"]
    assert fit.year_effects[2016] == pytest.approx(1.2, rel=0.04)
    mean_2014 = counts[2014].mean()
    assert fit.predict(None, [2014]).iloc[0, 0] == pytest.approx(mean_2014, rel=1e-3)


def test_a_fit_that_does_not_converge_is_never_used_silently():
    """A numeric covariate that separates the sites with no collision: its slope runs away."""
    counts, covariates, _ = simulated_sites(2_000, k=0.5)
    never = (counts.sum(axis=1) == 0).to_numpy()
    covariates = covariates.assign(flag=np.where(never, 1.0, 0.0))
    fit = fit_spf(counts, covariates)
    assert fit.fallback
    assert "the covariate fit did not converge" in fit.note


def test_single_level_and_rare_levels_are_pooled_or_dropped():
    counts, covariates, _ = simulated_sites(5_000, k=0.5)
    covariates = covariates.assign(urban_rural="Urban")
    covariates.loc[covariates.index[:5], "speed_limit"] = "20"  # fewer than 20 sites: pooled
    fit = fit_spf(counts, covariates)
    assert "urban_rural" not in fit.covariates
    assert "20" in fit.pooled["speed_limit"]
    assert fit.predict(covariates.iloc[:5], YEARS).notna().all().all()


@pytest.mark.parametrize(
    "counts",
    [pd.DataFrame({2014: [1, -1]}), pd.DataFrame({2014: [1.0, np.nan]}), pd.DataFrame()],
    ids=["negative", "missing", "empty"],
)
def test_bad_counts_are_refused(counts):
    with pytest.raises(InputError, match="SPF: counts"):
        fit_spf(counts, None)


def collisions_at(points, years, severity="slight") -> gpd.GeoDataFrame:
    n = len(points)
    return gpd.GeoDataFrame(
        {
            "collision_id": [f"C{i}" for i in range(n)],
            "date": pd.to_datetime([f"{y}-06-01" for y in years]),
            "severity": severity,
            "road_number": pd.NA,
            "location": pd.NA,
            "speed_limit": pd.array([30] * n, dtype="Int64"),
        },
        geometry=shapely.points(np.asarray(points, dtype=float)),
        crs=27700,
    )


def test_grid_candidates_count_each_collision_once_and_include_empty_neighbours():
    """Two collisions in one 100 m cell, one in a cell 1 km away, one outside the years."""
    pts = [(1010, 1010), (1090, 1050), (2050, 1050), (1020, 1020)]
    frame = collisions_at(pts, [2014, 2015, 2016, 2013]).assign(year=[2014, 2015, 2016, 2013])
    cands = grid_candidates(frame, radius_m=50, years=YEARS)
    assert cands.mode == "radius" and cands.cell_m == 100
    assert len(cands.sites) == 18  # two occupied cells and their eight neighbours each
    assert cands.counts.to_numpy().sum() == 3
    assert cands.counts.loc["C1050N1050"].tolist() == [1, 1, 0]
    assert cands.counts.loc["C2050N1050"].tolist() == [0, 0, 1]
    assert cands.counts.loc["C950N950"].tolist() == [0, 0, 0]
    assert set(cands.sites["kind"]) == {"circle"}


def cross_roads() -> gpd.GeoDataFrame:
    """A 4-way junction at (500, 500): a 1 km east-west road and a 1 km north-south road."""
    lines = [((0, 500), (500, 500)), ((500, 500), (1000, 500)),
             ((500, 0), (500, 500)), ((500, 500), (500, 1000))]  # fmt: skip
    return gpd.GeoDataFrame(
        {"road_id": ["a", "b", "c", "d"], "name": ["East Road", "East Road", "North Road",
         "North Road"], "ref": None, "highway": ["primary", "primary", "residential",
         "residential"]},
        geometry=[shapely.LineString(c) for c in lines], crs=27700,
    )  # fmt: skip


def test_network_candidates_partition_the_collisions_over_junctions_and_segments():
    """Collisions at the junction, on the east-west road and on the north-south road."""
    pts = [(502, 501), (498, 499), (150, 502), (160, 498), (850, 500), (500, 120), (500, 930)]
    years = [2014, 2014, 2015, 2016, 2016, 2015, 2014]
    frame = collisions_at(pts, years)
    cands = candidate_site_counts(frame, roads=cross_roads(), years=YEARS)
    sites = cands.sites
    assert cands.mode == "network"
    assert cands.counts.to_numpy().sum() == len(pts)
    junctions = sites[sites["kind"] == "junction"]
    assert len(junctions) == 1
    assert cands.counts.loc[junctions.index[0]].tolist() == [2, 0, 0]
    links = sites[sites["kind"] == "link"]
    assert len(links) == 20  # two 1 km routes of ten 100 m segments
    assert (links["length_m"] == 100).all()
    assert set(links["road_class"]) == {"primary", "minor"}
    assert junctions.iloc[0]["road_class"] == "primary"
    assert "kind" in cands.covariates and "log_length_m" in cands.covariates
    # a stable key: the same candidates and counts whatever the order of the input
    again = candidate_site_counts(frame.iloc[::-1], roads=cross_roads().iloc[::-1], years=YEARS)
    pd.testing.assert_frame_equal(again.counts.sort_index(), cands.counts.sort_index())


def test_spf_fit_is_a_frozen_record():
    fit = fit_spf(pd.DataFrame({2014: [0, 1, 2, 0], 2015: [1, 0, 0, 3]}), None)
    assert isinstance(fit, SpfFit)
    with pytest.raises(AttributeError):
        fit.k = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("n_values", [3, 500, 5000])
@pytest.mark.parametrize("dtype", ["str", "string", object])
def test_index_positions_are_get_indexer(n_values: int, dtype: object) -> None:
    """Every strategy (membership scan, joint factorisation, get_indexer) finds the same rows."""
    rng = np.random.default_rng(n_values)
    index = pd.Index([f"J{i}" for i in rng.permutation(2000)], dtype="str")
    labels = [f"J{i}" for i in rng.integers(0, 2500, n_values)]  # some absent
    values = pd.Series(labels, dtype=dtype)
    values.iloc[0] = None  # NA is never found
    want = index.get_indexer(pd.Index(values))
    (got,) = index_positions(index, values)
    assert np.array_equal(got, want)
    a, b = index_positions(index, values, pd.Index(labels[::-1]))
    assert np.array_equal(a, want)
    assert np.array_equal(b, index.get_indexer(pd.Index(labels[::-1])))


def test_index_positions_refuses_duplicate_labels_like_get_indexer() -> None:
    """A duplicated label is ambiguous: the look-up raises as get_indexer does."""
    index = pd.Index(["a", "b", "a"] * 10, dtype="str")
    for values in (pd.Index(["a"]), pd.Series(["a", "b"] * 50, dtype="str")):
        with pytest.raises(pd.errors.InvalidIndexError):
            index_positions(index, values)
