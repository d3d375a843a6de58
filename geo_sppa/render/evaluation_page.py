"""The page of ``geo-sppa evaluate``: did the schemes work? One self-contained HTML file.

:func:`evaluation_chart` draws, per site, the collisions expected after had it not been treated
(with its 95% range) beside those observed, and the index of effectiveness with its interval;
:func:`evaluation_html` puts the chart (a PNG embedded as base64), the overall estimate in
words and the per-site table on one page that opens offline.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from geo_sppa.evaluation.before_after import Z_95, EffectEstimate
from geo_sppa.render.report_html import figure_data_uri

__all__ = ["effect_words", "evaluation_chart", "evaluation_html"]

#: Sites drawn in the chart, most collisions expected first (the table lists every site).
CHART_SITES = 40
_THETA_AXIS_MAX = 3.0


def effect_words(overall: EffectEstimate) -> str:
    """Return the overall estimate in one plain sentence."""
    if not overall.n_sites or not np.isfinite(overall.theta):
        return "No site had enough after period to estimate an effect."
    change = overall.change_pct
    what = f"{abs(change):.0f}% {'fewer' if change < 0 else 'more'}"
    interval = f"{overall.theta_low:.2f} to {overall.theta_high:.2f}"
    if overall.theta_high < 1:
        verdict = "the interval lies below 1: evidence that collisions fell"
    elif overall.theta_low > 1:
        verdict = "the interval lies above 1: evidence that collisions rose"
    else:
        verdict = "the interval covers 1: no evidence of an effect either way"
    return (
        f"Over {overall.n_sites} site(s): {overall.observed_after} collisions after, against "
        f"{overall.expected_after:.1f} expected without the schemes, theta = "
        f"{overall.theta:.2f} (95% interval {interval}), {what} than expected; {verdict}. "
        f"The naive before/after ratio is {overall.naive_ratio:.2f}."
    )


def evaluation_chart(sites: pd.DataFrame, overall: EffectEstimate, *, title: str = "") -> Figure:
    """Return the two-panel chart: observed against expected per site, and theta per site.

    Parameters
    ----------
    sites
        :attr:`geo_sppa.evaluation.schemes.SchemeEvaluation.sites` (``scheme``,
        ``expected_after``, ``expected_after_sd``, ``observed_after``, ``theta``,
        ``theta_low``, ``theta_high``).
    overall
        The overall estimate, drawn as the last row of the theta panel.
    title
        Figure title (none when empty).
    """
    shown = sites.sort_values("expected_after", ascending=False).head(CHART_SITES).iloc[::-1]
    n = len(shown)
    fig = Figure(figsize=(11, 1.8 + 0.26 * (n + 1)), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    y = np.arange(n)
    labels = [str(s)[:38] for s in shown["scheme"]]
    sd = Z_95 * shown["expected_after_sd"].to_numpy(dtype=float)
    left.errorbar(shown["expected_after"], y, xerr=sd, fmt="s", color="#777777", ms=4,
                  capsize=2, label="expected without treatment (95% range)")  # fmt: skip
    left.plot(shown["observed_after"], y, "o", color="#b2182b", ms=5, label="observed after")
    left.set_xlabel("collisions in the after period")
    left.legend(loc="lower right", fontsize=8)
    theta = np.r_[shown["theta"].to_numpy(dtype=float), overall.theta]
    low = np.r_[shown["theta_low"].to_numpy(dtype=float), overall.theta_low]
    high = np.r_[shown["theta_high"].to_numpy(dtype=float), overall.theta_high]
    yy = np.r_[y, n]
    clipped = np.minimum(high, _THETA_AXIS_MAX)
    right.errorbar(np.minimum(theta, _THETA_AXIS_MAX), yy,
                   xerr=[np.maximum(np.minimum(theta, _THETA_AXIS_MAX) - low, 0),
                         np.maximum(clipped - np.minimum(theta, _THETA_AXIS_MAX), 0)],
                   fmt="o", color="#2166ac", ms=4, capsize=2)  # fmt: skip
    right.plot([overall.theta], [n], "D", color="#000000", ms=7)
    right.axvline(1.0, color="#555555", lw=1, ls="--")
    right.set_xlim(0, _THETA_AXIS_MAX)
    right.set_xlabel("theta (1 = no change; below 1 = fewer collisions than expected)")
    left.set_yticks(list(yy), [*labels, "ALL SITES"], fontsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;"
    "color:#222}table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;"
    "padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}"
    ".flag{color:#b35806}.lead{font-size:1.1em}img{max-width:100%}"
)

_TABLE = [
    ("scheme", "Scheme"), ("candidate_id", "Site counted"), ("treatment_date", "Treated"),
    ("observed_before", "Before"), ("before_years", "Years"), ("observed_after", "After"),
    ("after_years", "Years"), ("expected_after", "Expected after"), ("theta", "Theta"),
    ("theta_interval", "95% interval"), ("naive_ratio", "Naive ratio"), ("flags", "Flags"),
]  # fmt: skip


def _site_rows(sites: pd.DataFrame) -> str:
    """Return the per-site table rows."""
    table = sites.assign(
        theta_interval=[f"{a:.2f} to {b:.2f}" for a, b in zip(sites["theta_low"],
                                                              sites["theta_high"], strict=True)],
        flags=[", ".join(f for f, on in (("partial years", p), ("short after period", s)) if on)
               for p, s in zip(sites["partial_years"], sites["short_after"], strict=True)],
    )  # fmt: skip
    rows = []
    for _, row in table.iterrows():
        cells = []
        for column, _label in _TABLE:
            value = row[column]
            if isinstance(value, float):
                value = f"{value:.2f}"
            css = ' class="flag"' if column == "flags" and value else ""
            cells.append(f"<td{css}>{_e(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join(rows)


def evaluation_html(
    sites: pd.DataFrame,
    overall: EffectEstimate,
    *,
    title: str,
    notes: Iterable[str] = (),
) -> str:
    """Return the self-contained evaluation page.

    Parameters
    ----------
    sites, overall
        The per-site frame and the overall estimate (see :func:`evaluation_chart`).
    title
        The page title.
    notes
        Lines listed under "How this was estimated" (the SPF, the periods, set-aside rows).
    """
    chart = figure_data_uri(evaluation_chart(sites, overall, title=title)) if len(sites) else ""
    head = "".join(f"<th>{_e(label)}</th>" for _, label in _TABLE)
    items = "".join(f"<li>{_e(n)}</li>" for n in notes)
    image = f'<img alt="observed and expected collisions per site" src="{chart}">' if chart else ""
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>"
        f"<p class='lead'>{_e(effect_words(overall))}</p>"
        "<p>Theta is the index of effectiveness: the collisions observed after the scheme over "
        "those expected had it not been built (empirical Bayes, Hauer 1997). Theta 0.7 means "
        "30% fewer collisions than expected; an interval that covers 1 is no evidence of an "
        "effect. The naive ratio (after over before, per year) ignores regression to the mean "
        "and the trend, so at sites chosen for their high counts it looks better than it is."
        f"</p>{image}<h2>Sites</h2><table><thead><tr>{head}</tr></thead><tbody>"
        f"{_site_rows(sites)}</tbody></table><h2>How this was estimated</h2><ul>{items}</ul>"
        "</body></html>"
    )
