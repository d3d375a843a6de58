"""Static charts (matplotlib, Agg backend): the labelled deprivation scatter and the funnel plot.

Functions return a ``matplotlib.figure.Figure``; the caller saves it (``fig.savefig(path,
dpi=150)``). Rows flagged ``suppressed`` are neither plotted nor labelled, since their position
gives the count away.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from geo_sppa.wards.funnel import Overdispersion, funnel_limits  # noqa: E402
from geo_sppa.wards.outliers import ModelFit  # noqa: E402

__all__ = ["funnel_chart", "outlier_scatter"]

_COLOURS = {"under": "#2166ac", "over": "#b2182b", "": "#777777"}


def _visible(frame: pd.DataFrame) -> pd.DataFrame:
    if "suppressed" in frame.columns:
        return frame[~frame["suppressed"].astype(bool)]
    return frame


def outlier_scatter(outliers: pd.DataFrame, fit: ModelFit, *, title: str = "") -> Figure:
    """Return the scatter of rate per 1,000 against the deprivation measure, with the fitted line.

    Each ward's leave-one-out 95% prediction interval is drawn as a vertical bar (as a rate);
    flagged wards are coloured (blue: fewer than predicted, red: more) and every visible ward is
    labelled.
    """
    fig = Figure(figsize=(9, 6.5))
    ax = fig.add_subplot()
    data = _visible(outliers)
    x = data[fit.measure].to_numpy(dtype=float)
    pop = data["population"].to_numpy(dtype=float)
    rate = 1000 * data["observed"].to_numpy(dtype=float) / pop
    low = 1000 * data["pi_low"].to_numpy(dtype=float) / pop
    high = 1000 * data["pi_high"].to_numpy(dtype=float) / pop
    colours = [_COLOURS.get(d, "#777777") for d in data["direction"]]
    ax.vlines(
        x, low, high, colors="#cccccc", linewidth=3, label="leave-one-out 95% prediction interval"
    )
    ax.scatter(x, rate, c=colours, s=36, zorder=3, edgecolors="white", linewidths=0.5)
    for xi, yi, name in zip(x, rate, data["ward_name"], strict=True):
        ax.annotate(str(name), (xi, yi), xytext=(4, 3), textcoords="offset points", fontsize=7)
    grid = np.linspace(np.nanmin(outliers[fit.measure]), np.nanmax(outliers[fit.measure]), 200)
    b0, b1 = fit.params["const"], fit.params[fit.measure]
    line = b0 + b1 * grid if fit.model == "ols" else 1000 * np.exp(b0 + b1 * grid)
    ax.plot(grid, line, color="black", linewidth=1.2, label=f"fitted ({fit.model})")
    ax.scatter([], [], c=_COLOURS["under"], label="fewer than deprivation predicts")
    ax.scatter([], [], c=_COLOURS["over"], label="more than deprivation predicts")
    ax.set_xlabel(fit.measure.replace("_", " "))
    ax.set_ylabel("incidents per 1,000 residents")
    ax.set_title(title or f"Incidents against deprivation ({fit.model} model)")
    hidden = len(outliers) - len(data)
    if hidden:
        ax.text(
            0.01,
            0.01,
            f"{hidden} ward(s) with small counts not shown",
            transform=ax.transAxes,
            fontsize=7,
        )
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def funnel_chart(funnel: pd.DataFrame, od: Overdispersion, *, title: str = "") -> Figure:
    """Return the funnel plot: rate per 1,000 against population, 95% and 99.8% limits.

    Limits are the over-dispersion-adjusted ones of :func:`geo_sppa.wards.funnel.funnel_limits` with
    ``od.tau2``; wards outside the 95% limits are labelled.
    """
    fig = Figure(figsize=(9, 6.5))
    ax = fig.add_subplot()
    pop_all = funnel["population"].to_numpy(dtype=float)
    grid = np.linspace(max(pop_all.min() * 0.8, 1.0), pop_all.max() * 1.1, 300)
    limits = funnel_limits(grid, target_rate_per_1000=od.target_rate_per_1000, tau2=od.tau2)
    ax.axhline(
        od.target_rate_per_1000,
        color="black",
        linewidth=1,
        label=f"overall {od.target_rate_per_1000:.1f}",
    )
    for level, style in (("95", "--"), ("99.8", ":")):
        ax.plot(
            grid,
            limits[f"low_{level}"],
            style,
            color="#555555",
            linewidth=1,
            label=f"{level}% limits",
        )
        ax.plot(grid, limits[f"high_{level}"], style, color="#555555", linewidth=1)
    data = _visible(funnel)
    rate = (
        1000
        * pd.to_numeric(data["count"]).to_numpy(dtype=float)
        / data["population"].to_numpy(dtype=float)
    )
    position = data["funnel"].astype(str).to_numpy()
    outside = position != "within"
    colours = np.select(
        [
            np.char.startswith(position.astype(str), "above"),
            np.char.startswith(position.astype(str), "below"),
        ],
        [_COLOURS["over"], _COLOURS["under"]],
        default="#4d4d4d",
    )
    ax.scatter(data["population"], rate, c=colours, s=30, zorder=3)
    for pop, r, name, out in zip(data["population"], rate, data["ward_name"], outside, strict=True):
        if out:
            ax.annotate(str(name), (pop, r), xytext=(4, 3), textcoords="offset points", fontsize=7)
    ax.set_xlabel("population (residents)")
    ax.set_ylabel("incidents per 1,000 residents")
    adj = (
        f"adjusted for over-dispersion (phi = {od.phi:.2f}, tau^2 = {od.tau2:.3g})"
        if od.tau2 > 0
        else "Poisson limits"
    )
    ax.set_title(title or "Funnel plot", fontsize=11)
    ax.text(0.01, 0.98, adj, transform=ax.transAxes, fontsize=7, va="top")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig
