"""The partnership risk matrix: harm = impact x frequency, risk = harm x partnership gaps, ranked.

A strategic assessment scores each theme (dwelling burglary, domestic abuse, KSI collisions...) for
impact and frequency (their product is the *harm* score) and for the gaps in the partnership's
response; risk = harm x gaps. Themes may give the harm score directly (the 2012 Peterborough matrix
does). The bundled example is ``data/peterborough/spp2012_risk_matrix.csv``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo_sppa.errors import InputError
from geo_sppa.schema import header_key

__all__ = [
    "RISK_COLUMNS",
    "DEFAULT_PRIORITY_THRESHOLD",
    "RiskGrid",
    "published_differences",
    "risk_grid",
    "risk_matrix",
]

#: Normalised field -> accepted headers (any case and punctuation).
RISK_COLUMNS: dict[str, tuple[str, ...]] = {
    "theme": ("theme", "name", "issue"),
    "group": ("group", "category", "strand"),
    "impact": ("impact", "impact_score"),
    "frequency": ("frequency", "frequency_score", "likelihood"),
    "harm": ("harm_score", "harm"),
    "gaps": ("partnership_gaps_score", "partnership_gaps", "gaps_score", "gaps", "gap"),
}
#: Themes with risk at or above this are priorities. A toolkit default (e.g. harm 10 x gaps 3),
#: not a published rule: pass the threshold your partnership agreed.
DEFAULT_PRIORITY_THRESHOLD = 30.0


def _columns(frame: pd.DataFrame, source: str) -> dict[str, str | None]:
    keys = {header_key(c): c for c in frame.columns}
    found = {
        field: next((keys[header_key(c)] for c in cands if header_key(c) in keys), None)
        for field, cands in RISK_COLUMNS.items()
    }
    has_harm = found["harm"] is not None or (found["impact"] and found["frequency"])
    names = {"theme": "theme", "gaps": "partnership_gaps_score"}
    missing = [names[f] for f in ("theme", "gaps") if found[f] is None]
    if not has_harm:
        missing.append("harm_score (or impact and frequency)")
    if missing:
        raise InputError(
            f"{source}: no column {', '.join(missing)} (expected theme, impact and frequency or "
            f"harm_score, partnership_gaps_score); found {', '.join(map(str, frame.columns))}; "
            "rename the columns"
        )
    return found


def _scores(
    frame: pd.DataFrame, column: str, themes: pd.Series, source: str, *, required: bool
) -> pd.Series:
    stripped = frame[column].astype("string").str.strip()
    text = stripped.mask(stripped == "")
    values = pd.to_numeric(text, errors="coerce")
    bad = (text.notna() & values.isna()) | (values < 0)
    if required:
        bad |= text.isna()
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(
            f"{source}: column {column!r} row {i + 1} ({themes.iloc[i]}) has "
            f"{frame[column].iloc[i]!r}; expected a number of 0 or more; fix the score"
        )
    return values.astype(float)


def _harm(
    frame: pd.DataFrame, col: dict[str, str | None], labels: pd.Series, source: str
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Return (impact, frequency, harm): harm = impact x frequency, else the given harm score."""
    impact = frequency = pd.Series(float("nan"), index=frame.index)
    impact_column, frequency_column, harm_column = col["impact"], col["frequency"], col["harm"]
    both = impact_column is not None and frequency_column is not None
    if impact_column is not None and frequency_column is not None:
        need = harm_column is None
        impact = _scores(frame, impact_column, labels, source, required=need)
        frequency = _scores(frame, frequency_column, labels, source, required=need)
    given_harm = (
        _scores(frame, harm_column, labels, source, required=not both)
        if harm_column
        else pd.Series(float("nan"), index=frame.index)
    )
    harm = (impact * frequency).fillna(given_harm)
    if harm.isna().any():
        i = int(harm.isna().to_numpy().nonzero()[0][0])
        raise InputError(
            f"{source}: row {i + 1} ({labels.iloc[i]}) has neither impact and frequency nor a harm "
            "score; fill them in"
        )
    return impact, frequency, harm


