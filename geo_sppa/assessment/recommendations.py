"""Recommendations drawn from the assessment's evidence: suggestions for the partnership to weigh.

Each rule reads one piece of evidence and names it, so a reader can check why a suggestion was
made; no rule fires without its evidence:

- a cluster site ranked in the top ``top_sites`` that was a site in the previous window too
  (``status == "persistent"``) -> an engineering (road safety) study;
- a site whose ``rtm_note`` (or ``rtm_likely``) column says its count is likely to fall back by
  regression to the mean -> monitor before treating (and no engineering study yet). Either column
  may be absent: then no site is flagged;
- a ward with fewer incidents than deprivation predicts, outside its prediction interval
  (``direction == "under"``, the "possible under-reporting" label) -> community engagement;
- deprivation data (IMD edition) ``stale_years`` or more older than the incidents -> check the
  population growth of the flagged wards (or of every ward when none is flagged) before acting.

Functions take in-memory frames and return :class:`Recommendation` records; the strategic
assessment (:mod:`geo_sppa.assessment.pipeline`) calls :func:`recommendations` on its results.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "ENGAGEMENT",
    "ENGINEERING_STUDY",
    "MONITOR",
    "POPULATION_CHECK",
    "Recommendation",
    "recommendations",
]

ENGINEERING_STUDY = "engineering study"
MONITOR = "monitor before treating"
ENGAGEMENT = "community engagement"
POPULATION_CHECK = "check population growth"


@dataclass(frozen=True)
class Recommendation:
    """One suggestion and the evidence it rests on.

    Attributes
    ----------
    kind
        :data:`ENGINEERING_STUDY`, :data:`MONITOR`, :data:`ENGAGEMENT` or
        :data:`POPULATION_CHECK`.
    subjects
        The sites or wards it concerns, in order (empty: the whole area).
    action
        What is suggested, in one sentence.
    evidence
        One line per subject (or one for the whole area) naming the evidence.
    """

    kind: str
    subjects: tuple[str, ...]
    action: str
    evidence: tuple[str, ...]


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """Return ``column`` as stripped text ('' where missing or absent)."""
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype="string")
    return frame[column].astype("string").fillna("").str.strip()


def _rtm_flagged(sites: pd.DataFrame) -> pd.Series:
    """Return True where a site's ``rtm_note`` or ``rtm_likely`` says regression to the mean."""
    note = _text(sites, "rtm_note")
    said = note.str.contains(r"regression|mean|likely|rtm", case=False, regex=True)
    flagged = note.ne("") & said & ~note.str.contains(r"\bunlikely\b|\bnot likely\b", case=False)
    if "rtm_likely" in sites.columns:
        flagged |= sites["rtm_likely"].fillna(False).astype(bool)
    return flagged.astype(bool)


def _site_name(row: pd.Series) -> str:
    return str(row.get("name") or row.get("site_id") or f"site ranked {row.get('rank')}")


def _site_recommendations(sites: pd.DataFrame, top_sites: int) -> list[Recommendation]:
    """Return the engineering-study and monitor-first suggestions of the cluster sites."""
    if sites is None or not len(sites):
        return []
    rtm = _rtm_flagged(sites)
    out = []
    ranked = sites["rank"] if "rank" in sites.columns else pd.Series(range(1, len(sites) + 1))
    top = ranked.to_numpy() <= top_sites
    persistent = _text(sites, "status").eq("persistent").to_numpy() & top & ~rtm.to_numpy()
    chosen = sites[persistent]
    if len(chosen):
        evidence = tuple(
            f"{_site_name(r)}: ranked {int(r['rank'])} by casualty cost with {int(r['total'])} "
            "collisions, and a cluster site in the previous window too"
            + (
                f" ({int(r['previous_total'])} collisions then)"
                if pd.notna(r.get("previous_total"))
                else ""
            )
            for _, r in chosen.iterrows()
        )
        out.append(
            Recommendation(
                ENGINEERING_STUDY,
                tuple(_site_name(r) for _, r in chosen.iterrows()),
                "Commission a road-safety engineering study of these persistent high-ranked sites.",
                evidence,
            )
        )
    monitored = sites[rtm.to_numpy()]
    if len(monitored):
        out.append(
            Recommendation(
                MONITOR,
                tuple(_site_name(r) for _, r in monitored.iterrows()),
                "Monitor these sites for another period before treating them: their counts are "
                "likely to fall without treatment (regression to the mean).",
                tuple(
                    f"{_site_name(r)}: {note or 'rtm_likely'}"
                    for (_, r), note in zip(
                        monitored.iterrows(), _text(monitored, "rtm_note"), strict=True
                    )
                ),
            )
        )
    return out


