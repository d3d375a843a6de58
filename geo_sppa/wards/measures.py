"""Deprivation measures in words, for titles, axis labels and summaries.

``measure_name("imd_no_crime_score", "2010")`` is ``"IMD 2010 score without the crime domain"``;
:func:`measure_direction` says which way is more deprived (scores up, ranks down).
"""

from __future__ import annotations

import re

__all__ = ["DOMAINS", "imd_edition", "measure_direction", "measure_name"]

#: The seven IMD domains, as the ``<domain>_score`` columns name them.
DOMAINS = ("income", "employment", "health", "education", "housing", "crime", "environment")


def imd_edition(label: str) -> str | None:
    """Return the IMD edition year named in a label such as ``"IMD 2010"`` (None if none)."""
    found = re.search(r"\b(?:IMD|IoD) ?(\d{4})\b", str(label))
    return found.group(1) if found else None


def measure_name(measure: str, edition: str | int | None = None) -> str:
    """Return a deprivation column's name in words, with the IMD edition when known.

    Parameters
    ----------
    measure
        A ward-table deprivation column (``imd_score``, ``imd_no_crime_score``,
        ``imd_exp_score``, ``imd_rank_popweighted``, ``<domain>_score``); any other column is
        returned with its underscores as spaces.
    edition
        The IMD edition (``2010``, ``2019``, ``2025``), or None to name the IMD without a year.

    Returns
    -------
    str
        e.g. ``"IMD 2019 score rebuilt from the domain ranks"``.
    """
    imd = f"IMD {edition}" if edition else "IMD"
    names = {
        "imd_score": f"{imd} score",
        "imd_no_crime_score": f"{imd} score without the crime domain",
        "imd_exp_score": f"{imd} score rebuilt from the domain ranks",
    }
    if measure in names:
        return names[measure]
    if measure.startswith("imd_rank"):
        return f"{imd} rank, population-weighted mean"
    domain = measure.removesuffix("_score")
    if domain in DOMAINS and domain != measure:
        return f"{imd} {domain} domain score"
    return measure.replace("_", " ")


def measure_direction(measure: str) -> str:
    """Return which way is more deprived: ``"lower = more deprived"`` for ranks, else higher."""
    return "lower = more deprived" if "rank" in measure else "higher = more deprived"
