"""The EB before/after evaluation (geo_sppa.evaluation): hand values, simulations, periods."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo_sppa.errors import InputError
from geo_sppa.evaluation.before_after import Z_95, before_after_effect, effect_index
from geo_sppa.evaluation.periods import data_span, scheme_periods, year_exposure

BEFORE, AFTER = [2011, 2012, 2013], [2014, 2015, 2016]


def _frame(values, years, index=None) -> pd.DataFrame:
    return pd.DataFrame(np.asarray(values, dtype=float), columns=years, index=index)


def test_one_site_by_hand():
    """One site, k = 0.5, SPF 1 a year before and 1.1 a year after, 9 before, 3 after.

    By hand: P_b = 3, w = 1 / (1 + 0.5 * 3) = 0.4, EB = 0.4 * 3 + 0.6 * 9 = 6.6, r = 2.2 / 3,
    pi = 6.6 * 2.2 / 3 = 4.84, Var(pi) = pi * r * (1 - w) = 4.84 * 0.7333 * 0.6 = 2.1296,
    Var(pi) / pi^2 = 0.090909, theta = (3 / 4.84) / 1.090909 = 0.568182,
    Var(theta) = theta^2 (1/3 + 0.090909) / 1.090909^2.
    """
    mu = _frame([[1, 1, 1, 1.1, 1.1]], [*BEFORE, 2014, 2015])
    result = before_after_effect(
        _frame([[3, 3, 3]], BEFORE),
        _frame([[2, 1]], [2014, 2015]),
        mu,
        _frame([[1, 1, 1]], BEFORE),
        _frame([[1, 1]], [2014, 2015]),
        k=0.5,
    )
    site = result.sites.iloc[0]
    assert site["eb_weight"] == pytest.approx(0.4)
    assert site["eb_before"] == pytest.approx(6.6)
    assert site["expected_after"] == pytest.approx(4.84)
    assert site["expected_after_sd"] ** 2 == pytest.approx(2.1296)
    theta = (3 / 4.84) / (1 + 2.1296 / 4.84**2)
    assert theta == pytest.approx(0.568182, abs=1e-6)
    assert site["theta"] == pytest.approx(theta)
    se = np.sqrt(theta**2 * (1 / 3 + 2.1296 / 4.84**2) / (1 + 2.1296 / 4.84**2) ** 2)
    assert site["theta_se"] == pytest.approx(se)
    assert theta - Z_95 * se < 0 and site["theta_low"] == 0  # clipped at 0
    assert site["theta_high"] == pytest.approx(theta + Z_95 * se)
    assert site["naive_ratio"] == pytest.approx((3 / 2) / (9 / 3))
    assert not site["partial_years"] and not site["short_after"]
    # one site: the overall estimate is the site's
    assert result.overall.theta == pytest.approx(theta)
    assert result.overall.change_pct == pytest.approx(100 * (theta - 1))


def test_partial_year_scales_the_spf_and_flags():
    """An after period of half a year: the SPF after is half a year's and the site is flagged."""
    result = before_after_effect(
        _frame([[2, 2, 2]], BEFORE),
        _frame([[1]], [2014]),
        _frame([[1, 1, 1, 2]], [*BEFORE, 2014]),
        _frame([[1, 1, 1]], BEFORE),
        _frame([[0.5]], [2014]),
        k=0.0,
    )
    site = result.sites.iloc[0]
    assert site["spf_after"] == pytest.approx(1.0)  # 2 a year for half a year
    assert site["eb_weight"] == 1.0  # k = 0: the SPF alone
    assert site["expected_after"] == pytest.approx(1.0)
    assert site["partial_years"] and site["short_after"]
    assert site["naive_expected_after"] == pytest.approx(6 * 0.5 / 3)
    assert result.overall.n_sites == 0 and result.overall.n_short_after == 1


def test_no_after_collisions_gives_zero_theta_and_the_exact_poisson_upper_limit():
    theta, se = effect_index(0.0, 4.0, 1.0)
    assert theta == 0 and np.isfinite(se)
    result = before_after_effect(
        _frame([[4, 4]], [2011, 2012]), _frame([[0, 0]], [2013, 2014]),
        _frame([[1, 1, 1, 1]], [2011, 2012, 2013, 2014]),
        _frame([[1, 1]], [2011, 2012]), _frame([[1, 1]], [2013, 2014]), k=1.0,
    )  # fmt: skip
    site = result.sites.iloc[0]
    # w = 1/3, EB = 2/3 + 2/3 * 8 = 6, r = 1, pi = 6: upper limit -ln(0.025) / 6
    assert site["expected_after"] == pytest.approx(6.0)
    assert site["theta"] == 0 and site["theta_high"] == pytest.approx(-np.log(0.025) / 6)


