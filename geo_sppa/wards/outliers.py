"""Wards far from what their deprivation predicts.

:func:`deprivation_outliers` fits incidents against a deprivation measure across wards (the models
of :mod:`geo_sppa.wards.model`) and flags each ward whose observed count falls outside a
leave-one-out (LOO) 95% prediction interval: the model is refitted without the ward, which then
cannot pull the fit towards itself, and the ward's count is compared with the predictive
distribution at the refitted mean. ``large_residual`` (|studentized residual| > 2) is reported
beside it as a second opinion.

:func:`outlier_report` adds the funnel plot position and residual hot spots;
:func:`ward_outliers` runs the whole analysis from the input frames (ward table, outliers, funnel,
Moran's I, Gi*, disclosure and the run summary), for ``geo-sppa outliers`` and the strategic
assessment alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_sppa.errors import InputError
from geo_sppa.wards.autocorrelation import MoranResult, benjamini_hochberg
from geo_sppa.wards.disclosure import suppressed_mask, with_held_wards
from geo_sppa.wards.evidence import IncidentProfile, incident_profile, ward_evidence, ward_verdicts
from geo_sppa.wards.funnel import Overdispersion
from geo_sppa.wards.influence import expected_information_influence
from geo_sppa.wards.measures import imd_edition, measure_name
from geo_sppa.wards.model import (
    CIRCULARITY_WARNING,
    CIRCULARITY_WARNING_NO_DOMAINS,
    MIN_WARDS_WITH_INCIDENTS,
    MODELS,
    ModelFit,
    check_ward_table,
    fit_deprivation_model,
    fitted_model,
    incidents_label,
    leave_one_out,
)
from geo_sppa.wards.rates import WardRates, WardTable, ward_table

__all__ = [
    "CIRCULARITY_WARNING",
    "CIRCULARITY_WARNING_NO_DOMAINS",
    "LABEL_OVER",
    "LABEL_UNDER",
    "MIN_WARDS_WITH_INCIDENTS",
    "MODELS",
    "ModelFit",
    "OutlierReport",
    "Outliers",
    "WardOutliers",
    "default_measure",
    "deprivation_outliers",
    "fit_deprivation_model",
    "outlier_report",
    "ward_outliers",
]

#: The model's labels before the evidence: :func:`geo_sppa.wards.evidence.ward_evidence` adds the
#: readings the data support ("possible under-reporting", "the deprivation data may be out of
#: date", "a town-centre or visitor population"), never a fixed one.
LABEL_UNDER = "fewer than deprivation predicts"
LABEL_OVER = "more than deprivation predicts"


@dataclass(frozen=True)
class Outliers:
    """Outlier table and the model behind it.

    Attributes
    ----------
    data
        The input ward frame plus ``observed, expected, expected_rate_per_1000, loo_expected,
        pi_low, pi_high, p_value, q_value, studentized_residual, cooks_distance, outside_pi,
        flagged_fdr, large_residual, direction, label`` (counts; the interval is the LOO
        ``level`` prediction interval; ``outside_pi`` is the raw per-ward flag, ``flagged_fdr``
        the flag after the Benjamini-Hochberg correction, which ``direction`` and ``label``
        follow).
    fit
        The model fitted to every ward.
    level
        Prediction-interval level (0.95).
    fdr
        The false discovery rate of the flags (0.05).
    notes
        One-line notes for the summary, including the flag rule.

    """

    data: pd.DataFrame
    fit: ModelFit
    level: float
    fdr: float = 0.05
    notes: tuple[str, ...] = field(default=())


def _residuals(
    results: Any, fit: ModelFit, y: np.ndarray, pop: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Return expected counts, studentized residuals and Cook's distances of the full fit.

    OLS: statsmodels' externally studentized residuals and Cook's distance. Count models: the
    expected-information (textbook GLM) leverage of
    :func:`geo_sppa.wards.influence.expected_information_influence`.
    """
    expected = np.asarray(results.fittedvalues, dtype=float)
    if fit.model == "ols":
        from statsmodels.stats.outliers_influence import OLSInfluence

        influence = OLSInfluence(results)
        studentized = np.asarray(influence.resid_studentized_external)
        return expected * pop / 1000, studentized, np.asarray(influence.cooks_distance[0])
    x = np.asarray(results.model.exog, dtype=float)
    _, studentized, cooks = expected_information_influence(y, x, expected, fit.alpha or 0.0)
    return expected, studentized, cooks


def _outlier_notes(
    fit: ModelFit, fdr: float, below: np.ndarray, above: np.ndarray, raw: np.ndarray
) -> tuple[str, ...]:
    model, measure = fit.model, fit.measure
    offset = " with log(population) offset" if model != "ols" else ""
    alpha = f", alpha = {fit.alpha:.3g}" if model == "nb" else ""
    return (
        f"model {model} of {'rate per 1,000' if model == 'ols' else 'count'} on {measure}"
        f"{offset}{alpha}",
        f"flag rule: leave-one-out p-value (refit without the ward, predict it) with "
        f"Benjamini-Hochberg false discovery rate {fdr:g} over the {fit.n} wards "
        "(q_value <= fdr); the uncorrected per-ward result is p_value and outside_pi; "
        "large_residual = |studentized residual| > 2 is shown beside it",
        f"{int(below.sum())} ward(s) fewer than predicted, {int(above.sum())} more than predicted "
        f"after the correction ({int(raw.sum())} outside the per-ward interval before it)",
        *fit.notes,
    )


def deprivation_outliers(
    wards: pd.DataFrame,
    *,
    measure: str = "imd_score",
    model: str = "nb",
    level: float = 0.95,
    fdr: float = 0.05,
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
        Level of the leave-one-out prediction interval (the raw per-ward flag ``outside_pi``).
    fdr
        Benjamini-Hochberg false discovery rate of the flags, over the wards (0 < fdr < 1).
    category
        The incident category, used only to name the incidents in error messages.

    Returns
    -------
    Outliers
        ``data`` adds ``observed, expected, expected_rate_per_1000, loo_expected, pi_low, pi_high,
        p_value, q_value, studentized_residual, cooks_distance, outside_pi, flagged_fdr,
        large_residual, direction, label``.

    Raises
    ------
    InputError
        Missing columns or values, too few wards (:data:`MIN_WARDS_WITH_INCIDENTS` with any),
        or a fit that statsmodels cannot complete; never a raw statsmodels or numpy error.

    Notes
    -----
    Flag rule: ``p_value`` is the two-sided p-value of the observed count under the LOO predictive
    distribution (NB/Poisson at the refit mean; OLS: t test against the refit prediction);
    ``q_value`` its Benjamini-Hochberg adjustment over the wards, and a ward is labelled
    (``flagged_fdr``) when ``q_value <= fdr``, so that on data with no outliers the chance of any
    flag is at most about ``fdr``. ``outside_pi`` keeps the uncorrected per-ward result (observed
    outside the LOO ``level`` interval; for count models ``pi_low``/``pi_high`` are the quantiles
    at the refit mean). Below: :data:`LABEL_UNDER`; above: :data:`LABEL_OVER`.
    ``studentized_residual``: externally studentized (OLS) or Pearson / sqrt(1 - leverage) (count
    models); ``cooks_distance``: statsmodels' (OLS) or the expected-information one
    (:func:`geo_sppa.wards.influence.expected_information_influence`); ``expected``: the fit on
    every ward; ``loo_expected``: the refit without the ward.
    """
    if not 0 < fdr < 1:
        raise InputError(f"the false discovery rate must be between 0 and 1; got {fdr:g}")
    check_ward_table(wards, measure, model, category=category)
    what = incidents_label(category)
    fit, results = fitted_model(wards, measure, model, what=what)
    y = wards["count"].to_numpy(dtype=float)
    pop = wards["population"].to_numpy(dtype=float)
    expected, studentized, cooks = _residuals(results, fit, y, pop)
    loo = leave_one_out(wards, measure, model, level=level, what=what)
    q = benjamini_hochberg(loo.p)
    raw = (y < loo.low) | (y > loo.high)
    flagged = q <= fdr
    below, above = flagged & (y < loo.mean), flagged & (y > loo.mean)
    columns = {
        "observed": y.astype(int), "expected": expected,
        "expected_rate_per_1000": 1000 * expected / pop, "loo_expected": loo.mean,
        "pi_low": loo.low, "pi_high": loo.high, "p_value": loo.p, "q_value": q,
        "studentized_residual": studentized, "cooks_distance": cooks, "outside_pi": raw,
        "flagged_fdr": flagged, "large_residual": np.abs(studentized) > 2,
        "direction": np.select([below, above], ["under", "over"], default=""),
        "label": np.select([below, above], [LABEL_UNDER, LABEL_OVER], default=""),
    }  # fmt: skip
    notes = _outlier_notes(fit, fdr, below, above, raw)
    return Outliers(data=wards.assign(**columns), fit=fit, level=level, fdr=fdr, notes=notes)


@dataclass(frozen=True)
class OutlierReport:
    """Model outliers, funnel position and residual hot spots of a ward table.

    Attributes
    ----------
    data
        Ward frame (GeoDataFrame when the input was) with the columns of
        :func:`deprivation_outliers`, the funnel columns (``funnel_z``, ``low_95`` ...``high_99.8``,
        ``funnel``) and the Gi* columns (``gi_z, gi_p, gi_q, hotspot``).
    fit
        The model fitted to every ward.
    moran
        Moran's I of the studentized residuals (None when the wards have no geometry).
    overdispersion
        The funnel's over-dispersion estimate.
    notes
        One-line notes for the summary.

    """

    data: pd.DataFrame
    fit: ModelFit
    moran: MoranResult | None
    overdispersion: Overdispersion
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
    profile: IncidentProfile | None = None,
) -> OutlierReport:
    """Return model outliers, funnel position and residual hot spots for a ward table in one frame.

    See :func:`deprivation_outliers` (flag rule), :func:`geo_sppa.wards.funnel.funnel_table` and
    :func:`geo_sppa.wards.autocorrelation.hotspots` /
    :func:`geo_sppa.wards.autocorrelation.residual_moran` (``rng`` seeds the Moran permutations);
    ``category`` names the incidents and ``source`` the ward file in error messages. Spatial
    checks run when ``wards`` is a GeoDataFrame of at least 3 wards. Flagged wards get
    ``evidence`` and a ``label`` that follows it (:func:`geo_sppa.wards.evidence.ward_evidence`,
    with ``profile`` the facts from the incidents), and every ward a ``verdict`` and
    ``verdict_reason`` across the model, the funnel and Gi*
    (:func:`geo_sppa.wards.evidence.ward_verdicts`).
    """
    from geo_sppa.wards.autocorrelation import hotspots, residual_moran
    from geo_sppa.wards.funnel import funnel_table

    result = deprivation_outliers(
        wards, measure=measure, model=model, level=level, fdr=fdr, category=category
    )
    data, od = funnel_table(result.data)
    notes = list(result.notes)
    notes.append(
        f"funnel: overall {od.target_rate_per_1000:.2f} per 1,000; "
        f"phi = {od.phi:.2f}, tau^2 = {od.tau2:.3g} "
        "(Spiegelhalter 2005, z winsorised at 10%/90%)"
    )
    moran = None
    if isinstance(data, gpd.GeoDataFrame) and "geometry" in data.columns and len(data) >= 3:
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
    evidence = ward_evidence(data, profile=profile)
    data = data.assign(evidence=evidence["evidence"], label=evidence["label"])
    data = data.join(ward_verdicts(data))
    return OutlierReport(
        data=data, fit=result.fit, moran=moran, overdispersion=od, notes=tuple(notes)
    )


@dataclass(frozen=True)
class WardOutliers:
    """Everything ``geo-sppa outliers`` (and the assessment's ward section) writes and shows.

    Attributes
    ----------
    table
        The ward table and its run summary (:func:`geo_sppa.wards.rates.ward_table`).
    report
        The outliers, funnel, Moran's I and Gi* on the exact counts.
    data
        ``report.data`` as published: with ``suppress_below``, counts from 1 to N-1 shown as
        ``<N`` and the values they could be recovered from blanked.
    measure
        The deprivation column modelled on.
    title
        Title for the charts and the map (category, months, measure).
    map_layers
        Columns of ``data`` to draw on the ward map.
    flagged
        ``(ward_name, label)`` of every flagged ward, in table order.
    summary
        ``(label, text)`` lines for the run summary: the ward table's, then the model equation,
        Moran's I, disclosure and the analysis notes.

    """

    table: WardTable
    report: OutlierReport
    data: gpd.GeoDataFrame
    measure: str
    title: str
    map_layers: tuple[str, ...]
    flagged: tuple[tuple[str, str], ...]
    summary: tuple[tuple[str, str], ...]

    @property
    def rates(self) -> WardRates:
        """The exact ward table (``table.rates``)."""
        return self.table.rates


def _model_line(fit: ModelFit) -> str:
    slope = fit.params[fit.measure]
    sign = "-" if slope < 0 else "+"
    left = "rate per 1,000" if fit.model == "ols" else "log(count / population)"
    equation = f"{left} = {fit.params['const']:.3f} {sign} {abs(slope):.3g} x {fit.measure}"
    extra = f"; alpha = {fit.alpha:.3f}" if fit.model == "nb" and fit.alpha is not None else ""
    extra += f"; Pearson dispersion {fit.pearson_dispersion:.2f}" if fit.model != "ols" else ""
    if fit.dispersion_p is not None:
        extra += f" (test of no over-dispersion p = {fit.dispersion_p:.2g})"
    return f"{fit.model} ({fit.n} wards): {equation}{extra}; AIC {fit.aic:.1f}"


def _outlier_summary(
    report: OutlierReport, rng: np.random.Generator | int | None, suppress_below: int | None
) -> list[tuple[str, str]]:
    lines = [("model", _model_line(report.fit))]
    if report.fit.warning:
        lines.append(("WARNING", report.fit.warning))
    if report.moran is not None:
        m = report.moran
        seed = f", seed {rng}" if isinstance(rng, int) else ""
        lines.append(
            (
                "Moran's I",
                f"{m.i:.3f} (expected {m.expected:.3f}; permutation p = {m.p_sim:.3f}{seed})",
            )
        )
    if suppress_below:
        held = report.data.loc[suppressed_mask(report.data, threshold=suppress_below)]
        left_out = (
            f"; {', '.join(held['ward_name'].astype(str))} left out of every fit (model, funnel, "
            "Moran's I, Gi*), so no published figure depends on their counts: their expected "
            "counts and intervals are predictions from the other wards, and they are not assessed"
            if len(held)
            else ""
        )
        lines.append(
            (
                "disclosure",
                f"counts below {suppress_below} suppressed: 1-{suppress_below - 1} shown as "
                f"<{suppress_below}, their rates, residuals, flags and funnel and Gi* positions "
                f"blanked and not drawn on charts, the exact total withheld{left_out}",
            )
        )
    return lines + [("note", n) for n in report.notes]


def ward_outliers(
    wards: gpd.GeoDataFrame,
    *,
    population: pd.DataFrame,
    incidents: gpd.GeoDataFrame,
    category: str,
    source: str,
    ward_source: str,
    imd: pd.DataFrame | None = None,
    lookup: pd.DataFrame | None = None,
    lsoas: gpd.GeoDataFrame | None = None,
    measure: str | None = None,
    model: str = "nb",
    fdr: float = 0.05,
    rng: np.random.Generator | int | None = None,
    suppress_below: int | None = None,
    read_set_aside: pd.DataFrame | None = None,
    read_notes: tuple[str, ...] = (),
    ward_label: str | None = None,
    imd_label: str = "IMD",
) -> WardOutliers:
    """Return the ward outliers analysis from the input frames, as ``geo-sppa outliers`` shows it.

    Parameters
    ----------
    wards, population, incidents, imd, lookup, lsoas
        As :func:`geo_sppa.wards.rates.ward_rates` (wards in EPSG:27700).
    read_set_aside, read_notes, ward_label, imd_label
        As :func:`geo_sppa.wards.rates.ward_table`, for the run summary.
    category, source, ward_source
        The incident category counted and modelled (or ``"all"``), the incident file and the ward
        file (named in the set-aside table and in errors): required, so every caller counts and
        names the same incidents.
    measure, model, rng
        The deprivation column (default: :func:`default_measure`, which avoids the crime
        domain), the model and the seed of the Moran permutation test, as :func:`outlier_report`
        (95% intervals).
    fdr
        Benjamini-Hochberg false discovery rate of the outlier flags and of Gi* (default 5%).
    suppress_below
        Show counts from 1 to N-1 as ``<N`` in ``data`` and keep those wards out of every fit
        (:func:`geo_sppa.wards.disclosure.with_held_wards`).

    Returns
    -------
    WardOutliers
        The tables, fits and summary lines.

    Raises
    ------
    InputError
        No deprivation measure, every error of :func:`geo_sppa.wards.rates.ward_rates` and
        :func:`outlier_report`.
    """
    table = ward_table(
        wards, population=population, incidents=incidents, category=category, source=source,
        ward_source=ward_source, imd=imd, lookup=lookup, lsoas=lsoas,
        read_set_aside=read_set_aside, read_notes=read_notes, ward_label=ward_label,
        imd_label=imd_label, suppress_below=suppress_below,
    )  # fmt: skip
    measure, measure_line = _measure_choice(table.rates, measure)
    profile = incident_profile(
        incidents, wards, category=table.rates.category, population=population
    )
    report = _assessed_report(
        table.rates, measure, model=model, fdr=fdr, rng=rng, source=ward_source,
        suppress_below=suppress_below, profile=profile,
    )  # fmt: skip
    return _published(
        table, report, measure, rng=rng, suppress_below=suppress_below,
        measure_line=measure_line, edition=imd_edition(imd_label),
    )  # fmt: skip


def _measure_choice(rates: WardRates, measure: str | None) -> tuple[str, str]:
    """Return the measure modelled on and the summary line saying why."""
    chosen = measure or default_measure(rates.data, rates.imd_measure)
    if chosen is None:
        raise InputError("outliers need a deprivation measure; pass --imd 2010|2019|PATH")
    if measure:
        return chosen, f"{chosen} (chosen with --measure)"
    why = _DEFAULT_WHY.get(chosen, f"the overall measure: {_NO_DOMAINS}")
    return chosen, f"{chosen} ({why})"


#: Why the default measure was chosen, by measure.
_DEFAULT_WHY = {
    "imd_no_crime_score": "default for crime and ASB: the IMD recombined without its crime "
    "domain, which is built from recorded crime and would make the model partly circular",
    "income_score": "default for crime and ASB: the income domain, free of the crime domain "
    "(the IMD without its crime domain needs every domain)",
}
_NO_DOMAINS = (
    "the IMD file has no domains to leave the crime domain out, so the model is partly circular"
)


def default_measure(wards: pd.DataFrame, overall: str | None) -> str | None:
    """Return the default deprivation measure for crime and ASB outcomes.

    Every police.uk category is crime or anti-social behaviour, and the IMD's crime domain is
    built from recorded crime, so the default avoids it: ``imd_no_crime_score`` (the IMD
    recombined without the crime domain) when every ward has it, else ``income_score``, else
    ``overall`` (the ward table's overall measure, with the circularity warning).

    Parameters
    ----------
    wards
        The ward table.
    overall
        Its overall deprivation measure (``imd_score``...), or None without an IMD.

    Returns
    -------
    str or None
        The column to model on.

    """
    if overall is None:
        return None
    for column in ("imd_no_crime_score", "income_score"):
        if column in wards.columns and bool(wards[column].notna().all()):
            return column
    return overall


def _assessed_report(
    rates: WardRates,
    measure: str,
    *,
    model: str,
    fdr: float,
    rng: np.random.Generator | int | None,
    source: str,
    suppress_below: int | None,
    profile: IncidentProfile,
) -> OutlierReport:
    """Return :func:`outlier_report` of the wards whose counts are published, held wards added."""
    data = rates.data
    held = (
        suppressed_mask(data, threshold=suppress_below).to_numpy()
        if suppress_below
        else np.zeros(len(data), dtype=bool)
    )
    report = outlier_report(
        data[~held], measure=measure, model=model, fdr=fdr, rng=rng, category=rates.category,
        source=source, profile=profile,
    )  # fmt: skip
    if held.any():
        report = with_held_wards(
            report, data[held], threshold=int(suppress_below or 0), order=data.index
        )
    return report


def _published(
    table: WardTable,
    report: OutlierReport,
    measure: str,
    *,
    rng: np.random.Generator | int | None,
    suppress_below: int | None,
    measure_line: str = "",
    edition: str | None = None,
) -> WardOutliers:
    """Return :class:`WardOutliers` of a report: the published frame, titles and summary."""
    data = report.data
    if suppress_below:
        from geo_sppa.wards.disclosure import suppress_small_counts

        data = suppress_small_counts(data, threshold=suppress_below)
    labelled = data[data["label"] != ""]
    rates = table.rates
    return WardOutliers(
        table=table,
        report=report,
        data=gpd.GeoDataFrame(data),
        measure=measure,
        title=f"{rates.category}, {len(rates.months)} months: wards against "
        f"{measure_name(measure, edition)}",
        map_layers=tuple(
            c for c in ("label", measure, "rate_per_1000", "hotspot") if c in data.columns
        ),
        flagged=tuple(zip(labelled["ward_name"].astype(str), labelled["label"], strict=True)),
        summary=(
            *table.summary,
            *((("measure", measure_line),) if measure_line else ()),
            *_outlier_summary(report, rng, suppress_below),
        ),
    )