def risk_matrix(
    themes: pd.DataFrame,
    *,
    threshold: float = DEFAULT_PRIORITY_THRESHOLD,
    source: str = "risk matrix",
) -> pd.DataFrame:
    """Return the ranked risk matrix of ``themes``.

    Parameters
    ----------
    themes
        One row per theme with ``theme``, ``partnership_gaps_score`` (or ``gaps``) and either
        ``impact`` and ``frequency`` or ``harm_score`` (or both: a row with impact and frequency
        takes harm = impact x frequency, and a row with only a harm score keeps it). Optional
        ``group``; other columns (e.g. ``risk_score_published``) are carried along. Values may be
        text (as read from a CSV).
    threshold
        Themes with risk >= threshold are flagged ``priority``.
    source
        File name used in error messages.

    Returns
    -------
    pandas.DataFrame
        ``rank, group, theme, impact, frequency, harm, gaps, risk, priority`` plus the carried
        columns, sorted by risk (highest first; ties share a rank and keep the input order).

    Raises
    ------
    InputError
        No rows, a missing column, or a missing, non-numeric or negative score (the message names
        the column, the 1-based data row and the theme).
    """
    if themes.empty:
        raise InputError(f"{source}: no rows; expected one row per theme")
    col = _columns(themes, source)
    theme = themes[col["theme"]].astype("string").str.strip()
    if theme.isna().any():
        i = int(theme.isna().to_numpy().nonzero()[0][0])
        raise InputError(
            f"{source}: column {col['theme']!r} row {i + 1} is empty; name every theme"
        )
    labels = theme.reset_index(drop=True)
    frame = themes.reset_index(drop=True)
    impact, frequency, harm = _harm(frame, col, labels, source)
    gaps_column = col["gaps"]
    assert gaps_column is not None  # _columns raised otherwise
    gaps = _scores(frame, gaps_column, labels, source, required=True)
    risk = harm * gaps
    out = pd.DataFrame(
        {
            "group": frame[col["group"]].astype("string")
            if col["group"]
            else pd.Series(pd.NA, index=frame.index, dtype="string"),
            "theme": labels,
            "impact": impact,
            "frequency": frequency,
            "harm": harm,
            "gaps": gaps,
            "risk": risk,
            "priority": risk >= float(threshold),
        }
    )
    used = {c for c in col.values() if c}
    for column in frame.columns:
        if column not in used and column not in out.columns:
            out[column] = frame[column]
    out.insert(0, "rank", risk.rank(method="min", ascending=False).astype(int))
    return out.sort_values(["rank"], kind="stable", ignore_index=True)


def published_differences(matrix: pd.DataFrame) -> int | None:
    """Return how many themes' risk differs from their ``risk_score_published`` column.

    None when the matrix carries no published scores (only the bundled 2012 matrix does).
    """
    if "risk_score_published" not in matrix.columns:
        return None
    published = pd.to_numeric(matrix["risk_score_published"], errors="coerce")
    return int((published - matrix["risk"]).abs().gt(1e-9).sum())


@dataclass(frozen=True)
class RiskGrid:
    """The cells of the impact x likelihood grid a risk matrix is drawn on.

    Attributes
    ----------
    harm_edges
        Cell edges along harm (impact x frequency), from 0 in equal "nice" steps (1, 2, 5 x 10^n)
        past the largest harm.
    gaps_edges
        Cell edges along partnership gaps: whole-number scores at the cell centres (edges at
        -0.5, 0.5, ...) for whole-number scores, else equal steps like ``harm_edges``.
    risk
        Risk (harm x gaps) at each cell's centre, shape ``(len(gaps_edges) - 1,
        len(harm_edges) - 1)`` (rows: gaps, columns: harm).
    """

    harm_edges: np.ndarray
    gaps_edges: np.ndarray
    risk: np.ndarray


def _nice_edges(top: float, cells: int = 8) -> np.ndarray:
    """Return edges from 0 past ``top`` in about ``cells`` steps of 1, 2 or 5 x 10^n."""
    rough = max(top, 1e-9) / cells
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    n = max(int(math.floor(top / step)) + 1, 1)
    return np.arange(n + 1) * step


def risk_grid(matrix: pd.DataFrame) -> RiskGrid:
    """Return the grid cells (edges and centre risk) that cover every theme of ``matrix``.

    Parameters
    ----------
    matrix
        :func:`risk_matrix` frame (``harm`` and ``gaps``).

    Returns
    -------
    RiskGrid
        Edges along harm and gaps and the risk at each cell's centre.
    """
    harm = matrix["harm"].to_numpy(dtype=float)
    gaps = matrix["gaps"].to_numpy(dtype=float)
    harm_edges = _nice_edges(float(np.nanmax(harm)) if len(harm) else 1.0)
    top_gap = float(np.nanmax(gaps)) if len(gaps) else 1.0
    if np.all(np.mod(gaps, 1) == 0):
        gaps_edges = np.arange(-0.5, max(top_gap, 1.0) + 1.0, 1.0)
    else:
        gaps_edges = _nice_edges(top_gap, cells=5)
    harm_mid = (harm_edges[:-1] + harm_edges[1:]) / 2
    gaps_mid = np.clip((gaps_edges[:-1] + gaps_edges[1:]) / 2, 0, None)
    return RiskGrid(harm_edges, gaps_edges, np.outer(gaps_mid, harm_mid))
