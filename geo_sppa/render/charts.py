"""Every static chart of geo-sppa: ward outliers, funnel plot, trends, costs and the risk matrix.

Functions return a ``matplotlib.figure.Figure`` built with the Figure API, never pyplot, and no
backend is chosen here (``matplotlib.use`` would switch a notebook user's backend); the caller
saves it (``fig.savefig(path, dpi=150)``). Rows flagged ``suppressed`` are neither plotted nor
labelled, since their position gives the count away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from geo_sppa.render.outlier_charts import funnel_chart, outlier_scatter, source_line
from geo_sppa.schema import ROAD_USERS

if TYPE_CHECKING:
    from geo_sppa.assessment.crime_costs import CostResult
    from geo_sppa.assessment.trends import TrendResult

__all__ = ["cost_chart", "funnel_chart", "outlier_scatter", "risk_chart", "trend_charts"]

#: Default priority threshold of :func:`risk_chart` (as ``geo_sppa.assessment.risk``).
_RISK_THRESHOLD = 30.0
_SEVERITY_FILL = (("fatal", "#67001f"), ("serious", "#d6604d"), ("slight", "#f4a582"))


def _year_labels(frame: pd.DataFrame) -> list[str]:
    """Return year labels with ``*`` marking partial years."""
    return [f"{y}*" if p else str(y) for y, p in zip(frame["year"], frame["partial"], strict=True)]


def _partial_note(frame: pd.DataFrame) -> str:
    """Return `` (* partial year)`` when a year is partial, else ''."""
    return " (* partial year)" if frame["partial"].astype(bool).any() else ""


def _by_year_chart(result: TrendResult, title: str) -> Figure:
    """Return collisions by year, one panel per severity (fatal, serious, slight).

    Each panel has its own y-axis from zero and every bar is labelled with its count, so the few
    fatal collisions are as legible as the many slight ones (stacked, they were a hairline).
    Partial years are hatched and marked ``*``.
    """
    by_year = result.by_year
    fig = Figure(figsize=(8, 6.2), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True, height_ratios=(1, 1.2, 1.6))
    labels = _year_labels(by_year)
    partial = by_year["partial"].astype(bool).tolist()
    for ax, (severity, colour) in zip(axes, _SEVERITY_FILL, strict=True):
        values = by_year[severity].to_numpy(dtype=float)
        bars = ax.bar(
            labels,
            values,
            color=colour,
            label=severity,
            edgecolor=["#333333" if p else colour for p in partial],
            hatch=["//" if p else "" for p in partial],
        )
        ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=8, padding=2)
        ax.set_ylim(0, max(float(values.max()) * 1.25, 1.0))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"{severity} collisions", fontsize=8)
        ax.set_title(severity.title(), fontsize=9, loc="left")
    fig.suptitle(
        (title + ": " if title else "")
        + "Collisions by year and severity"
        + _partial_note(by_year),
        fontsize=10,
    )
    return fig


def _rolling_chart(result: TrendResult) -> Figure:
    """Return monthly counts (top) and the rolling 12-month count (bottom), one series per axis.

    With a population the bottom axis carries a second scale, the same line as a rate per 1,000
    (a secondary axis converting the count, not a second line on its own limits).
    """
    monthly = result.monthly
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    x = pd.to_datetime(monthly["month"])
    top.bar(x, monthly["total"], width=25, color="#888888", label="collisions in month")
    top.set_ylim(bottom=0)
    top.set_ylabel("collisions per month")
    top.set_title("Injury collisions by month", fontsize=10)
    bottom.plot(x, monthly["rolling_12"], color="#b2182b", label="rolling 12-month count")
    bottom.set_ylim(bottom=0)
    bottom.set_ylabel("collisions in the last 12 months")
    bottom.set_title("Rolling 12-month count (the partnership measure)", fontsize=10)
    people = result.population
    if people:
        rate = bottom.secondary_yaxis(
            "right", functions=(lambda c: c / people * 1000, lambda r: r * people / 1000)
        )
        rate.set_ylabel("per 1,000 residents")
    return fig


def _seasonality_chart(result: TrendResult) -> Figure:
    season = result.seasonality
    fig = Figure(figsize=(8, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.bar(
        season["name"],
        season["index"],
        color=["#b2182b" if a else "#2166ac" for a in season["above_average"]],
    )
    ax.axhline(100, color="#333333", linewidth=1)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("index (100 = average month)")
    ax.set_title("Seasonality: collisions by month of year (red: above average)", fontsize=10)
    return fig


def _road_user_chart(road_users: pd.DataFrame) -> Figure:
    """Return collisions by road user: complete years joined, a partial year a lone open marker."""
    fig = Figure(figsize=(8, 4.3), layout="constrained")
    ax = fig.subplots()
    labels = np.array(_year_labels(road_users))
    partial = road_users["partial"].astype(bool).to_numpy()
    for user in (c for c in ROAD_USERS if c in road_users.columns):
        values = road_users[user].to_numpy(dtype=float)
        (line,) = ax.plot(labels[~partial], values[~partial], marker="o", label=user)
        if partial.any():
            ax.plot(
                labels[partial],
                values[partial],
                linestyle="none",
                marker="o",
                markerfacecolor="white",
                color=line.get_color(),
                label=f"{user} (partial year)",
            )
    ax.set_ylim(bottom=0)
    ax.set_ylabel("collisions involving")
    ax.legend(fontsize=8)
    ax.set_title("Collisions by road user involved" + _partial_note(road_users), fontsize=10)
    return fig


def trend_charts(result: TrendResult, *, title: str = "", source: str = "") -> dict[str, Figure]:
    """Return ``{file name: Figure}`` of the trend charts.

    Parameters
    ----------
    result
        :func:`geo_sppa.assessment.trends.collision_trends` result.
    title
        Prefix of the by-year chart's title, in words (e.g. the area's name).
    source
        The data the charts draw, written as a ``Source:`` line at the foot of each.

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        ``trends_by_year.png`` (stacked by severity), ``trends_rolling.png``,
        ``trends_seasonality.png`` and, when the data have road-user flags,
        ``trends_road_users.png``.
    """
    charts = {
        "trends_by_year.png": _by_year_chart(result, title),
        "trends_rolling.png": _rolling_chart(result),
        "trends_seasonality.png": _seasonality_chart(result),
    }
    if result.road_users is not None:
        charts["trends_road_users.png"] = _road_user_chart(result.road_users)
    for figure in charts.values():
        source_line(figure, source)
    return charts


def cost_chart(result: CostResult, *, title: str = "", source: str = "") -> Figure:
    """Return the two-panel bar chart: collision costs by severity, crime costs by category.

    Parameters
    ----------
    result
        :func:`geo_sppa.assessment.crime_costs.assessment_costs` result; a panel without data is
        hidden.
    title
        Figure title (none when empty).
    source
        The data drawn, written as a ``Source:`` line at the foot.
    """
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1, 2))
    if result.road is not None:
        road = result.road[result.road["severity"] != "total"]
        left.bar(road["severity"], road["cost_gbp"] / 1e6, color=[c for _, c in _SEVERITY_FILL])
        left.set_ylabel("\u00a3 million")
        left.set_title(
            f"Road collisions ({int(result.road['price_year'].iloc[0])} prices)", fontsize=10
        )
    else:
        left.set_visible(False)
    if result.crime is not None:
        crime = result.crime.dropna(subset=["cost_gbp"]).sort_values("cost_gbp")
        right.barh(crime["category"].astype(str), crime["cost_gbp"] / 1e6, color="#2166ac")
        right.set_xlabel("\u00a3 million")
        right.set_title("Recorded crime (Home Office unit costs)", fontsize=10)
        right.tick_params(axis="y", labelsize=8)
    else:
        right.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    source_line(fig, source)
    return fig


def risk_chart(
    matrix: pd.DataFrame, *, threshold: float = _RISK_THRESHOLD, title: str = "", source: str = ""
) -> Figure:
    """Return the risk matrix as an impact x likelihood grid, the priority threshold drawn.

    Harm (impact x frequency) runs along the x-axis and the partnership gaps (the likelihood the
    response falls short) up the y-axis; each cell is coloured by the risk (harm x gaps) at its
    centre (:func:`geo_sppa.assessment.risk.risk_grid`). The dashed curve harm x gaps =
    ``threshold`` separates the priorities (on or above it, red points) from the rest; every
    theme is labelled at its point (themes sharing a point in one label).

    Parameters
    ----------
    matrix
        :func:`geo_sppa.assessment.risk.risk_matrix` frame (``theme, harm, gaps, risk,
        priority``).
    threshold
        The priority threshold drawn as the curve harm x gaps = threshold.
    title
        Chart title (default ``Partnership risk matrix: harm x partnership gaps``).
    source
        The themes file, written as a ``Source:`` line at the foot.
    """
    from matplotlib.colors import Normalize

    from geo_sppa.assessment.risk import risk_grid

    grid = risk_grid(matrix)
    fig = Figure(figsize=(11, 6.5), layout="constrained")
    ax, key = fig.subplots(1, 2, width_ratios=(2.4, 1))
    norm = Normalize(0, max(float(grid.risk.max()), float(threshold), 1.0))
    mesh = ax.pcolormesh(
        grid.harm_edges, grid.gaps_edges, grid.risk, cmap="YlOrRd", norm=norm, alpha=0.55,
        edgecolors="white", linewidth=0.6,
    )  # fmt: skip
    fig.colorbar(mesh, ax=ax, label="risk = harm x gaps (cell centre)", shrink=0.8, pad=0.01)
    harm = np.linspace(max(threshold / grid.gaps_edges[-1], 1e-9), grid.harm_edges[-1], 200)
    ax.plot(harm, threshold / harm, "--", color="#67001f", linewidth=1.4,
            label=f"priority threshold: risk {threshold:g}")  # fmt: skip
    priority = matrix["priority"].astype(bool).to_numpy()
    ax.scatter(
        matrix["harm"], matrix["gaps"], s=38, zorder=3, edgecolors="black", linewidths=0.6,
        c=np.where(priority, "#b2182b", "#ffffff"),
    )  # fmt: skip
    ax.scatter([], [], c="#b2182b", edgecolors="black", label="priority theme")
    ax.scatter([], [], c="#ffffff", edgecolors="black", label="other theme")
    numbers = pd.Series(np.arange(1, len(matrix) + 1), index=matrix.index)
    last, j = None, 0
    for (g, h), group in numbers.groupby([matrix["gaps"], matrix["harm"]]):
        j, last = (0 if g != last else j + 1), g  # neighbours in a row: labels above, below
        ax.annotate(", ".join(map(str, group)), (h, g), xytext=(3, 4 if j % 2 == 0 else -11),
                    textcoords="offset points", fontsize=7, zorder=4)  # fmt: skip
    key.set_axis_off()
    key.set_title("Themes by risk (red: priority)", fontsize=9, loc="left")
    rows = zip(matrix["theme"], matrix["risk"], matrix["priority"], strict=True)
    for i, (theme, risk, top) in enumerate(rows):
        colour = "#b2182b" if top else "#222222"
        key.text(0, 1 - i / max(len(matrix), 24), f"{i + 1}  {theme} ({risk:g})", fontsize=7,
                 va="top", transform=key.transAxes, color=colour)  # fmt: skip
    ax.set_xlim(grid.harm_edges[0], grid.harm_edges[-1])
    ax.set_ylim(grid.gaps_edges[0], grid.gaps_edges[-1])
    ax.set_xlabel("harm (impact x frequency)")
    ax.set_ylabel("partnership gaps (likelihood the response falls short)")
    ax.legend(loc="upper left", fontsize=7)
    ax.set_title(title or "Partnership risk matrix: harm x partnership gaps", fontsize=10)
    source_line(fig, source)
    return fig
