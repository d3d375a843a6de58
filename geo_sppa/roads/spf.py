"""Safety performance function: candidate sites of the whole study area and a negative binomial fit.

A *safety performance function* (SPF) says how many collisions a site of a given kind is expected
to have per year, from every site of that kind, including the many with none. It is the prior of
the Empirical Bayes estimates in :mod:`geo_sppa.roads.eb`.

Candidate sites: :func:`candidate_site_counts` (:mod:`geo_sppa.roads.spf_candidates`, which
describes them and their covariates).

The fit (:func:`fit_spf`) is a negative binomial (NB2) model of the count per site and year,
``log mu = b0 + covariate effects + year effect``, ``Var = mu + k * mu**2``, by maximum
likelihood with scipy (site-years with the same covariates, year and count are pooled with a
weight, which gives the same likelihood exactly, so a million candidates fit in seconds; segment
lengths are rounded to 1 m first). Levels held by fewer than 20 candidates, or with no collision,
are pooled into ``other``. When there are no covariates, or the fit does not converge, it falls
back to a covariate-free gamma-Poisson (NB with year effects only; method of moments if even that
fails) and says so in ``SpfFit.note``; a fit that did not converge is never used silently.
``fit_spf(..., offset=...)`` adds a known log multiplier per site-year (site-years with a
non-zero offset are fitted one by one, not pooled; the method-of-moments fallback ignores it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, minimize
from scipy.special import digamma, gammaln

from geo_sppa.errors import InputError
from geo_sppa.roads.spf_candidates import (
    UNKNOWN,
    CandidateSites,
    candidate_site_counts,
    grid_candidates,
    network_candidates,
)

__all__ = [
    "CandidateSites",
    "SpfFit",
    "candidate_site_counts",
    "fit_spf",
    "grid_candidates",
    "network_candidates",
    "spf_summary",
]

_MIN_LEVEL_SITES = 20


@dataclass(frozen=True)
class SpfFit:
    """A fitted safety performance function: collisions per site-year, ``Var = mu + k * mu**2``.

    Attributes
    ----------
    k
        The dispersion (NB2 ``alpha``): 0 is Poisson; larger means sites differ more.
    coefficients
        Log-scale coefficients: ``(intercept)``, ``<covariate>[<level>]`` against the reference
        level (the most common; see ``levels``), and one per continuous covariate.
    year_effects
        Multiplier per year (index: year) against the first year (1.0); the SPF ratio of two
        years is the ratio of their multipliers.
    covariates
        The covariates used (empty when ``fallback``).
    n_sites
        Candidate sites fitted (each contributes one row per year).
    fallback
        True when this is the covariate-free gamma-Poisson fit.
    note
        One line for the run summary: the fit, or why it fell back.
    levels
        Per categorical covariate, its levels, reference first; other values predict as the
        reference (rare levels pooled as ``other``, see ``pooled``).
    pooled
        Per categorical covariate, the levels pooled into ``other``.

    """

    k: float
    coefficients: pd.Series
    year_effects: pd.Series
    covariates: tuple[str, ...]
    n_sites: int
    fallback: bool
    note: str
    levels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    pooled: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def predict(self, covariates_frame: pd.DataFrame | None, years: Sequence[int]) -> pd.DataFrame:
        """Return the expected collisions ``mu`` per site (rows) and year (columns).

        Parameters
        ----------
        covariates_frame
            One row per site with the columns ``covariates`` (None or any frame when there are
            none: then ``years`` and its index, default one row, are all that matter).
        years
            Years of :attr:`year_effects`.

        Raises
        ------
        InputError
            A year the SPF was not fitted on, or a covariate column missing.

        """
        years = [int(y) for y in years]
        gone = [y for y in years if y not in self.year_effects.index]
        if gone:
            raise InputError(
                f"SPF: no year effect for {gone}; fitted on {list(self.year_effects.index)}; "
                "fit the SPF over every year you predict"
            )
        index = covariates_frame.index if covariates_frame is not None else pd.RangeIndex(1)
        eta = np.full(len(index), float(self.coefficients["(intercept)"]))
        for name in self.covariates:
            if covariates_frame is None or name not in covariates_frame.columns:
                raise InputError(f"SPF: covariate column {name!r} missing; pass sites with it")
            if name in self.levels:
                eta += _dummies(covariates_frame[name], name, self) @ self._level_coefs(name)
            else:
                eta += covariates_frame[name].to_numpy(dtype=float) * self.coefficients[name]
        effect = self.year_effects.loc[years].to_numpy(dtype=float)
        return pd.DataFrame(np.exp(eta)[:, None] * effect[None, :], index=index, columns=years)

    def _level_coefs(self, name: str) -> np.ndarray:
        return self.coefficients[[f"{name}[{v}]" for v in self.levels[name][1:]]].to_numpy(float)


def _level_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Return integer codes and the distinct values (as text, NA as ``unknown``) of ``values``.

    Text columns are factorised as they are stored (pyarrow strings hash without a detour
    through Python objects); other dtypes as objects, so that a categorical gives its values in
    order of appearance like any other column.
    """
    text = isinstance(values.dtype, pd.StringDtype)
    codes, uniq = pd.factorize(values.array if text else values.to_numpy(dtype=object))
    names = [str(v).strip() for v in uniq] + [UNKNOWN]
    return np.where(codes < 0, len(names) - 1, codes), names


