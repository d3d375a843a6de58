"""The report's "Effect of schemes" section: did the treated sites do better than expected.

The numbers come from :func:`geo_sppa.evaluation.schemes.scheme_evaluation` (the evaluation
``geo-sppa evaluate`` runs); this module only writes them as HTML: the overall index of
effectiveness (theta) with its 95% interval in words, the same per site kind, the naive
before/after ratio beside it with what regression to the mean does to it, and one row per
evaluated site. Every piece of text is escaped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from geo_sppa.render.report_markup import escape, html_table

if TYPE_CHECKING:
    from geo_sppa.evaluation.schemes import SchemeEvaluation

__all__ = ["SCHEMES_TITLE", "RTM_SENTENCE", "scheme_points", "schemes_section"]

#: The section's title (its id is ``schemes``).
SCHEMES_TITLE = "Effect of schemes"
#: Why the naive ratio is not the effect.
RTM_SENTENCE = (
    "The naive ratio compares the after count with the before count alone; sites are usually "
    "treated after a bad spell, and such sites tend to have fewer collisions next anyway "
    "(regression to the mean), so it overstates a fall. Theta compares the after count with "
    "the count expected without the scheme, which corrects for this."
)

_GROUP_COLUMNS = {"sites": "Sites", "n_sites": "Evaluated", "observed_before": "Before",
                  "observed_after": "After", "expected_after": "Expected without the scheme",
                  "theta": "Theta", "interval": "95% interval",
                  "naive_ratio": "Naive ratio"}  # fmt: skip
_SITE_COLUMNS = {"scheme": "Site", "kind": "Kind", "treatment_date": "Treated",
                 "observed_before": "Before", "observed_after": "After",
                 "expected_after": "Expected without the scheme", "theta": "Theta",
                 "interval": "95% interval", "naive_ratio": "Naive ratio"}  # fmt: skip
_FORMATS = {"expected_after": ".1f", "theta": ".2f", "naive_ratio": ".2f"}


def _interval(frame: pd.DataFrame) -> pd.Series:
    low, high = (frame[c].map("{:.2f}".format) for c in ("theta_low", "theta_high"))
    return low + " to " + high


def scheme_points(result: SchemeEvaluation) -> list[str]:
    """Return the overall estimate and one line per site kind, in words (plain text)."""
    from geo_sppa.render.evaluation_page import effect_words

    points = [f"All treated sites: {effect_words(result.effect.overall)}"]
    if len(result.by_kind) > 1:
        points += [f"{kind.capitalize()} sites: {effect_words(e)}"
                   for kind, e in result.by_kind.items()]  # fmt: skip
    return points


def schemes_section(result: SchemeEvaluation) -> str:
    """Return the section body: theta in words, the table per kind, then the per-site table."""
    overall = result.effect.overall
    groups = pd.DataFrame(
        [{"sites": "all", **overall.as_row()}]
        + [{"sites": kind, **e.as_row()} for kind, e in result.by_kind.items()]
    )
    groups["interval"] = _interval(groups)
    sites = pd.DataFrame(result.sites.drop(columns="geometry"))
    sites["interval"] = _interval(sites)
    short = (
        f" {overall.n_short_after} site(s) with under a year after treatment are listed but "
        "left out of the overall estimate."
        if overall.n_short_after
        else ""
    )
    lead = "".join(f"<p>{escape(p)}</p>" for p in scheme_points(result))
    note = (
        "Theta is collisions after against those expected had the site not been treated: 0.70 "
        f"means 30% fewer; an interval that covers 1 is no evidence of an effect. {RTM_SENTENCE}"
    )
    return (
        lead
        + f'<p class="note">{escape(note + short)}</p>'
        + html_table(groups, _GROUP_COLUMNS, formats=_FORMATS)
        + f"<h3>Per site ({len(sites)})</h3>"
        + html_table(sites, _SITE_COLUMNS, formats=_FORMATS)
    )
