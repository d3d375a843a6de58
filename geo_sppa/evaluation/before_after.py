"""The empirical Bayes before/after evaluation of treated sites (Hauer's method).

For each treated site ``i`` the inputs are the collisions observed in the before and after
periods, the safety performance function's prediction ``mu`` for each year (a site of its kind
with its covariates, one whole year), the share of each year inside each period (the
*exposure*: 1 for a whole year, less for a partial year or one cut by a works period), and
the SPF's negative binomial dispersion ``k`` (variance ``mu + k mu^2``). Then, as in Hauer
(1997) *Observational Before-After Studies in Road Safety*, chapters 6-9, Hauer, Harwood,
Council and Griffith (2002) "Estimating safety by the empirical Bayes method: a tutorial",
TRR 1784, and the Highway Safety Manual (AASHTO 2010) Part B, Chapter 9, Appendix 9A:

- SPF before and after: ``P_b = sum_y e_b(y) mu(y)`` and ``P_a = sum_y e_a(y) mu(y)``;
- EB weight ``w = 1 / (1 + k P_b)``;
- EB expected before ``m_b = w P_b + (1 - w) K_b`` with ``Var(m_b) = (1 - w) m_b``
  (HSM eq. 9A.1-5);
- the SPF ratio ``r = P_a / P_b`` carries the trend and the change in period length;
- expected after without treatment ``pi = r m_b`` with ``Var(pi) = r^2 Var(m_b) =
  pi r (1 - w)`` (HSM eq. 9A.1-6 and 9A.1-10);
- observed after ``lambda = K_a``, Poisson, so ``Var(lambda) = lambda``;
- the index of effectiveness, corrected for the bias of a ratio (Hauer 1997, eq. 4.4;
  HSM eq. 9A.1-11) ``theta = (lambda / pi) / (1 + Var(pi) / pi^2)``, with
  ``Var(theta) = theta^2 (Var(lambda) / lambda^2 + Var(pi) / pi^2) / (1 + Var(pi) / pi^2)^2``
  (Hauer 1997, eq. 4.6; HSM eq. 9A.1-13), and the approximate 95% interval
  ``theta +- 1.96 SE`` (clipped at 0);
- overall: ``lambda`` and ``pi`` and their variances summed over the sites (the sites are
  independent), then the same two formulae; with no collision after at any site the upper
  limit is the exact Poisson one, ``-ln(0.025) / pi``, as per site.

``theta`` 0.7 means 30% fewer collisions than expected had the site not been treated; an
interval covering 1 is no evidence of an effect. Beside it, the *naive* before/after ratio
compares the after count with the before count scaled to the after period's length,
``(K_a / T_a) / (K_b / T_b)`` (``T`` in exposure years), with no correction for regression to
the mean or trend: at sites chosen for their high before counts it over-states the effect.

Flags, per site: ``partial_years`` (a period holds part of a calendar year: a treatment date
inside a year, a works period, or the data ending mid-year; the exposure is scaled by the
fraction of the year, so the estimate stands, the flag only says so) and ``short_after`` (an
after period shorter than ``min_after_years``, 1 year by default: too little to judge a site
on, so the site is reported but left out of the overall estimate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from geo_sppa.errors import InputError

__all__ = [
    "EffectEstimate",
    "BeforeAfter",
    "before_after_effect",
    "effect_index",
    "group_effect",
    "Z_95",
]

#: The normal quantile of a two-sided 95% interval.
Z_95 = 1.959963984540054
#: The exact 97.5% upper limit of a Poisson mean when no event was seen (``-ln 0.025``).
_NONE_SEEN_UPPER = 3.688879454113936


@dataclass(frozen=True)
class EffectEstimate:
    """The overall effect of the treatment over a group of sites.

    Attributes
    ----------
    n_sites
        Sites in the estimate (``short_after`` sites are left out).
    observed_before, observed_after
        Collisions observed in the before and after periods, summed over the sites.
    expected_after, expected_after_sd
        ``pi``, the collisions expected after had the sites not been treated, and its standard
        deviation.
    theta, theta_se, theta_low, theta_high
        The index of effectiveness, its standard error and approximate 95% interval.
    naive_expected_after, naive_ratio
        The before count scaled to the after period's length, and observed after over it.
    n_short_after
        Sites left out because their after period was too short.
    """

    n_sites: int
    observed_before: int
    observed_after: int
    expected_after: float
    expected_after_sd: float
    theta: float
    theta_se: float
    theta_low: float
    theta_high: float
    naive_expected_after: float
    naive_ratio: float
    n_short_after: int = 0

    @property
    def change_pct(self) -> float:
        """Return the change in collisions against expectation, percent (``100 (theta - 1)``)."""
        return 100.0 * (self.theta - 1.0)

    def as_row(self) -> dict[str, float | int]:
        """Return the estimate as one flat row (the ``evaluate_overall.csv`` columns)."""
        from dataclasses import asdict

        return {**asdict(self), "change_pct": self.change_pct}


@dataclass(frozen=True)
class BeforeAfter:
    """The before/after evaluation: one row per site and the overall estimate.

    Attributes
    ----------
    sites
        Indexed like the inputs: ``before_years``, ``after_years`` (exposure, years),
        ``observed_before``, ``observed_after``, ``spf_before``, ``spf_after``, ``eb_weight``,
        ``eb_before``, ``trend_ratio``, ``expected_after``, ``expected_after_sd``, ``theta``,
        ``theta_se``, ``theta_low``, ``theta_high``, ``change_pct``, ``naive_expected_after``,
        ``naive_ratio``, ``partial_years``, ``short_after``.
    overall
        The estimate over every site with enough after period.
    k
        The dispersion used.
    """

    sites: pd.DataFrame
    overall: EffectEstimate
    k: float


def effect_index(
    observed_after: ArrayLike,
    expected_after: ArrayLike,
    var_expected: ArrayLike,
) -> tuple[np.ndarray, np.ndarray]:
    """Return Hauer's bias-corrected index of effectiveness and its standard error.

    ``theta = (lambda / pi) / (1 + Var(pi) / pi^2)`` and
    ``Var(theta) = theta^2 (1 / lambda + Var(pi) / pi^2) / (1 + Var(pi) / pi^2)^2``, written so
    that ``lambda = 0`` gives ``theta = 0`` with the standard error of the ``pi`` part only (the
    ``theta^2 / lambda`` term is ``lambda / (pi (1 + c))^2``). NaN where ``pi`` is 0.
    """
    lam = np.asarray(observed_after, dtype=float)
    pi = np.asarray(expected_after, dtype=float)
    var = np.asarray(var_expected, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(pi > 0, var / pi**2, np.nan)
        theta = np.where(pi > 0, (lam / pi) / (1 + c), np.nan)
        var_theta = (lam / (pi * (1 + c)) ** 2 + theta**2 * c) / (1 + c) ** 2
    return theta, np.sqrt(var_theta)


def _period_sums(
    frame: pd.DataFrame, exposure: pd.DataFrame, mu: pd.DataFrame, what: str
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Return the observed total, the SPF total and the exposure years of one period per site."""
    years = list(exposure.columns)
    missing = [y for y in years if y not in mu.columns]
    if missing:
        raise InputError(
            f"before/after: the SPF has no prediction for {what} year(s) {missing}; "
            "predict every year of both periods"
        )
    e = exposure.reindex(index=mu.index).fillna(0.0).astype(float)
    observed = frame.reindex(index=mu.index).fillna(0).sum(axis=1)
    return observed, (mu[years] * e).sum(axis=1), e.sum(axis=1)


def before_after_effect(
    observed_before: pd.DataFrame,
    observed_after: pd.DataFrame,
    mu: pd.DataFrame,
    exposure_before: pd.DataFrame,
    exposure_after: pd.DataFrame,
    *,
    k: float,
    min_after_years: float = 1.0,
) -> BeforeAfter:
    """Return the EB before/after evaluation of treated sites (see the module docstring).

    Parameters
    ----------
    observed_before, observed_after
        Collisions per site (rows) and calendar year (columns) inside each period.
    mu
        The SPF's prediction per site and whole year, covering every year of both periods.
    exposure_before, exposure_after
        The share (0-1) of each year inside each period per site (rows like ``mu``).
    k
        The SPF's negative binomial dispersion (``Var = mu + k mu^2``), at least 0.
    min_after_years
        Sites with less after-period exposure are flagged ``short_after`` and left out of the
        overall estimate.

    Returns
    -------
    BeforeAfter
        Per site and overall estimates.

    Raises
    ------
    InputError
        ``k`` negative or not finite, a period year with no prediction, or a site whose SPF
        before total is not positive.
    """
    if not np.isfinite(k) or k < 0:
        raise InputError(f"before/after: dispersion k must be a number >= 0, got {k!r}")
    k_b, p_b, t_b = _period_sums(observed_before, exposure_before, mu, "before")
    k_a, p_a, t_a = _period_sums(observed_after, exposure_after, mu, "after")
    if (p_b <= 0).any():
        first = p_b.index[(p_b <= 0).to_numpy()][0]
        raise InputError(
            f"before/after: site {first} has no before period (or an SPF prediction of 0); "
            "give every site a before period with data"
        )
    w = 1.0 / (1.0 + k * p_b)
    eb = w * p_b + (1 - w) * k_b
    r = p_a / p_b
    pi = r * eb
    var_pi = pi * r * (1 - w)
    theta, se = effect_index(k_a, pi, var_pi)
    naive_expected = k_b * t_a / t_b
    partial = _partial(exposure_before, mu.index) | _partial(exposure_after, mu.index)
    sites = pd.DataFrame(
        {
            "before_years": t_b, "after_years": t_a,
            "observed_before": k_b.astype("int64"), "observed_after": k_a.astype("int64"),
            "spf_before": p_b, "spf_after": p_a, "eb_weight": w, "eb_before": eb,
            "trend_ratio": r, "expected_after": pi, "expected_after_sd": np.sqrt(var_pi),
            "theta": theta, "theta_se": se,
            "theta_low": np.clip(theta - Z_95 * se, 0, None),
            "theta_high": np.where(k_a > 0, theta + Z_95 * se, _NONE_SEEN_UPPER / pi),
            "change_pct": 100 * (theta - 1), "naive_expected_after": naive_expected,
            "naive_ratio": _ratio(k_a, naive_expected),
            "partial_years": partial, "short_after": t_a < min_after_years,
        },
        index=mu.index,
    )  # fmt: skip
    return BeforeAfter(sites=sites, overall=_overall(sites, var_pi), k=float(k))


