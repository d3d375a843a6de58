"""The ward model: incidents against deprivation across wards, and its leave-one-out refits.

Models
------
``nb`` (default)
    Negative binomial (NB2, variance ``mu + alpha mu^2``) with ``log(population)`` offset; alpha is
    estimated by maximum likelihood (statsmodels ``NegativeBinomial``). Ward counts of crime and ASB
    are over-dispersed, so a Poisson model flags far too many wards.
``poisson``
    Poisson GLM with ``log(population)`` offset.
``ols``
    Ordinary least squares of ``rate_per_1000`` on the measure: the scatter analysts know. Its
    interval is the usual t-based prediction interval of the refit, turned into counts with the
    ward's population.

The interval and p-value from a count model use the predictive distribution of the refit: the NB
or Poisson count mixed over the normal uncertainty of the refit's log mean (``x' Cov(beta) x``,
Gauss-Hermite quadrature). The plug-in interval (NB at the refit mean) ignored that uncertainty and
was too narrow: on clean simulated data of 30 wards it put about 8% of wards outside a 95% interval.
The NB alpha is held at its estimate (its uncertainty is not propagated).

Every statsmodels or linear-algebra failure reaches the caller as one-line :class:`InputError`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from geo_sppa.errors import InputError

__all__ = [
    "CIRCULARITY_WARNING",
    "CIRCULARITY_WARNING_NO_DOMAINS",
    "MIN_WARDS",
    "MIN_WARDS_WITH_INCIDENTS",
    "MODELS",
    "POISSON_DISPERSION_LIMIT",
    "LeaveOneOut",
    "ModelFit",
    "check_ward_table",
    "fit_deprivation_model",
    "fitted_model",
    "incidents_label",
    "leave_one_out",
    "poisson_dispersion_warning",
    "predicted_counts",
]

MODELS = ("nb", "poisson", "ols")
#: Fewest wards each model can be fitted to (parameters + 3, so a leave-one-out refit keeps 2 df).
MIN_WARDS = {"nb": 6, "poisson": 5, "ols": 5}
#: Fewest wards with a non-zero count: with fewer, a count model's likelihood has no interior
#: maximum (statsmodels fails with NaN deviance) and no model says anything about deprivation.
MIN_WARDS_WITH_INCIDENTS = 3
CIRCULARITY_WARNING = (
    "the IMD crime domain is built from recorded crime, so regressing crime or ASB on the "
    "overall IMD is partly circular; consider --measure imd_no_crime_score "
    "(the IMD recombined without the crime domain)"
)
#: The same warning when the ward table has no ``imd_no_crime_score`` to recommend.
CIRCULARITY_WARNING_NO_DOMAINS = (
    "the IMD crime domain is built from recorded crime, so regressing crime or ASB on the "
    "overall IMD is partly circular; the IMD without the crime domain needs the seven domain "
    "ranks, which this IMD file does not have: pass an Indices of Deprivation file with the "
    "domain ranks (e.g. IoD 2019 File 2) to model on imd_no_crime_score"
)
#: Pearson dispersion above which (with the chi-squared test at 5%) a Poisson fit is refused as
#: honest: its intervals are too narrow by about sqrt(dispersion) and it flags far too many wards.
POISSON_DISPERSION_LIMIT = 1.5
_OVERALL_MEASURES = ("imd_score", "imd_exp_score", "imd_rank_popweighted")
_ALPHA_FLOOR = 1e-8


@dataclass(frozen=True)
class ModelFit:
    """A fitted ward model.

    Attributes
    ----------
    model
        ``nb``, ``poisson`` or ``ols``.
    measure
        The deprivation column used as the predictor.
    params
        Coefficient by name (``const``, the measure); log-rate per 1 resident for count models, rate
        per 1,000 for OLS.
    bse
        Standard errors by name.
    alpha
        NB dispersion (variance ``mu + alpha mu^2``); 0 for Poisson, None for OLS.
    aic
        Akaike information criterion (NB counts alpha as a parameter).
    n
        Number of wards.
    pearson_dispersion
        Pearson chi-squared / residual df (about 1 when the model's variance fits).
    notes
        One-line notes (warnings, convergence).
    dispersion_p
        Poisson only: p-value of the Pearson chi-squared test of no over-dispersion
        (``P(chi2(df_resid) >= Pearson chi-squared)``); None for the other models.
    warning
        A warning the run summary must show ("" when none): a Poisson fit whose dispersion is
        above :data:`POISSON_DISPERSION_LIMIT` and significant at 5%.

    """

    model: str
    measure: str
    params: dict[str, float]
    bse: dict[str, float]
    alpha: float | None
    aic: float
    n: int
    pearson_dispersion: float
    notes: tuple[str, ...] = field(default=())
    dispersion_p: float | None = None
    warning: str = ""


def poisson_dispersion_warning(dispersion: float, p: float) -> str:
    """Return the run-summary warning for a Poisson fit, or "" when its dispersion is acceptable.

    Parameters
    ----------
    dispersion
        Pearson chi-squared / residual df.
    p
        p-value of the Pearson chi-squared test of no over-dispersion.

    Returns
    -------
    str
        The warning text, or "" when ``dispersion <= POISSON_DISPERSION_LIMIT`` or ``p >= 0.05``.

    """
    if dispersion <= POISSON_DISPERSION_LIMIT or p >= 0.05:
        return ""
    return (
        f"the Poisson model does not fit: Pearson dispersion {dispersion:.1f} (chi-squared test "
        f"p = {p:.2g}; above {POISSON_DISPERSION_LIMIT:g} means the counts vary far more than "
        "Poisson allows), so its intervals are too narrow and it flags too many wards; "
        "use --model nb (the default)"
    )


@dataclass(frozen=True)
class LeaveOneOut:
    """Each ward's prediction from the model refitted without it.

    Attributes
    ----------
    mean
        Predicted count of each ward by the refit without it.
    low, high
        The ``level`` prediction interval of the count.
    p
        Two-sided p-value of the ward's observed count under the refit's predictive distribution
        (count models: ``min(1, 2 min(P(Y <= y), P(Y >= y)))``; OLS: the t test of the rate
        against the prediction, with the prediction's standard error).

    """

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    p: np.ndarray


def incidents_label(category: str | None) -> str:
    """Return how messages name the incidents: ``"'Drugs' incidents"`` or ``"incidents"``."""
    return f"{category!r} incidents" if category and category != "all" else "incidents"


def _design(frame: pd.DataFrame, measure: str) -> pd.DataFrame:
    x = frame[[measure]].astype(float)
    return x.assign(const=1.0)[["const", measure]].reset_index(drop=True)


class _NotConverged(Exception):
    """The NB maximum likelihood did not converge (BFGS, then Newton from where it stopped)."""

    def __init__(self, alpha: float, iterations: int) -> None:
        super().__init__(f"alpha {alpha:.3g} after {iterations} iterations")
        self.alpha = alpha


#: Iterations of BFGS, then of the Newton polish when BFGS stops short.
_NB_MAXITER = 500
_NEWTON_MAXITER = 50
#: A BFGS alpha below this that has not converged is heading for the Poisson boundary (alpha 0);
#: Newton is not tried there (its Hessian in 1/alpha is slow and the answer is alpha = 0).
_ALPHA_BOUNDARY = 1e-3


def _nb_fit(y: np.ndarray, x: pd.DataFrame, offset: np.ndarray) -> tuple[Any, float, list[str]]:
    """Return the NB2 GLM at the maximum-likelihood alpha, the alpha and notes.

    BFGS stalls on badly scaled measures (a rank in the tens of thousands leaves alpha at its
    start value), so a fit BFGS does not finish is polished by Newton's method from where it
    stopped; one neither finishes raises :class:`_NotConverged`, never a result, unless no alpha
    beat the Poisson likelihood (Poisson data: the maximum is on the boundary alpha = 0, the
    Poisson model, with a note).
    """
    import statsmodels.api as sm
    from statsmodels.discrete.discrete_model import NegativeBinomial

    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = sm.GLM(y, x, family=sm.families.Poisson(), offset=offset).fit()
        model = NegativeBinomial(y, x, offset=offset, loglike_method="nb2")
        nb = model.fit(
            start_params=np.append(start.params.to_numpy(), 0.1),
            method="bfgs",
            maxiter=_NB_MAXITER,
            disp=0,
        )
        at_boundary = float(nb.params["alpha"]) < _ALPHA_BOUNDARY
        if not nb.mle_retvals.get("converged", True) and not at_boundary:
            nb = model.fit(
                start_params=np.asarray(nb.params),
                method="newton",
                maxiter=_NEWTON_MAXITER,
                disp=0,
            )
        alpha = float(nb.params["alpha"])
        if not nb.mle_retvals.get("converged", True):
            if not at_boundary and float(start.llf) < float(nb.llf) - 1e-6:
                raise _NotConverged(alpha, _NB_MAXITER + _NEWTON_MAXITER)
            alpha = _ALPHA_FLOOR  # no alpha beats the Poisson fit: the maximum is at alpha = 0
    if not np.isfinite(alpha) or alpha < _ALPHA_FLOOR:
        alpha = _ALPHA_FLOOR
        notes.append(
            "NB alpha estimated at 0: no over-dispersion, the NB model is the Poisson model"
        )
    family = sm.families.NegativeBinomial(alpha=alpha)
    return sm.GLM(y, x, family=family, offset=offset).fit(), alpha, notes


def _fit(
    model: str, y: np.ndarray, x: pd.DataFrame, population: np.ndarray
) -> tuple[Any, float | None, list[str]]:
    """Return (results, alpha, notes) for one fit; ``results`` has ``params`` and ``predict``."""
    import statsmodels.api as sm

    offset = np.log(population)
    if model == "ols":
        return sm.OLS(1000 * y / population, x).fit(), None, []
    if model == "poisson":
        return sm.GLM(y, x, family=sm.families.Poisson(), offset=offset).fit(), 0.0, []
    return _nb_fit(y, x, offset)


def _fit_or_explain(
    model: str, y: np.ndarray, x: pd.DataFrame, population: np.ndarray, *, what: str, measure: str
) -> tuple[Any, float | None, list[str]]:
    """Return :func:`_fit`, turning any statsmodels or linear-algebra failure into InputError."""
    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    try:
        with np.errstate(all="ignore"):
            results, alpha, notes = _fit(model, y, x, population)
        params = np.asarray(results.params, dtype=float)
        if not np.isfinite(params).all():
            raise ValueError("the coefficients are not finite")
    except InputError:
        raise
    except _NotConverged as exc:
        raise InputError(
            f"outliers: the nb model of {what} on {measure} did not converge ({exc}); "
            f"a result would be unreliable: rescale {measure} (e.g. a rank divided by 1,000), "
            "choose another --measure such as imd_score, or use --model ols"
        ) from exc
    except (PerfectSeparationError, np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(". ")
        raise InputError(
            f"outliers: the {model} model of {what} on {measure} could not be fitted ({reason}); "
            "try --model ols, a broader --category or more months"
        ) from exc
    return results, alpha, notes


def _check_columns(wards: pd.DataFrame, measure: str, model: str) -> None:
    if model not in MODELS:
        raise InputError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")
    missing = [c for c in ("count", "population", measure) if c not in wards.columns]
    if missing:
        measures = [c for c in wards.columns if c.endswith("_score") or c.startswith("imd_")]
        raise InputError(
            f"ward table has no column {', '.join(missing)}; deprivation measures present: "
            f"{', '.join(measures) or 'none (run the ward table with an IMD file)'}; "
            "pass one of them as the measure"
        )


def check_ward_table(
    wards: pd.DataFrame, measure: str, model: str, *, category: str | None = None
) -> None:
    """Raise :class:`InputError` unless ``model`` can be fitted to ``wards`` on ``measure``.

    Parameters
    ----------
    wards
        The ward table (``count``, ``population``, ``ward_name`` and ``measure``).
    measure, model
        The deprivation column and the model (:data:`MODELS`).
    category
        Names the incidents in the message.

    Raises
    ------
    InputError
        Unknown model, a missing column, zero population, too few wards (:data:`MIN_WARDS`),
        missing measure values, or fewer than :data:`MIN_WARDS_WITH_INCIDENTS` wards with incidents.

    """
    _check_columns(wards, measure, model)
    if (wards["population"] <= 0).any():
        bad = ", ".join(wards.loc[wards["population"] <= 0, "ward_name"].astype(str))
        raise InputError(
            f"wards with zero population cannot be modelled: {bad}; merge them or drop them"
        )
    usable = wards[measure].notna() & (wards["population"] > 0)
    if usable.sum() < MIN_WARDS[model]:
        raise InputError(
            f"the {model} model needs at least {MIN_WARDS[model]} wards with a population and a "
            f"{measure} value; found {int(usable.sum())}: use a larger area or a simpler model"
        )
    if wards[measure].isna().any():
        raise InputError(
            f"{measure} is missing for {int(wards[measure].isna().sum())} ward(s); "
            "every ward needs a value"
        )
    with_incidents = int((pd.to_numeric(wards["count"], errors="coerce") > 0).sum())
    if with_incidents < MIN_WARDS_WITH_INCIDENTS:
        if with_incidents == 0:
            wards_text = "no ward has"
        else:
            wards_text = f"only {with_incidents} ward{'s have' if with_incidents > 1 else ' has'}"
        raise InputError(
            f"outliers: {wards_text} any {incidents_label(category)}; a model needs at least "
            f"{MIN_WARDS_WITH_INCIDENTS} wards with incidents to relate counts to {measure}: "
            "choose a broader --category or more months"
        )


def _circularity_note(wards: pd.DataFrame) -> str:
    column = "imd_no_crime_score"
    has_no_crime = column in wards.columns and bool(wards[column].notna().all())
    return CIRCULARITY_WARNING if has_no_crime else CIRCULARITY_WARNING_NO_DOMAINS


def fitted_model(
    wards: pd.DataFrame, measure: str, model: str, *, what: str = "incidents"
) -> tuple[ModelFit, Any]:
    """Return the fit of every ward as :class:`ModelFit` and as statsmodels results.

    ``wards`` must pass :func:`check_ward_table`; ``what`` names the incidents in errors.
    """
    y = wards["count"].to_numpy(dtype=float)
    pop = wards["population"].to_numpy(dtype=float)
    x = _design(wards, measure)
    results, alpha, notes = _fit_or_explain(model, y, x, pop, what=what, measure=measure)
    dispersion_p, warning = None, ""
    if model == "ols":
        dispersion = float(results.scale)
        aic = float(results.aic)
    else:
        dispersion = float(results.pearson_chi2 / results.df_resid)
        aic = float(results.aic) + (2.0 if model == "nb" else 0.0)
    if model == "poisson":
        dispersion_p = float(stats.chi2.sf(results.pearson_chi2, results.df_resid))
        warning = poisson_dispersion_warning(dispersion, dispersion_p)
    if measure in _OVERALL_MEASURES:
        notes = [*notes, _circularity_note(wards)]
    fit = ModelFit(
        model=model,
        measure=measure,
        params={k: float(v) for k, v in results.params.items()},
        bse={k: float(v) for k, v in results.bse.items()},
        alpha=alpha,
        aic=aic,
        n=len(y),
        pearson_dispersion=dispersion,
        notes=tuple(notes),
        dispersion_p=dispersion_p,
        warning=warning,
    )
    return fit, results


def fit_deprivation_model(
    wards: pd.DataFrame,
    *,
    measure: str = "imd_score",
    model: str = "nb",
    category: str | None = None,
) -> ModelFit:
    """Return the model of incidents on ``measure`` fitted to every ward (see module docstring).

    Parameters
    ----------
    wards
        The ward table (``count``, ``population``, ``measure``).
    measure, model
        The deprivation column and the model (:data:`MODELS`).
    category
        Only names the incidents in error messages.

    Returns
    -------
    ModelFit
        The fit.

    """
    check_ward_table(wards, measure, model, category=category)
    fit, _ = fitted_model(wards, measure, model, what=incidents_label(category))
    return fit


#: Gauss-Hermite nodes over the refit's linear-predictor uncertainty (12 are ample).
_QUADRATURE_NODES = 12


def _count_distribution(model: str, mean: np.ndarray, alpha: float | None) -> Any:
    """Return the frozen scipy count distribution(s) at ``mean``."""
    if model == "poisson" or alpha is None or alpha <= _ALPHA_FLOOR:
        return stats.poisson(mean)
    size = 1.0 / alpha
    return stats.nbinom(size, size / (size + mean))


def _mixture_quantile(cdf: Any, q: float, dists: Any) -> float:
    """Return the smallest count k with ``cdf(k) >= q``: bisection between the nodes' quantiles."""
    lo = float(np.min(dists.ppf(q))) - 1
    hi = float(np.max(dists.ppf(q)))
    if not np.isfinite(hi):
        return hi
    while hi - lo > 1:
        mid = float(np.floor((lo + hi) / 2))
        lo, hi = (lo, mid) if cdf(mid) >= q - 1e-12 else (mid, hi)
    return hi


def _interval_and_p(
    model: str,
    mean: float,
    se_log_mean: float,
    alpha: float | None,
    level: float,
    observed: float,
) -> tuple[float, float, float]:
    """Return the ``level`` prediction interval and two-sided p-value of ``observed``.

    The predictive distribution is the NB/Poisson mixture over ``log(mean) ~ N(log(mean),
    se_log_mean^2)`` (the refit's parameter uncertainty, by Gauss-Hermite quadrature).
    """
    nodes, weights = np.polynomial.hermite_e.hermegauss(_QUADRATURE_NODES)
    weights = weights / weights.sum()
    dists = _count_distribution(model, mean * np.exp(se_log_mean * nodes), alpha)

    def cdf(k: float) -> float:
        return float(np.asarray(dists.cdf(k)) @ weights) if k >= 0 else 0.0

    tail = (1 - level) / 2
    low = _mixture_quantile(cdf, tail, dists)
    high = _mixture_quantile(cdf, 1 - tail, dists)
    below, at_or_above = cdf(observed), 1.0 - cdf(observed - 1)
    return low, high, min(1.0, 2 * min(below, at_or_above))


def _prediction(
    results: Any,
    alpha: float | None,
    model: str,
    xi: pd.DataFrame,
    population: float,
    level: float,
    *,
    observed: float | None,
) -> tuple[float, float, float, float]:
    """Return one ward's predicted count, ``level`` interval and p-value from a fit without it.

    Count models: the NB/Poisson mixture over the fit's parameter uncertainty; OLS: the t-based
    prediction interval of the rate, times population / 1,000. ``observed`` None: a ward whose
    count must not be read (suppressed); its p-value is NaN.
    """
    if model == "ols":
        frame = results.get_prediction(xi).summary_frame(alpha=1 - level)
        centre, scale = float(frame["mean"].iloc[0]), population / 1000
        low, high = (float(frame[c].iloc[0]) * scale for c in ("obs_ci_lower", "obs_ci_upper"))
        if observed is None:
            return centre * scale, low, high, float("nan")
        se_obs = float(np.sqrt(frame["mean_se"].iloc[0] ** 2 + results.scale))
        t = (1000 * observed / population - centre) / se_obs
        return centre * scale, low, high, float(2 * stats.t.sf(abs(t), results.df_resid))
    row = xi.to_numpy()[0]
    mean = float(np.exp(row @ results.params.to_numpy()) * population)
    se = float(np.sqrt(row @ np.asarray(results.cov_params()) @ row))
    low, high, p = _interval_and_p(
        model, mean, se, alpha, level, 0.0 if observed is None else observed
    )
    return mean, low, high, (float("nan") if observed is None else p)


def leave_one_out(
    wards: pd.DataFrame,
    measure: str,
    model: str,
    *,
    level: float = 0.95,
    what: str = "incidents",
) -> LeaveOneOut:
    """Return each ward's mean and ``level`` prediction interval from the refit without it.

    Count models: the NB/Poisson quantiles at the refit mean. OLS: the t-based prediction interval
    of the rate, times population / 1,000.
    """
    y = wards["count"].to_numpy(dtype=float)
    pop = wards["population"].to_numpy(dtype=float)
    x = _design(wards, measure)
    n = len(y)
    mean, low, high, p = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        results, alpha, _ = _fit_or_explain(
            model, y[keep], x[keep].reset_index(drop=True), pop[keep], what=what, measure=measure
        )
        mean[i], low[i], high[i], p[i] = _prediction(
            results, alpha, model, x.iloc[[i]], pop[i], level, observed=y[i]
        )
    return LeaveOneOut(mean=mean, low=low, high=high, p=p)


def predicted_counts(
    train: pd.DataFrame,
    new: pd.DataFrame,
    measure: str,
    model: str,
    *,
    level: float = 0.95,
    what: str = "incidents",
) -> LeaveOneOut:
    """Return the prediction and ``level`` interval of each ``new`` ward from a fit to ``train``.

    The wards of ``new`` are not in the fit, so the prediction is the one
    :func:`leave_one_out` makes for a ward left out (count models: the NB/Poisson mixture over the
    fit's parameter uncertainty; OLS: the t-based prediction interval). Their counts are never
    read: ``p`` is NaN. Used for wards whose counts are suppressed, whose counts must not reach
    any published figure.
    """
    pop = new["population"].to_numpy(dtype=float)
    y = train["count"].to_numpy(dtype=float)
    x_train = _design(train, measure)
    results, alpha, _ = _fit_or_explain(
        model, y, x_train, train["population"].to_numpy(dtype=float), what=what, measure=measure
    )
    x_new = _design(new, measure)
    n = len(new)
    mean, low, high = np.empty(n), np.empty(n), np.empty(n)
    for i in range(n):
        mean[i], low[i], high[i], _p = _prediction(
            results, alpha, model, x_new.iloc[[i]], pop[i], level, observed=None
        )
    return LeaveOneOut(mean=mean, low=low, high=high, p=np.full(n, np.nan))
