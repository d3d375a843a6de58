"""The report's recommendations section: suggestions for the partnership to weigh, with evidence.

The suggestions come from :func:`geo_sppa.assessment.recommendations.recommendations` (pure
logic); this module only writes them as HTML, each with what it concerns and the evidence it
rests on, every piece of text escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from geo_sppa.render.report_markup import escape

if TYPE_CHECKING:
    from geo_sppa.assessment.recommendations import Recommendation

__all__ = ["RECOMMENDATIONS_LEAD", "recommendation_points", "recommendations_section"]

#: The sentence that opens the section: these are suggestions, not decisions.
RECOMMENDATIONS_LEAD = (
    "Suggestions for the partnership to weigh, drawn from the evidence in this report; each names "
    "the evidence it rests on. They are not decisions: local knowledge, budgets and other "
    "priorities decide what is done."
)


def recommendation_points(recs: Sequence[Recommendation]) -> list[str]:
    """Return one plain-text line per suggestion (for the executive summary and the terminal)."""
    return [
        f"Suggestion ({r.kind}): {r.action}"
        + (f" {len(r.subjects)}: {'; '.join(r.subjects)}." if r.subjects else "")
        for r in recs
    ]


def recommendations_section(recs: Sequence[Recommendation], *, considered: str = "") -> str:
    """Return the section body: the lead, then each suggestion with its subjects and evidence.

    Parameters
    ----------
    recs
        The suggestions, in order.
    considered
        What the rules looked at, said when no suggestion follows from it.
    """
    lead = f'<p class="note">{escape(RECOMMENDATIONS_LEAD)}</p>'
    if not recs:
        said = f" ({escape(considered)})" if considered else ""
        return lead + f"<p>The evidence supports no suggestion{said}.</p>"
    items = []
    for r in recs:
        evidence = "".join(f"<li>{escape(line)}</li>" for line in r.evidence)
        items.append(
            f'<li data-kind="{escape(r.kind)}"><span class="kind">{escape(r.kind.capitalize())}'
            f'</span>: {escape(r.action)}<div class="note">Evidence:</div>'
            f"<ul>{evidence}</ul></li>"
        )
    return lead + f'<ul class="recs">{"".join(items)}</ul>'
