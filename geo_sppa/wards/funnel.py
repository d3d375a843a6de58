"""Funnel plot data: incident rates against population with over-dispersion-adjusted control limits.

Method (Spiegelhalter 2005, "Handling over-dispersion of performance indicators", Qual Saf Health
Care 14:347-351; the additive random-effects approach PHE/OHID funnel-plot tools use):

1. Target ``theta0`` = pooled rate per 1,000 = 1000 * sum(count) / sum(population).
2. Under Poisson, the rate of ward ``i`` has standard error ``s_i = sqrt(theta0 * 1000 / n_i)``
   (normal approximation on the rate scale), and z-score ``z_i = (y_i - theta0) / s_i``.
3. Winsorise the z-scores at their 10th and 90th percentiles (values beyond are set to them), so the
   outliers being looked for do not inflate the estimate; ``phi = mean(z_w^2)``.
4. If ``I * phi > I - 1`` the data are over-dispersed and, DerSimonian-Laird style with weights
   ``w_i = 1 / s_i^2``, ``tau^2 = (I * phi - (I - 1)) / (sum w - sum w^2 / sum w)``; otherwise
   ``tau^2 = 0`` and the limits are the plain Poisson ones.
5. Limits at ``theta0 +/- z_p * sqrt(s_i^2 + tau^2)`` with ``z_p`` = 1.96 (95%) and 3.09 (99.8%);
   lower limits are floored at 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["Overdispersion", "funnel_limits", "funnel_table", "overdispersion"]

LEVELS = (0.95, 0.998)


@dataclass(frozen=True)
class Overdispersion:
    """Over-dispersion estimate for a funnel plot.

    Attributes
    ----------
    target_rate_per_1000
        The pooled rate ``theta0``.
    phi
        Mean squared winsorised z-score (1 when the data are Poisson).
    tau2
        Additive between-ward variance of the rate per 1,000 (0 when not over-dispersed).
    n
        Number of wards.
    winsor
        Winsorising percentiles (10, 90).

    """

    target_rate_per_1000: float
    phi: float
    tau2: float
    n: int
    winsor: tuple[float, float] = (10.0, 90.0)


def overdispersion(
    count: pd.Series | np.ndarray,
    population: pd.Series | np.ndarray,
    *,
    winsor: tuple[float, float] = (10.0, 90.0),
) -> Overdispersion:
    """Return the Spiegelhalter (2005) winsorised over-dispersion estimate for rates per 1,000."""
    y_count = np.asarray(count, dtype=float)
    n_pop = np.asarray(population, dtype=float)
    theta0 = 1000 * y_count.sum() / n_pop.sum()
    rate = 1000 * y_count / n_pop
    s = np.sqrt(theta0 * 1000 / n_pop)
    z = (rate - theta0) / s
    lo, hi = np.percentile(z, winsor)
    zw = np.clip(z, lo, hi)
    n = len(z)
    phi = float(np.mean(zw**2))
    w = 1 / s**2
    tau2 = (n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum()) if n * phi > n - 1 else 0.0
    return Overdispersion(
        target_rate_per_1000=float(theta0), phi=phi, tau2=float(tau2), n=n, winsor=winsor
    )


def funnel_limits(
    population: pd.Series | np.ndarray,
    *,
    target_rate_per_1000: float,
    tau2: float = 0.0,
    levels: tuple[float, ...] = LEVELS,
) -> pd.DataFrame:
    """Return control limits (rate per 1,000) at each population.

    Columns ``population``, and ``low_95``/``high_95``, ``low_99.8``/``high_99.8`` (named from
    ``levels``), with ``theta0 +/- z * sqrt(theta0 * 1000 / population + tau2)``, lower floored at
    0.
    """
    n_pop = np.asarray(population, dtype=float)
    sd = np.sqrt(target_rate_per_1000 * 1000 / n_pop + tau2)
    out = pd.DataFrame({"population": n_pop})
    for level in levels:
        z = stats.norm.ppf(1 - (1 - level) / 2)
        name = f"{100 * level:g}"
        out[f"low_{name}"] = np.maximum(target_rate_per_1000 - z * sd, 0.0)
        out[f"high_{name}"] = target_rate_per_1000 + z * sd
    return out


def funnel_table(
    wards: pd.DataFrame, *, adjust: bool = True
) -> tuple[pd.DataFrame, Overdispersion]:
    """Return the wards with funnel z-scores, their own limits and a position label.

    Adds ``funnel_z`` (``(rate - theta0) / sqrt(s_i^2 + tau^2)``), ``low_95, high_95, low_99.8,
    high_99.8`` at the ward's population, and ``funnel`` (``above 99.8%``, ``above 95%``,
    ``within``,
    ``below 95%``, ``below 99.8%``). ``adjust=False`` gives plain Poisson limits (tau^2 = 0).
    """
    od = overdispersion(wards["count"], wards["population"])
    tau2 = od.tau2 if adjust else 0.0
    limits = funnel_limits(
        wards["population"], target_rate_per_1000=od.target_rate_per_1000, tau2=tau2
    )
    out = wards.copy()
    rate = 1000 * wards["count"].to_numpy(dtype=float) / wards["population"].to_numpy(dtype=float)
    sd = np.sqrt(od.target_rate_per_1000 * 1000 / wards["population"].to_numpy(dtype=float) + tau2)
    out["funnel_z"] = (rate - od.target_rate_per_1000) / sd
    for column in limits.columns.drop("population"):
        out[column] = limits[column].to_numpy()
    out["funnel"] = np.select(
        [
            rate > out["high_99.8"],
            rate > out["high_95"],
            rate < out["low_99.8"],
            rate < out["low_95"],
        ],
        ["above 99.8%", "above 95%", "below 99.8%", "below 95%"],
        default="within",
    )
    return out, od