@pytest.mark.parametrize("k", [-0.1, float("nan")], ids=["negative", "nan"])
def test_bad_dispersion_is_refused(k):
    with pytest.raises(InputError, match="dispersion k"):
        before_after_effect(
            _frame([[1]], [2011]), _frame([[1]], [2012]), _frame([[1, 1]], [2011, 2012]),
            _frame([[1]], [2011]), _frame([[1]], [2012]), k=k,
        )  # fmt: skip


def _simulated(rng, *, n=4000, k=0.6, effect=1.0, trend=(1.0, 1.0, 1.0, 0.9, 0.9, 0.85)):
    """Sites from a known NB SPF (log mu = -0.5 + 0.8 x), 3 years before and 3 after.

    Each site's true mean is its SPF mean times a gamma(1/k, k) draw (mean 1, variance k), so
    counts are negative binomial with dispersion k; the year factors give a downward trend. The
    treated sites are those with 6+ collisions before (selected for high counts); their after
    counts carry ``effect``.
    """
    x = rng.normal(size=n)
    spf = np.exp(-0.5 + 0.8 * x)
    true = spf * rng.gamma(1 / k, k, size=n)
    years = [*BEFORE, *AFTER]
    mu = _frame(np.outer(spf, trend), years)
    counts = rng.poisson(np.outer(true, trend))
    before = counts[:, :3]
    treated = before.sum(axis=1) >= 6
    after = rng.poisson(np.outer(true, trend[3:]) * effect)
    ones = np.ones((int(treated.sum()), 3))
    return before_after_effect(
        _frame(before[treated], BEFORE),
        _frame(after[treated], AFTER),
        mu[treated].reset_index(drop=True),
        _frame(ones, BEFORE),
        _frame(ones, AFTER),
        k=k,
    )


def test_planted_30_percent_reduction_is_recovered():
    """Treated sites lose 30% of their collisions: theta's interval covers 0.7, not 1."""
    overall = _simulated(np.random.default_rng(7), effect=0.7).overall
    assert overall.n_sites > 50
    assert overall.theta_low <= 0.7 <= overall.theta_high
    assert overall.theta_high < 1
    # selected for high counts: the naive ratio over-states the effect (well below 0.7)
    assert overall.naive_ratio < overall.theta_low


def test_no_effect_interval_covers_one_while_naive_sees_a_fall():
    overall = _simulated(np.random.default_rng(11), effect=1.0).overall
    assert overall.theta_low <= 1 <= overall.theta_high
    assert overall.naive_ratio < 0.8  # regression to the mean looks like a 20%+ "effect"


def test_interval_coverage_over_many_simulations():
    """The 95% interval covers the planted 0.7 in most of 40 independent simulations."""
    rng = np.random.default_rng(2024)
    covered = [
        (o.theta_low <= 0.7 <= o.theta_high)
        for o in (_simulated(rng, n=1500, effect=0.7).overall for _ in range(40))
    ]
    assert sum(covered) >= 34  # 95% nominal; binomial(40, 0.95) gives >= 34 with p > 0.99


def test_eb_predicts_the_after_mean_where_the_naive_count_over_predicts():
    """No treatment, no trend: EB's expected after is near the observed after; the naive not."""
    result = _simulated(np.random.default_rng(3), trend=(1,) * 6)
    sites = result.sites
    observed = sites["observed_after"].sum()
    pi, sd = result.overall.expected_after, result.overall.expected_after_sd
    assert abs(observed - pi) < Z_95 * np.sqrt(sd**2 + observed)
    naive = sites["naive_expected_after"].sum()
    assert naive - observed > 3 * np.sqrt(naive + observed)  # far beyond Poisson noise


def test_year_exposure_of_whole_and_part_years():
    assert year_exposure(date(2014, 1, 1), date(2016, 12, 31)) == {2014: 1, 2015: 1, 2016: 1}
    shares = year_exposure(date(2017, 7, 2), date(2018, 3, 31))
    assert shares[2017] == pytest.approx(183 / 365) and shares[2018] == pytest.approx(90 / 365)
    assert year_exposure(date(2016, 1, 1), date(2016, 1, 1)) == {2016: 1 / 366}