def _partial(exposure: pd.DataFrame, index: pd.Index) -> pd.Series:
    """Return True per site where a year is only partly inside the period."""
    e = exposure.reindex(index=index).fillna(0.0).to_numpy(dtype=float)
    return pd.Series(((e > 1e-9) & (e < 1 - 1e-9)).any(axis=1), index=index)


def _ratio(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Return ``a / b``, NaN where ``b`` is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.asarray(b) > 0, np.asarray(a) / np.asarray(b), np.nan)


def group_effect(sites: pd.DataFrame) -> EffectEstimate:
    """Return the overall estimate over some rows of :attr:`BeforeAfter.sites` (e.g. one kind).

    ``short_after`` rows are left out, as in the overall estimate.
    """
    return _overall(sites, sites["expected_after_sd"] ** 2)


def _overall(sites: pd.DataFrame, var_pi: pd.Series) -> EffectEstimate:
    """Return the estimate over the sites with enough after period (sums of ``lambda``, ``pi``)."""
    used = ~sites["short_after"].to_numpy(dtype=bool)
    lam = float(sites["observed_after"][used].sum())
    pi = float(sites["expected_after"][used].sum())
    var = float(var_pi[used].sum())
    theta, se = (float(v) for v in effect_index(lam, pi, var))
    naive = float(sites["naive_expected_after"][used].sum())
    return EffectEstimate(
        n_sites=int(used.sum()),
        observed_before=int(sites["observed_before"][used].sum()),
        observed_after=int(lam),
        expected_after=pi,
        expected_after_sd=float(np.sqrt(var)),
        theta=theta,
        theta_se=se,
        theta_low=max(theta - Z_95 * se, 0.0) if np.isfinite(theta) else float("nan"),
        theta_high=theta + Z_95 * se if lam > 0 or pi <= 0 else _NONE_SEEN_UPPER / pi,
        naive_expected_after=naive,
        naive_ratio=float(_ratio(lam, naive)),
        n_short_after=int((~used).sum()),
    )