def _under_reporting(wards: pd.DataFrame | None) -> list[Recommendation]:
    """Return the engagement suggestion for wards with fewer incidents than deprivation predicts."""
    if wards is None or not len(wards):
        return []
    under = _text(wards, "direction").eq("under") | _text(wards, "label").str.contains(
        "under-reporting", regex=False
    )
    chosen = wards[under.to_numpy()]
    if not len(chosen):
        return []

    def line(r: pd.Series) -> str:
        expected = r.get("expected")
        against = f" against {expected:.1f} expected" if pd.notna(expected) else ""
        spot = " and a cold spot of the residuals" if "cold" in str(r.get("hotspot") or "") else ""
        return (
            f"{r['ward_name']}: {r.get('observed', r.get('count'))} recorded{against} from "
            f"deprivation, below its prediction interval{spot} (possible under-reporting)"
        )

    return [
        Recommendation(
            ENGAGEMENT,
            tuple(str(n) for n in chosen["ward_name"]),
            "Engage residents and local services in these wards to find out whether incidents go "
            "unreported, before reading the low counts as low need.",
            tuple(line(r) for _, r in chosen.iterrows()),
        )
    ]


def _edition_year(label: str) -> int | None:
    found = re.search(r"\b(19|20)\d\d\b", label or "")
    return int(found.group(0)) if found else None


def _stale_deprivation(
    wards: pd.DataFrame | None, imd_label: str, months: Sequence[str], stale_years: int
) -> list[Recommendation]:
    """Return the population-growth check when the IMD edition is much older than the incidents."""
    edition = _edition_year(imd_label)
    last = max((str(m) for m in months), default="")
    if wards is None or edition is None or not re.match(r"\d{4}", last):
        return []
    gap = int(last[:4]) - edition
    if gap < stale_years:
        return []
    flagged = wards[_text(wards, "label").ne("").to_numpy()]
    names = tuple(str(n) for n in flagged["ward_name"])
    which = "the flagged wards" if names else "every ward"
    return [
        Recommendation(
            POPULATION_CHECK,
            names,
            f"Check the population growth of {which} since {edition} before acting on the "
            "deprivation comparison: new housing changes both the rates and the deprivation.",
            (
                f"{imd_label} is {gap} years older than the latest incidents ({last}); the "
                "deprivation the wards are compared with may no longer describe them",
            ),
        )
    ]


def recommendations(
    *,
    sites: pd.DataFrame | None = None,
    wards: pd.DataFrame | None = None,
    imd_label: str = "",
    months: Sequence[str] = (),
    top_sites: int = 10,
    stale_years: int = 5,
) -> list[Recommendation]:
    """Return the suggestions the evidence supports, each naming its evidence.

    Parameters
    ----------
    sites
        Cluster sites (:func:`geo_sppa.roads.clusters.cluster_sites` ``sites``: ``rank``,
        ``name``, ``total``, ``status``; optional ``previous_total``, ``rtm_note``,
        ``rtm_likely``), or None.
    wards
        Ward outliers (``ward_name``, ``label``, ``direction``, ``observed``, ``expected``;
        optional ``hotspot``), or None.
    imd_label, months
        The deprivation edition (e.g. ``IMD 2010``; a file name without a year is never called
        stale) and the incident months (``YYYY-MM``).
    top_sites
        Sites ranked up to this are "high-ranked".
    stale_years
        Deprivation this many years or more older than the latest incidents may be stale.

    Returns
    -------
    list of Recommendation
        In the order engineering study, monitor, engagement, population check; empty when no
        evidence supports any.
    """
    return [
        *_site_recommendations(sites if sites is not None else pd.DataFrame(), top_sites),
        *_under_reporting(wards),
        *_stale_deprivation(wards, imd_label, months, stale_years),
    ]
