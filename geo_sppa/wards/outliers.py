"""Wards far from what their deprivation predicts.

:func:`deprivation_outliers` fits incidents against a deprivation measure across wards and flags
each ward whose observed count falls outside a leave-one-out (LOO) 95% prediction interval: the
model is refitted without the ward, which then cannot pull the fit towards itself, and the ward's
count is compared with the predictive distribution at the refitted mean.

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

The interval from a count model is the plug-in predictive distribution (NB or Poisson at the refit
mean); it ignores the uncertainty of the refit coefficients, so it is slightly narrow. With 20-odd
wards that is a small effect next to the over-dispersion, and ``large_residual`` (|studentized
residual| > 2) is reported beside it as a second opinion.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from geo_sppa.errors import InputError
from geo_sppa.wards.rates import LABEL_OVER, LABEL_UNDER

__all__ = [
    "CIRCULARITY_WARNING",
    "CIRCULARITY_WARNING_NO_DOMAINS",
    "MIN_WARDS_WITH_INCIDENTS",
    "MODELS",
    "ModelFit",
    "OutlierReport",
    "Outliers",
    "deprivation_outliers",
    "fit_deprivation_model",
    "outlier_report",
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


@dataclass(frozen=True)
class Outliers:
    """Outlier table and the model behind it.

    Attributes
    ----------
    data
        The input ward frame plus ``observed, expected, expected_rate_per_1000, loo_expected,
        pi_low, pi_high, studentized_residual, cooks_distance, outside_pi, large_residual,
        direction, label`` (counts; the interval is the LOO ``level`` prediction interval).
    fit
        The model fitted to every ward.
    level
        Prediction-interval level (0.95).
    notes
        One-line notes for the summary, including the flag rule.

    """

    data: pd.DataFrame
    fit: ModelFit
    level: float
    notes: tuple[str, ...] = field(default=())


def _design(frame: pd.DataFrame, measure: str) -> pd.DataFrame:
    x = frame[[measure]].astype(float)
    return x.assign(const=1.0)[["const", measure]]


def _fit(model: str, y: np.ndarray, x: pd.DataFrame, population: np.ndarray):
    """Return (results, alpha, notes) for one fit; ``results`` has ``params`` and ``predict``."""
    import statsmodels.api as sm
    from statsmodels.discrete.discrete_model import NegativeBinomial

    offset = np.log(population)
    notes: list[str] = []
    if model == "ols":
        return sm.OLS(1000 * y / population, x).fit(), None, notes
    if model == "poisson":
        return sm.GLM(y, x, family=sm.families.Poisson(), offset=offset).fit(), 0.0, notes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = sm.GLM(y, x, family=sm.families.Poisson(), offset=offset).fit()
        try:
            nb = NegativeBinomial(y, x, offset=offset, loglike_method="nb2").fit(
                start_params=np.append(start.params.to_numpy(), 0.1),
                method="bfgs",
                maxiter=500,
                disp=0,
            )
            alpha = float(nb.params["alpha"])
            converged = bool(nb.mle_retvals.get("converged", True))
        except (np.linalg.LinAlgError, ValueError):
            alpha, converged = _ALPHA_FLOOR, False
    if not np.isfinite(alpha) or alpha < _ALPHA_FLOOR:
        alpha = _ALPHA_FLOOR
        notes.append(
            "NB alpha estimated at 0: no over-dispersion, the NB model is the Poisson model"
        )
    if not converged:
        notes.append("NB maximum likelihood did not fully converge; alpha may be imprecise")
    glm = sm.GLM(y, x, family=sm.families.NegativeBinomial(alpha=alpha), offset=offset).fit()
    return glm, alpha, notes


def _fit_or_explain(
    model: str, y: np.ndarray, x: pd.DataFrame, population: np.ndarray, *, what: str, measure: str
):
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
    except (PerfectSeparationError, np.linalg.LinAlgError, ValueError, FloatingPointError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(". ")
        raise InputError(
            f"outliers: the {model} model of {what} on {measure} could not be fitted ({reason}); "
            "try --model ols, a broader --category or more months"
        ) from exc
    return results, alpha, notes


def _incidents_label(category: str | None) -> str:
    return f"{category!r} incidents" if category and category != "all" else "incidents"


def _check(wards: pd.DataFrame, measure: str, model: str, *, category: str | None = None) -> None:
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
    usable = wards[measure].notna() & (wards["population"] > 0)
    if (wards["population"] <= 0).any():
        bad = ", ".join(wards.loc[wards["population"] <= 0, "ward_name"].astype(str))
        raise InputError(
            f"wards with zero population cannot be modelled: {bad}; merge them or drop them"
        )
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
            f"outliers: {wards_text} any {_incidents_label(category)}; a model needs at least "
            f"{MIN_WARDS_WITH_INCIDENTS} wards with incidents to relate counts to {measure}: "
            "choose a broader --category or more months"
        )


def fit_deprivation_model(
    wards: pd.DataFrame,
    *,
    measure: str = "imd_score",
    model: str = "nb",
    category: str | None = None,
) -> ModelFit:
    """Return the model of incidents on ``measure`` fitted to every ward (see module docstring).

    ``category`` only names the incidents in error messages.
    """
    _check(wards, measure, model, category=category)
    fit, _, _ = _fit_all(wards, measure, model, what=_incidents_label(category))
    return fit


def _circularity_note(wards: pd.DataFrame) -> str:
    column = "imd_no_crime_score"
    has_no_crime = column in wards.columns and bool(wards[column].notna().all())
    return CIRCULARITY_WARNING if has_no_crime else CIRCULARITY_WARNING_NO_DOMAINS


def _fit_all(wards: pd.DataFrame, measure: str, model: str, *, what: str):
    y = wards["count"].to_numpy(dtype=float)
    pop = wards["population"].to_numpy(dtype=float)
    x = _design(wards, measure).reset_index(drop=True)
    results, alpha, notes = _fit_or_explain(model, y, x, pop, what=what, measure=measure)
    if model == "ols":
        dispersion = float(results.scale)
        aic = float(results.aic)
    else:
        dispersion = float(results.pearson_chi2 / results.df_resid)
        aic = float(results.aic) + (2.0 if model == "nb" else 0.0)
    if measure in ("imd_score", "imd_exp_score", "imd_rank_popweighted"):
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
    )
    return fit, results, x


def _interval(model: str, mean: float, alpha: float | None, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2
    if model == "poisson" or (alpha is not None and alpha <= _ALPHA_FLOOR):
        dist = stats.poisson(mean)
    else:
        size = 1.0 / alpha
        dist = stats.nbinom(size, size / (size + mean))
    return float(dist.ppf(tail)), float(dist.ppf(1 - tail))


def deprivation_outliers(
    wards: pd.DataFrame,
    *,
    measure: str = "imd_score",
    model: str = "nb",
    level: float = 0.95,
    category: str | None = None,
) -> Outliers:
    """Return each ward's observed and expected count, LOO prediction interval and outlier label.

    Parameters
    ----------
    wards
        The ward table (``ward_code, ward_name, population, count`` and ``measure``), e.g.
        ``ward_rates(...).data``; not modified.
    measure
        The deprivation column: ``imd_score``, a domain (``income_score``...),
        ``imd_no_crime_score`` (IMD recombined without the crime domain) or
        ``imd_rank_popweighted``.
    model
        ``nb`` (default), ``poisson`` or ``ols``.
    level
        Level of the leave-one-out prediction interval.
    category
        The incident category, used only to name the incidents in error messages.

    Returns
    -------
    Outliers
        ``data`` adds ``observed, expected, expected_rate_per_1000, loo_expected, pi_low, pi_high,
        studentized_residual, cooks_distance, outside_pi, large_residual, direction, label``.

    Raises
    ------
    InputError
        Missing columns or values, too few wards, fewer than :data:`MIN_WARDS_WITH_INCIDENTS` wards
        with any incident, or a fit (of every ward or a leave-one-out refit) that statsmodels
        cannot complete; never a raw statsmodels or numpy error.

    Notes
    -----
    Flag rule: a ward is labelled when its observed count is outside the LOO ``level`` prediction
    interval (for count models ``pi_low``/``pi_high`` are the NB/Poisson quantiles at the refit
    mean, so P(observed < pi_low) <= 2.5% under the model). Below: ``fewer than deprivation predicts
    (possible under-reporting)``; above: ``more than deprivation predicts (check whether the
    deprivation data are out of date, e.g. new housing)``.

    ``studentized_residual`` is the externally studentized residual for OLS and the internally
    studentized Pearson residual (Pearson residual / sqrt(1 - leverage)) for the count models;
    ``cooks_distance`` is statsmodels' Cook's distance for the same fit. ``expected`` is the fit on
    every ward; ``loo_expected`` the mean predicted for the ward by the refit without it.

    """
    _check(wards, measure, model, category=category)
    what = _incidents_label(category)
    fit, results, x = _fit_all(wards, measure, model, what=what)
    y = wards["count"].to_numpy(dtype=float)
    pop = wards["population"].to_numpy(dtype=float)
    expected = np.asarray(results.fittedvalues, dtype=float)
    if model == "ols":
        from statsmodels.stats.outliers_influence import OLSInfluence

        influence = OLSInfluence(results)
        studentized = np.asarray(influence.resid_studentized_external)
        expected = expected * pop / 1000
    else:
        influence = results.get_influence()
        studentized = np.asarray(influence.resid_studentized)
    cooks = np.asarray(influence.cooks_distance[0])
    loo_mean, low, high = _leave_one_out(model, y, x, pop, level, what=what, measure=measure)
    out = wards.copy()
    out["observed"] = y.astype(int)
    out["expected"] = expected
    out["expected_rate_per_1000"] = 1000 * expected / pop
    out["loo_expected"] = loo_mean
    out["pi_low"] = low
    out["pi_high"] = high
    out["studentized_residual"] = studentized
    out["cooks_distance"] = cooks
    below = y < low
    above = y > high
    out["outside_pi"] = below | above
    out["large_residual"] = np.abs(studentized) > 2
    out["direction"] = np.select([below, above], ["under", "over"], default="")
    out["label"] = np.select([below, above], [LABEL_UNDER, LABEL_OVER], default="")
    notes = [
        f"model {model} of {'rate per 1,000' if model == 'ols' else 'count'} on {measure}"
        + (f" with log(population) offset, alpha = {fit.alpha:.3g}" if model == "nb" else "")
        + (" with log(population) offset" if model == "poisson" else ""),
        f"flag rule: observed outside the leave-one-out {level:.0%} prediction interval "
        "(refit without the ward, predict it); "
        "large_residual = |studentized residual| > 2 is shown beside it",
        f"{int(below.sum())} ward(s) fewer than predicted, {int(above.sum())} more than predicted",
        *fit.notes,
    ]
    return Outliers(data=out, fit=fit, level=level, notes=tuple(notes))


def _leave_one_out(
    model: str,
    y: np.ndarray,
    x: pd.DataFrame,
    pop: np.ndarray,
    level: float,
    *,
    what: str,
    measure: str,
):
    n = len(y)
    mean = np.empty(n)
    low = np.empty(n)
    high = np.empty(n)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        keep[:] = True
        keep[i] = False
        results, alpha, _ = _fit_or_explain(
            model, y[keep], x[keep].reset_index(drop=True), pop[keep], what=what, measure=measure
        )
        xi = x.iloc[[i]]
        if model == "ols":
            frame = results.get_prediction(xi).summary_frame(alpha=1 - level)
            scale = pop[i] / 1000
            mean[i] = float(frame["mean"].iloc[0]) * scale
            low[i] = float(frame["obs_ci_lower"].iloc[0]) * scale
            high[i] = float(frame["obs_ci_upper"].iloc[0]) * scale
        else:
            mean[i] = float(np.exp(xi.to_numpy() @ results.params.to_numpy())[0] * pop[i])
            low[i], high[i] = _interval(model, mean[i], alpha, level)
    return mean, low, high


@dataclass(frozen=True)
class OutlierReport:
    """Everything the ``outliers`` command shows.

    Attributes
    ----------
    data
        Ward frame (GeoDataFrame when the input was) with the columns of
        :func:`deprivation_outliers`, the funnel columns (``funnel_z``, ``low_95`` ...``high_99.8``,
        ``funnel``) and the Gi* columns (``gi_z, gi_p, gi_q, hotspot``).
    fit
        The model fitted to every ward.
    moran
        Moran's I of the studentized residuals (None when the wards have no polygons).
    overdispersion
        The funnel's over-dispersion estimate.
    notes
        One-line notes for the summary.

    """

    data: pd.DataFrame
    fit: ModelFit
    moran: object | None
    overdispersion: object
    notes: tuple[str, ...] = field(default=())


def outlier_report(
    wards: pd.DataFrame,
    *,
    measure: str = "imd_score",
    model: str = "nb",
    level: float = 0.95,
    fdr: float = 0.05,
    permutations: int = 999,
    rng: np.random.Generator | int | None = None,
    category: str | None = None,
    source: str = "wards",
) -> OutlierReport:
    """Return model outliers, funnel position and residual hot spots for a ward table in one frame.

    See :func:`deprivation_outliers` (flag rule), :func:`geo_sppa.wards.funnel.funnel_table` and
    :func:`geo_sppa.wards.autocorrelation.hotspots` / :func:`geo_sppa.wards.autocorrelation.residual_moran` (rng seeds the
    Moran permutations); ``category`` names the incidents and ``source`` the ward file in error
    messages.
    """
    from geo_sppa.wards.autocorrelation import hotspots, residual_moran
    from geo_sppa.wards.funnel import funnel_table

    result = deprivation_outliers(
        wards, measure=measure, model=model, level=level, category=category
    )
    data, od = funnel_table(result.data)
    notes = list(result.notes)
    notes.append(
        f"funnel: overall {od.target_rate_per_1000:.2f} per 1,000; "
        f"phi = {od.phi:.2f}, tau^2 = {od.tau2:.3g} "
        "(Spiegelhalter 2005, z winsorised at 10%/90%)"
    )
    moran = None
    geometry = getattr(data, "geometry", None) if "geometry" in data.columns else None
    if geometry is not None and len(data) >= 3:
        residual = data["studentized_residual"]
        moran = residual_moran(data, residual, permutations=permutations, rng=rng, source=source)
        spots = hotspots(data, residual, fdr=fdr, source=source)
        data = data.join(spots)
        notes.append(
            f"Moran's I of studentized residuals = {moran.i:.3f} (expected {moran.expected:.3f}, "
            f"permutation p = {moran.p_sim:.3f}, {permutations} permutations, queen contiguity)"
        )
        n_hot = int((spots["hotspot"] == "hot spot").sum())
        n_cold = int((spots["hotspot"] == "cold spot").sum())
        notes.append(
            f"Gi* on residuals, Benjamini-Hochberg FDR {fdr:g}: "
            f"{n_hot} hot spot(s), {n_cold} cold spot(s)"
        )
    return OutlierReport(
        data=data, fit=result.fit, moran=moran, overdispersion=od, notes=tuple(notes)
    )