def test_default_periods_and_works_exclusion():
    """Default: 3 years before the treatment year; a works period belongs to neither period."""
    data = (date(2010, 1, 1), date(2019, 12, 31))
    periods, reason = scheme_periods(date(2017, 1, 1), data=data)
    assert reason == "" and periods is not None
    assert periods.before == (date(2014, 1, 1), date(2016, 12, 31))
    assert periods.after == (date(2017, 1, 1), date(2019, 12, 31))
    works = (date(2016, 9, 1), date(2017, 2, 28))
    periods, _ = scheme_periods(date(2017, 1, 1), data=data, works=works)
    assert periods is not None
    assert periods.before == (date(2014, 1, 1), date(2016, 8, 31))
    assert periods.after == (date(2017, 3, 1), date(2019, 12, 31))
    periods, _ = scheme_periods(
        date(2015, 6, 1), data=data, before_years=(2012, 2013), after_years=(2016, 2017)
    )
    assert periods is not None
    assert periods.before == (date(2012, 1, 1), date(2013, 12, 31))
    assert periods.after == (date(2016, 1, 1), date(2017, 12, 31))


@pytest.mark.parametrize(
    ("treatment", "reason"),
    [(date(2020, 3, 1), "treatment date after the data"),
     (date(2010, 1, 1), "no before period in the data")],
    ids=["after-data", "before-data"],
)  # fmt: skip
def test_periods_outside_the_data(treatment, reason):
    periods, why = scheme_periods(treatment, data=(date(2010, 1, 1), date(2019, 12, 31)))
    assert periods is None and why == reason


def test_data_span_ends_at_the_last_complete_month():
    dates = pd.Series(pd.to_datetime(["2012-01-03", "2019-12-29"]))
    assert data_span(dates) == (date(2012, 1, 1), date(2019, 12, 31))
    dates = pd.Series(pd.to_datetime(["2012-01-03", "2019-12-10"]))
    assert data_span(dates)[1] == date(2019, 11, 30)