def _dummies(values: pd.Series, name: str, fit: SpfFit) -> np.ndarray:
    """Return the 0/1 columns of the non-reference levels of ``values``."""
    codes, names = _level_codes(values)
    pooled = set(fit.pooled.get(name, ()))
    levels = {v: i for i, v in enumerate(fit.levels[name])}
    column = np.asarray([levels.get("other" if v in pooled else v, 0) for v in names])[codes]
    out = np.zeros((len(codes), len(fit.levels[name]) - 1))
    hit = column > 0
    out[np.flatnonzero(hit), column[hit] - 1] = 1.0
    return out


def _pooled_levels(values: pd.Series, totals: np.ndarray) -> tuple[tuple, tuple]:
    """Return (levels with the reference first, pooled levels) of one categorical covariate."""
    codes, names = _level_codes(values)
    n = np.bincount(codes, minlength=len(names))
    y = np.bincount(codes, weights=totals, minlength=len(names))
    per = pd.DataFrame({"n": n, "y": y}, index=names).groupby(level=0).sum()
    per = per[per["n"] > 0]
    rare = per.index[(per["n"] < _MIN_LEVEL_SITES) | (per["y"] == 0)]
    kept = per.drop(index=rare)
    if len(rare) and (per.loc[rare, "y"].sum() > 0 or not len(kept)):
        kept.loc["other"] = per.loc[rare].sum()
    kept = kept.sort_values("n", ascending=False, kind="stable")
    return tuple(str(v) for v in kept.index), tuple(str(v) for v in rare)


def _nb_negll(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray, off: np.ndarray | float = 0.0
) -> tuple[float, np.ndarray]:
    """Negative NB2 log-likelihood per unit weight and its gradient (``theta``: beta, log k)."""
    eta = np.clip(x @ theta[:-1] + off, -50, 50)
    mu, r = np.exp(eta), np.exp(-theta[-1])
    ll = (
        gammaln(y + r)
        - gammaln(r)
        - gammaln(y + 1)
        + y * eta
        + r * np.log(r)
        - (y + r) * np.log(r + mu)
    )
    g_eta = w * (y - mu) * r / (r + mu)
    g_r = w * (digamma(y + r) - digamma(r) + np.log(r) + 1 - np.log(r + mu) - (y + r) / (r + mu))
    total = w.sum()
    grad = np.r_[x.T @ g_eta, -r * g_r.sum()]
    return float(-(w * ll).sum() / total), -grad / total


def _nb_ml(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, off: np.ndarray | float = 0.0
) -> tuple[np.ndarray, bool, str]:
    """Fit NB2 by maximum likelihood (``off``: log offset per row); return (theta, ok, message)."""
    start = np.zeros(x.shape[1] + 1)
    mean = max(float((w * y).sum() / w.sum()), 1e-9)
    start[0] = np.log(mean)
    var = float((w * (y - mean) ** 2).sum() / w.sum())
    start[-1] = np.log(max((var - mean) / mean**2, 1e-3))
    bounds = Bounds(
        np.r_[np.full(x.shape[1], -np.inf), -14.0], np.r_[np.full(x.shape[1], np.inf), 6.0]
    )
    res = minimize(
        _nb_negll, start, args=(x, y, w, off), jac=True, method="L-BFGS-B", bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
    )  # fmt: skip
    grad = np.abs(res.jac[:-1]).max() if x.shape[1] else 0.0
    ok = bool(res.success) and grad < 1e-5 and bool(np.all(np.abs(res.x[1 : x.shape[1]]) < 25))
    why = "" if ok else f"{res.message} (largest gradient {grad:.2g})"
    return res.x, ok, why


