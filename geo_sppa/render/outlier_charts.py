"""The two ward-outlier charts: rate against deprivation, and the funnel plot.

One colour meaning throughout, with a key on both: red = more than deprivation predicts (flagged
after the false discovery rate correction), blue = fewer, grey = not flagged. Only flagged wards
(and, on the funnel, wards outside the 99.8% limits) are labelled, each label offset from its
point to the first of a few positions that overlaps no other label or point. The legend sits
outside the axes, so it covers no point. Axis titles name the IMD edition and its direction; the
period is on every chart. Rows flagged ``suppressed`` are neither plotted nor labelled, since their
position gives the count away. :mod:`geo_sppa.render.charts` re-exports both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from geo_sppa.wards.funnel import funnel_limits
from geo_sppa.wards.measures import imd_edition, measure_direction, measure_name

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from geo_sppa.wards.funnel import Overdispersion
    from geo_sppa.wards.model import ModelFit

__all__ = [
    "FLAG_COLOURS",
    "funnel_chart",
    "imd_edition",
    "measure_axis_label",
    "outlier_scatter",
    "period_text",
    "source_line",
]

#: Colour by the model's ``direction`` (flagged after the FDR correction; "" = not flagged).
FLAG_COLOURS = {"over": "#b2182b", "under": "#2166ac", "": "#8c8c8c"}
_KEY = {
    "over": "more than deprivation predicts (flagged)",
    "under": "fewer than deprivation predicts (flagged)",
    "": "not flagged",
}
#: Label offsets tried in turn, in points from the point (right first, then left, then further).
_OFFSETS = ((5, 4), (5, -11), (-5, 4), (-5, -11), (5, 14), (-5, 14), (5, -21), (-5, -21))
_FONT = 7


def period_text(months: Sequence[str]) -> str:
    """Return the period of ``YYYY-MM`` months for a chart ("" without months).

    E.g. ``"2018-10 to 2021-01 (7 months, not contiguous)"``.
    """
    if not months:
        return ""
    ordered = sorted(months)
    first, last = pd.Period(ordered[0], "M"), pd.Period(ordered[-1], "M")
    span = (last - first).n + 1
    gaps = ", not contiguous" if span != len(set(ordered)) else ""
    return f"{ordered[0]} to {ordered[-1]} ({len(set(ordered))} months{gaps})"


def measure_axis_label(measure: str, edition: str | int | None = None) -> str:
    """Return the axis title of a deprivation measure, with its edition and direction.

    ``measure_axis_label("imd_score", 2010)`` is ``"IMD 2010 score (higher = more deprived)"``;
    a rank says ``lower = more deprived``; without ``edition`` the IMD is named without a year.
    """
    name = measure_name(measure, edition)
    known = name != measure.replace("_", " ")
    return f"{name} ({measure_direction(measure)})" if known else name


def _visible(frame: pd.DataFrame) -> pd.DataFrame:
    if "suppressed" in frame.columns:
        return frame[~frame["suppressed"].astype(bool)]
    return frame


def _directions(frame: pd.DataFrame) -> np.ndarray:
    return frame["direction"].fillna("").astype(str).to_numpy()


def source_line(fig: Figure, source: str) -> None:
    """Write ``Source: ...`` along the foot of ``fig`` (nothing when ``source`` is empty)."""
    if source:
        # supxlabel, not fig.text: the constrained layout keeps room for it below the axes
        fig.supxlabel(f"Source: {source}", x=0.01, ha="left", fontsize=7, color="#555555")


def _overlaps(box: tuple[float, ...], others: Sequence[tuple[float, ...]]) -> bool:
    x0, y0, x1, y1 = box
    return any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in others)


def _place_labels(
    ax: Axes, x: np.ndarray, y: np.ndarray, names: list[str], *, avoid: np.ndarray
) -> None:
    """Annotate each point at the first offset whose box overlaps no label or point drawn.

    ``avoid`` holds every point drawn (n x 2, data coordinates), labelled or not.

    The axes limits and position must be final (the chart fixes them first), so the pixel boxes
    estimated here are those drawn.
    """
    fig = ax.get_figure()
    assert fig is not None
    scale = fig.dpi / 72  # points to pixels
    every = ax.transData.transform(np.column_stack([x, y])) if len(x) else np.empty((0, 2))
    dots = ax.transData.transform(avoid) if len(avoid) else np.empty((0, 2))
    taken = [(px - 4 * scale, py - 4 * scale, px + 4 * scale, py + 4 * scale) for px, py in dots]
    for (px, py), xi, yi, name in zip(every, x, y, names, strict=True):
        width, height = 0.6 * _FONT * len(name) * scale, 1.2 * _FONT * scale
        boxes = []
        for dx, dy in _OFFSETS:
            left = px + dx * scale - (width if dx < 0 else 0)
            boxes.append(
                ((dx, dy), (left, py + dy * scale, left + width, py + dy * scale + height))
            )
        own = (px - 4 * scale, py - 4 * scale, px + 4 * scale, py + 4 * scale)
        others = [t for t in taken if t != own]
        (dx, dy), box = next(((o, b) for o, b in boxes if not _overlaps(b, others)), boxes[0])
        taken.append(box)
        ax.annotate(
            name, (xi, yi), xytext=(dx, dy), textcoords="offset points", fontsize=_FONT,
            ha="right" if dx < 0 else "left", va="bottom",
        )  # fmt: skip


def _key_handles() -> list[Line2D]:
    """Return legend markers for the colour key (always all three, so every chart has the key)."""
    return [
        Line2D([], [], marker="o", linestyle="none", color=FLAG_COLOURS[d], label=_KEY[d])
        for d in ("over", "under", "")
    ]


def _new_chart() -> tuple[Figure, Axes]:
    """Return a figure whose axes leave the right margin to the legend.

    The layout is fixed, not recomputed at draw time, so label positions computed before drawing
    hold.
    """
    fig = Figure(figsize=(10, 6.5))
    ax = fig.add_subplot()
    fig.subplots_adjust(left=0.08, right=0.68, top=0.88, bottom=0.12)
    return fig, ax


def _freeze(ax: Axes) -> None:
    ax.autoscale_view()
    ax.set_xlim(ax.get_xlim())
    ax.set_ylim(ax.get_ylim())


def _finish(fig: Figure, ax: Axes, title: str, period: str, source: str) -> None:
    """Title with the period, legend outside the axes (right), source line."""
    ax.set_title(title + (f"\n{period}" if period else ""), fontsize=10)
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(
        handles=[*handles, *_key_handles()],
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        frameon=False,
    )
    source_line(fig, source)


def outlier_scatter(
    outliers: pd.DataFrame,
    fit: ModelFit,
    *,
    title: str = "",
    source: str = "",
    edition: str | int | None = None,
    period: str = "",
) -> Figure:
    """Return the scatter of rate per 1,000 against the deprivation measure, with the fitted line.

    Parameters
    ----------
    outliers
        :func:`geo_sppa.wards.outliers.deprivation_outliers` data (``population, observed,
        pi_low, pi_high, direction, ward_name`` and the measure); ``suppressed`` rows hidden.
    fit
        The model drawn as the line.
    title, source
        Chart title and the ``Source:`` line at the foot.
    edition, period
        The IMD edition on the x-axis title ("IMD 2010 score (higher = more deprived)") and the
        period the counts cover, under the title.

    Returns
    -------
    matplotlib.figure.Figure
        Each ward's leave-one-out 95% prediction interval as a grey bar (as a rate, floored at
        0), points coloured by :data:`FLAG_COLOURS`, flagged wards labelled, the key outside.

    """
    fig, ax = _new_chart()
    data = _visible(outliers)
    x = data[fit.measure].to_numpy(dtype=float)
    pop = data["population"].to_numpy(dtype=float)
    rate = 1000 * pd.to_numeric(data["observed"]).to_numpy(dtype=float) / pop
    low = np.maximum(1000 * data["pi_low"].to_numpy(dtype=float) / pop, 0.0)
    high = 1000 * data["pi_high"].to_numpy(dtype=float) / pop
    directions = _directions(data)
    ax.vlines(x, low, high, colors="#dddddd", linewidth=3, label="leave-one-out 95% interval")
    colours = [FLAG_COLOURS.get(d, FLAG_COLOURS[""]) for d in directions]
    ax.scatter(x, rate, c=colours, s=36, zorder=3, edgecolors="white", linewidths=0.5)
    grid = np.linspace(np.nanmin(outliers[fit.measure]), np.nanmax(outliers[fit.measure]), 200)
    b0, b1 = fit.params["const"], fit.params[fit.measure]
    line = b0 + b1 * grid if fit.model == "ols" else 1000 * np.exp(b0 + b1 * grid)
    ax.plot(
        grid, np.maximum(line, 0.0), color="black", linewidth=1.2, label=f"fitted ({fit.model})"
    )
    ax.set_ylim(bottom=0)
    ax.set_xlabel(measure_axis_label(fit.measure, edition))
    ax.set_ylabel("incidents per 1,000 residents")
    hidden = len(outliers) - len(data)
    if hidden:
        ax.text(0.01, 0.01, f"{hidden} ward(s) with small counts not shown",
                transform=ax.transAxes, fontsize=7)  # fmt: skip
    _freeze(ax)
    ax.set_ylim(bottom=0)
    flagged = directions != ""
    names = list(data["ward_name"].astype(str)[flagged])
    _place_labels(ax, x[flagged], rate[flagged], names, avoid=np.column_stack([x, rate]))
    _finish(fig, ax, title or f"Incidents against deprivation ({fit.model} model)", period, source)
    return fig


def funnel_chart(
    funnel: pd.DataFrame,
    od: Overdispersion,
    *,
    title: str = "",
    source: str = "",
    period: str = "",
) -> Figure:
    """Return the funnel plot: rate per 1,000 against population, 95% and 99.8% limits.

    Limits are the over-dispersion-adjusted ones of :func:`geo_sppa.wards.funnel.funnel_limits`
    with ``od.tau2``. Points take the model's colours (:data:`FLAG_COLOURS`: the funnel ignores
    deprivation, so a ward can be outside its limits and grey); flagged wards and wards outside
    the 99.8% limits are labelled; ``period`` goes under the title, ``source`` at the foot.
    """
    fig, ax = _new_chart()
    pop_all = funnel["population"].to_numpy(dtype=float)
    grid = np.linspace(max(pop_all.min() * 0.8, 1.0), pop_all.max() * 1.1, 300)
    limits = funnel_limits(grid, target_rate_per_1000=od.target_rate_per_1000, tau2=od.tau2)
    ax.axhline(od.target_rate_per_1000, color="black", linewidth=1,
               label=f"overall {od.target_rate_per_1000:.1f} per 1,000")  # fmt: skip
    for level, style in (("95", "--"), ("99.8", ":")):
        ax.plot(grid, limits[f"low_{level}"], style, color="#555555", linewidth=1,
                label=f"{level}% limits")  # fmt: skip
        ax.plot(grid, limits[f"high_{level}"], style, color="#555555", linewidth=1)
    data = _visible(funnel)
    pop = data["population"].to_numpy(dtype=float)
    rate = 1000 * pd.to_numeric(data["count"]).to_numpy(dtype=float) / pop
    directions = _directions(data)
    colours = [FLAG_COLOURS.get(d, FLAG_COLOURS[""]) for d in directions]
    ax.scatter(pop, rate, c=colours, s=30, zorder=3, edgecolors="white", linewidths=0.5)
    ax.set_xlabel("population (residents)")
    ax.set_ylabel("incidents per 1,000 residents")
    adj = (
        f"limits adjusted for over-dispersion (phi = {od.phi:.2f}, tau^2 = {od.tau2:.3g})"
        if od.tau2 > 0
        else "Poisson limits"
    )
    ax.text(0.01, 0.98, adj, transform=ax.transAxes, fontsize=7, va="top")
    ax.set_ylim(bottom=0)
    _freeze(ax)
    position = data["funnel"].fillna("").astype(str)
    shown = (directions != "") | position.str.contains("99.8").to_numpy()
    names = list(data["ward_name"].astype(str)[shown])
    _place_labels(ax, pop[shown], rate[shown], names, avoid=np.column_stack([pop, rate]))
    _finish(fig, ax, title or "Funnel plot", period, source)
    return fig