def _write(tmp_path, text, name="treated.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_treated_reader_places_lon_lat_and_sets_aside_a_repeated_site(tmp_path):
    """Row 1 by grid reference, row 2 by longitude/latitude, row 3 the same place as row 1."""
    from geo_sppa.io.treated import read_treated

    path = _write(
        tmp_path,
        "name,easting,northing,longitude,latitude,treatment_date,works_start,works_end\n"
        "A,519659,299773,,,2015-01-01,,\n"
        "B,,,-0.2440,52.5730,01/06/2015,01/03/2015,31/05/2015\n"
        "C,519659,299773,,,2016-01-01,,\n",
    )
    loaded = read_treated(path)
    assert loaded.n_read == 3 and len(loaded.data) == 2
    assert loaded.set_aside["row"].tolist() == [3]
    assert loaded.set_aside["detail"].tolist() == ["same site as row 1"]
    b = loaded.data.iloc[1]
    assert b["treatment_date"] == pd.Timestamp("2015-06-01")  # day first
    assert b["works_start"] == pd.Timestamp("2015-03-01")
    assert 518_000 < b.geometry.x < 520_000 and 298_000 < b.geometry.y < 301_000
    assert any("longitude" in n or "EPSG:4326" in n for n in loaded.notes)


@pytest.mark.parametrize(
    ("text", "message"),
    [("easting,northing,treatment_date,works_start,works_end\n1,2,2015-01-01,2015-03-01,2015-02-01\n",
      "row 1: works_end is before works_start"),
     ("easting,northing,treatment_date\n519659,299773,\n", "row 1, column 'treatment_date' is empty"),
     ("easting,northing,treatment_date\n-0.24,52.57,2015-01-01\n", "row 1 lies outside Great Britain"),
     ("easting,northing,treatment_date\n519659,,2015-01-01\n", "row 1 has no location")],
    ids=["works-backwards", "date-empty", "lonlat-in-grid-columns", "no-location"],
)  # fmt: skip
def test_treated_reader_refuses_bad_rows_in_one_line(tmp_path, text, message):
    from geo_sppa.io.treated import read_treated

    with pytest.raises(InputError, match=message):
        read_treated(_write(tmp_path, text))


def test_eb_before_agrees_with_the_site_eb_estimates():
    """The before-period EB of the evaluation is the one geo_sppa.roads.eb gives the same sites."""
    from geo_sppa.roads.eb import eb_estimates

    sites = _simulated(np.random.default_rng(5), n=800).sites
    eb = eb_estimates(sites["observed_before"], sites["spf_before"], 0.6)
    assert sites["eb_weight"].to_numpy() == pytest.approx(eb["weight"].to_numpy())
    assert sites["eb_before"].to_numpy() == pytest.approx(eb["eb_expected"].to_numpy())
    # Var(pi) = r^2 Var(EB before)
    expected_sd = sites["trend_ratio"].to_numpy() * eb["eb_sd"].to_numpy()
    assert sites["expected_after_sd"].to_numpy() == pytest.approx(expected_sd)


def _collision_csv(tmp_path, rng):
    """Background collisions over a 3 km square, 2010-2016, and 9 planted in one 100 m cell.

    The planted cell (centre 500050, 300050) has collisions on 2013-03-01 (in the default before
    period, the 3 years before the treatment year 2014), 2014-02-01, 2014-06-20 (in the treatment
    year before the works: in neither period), 2014-07-15 (in the works period 2014-07-01 to
    2014-07-31: in neither), and 2014-12-01, 2015-05-01, 2016-01-05, 2016-06-30, 2016-07-01
    (after).
    """
    n = 3000
    days = pd.to_datetime("2010-01-01") + pd.to_timedelta(rng.integers(0, 7 * 365, n), unit="D")
    x = 500_000 + 200 + rng.integers(0, 3000, n)
    y = 300_000 + 200 + rng.integers(0, 3000, n)
    planted = ["2013-03-01", "2014-02-01", "2014-06-20", "2014-07-15", "2014-12-01",
               "2015-05-01", "2016-01-05", "2016-06-30", "2016-07-01"]  # fmt: skip
    frame = pd.DataFrame({
        "accident_index": [f"B{i}" for i in range(n)] + [f"P{i}" for i in range(len(planted))],
        "location_easting_osgr": [*x, *[500_050] * len(planted)],
        "location_northing_osgr": [*y, *[300_050] * len(planted)],
        "accident_severity": 3,
        "date": [*days.strftime("%d/%m/%Y"),
                 *pd.to_datetime(planted).strftime("%d/%m/%Y")],
    })  # fmt: skip
    path = tmp_path / "collisions.csv"
    frame.to_csv(path, index=False)
    return path


def test_scheme_evaluation_counts_each_period_by_date(tmp_path):
    """Radius mode: the treated cell's collisions are counted by day in each period."""
    from geo_sppa.evaluation.schemes import scheme_evaluation
    from geo_sppa.io import read_collisions
    from geo_sppa.io.treated import read_treated

    collisions = read_collisions(_collision_csv(tmp_path, np.random.default_rng(1))).data
    treated = read_treated(_write(
        tmp_path,
        "name,easting,northing,treatment_date,works_start,works_end\n"
        "planted,500040,300060,2014-07-01,2014-07-01,2014-07-31\n",
    )).data  # fmt: skip
    result = scheme_evaluation(collisions, treated)
    site = result.sites.iloc[0]
    assert site["candidate_id"] == "C500050N300050"
    assert (site["before_start"], site["before_end"]) == ("2011-01-01", "2013-12-31")
    assert (site["after_start"], site["after_end"]) == ("2014-08-01", "2016-12-31")
    # planted: one before, five after; the background adds what falls in the same cell
    planted_cell = collisions.geometry.x.between(500_000, 500_100) & collisions.geometry.y.between(
        300_000, 300_100
    )
    dates = collisions.loc[planted_cell, "date"]
    before = dates.between("2011-01-01", "2013-12-31").sum()
    after = dates.between("2014-08-01", "2016-12-31").sum()
    assert site["observed_before"] == before and site["observed_after"] == after
    assert before >= 1 and after >= 5
    assert site["before_years"] == 3
    assert site["after_years"] == pytest.approx(153 / 365 + 2)
    assert site["partial_years"] and not site["short_after"]
    assert result.mode == "radius" and result.n_reference > 500


def test_overall_with_no_collision_after_has_the_exact_poisson_upper_limit():
    """No site has a collision after: the overall interval is [0, -ln(0.025) / pi], not [0, 0]."""
    result = before_after_effect(
        _frame([[4, 4], [2, 2]], [2011, 2012]), _frame([[0, 0], [0, 0]], [2013, 2014]),
        _frame([[1, 1, 1, 1], [1, 1, 1, 1]], [2011, 2012, 2013, 2014]),
        _frame([[1, 1], [1, 1]], [2011, 2012]), _frame([[1, 1], [1, 1]], [2013, 2014]), k=1.0,
    )  # fmt: skip
    overall = result.overall
    # site 1 as above: pi = 6; site 2: w = 1/3, EB = 2/3 + 2/3 * 4 = 10/3, pi = 10/3
    assert overall.expected_after == pytest.approx(6 + 10 / 3)
    assert overall.theta == 0 and overall.theta_low == 0
    assert overall.theta_high == pytest.approx(-np.log(0.025) / (6 + 10 / 3))


def test_spf_offset_is_a_known_multiplier():
    """Counts halved at some site-years with offset log(0.5) there: the fit is the unhalved one."""
    from geo_sppa.roads.spf import fit_spf

    rng = np.random.default_rng(4)
    n = 4000
    road = rng.choice(["a", "b"], n, p=[0.7, 0.3])
    mean = np.exp(np.log(0.4) + 0.7 * (road == "b")) * rng.gamma(1 / 0.8, 0.8, n)
    multiplier = np.ones((n, 4))
    multiplier[:300, 2:] = 0.5
    counts = pd.DataFrame(rng.poisson(mean[:, None] * multiplier), columns=[1, 2, 3, 4])
    cov = pd.DataFrame({"road_class": road})
    fit = fit_spf(counts, cov, offset=np.log(multiplier))
    assert fit.coefficients["road_class[b]"] == pytest.approx(0.7, abs=0.08)
    assert fit.year_effects.to_numpy() == pytest.approx([1, 1, 1, 1], abs=0.08)
    assert fit.k == pytest.approx(0.8, abs=0.15)
    plain = fit_spf(counts, cov)  # no offset: the halved years pull the year effects down
    assert plain.year_effects[3] < fit.year_effects[3] - 0.03
    zero = fit_spf(counts, cov, offset=np.zeros((n, 4)))
    assert zero.k == plain.k and zero.coefficients.equals(plain.coefficients)
    with pytest.raises(InputError, match="offset"):
        fit_spf(counts, cov, offset=np.zeros((n, 3)))


def _population(seed, *, effect, n=5000, n_treated=200, k=1.5):
    """Sites from a known NB SPF (three road classes, falling year effects), 2011-2016.

    The top ``n_treated`` by 2011-2013 count are treated on 1 January 2014; their 2014-2016
    counts carry ``effect``. Returns the candidate sites, the treated rows and their match.
    """
    from geo_sppa.roads.spf import CandidateSites

    rng = np.random.default_rng(seed)
    road = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    spf = np.exp(np.log(0.2) + 1.0 * (road == "b") + 1.8 * (road == "c"))
    trend = np.array([1, 0.95, 0.9, 0.9, 0.85, 0.8])
    true = np.outer(spf * rng.gamma(1 / k, k, n), trend)
    counts = rng.poisson(true)
    chosen = np.argsort(-counts[:, :3].sum(axis=1) + rng.uniform(0, 0.5, n))[:n_treated]
    counts[chosen, 3:] = rng.poisson(true[chosen, 3:] * effect)
    ids = pd.Index([f"C{i}" for i in range(n)], name="candidate_id")
    sites = gpd.GeoDataFrame({"kind": "circle", "road_class": road}, index=ids,
                             geometry=gpd.points_from_xy(np.arange(n), np.zeros(n)),
                             crs="EPSG:27700")  # fmt: skip
    cands = CandidateSites(sites, pd.DataFrame(counts, index=ids), ("road_class",), "radius")
    treated = pd.DataFrame({"row": np.arange(1, n_treated + 1)})
    return cands, treated, pd.Series(ids[chosen], dtype="string")


def _iterated(seed, effect):
    from geo_sppa.evaluation.schemes import _effect

    cands, treated, match = _population(seed, effect=effect)
    span = (date(2011, 1, 1), date(2016, 12, 31))
    periods = [scheme_periods(date(2014, 1, 1), data=span)[0]] * len(treated)
    edges = pd.DatetimeIndex([pd.Timestamp(y, 1, 1) for y in range(2011, 2018)])
    effect_found, fit, n_fitted, rounds = _effect(cands, treated, match, periods, edges, span, 1.0)
    assert n_fitted == len(cands.counts)  # the treated sites are in the SPF fit
    assert rounds[1] and rounds[0] >= 2  # refitted until theta settled
    return effect_found.overall


def test_top_sites_treated_with_no_effect_give_theta_near_one():
    """The top 200 of 5,000 by before count, untreated: theta covers 1, mean within 3% of 1.

    With the treated sites left out of the SPF fit this gave about 1.17, its interval rarely
    covering 1 (the prior described a population without its upper tail).
    """
    found = [_iterated(seed, 1.0) for seed in range(5)]
    # the interval leaves out the SPF's own estimation error: about 80% cover, not 95%
    assert sum(o.theta_low <= 1 <= o.theta_high for o in found) >= 4
    assert np.mean([o.theta for o in found]) == pytest.approx(1.0, abs=0.03)
    assert all(o.naive_ratio < o.theta_low for o in found)  # regression to the mean


def test_top_sites_with_a_planted_30_percent_reduction_recover_it():
    """The same sites with 30% fewer collisions after: theta's interval covers 0.7, not 1."""
    found = [_iterated(seed, 0.7) for seed in range(5)]
    assert all(o.theta_high < 1 for o in found)
    assert sum(o.theta_low <= 0.7 <= o.theta_high for o in found) >= 4
    assert np.mean([o.theta for o in found]) == pytest.approx(0.7, abs=0.04)


def test_footprint_wins_over_the_site_id_in_radius_mode(tmp_path):
    """clusters.csv's id and point say one cell, its footprint another: the footprint's is used.

    Without the footprint column the id is used, as before.
    """
    from geo_sppa.evaluation.schemes import scheme_evaluation
    from geo_sppa.io import read_collisions
    from geo_sppa.io.treated import read_sites, read_treated

    collisions = read_collisions(_collision_csv(tmp_path, np.random.default_rng(1))).data
    header = "site_id,x,y,total,footprint\n"
    row = "C500050N300050,500050,300050,9,R501250.0_301650.0\n"
    treated_csv = _write(tmp_path, "site_id,treatment_date\nC500050N300050,2014-07-01\n")
    found = {}
    for name, text in (("with", header + row), ("without", "site_id,x,y,total\n" + row[:-20])):
        sites = read_sites(_write(tmp_path, text, f"clusters_{name}.csv"))
        treated = read_treated(treated_csv, sites=sites).data
        result = scheme_evaluation(
            collisions, treated, footprints=sites.set_index("site_id")["footprint"]
        )
        found[name] = result.sites.iloc[0]["candidate_id"]
    assert found == {"with": "C501250N301650", "without": "C500050N300050"}


def test_footprints_name_junctions_link_spans_and_radius_centres():
    """Network footprints: ``J...`` its junction, ``L<route>@<a>:<b>`` the segments it spans."""
    from geo_sppa.evaluation.schemes import _matched

    ids = ["J1_2", "Sr9@0", "Sr9@100", "Sr9@200", "J5_5"]
    cands = gpd.GeoDataFrame(
        {"kind": ["junction", "link", "link", "link", "junction"]}, index=ids,
        geometry=gpd.points_from_xy([0, 50, 150, 250, 900], [0] * 5), crs="EPSG:27700",
    )  # fmt: skip
    treated = gpd.GeoDataFrame(
        {"site_id": ["J1_2", "Lr9@0", "J5_5", "Lr9@200"], "site_type": ["junction", "link",
         "junction", "link"], "footprint": ["Lr9@120:180", "J1_2", pd.NA, "Lr9@40:260"]},
        geometry=gpd.points_from_xy([0, 50, 900, 250], [0] * 4), crs="EPSG:27700",
    )  # fmt: skip
    match, _ = _matched(treated, cands, mode="network", length_m=100, max_m=100)
    # ids say J1_2, Sr9@0(+100), J5_5, Sr9@200; the footprints (where given) win
    assert list(match) == ["Sr9@100", "J1_2", "J5_5", "Sr9@0;Sr9@100;Sr9@200"]