def _design(
    counts: pd.DataFrame, covariates: pd.DataFrame | None, names: Sequence[str]
) -> tuple[np.ndarray, list[str], dict, dict]:
    """Return the site design matrix (intercept first), its column names, levels and pooled."""
    totals = counts.to_numpy(dtype=np.int64).sum(axis=1)
    cols, labels = [np.ones(len(counts))], ["(intercept)"]
    levels, pooled = {}, {}
    for name in names:
        assert covariates is not None
        values = covariates[name]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            cols.append(np.round(values.to_numpy(dtype=float), 2))
            labels.append(name)
            continue
        levels[name], pooled[name] = _pooled_levels(values, totals)
        if len(levels[name]) < 2:
            del levels[name], pooled[name]
            continue
        probe = SpfFit(0.0, pd.Series(dtype=float), pd.Series(dtype=float), (), 0, False, "",
                       levels, pooled)  # fmt: skip
        block = _dummies(values, name, probe)
        cols += list(block.T)
        labels += [f"{name}[{v}]" for v in levels[name][1:]]
    return np.column_stack(cols), labels, levels, pooled


def _distinct_rows(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct rows of ``xs`` and each row's position among them.

    Rows are first told apart by a random projection (a sort of one float per row, far faster
    than sorting whole rows); the result is checked and the exact row sort used if it fails.
    """
    probe = xs @ np.random.default_rng(0).uniform(1.0, 2.0, xs.shape[1])
    _, first, inverse = np.unique(probe, return_index=True, return_inverse=True)
    patterns, inverse = xs[first], inverse.ravel()
    if np.array_equal(patterns[inverse], xs):
        return patterns, inverse
    patterns, inverse = np.unique(xs, axis=0, return_inverse=True)
    return patterns, inverse.ravel()


def _pooled_rows(xs: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (design with year dummies, count, weight) of the distinct site-year rows."""
    patterns, site_pattern = _distinct_rows(xs)
    n_years = counts.shape[1]
    top = int(counts.max()) + 1 if counts.size else 1
    key = (site_pattern[:, None] * n_years + np.arange(n_years)[None, :]) * top + counts
    size = len(patterns) * n_years * top
    if size <= 50_000_000:  # a count per possible key is cheaper than sorting the keys
        weight = np.bincount(key.ravel(), minlength=size)
        uniq = np.flatnonzero(weight)
        weight = weight[uniq]
    else:
        uniq, weight = np.unique(key.ravel(), return_counts=True)
    y, rest = uniq % top, uniq // top
    year, pattern = rest % n_years, rest // n_years
    year_dummies = (year[:, None] == np.arange(1, n_years)[None, :]).astype(float)
    return np.column_stack([patterns[pattern], year_dummies]), y.astype(float), weight.astype(float)


def _rows(
    xs: np.ndarray, counts: np.ndarray, offset: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | float]:
    """Return (design, count, weight, log offset) rows: pooled, and one per offset site-year.

    Site-years with a non-zero offset are not pooled (their offsets differ); the rest are.
    """
    if offset is None or not offset.any():
        return (*_pooled_rows(xs, counts), 0.0)
    own = offset.any(axis=1)
    x, y, w = _pooled_rows(xs[~own], counts[~own]) if (~own).any() else (
        np.empty((0, xs.shape[1] + counts.shape[1] - 1)), np.empty(0), np.empty(0))  # fmt: skip
    n_years = counts.shape[1]
    site = np.repeat(np.flatnonzero(own), n_years)
    year = np.tile(np.arange(n_years), int(own.sum()))
    dummies = (year[:, None] == np.arange(1, n_years)[None, :]).astype(float)
    x_own = np.column_stack([xs[site], dummies])
    off = np.r_[np.zeros(len(y)), offset[own].ravel()]
    y_own = counts[own].ravel().astype(float)
    return np.vstack([x, x_own]), np.r_[y, y_own], np.r_[w, np.ones(len(y_own))], off


def fit_spf(
    counts: pd.DataFrame,
    covariates: pd.DataFrame | None,
    *,
    offset: pd.DataFrame | np.ndarray | None = None,
) -> SpfFit:
    """Fit the safety performance function to collisions per site (rows) and year (columns).

    Parameters
    ----------
    counts
        Non-negative integer counts, one row per site, one column per year (label the year),
        e.g. :attr:`CandidateSites.counts`.
    covariates
        One row per site (aligned by index with ``counts``): categorical columns (strings;
        NA is ``unknown``) and numeric ones (e.g. ``log_length_m``); None or no columns: the
        covariate-free fit.
    offset
        A known log multiplier per site-year (shape and order of ``counts``), added to
        ``log mu`` in the fit (e.g. ``log theta`` for the after years of treated sites, so they
        inform the SPF without their treatment effect biasing it); None: no offset.

    Returns
    -------
    SpfFit
        The NB2 fit, or the covariate-free fallback with a note saying why.

    Raises
    ------
    InputError
        No site, no year, a negative or missing count, or an offset of another shape.

    """
    table = counts.to_numpy(dtype=float) if counts.size else np.empty((len(counts), 0))
    if not counts.shape[0] or not counts.shape[1]:
        raise InputError(f"SPF: counts hold {counts.shape[0]} sites x {counts.shape[1]} years; "
                         "pass candidate_site_counts(...).counts")  # fmt: skip
    if np.isnan(table).any() or (table < 0).any():
        raise InputError("SPF: counts must be non-negative integers; found negative or missing")
    years = [int(y) for y in counts.columns]
    y = table.astype(np.int64)
    names = [] if covariates is None else list(covariates.columns)
    cov = None if covariates is None else covariates.reindex(counts.index)
    off = None if offset is None else np.asarray(offset, dtype=float)
    if off is not None and (off.shape != y.shape or not np.isfinite(off).all()):
        raise InputError(f"SPF: offset must be finite with the counts' shape {y.shape}")
    xs, labels, levels, pooled = _design(counts, cov, names)
    used = tuple(n for n in names if n in levels or n in labels)
    why = "no covariates" if not used else ""
    if used:
        fit = _fitted(xs, labels, y, years, used, (levels, pooled), off)
        if fit is not None and fit.k > 0:
            return fit
        why = "the covariate fit did not converge"
    return _fallback(y, years, why, off)


def _fitted(xs, labels, y, years, used, design, off=None) -> SpfFit | None:
    """Return the NB2 fit on design ``xs``, or None when it does not converge."""
    x, yy, w, o = _rows(xs, y, off)
    theta, ok, _ = _nb_ml(x, yy, w, o)
    if not ok:
        return None
    n_cov = len(labels)
    k = float(np.exp(theta[-1]))
    coefs = pd.Series(theta[:n_cov], index=labels, name="coefficient")
    effects = pd.Series(np.exp(np.r_[0.0, theta[n_cov:-1]]), index=years, name="year_effect")
    note = (f"SPF: negative binomial over {len(y):,} candidate sites x {len(years)} years, "
            f"k = {k:.3g}, covariates {', '.join(used)}")  # fmt: skip
    return SpfFit(k, coefs, effects, used, len(y), False, note, design[0], design[1])


def _fallback(y: np.ndarray, years: list[int], why: str, off=None) -> SpfFit:
    """Return the covariate-free gamma-Poisson fit: NB2 with year effects only, else moments."""
    x, yy, w, o = _rows(np.ones((len(y), 1)), y, off)
    theta, ok, message = _nb_ml(x, yy, w, o)
    if ok:
        k, b0, effects = float(np.exp(theta[-1])), theta[0], np.exp(np.r_[0.0, theta[1:-1]])
        how = "maximum likelihood"
    else:
        mean = np.maximum(y.mean(axis=0), 1e-12)
        total = y.sum(axis=1)
        m, v = total.mean(), total.var()
        k = float(max((v - m) / m**2, 0.0)) if m > 0 else 0.0
        b0, effects, how = np.log(mean[0]), mean / mean[0], f"method of moments ({message})"
    note = (f"SPF fallback ({why}): covariate-free gamma-Poisson by {how} over {len(y):,} "
            f"candidate sites x {len(years)} years, k = {k:.3g}")  # fmt: skip
    coefs = pd.Series([float(b0)], index=["(intercept)"], name="coefficient")
    year_effects = pd.Series(effects, index=years, name="year_effect")
    return SpfFit(k, coefs, year_effects, (), len(y), True, note)


def spf_summary(fit: SpfFit) -> str:
    """Return the fit's note and its coefficients as multipliers, for the run summary."""
    parts = [f"{name} x{np.exp(value):.2f}" for name, value in fit.coefficients.items()
             if name != "(intercept)"]  # fmt: skip
    base = f"{fit.note}; base {np.exp(fit.coefficients['(intercept)']):.3g} per site-year"
    return base + (f"; {', '.join(parts)}" if parts else "")
