"""What supports or weakens each reading of a flagged ward, and one verdict across the methods.

A ward with more or fewer incidents than its deprivation predicts has several possible readings, and
the 2012 assessment (like the tool's earlier fixed label) picked one without testing it. Here each
reading is tested against what the data carry, and the label follows the evidence:

stale deprivation
    The deprivation data describe another time: the ward's position within the authority moved
    between IMD releases (``deprivation_change``, rank in the earliest release minus rank in the
    latest, positive = more deprived now; a move of at least :func:`moved_places` places counts),
    or its population grew (``population_change``, a fraction of the earlier population; at least
    :data:`GROWTH` counts, as new housing would). More incidents than predicted fit a ward that
    became more deprived or grew; fewer fit one that became less deprived.
under-reporting (fewer than predicted)
    This category is low relative to the ward's other recorded crime: the ward's ratio of this
    category to its other incidents is below :data:`LOW_SHARE` of the authority's ratio. When the
    other crime is as low, the ward records little of anything (a quiet ward), which weakens it.
denominator (more than predicted)
    The residents understate the people present (a town centre, a night-time economy, visitors):
    the ward's incidents concentrate in one LSOA (at least :data:`CONCENTRATED` of them, and at
    least twice that LSOA's share of the ward's residents), or at night (22:00-06:00) at least 1.5
    times as often as in the authority, where the incidents carry a time.
small numbers
    The leave-one-out interval is wide relative to the prediction (width over prediction above
    :data:`WIDE`): a few incidents move the verdict.

:func:`ward_verdicts` combines the model's interval (the flag after the false discovery rate
correction), the funnel and Gi* into one verdict per ward, with the reason when they disagree: the
funnel compares with the authority's overall rate and ignores deprivation; Gi* looks at a ward with
its neighbours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = [
    "CONCENTRATED",
    "GROWTH",
    "LOW_SHARE",
    "WIDE",
    "IncidentProfile",
    "incident_profile",
    "moved_places",
    "ward_evidence",
    "ward_verdicts",
]

#: Population growth (fraction of the earlier population) that supports the stale reading.
GROWTH = 0.10
#: Ward ratio of this category to other crime, relative to the authority's, below which the
#: category is low for the ward (supports under-reporting).
LOW_SHARE = 0.75
#: Share of a ward's incidents in its busiest LSOA that counts as concentrated.
CONCENTRATED = 0.5
#: Night share relative to the authority's that counts as a night-time concentration.
NIGHT_RATIO = 1.5
#: Interval width over prediction above which numbers are small.
WIDE = 1.5
_NIGHT_HOURS = (22, 6)


def moved_places(n_wards: int) -> int:
    """Return the move in within-authority rank that counts as a change: max(3, n / 8)."""
    return max(3, math.ceil(n_wards / 8))


@dataclass(frozen=True)
class IncidentProfile:
    """Per-ward facts about the incidents, for :func:`ward_evidence`.

    Attributes
    ----------
    other
        Incidents of every other category by ``ward_code`` (None: the category is ``all``).
    top_lsoa
        By ``ward_code``: ``lsoa_code`` (the ward's busiest LSOA), ``share`` (of the ward's
        incidents of the category there) and ``population_share`` (of the ward's residents,
        NaN when unknown).
    night
        Share of the ward's incidents of the category at night by ``ward_code`` (None: the data
        carry no time of day).
    night_authority
        The authority's night share (None without times).

    """

    other: pd.Series | None
    top_lsoa: pd.DataFrame
    night: pd.Series | None = None
    night_authority: float | None = None


def _hours(incidents: pd.DataFrame) -> pd.Series | None:
    for column in ("hour", "time", "datetime", "date_time"):
        if column in incidents.columns:
            if column == "hour":
                return pd.to_numeric(incidents[column], errors="coerce")
            parsed = pd.to_datetime(incidents[column].astype(str), errors="coerce", format="mixed")
            return parsed.dt.hour.astype(float)
    return None


def incident_profile(
    incidents: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    *,
    category: str,
    population: pd.DataFrame | None = None,
) -> IncidentProfile:
    """Return each ward's other crime, busiest LSOA and night share from the incidents.

    Parameters
    ----------
    incidents
        Every incident read (``category``, ``lsoa_code``, point ``geometry`` in EPSG:27700; an
        ``hour`` or ``time`` column when the data have one); those without a point are not used.
    wards
        ``ward_code`` and polygons in EPSG:27700.
    category
        The category modelled, in the data's spelling, or ``all``.
    population
        ``lsoa_code, population`` (LSOA residents), for the busiest LSOA's share of residents.

    Returns
    -------
    IncidentProfile
        The facts :func:`ward_evidence` reads.

    """
    placed = incidents[incidents.geometry.notna() & ~incidents.geometry.is_empty]
    joined = gpd.sjoin(
        placed[["category", "lsoa_code", "geometry"]].assign(hour=_hours(placed)),
        wards[["ward_code", "geometry"]],
        predicate="within",
        how="inner",
    )
    is_all = category == "all"
    mine = joined if is_all else joined[joined["category"] == category]
    other = None if is_all else joined[joined["category"] != category].groupby("ward_code").size()
    by_lsoa = mine.groupby(["ward_code", "lsoa_code"]).size().rename("n").reset_index()
    by_lsoa["share"] = by_lsoa["n"] / by_lsoa.groupby("ward_code")["n"].transform("sum")
    top = by_lsoa.sort_values("share", ascending=False).drop_duplicates("ward_code")
    top = top.set_index("ward_code")[["lsoa_code", "share"]]
    top["population_share"] = np.nan
    if population is not None:
        pop = population.set_index("lsoa_code")["population"]
        lsoa_wards = by_lsoa.assign(pop=by_lsoa["lsoa_code"].map(pop))
        ward_pop = lsoa_wards.groupby("ward_code")["pop"].sum(min_count=1)
        top["population_share"] = top["lsoa_code"].map(pop).to_numpy() / ward_pop.reindex(
            top.index
        ).to_numpy(dtype=float)
    night = night_authority = None
    hours = mine["hour"]
    if hours.notna().any():
        at_night = (hours >= _NIGHT_HOURS[0]) | (hours < _NIGHT_HOURS[1])
        known = mine.assign(night=at_night)[hours.notna()]
        night = known.groupby("ward_code")["night"].mean()
        night_authority = float(known["night"].mean())
    return IncidentProfile(other=other, top_lsoa=top, night=night, night_authority=night_authority)


def _stale(row: pd.Series, direction: str, places: int) -> tuple[bool, str]:
    """Return (supported, text) of the stale-deprivation reading."""
    change = row.get("deprivation_change")
    growth = row.get("population_change")
    parts: list[str] = []
    supported = False
    if change is None or pd.isna(change):
        parts.append("not tested: one IMD release (no deprivation_change)")
    else:
        towards = "more" if change > 0 else "less"
        moved = f"moved {abs(int(change))} place(s) towards {towards} deprived within the authority"
        fits = (change >= places) if direction == "over" else (change <= -places)
        if fits:
            supported = True
            parts.append(f"supported: {moved} between releases")
        elif abs(change) >= places:
            parts.append(f"weakened: {moved} between releases, the wrong way for this reading")
        else:
            parts.append(f"weakened: its position barely moved ({moved}; {places} needed)")
    if growth is not None and not pd.isna(growth):
        if growth >= GROWTH and direction == "over":
            supported = True
            parts.append(f"supported: population grew {growth:.0%}")
        else:
            parts.append(f"population change {growth:+.0%}")
    return supported, "; ".join(parts)


def _under_reporting(row: pd.Series, profile: IncidentProfile | None, ratio: float | None):
    """Return (supported, text) of the under-reporting reading."""
    if profile is None or profile.other is None or ratio is None or not ratio > 0:
        return False, "not tested: no other categories in the incidents"
    other = float(profile.other.get(row["ward_code"], 0))
    if other == 0:
        return False, "not tested: no other recorded crime in the ward"
    relative = float(row["count"]) / other / ratio
    text = f"this category is {relative:.2f} of the authority's share of the ward's recorded crime"
    if relative < LOW_SHARE:
        return True, f"supported: {text} (low for a ward that records other crime)"
    return False, f"weakened: {text} (its other recorded crime is as low: a quiet ward)"


def _denominator(row: pd.Series, profile: IncidentProfile | None) -> tuple[bool, str]:
    """Return (supported, text) of the town-centre / visitor-population reading."""
    if profile is None or row["ward_code"] not in profile.top_lsoa.index:
        return False, "not tested: no incident locations"
    top = profile.top_lsoa.loc[row["ward_code"]]
    share, pop_share = float(top["share"]), float(top["population_share"])
    residents = f" of incidents, {pop_share:.0%} of residents" if np.isfinite(pop_share) else ""
    where = f"{share:.0%}{residents or ' of incidents'} in LSOA {top['lsoa_code']}"
    concentrated = share >= CONCENTRATED and not (np.isfinite(pop_share) and share < 2 * pop_share)
    parts = [f"{'supported' if concentrated else 'weakened'}: {where}"]
    supported = concentrated
    if profile.night is not None and profile.night_authority:
        night = float(profile.night.get(row["ward_code"], np.nan))
        if np.isfinite(night):
            at_night = night >= NIGHT_RATIO * profile.night_authority
            supported = supported or at_night
            parts.append(
                f"{'supported' if at_night else 'weakened'}: {night:.0%} at night "
                f"(authority {profile.night_authority:.0%})"
            )
    else:
        parts.append("night not tested: no time of day in the data")
    return supported, "; ".join(parts)


def _small_numbers(row: pd.Series) -> tuple[bool, str]:
    width = float(row["pi_high"]) - float(row["pi_low"])
    relative = width / max(float(row["loo_expected"]), 1e-9)
    text = (
        f"interval {row['pi_low']:.0f}-{row['pi_high']:.0f} around a prediction of "
        f"{row['loo_expected']:.0f} (width {relative:.1f} x the prediction)"
    )
    return relative > WIDE, f"{'supported' if relative > WIDE else 'weakened'}: {text}"


_READINGS = {
    "stale": "the deprivation data may be out of date for this ward",
    "under": "possible under-reporting",
    "denominator": "a town-centre or visitor population the residents understate",
}


_NAMES = {"stale": "stale deprivation", "under": "under-reporting", "denominator": "denominator"}


def _label(direction: str, supported: list[str], small: bool) -> str:
    base = "more" if direction == "over" else "fewer"
    text = f"{base} than deprivation predicts"
    if supported:
        text += " (" + "; ".join(_READINGS[r] for r in supported) + ")"
    else:
        text += " (no reading supported by the data)"
    return text + (": small numbers, treat with caution" if small else "")


def _side(row: pd.Series) -> str:
    """Return the side some method puts the ward on ("" when none flags it).

    The model's flag, else its raw per-ward interval, else the funnel's 99.8% limits.
    """
    direction = str(row.get("direction", "") or "")
    if direction in ("over", "under"):
        return direction
    observed = pd.to_numeric(pd.Series([row.get("count")]), errors="coerce").iloc[0]
    if bool(row.get("outside_pi", False) is True) and pd.notna(observed):
        return "over" if observed > float(row["loo_expected"]) else "under"
    return (
        _funnel_side(str(row.get("funnel", "") or "")) if "99.8" in str(row.get("funnel")) else ""
    )


def ward_evidence(
    outliers: pd.DataFrame, *, profile: IncidentProfile | None = None
) -> pd.DataFrame:
    """Return ``evidence`` and ``label`` of each flagged ward (empty for the others).

    Parameters
    ----------
    outliers
        :func:`geo_sppa.wards.outliers.deprivation_outliers` data (``direction``, ``count``,
        ``pi_low``, ``pi_high``, ``loo_expected``; ``deprivation_change`` and
        ``population_change`` when present). Rows flagged ``suppressed`` are left out of the
        authority's share (their counts must not reach any figure).
    profile
        :func:`incident_profile` of the incidents (None: the readings that need the incidents
        are "not tested").

    Returns
    -------
    DataFrame
        Indexed like ``outliers``: ``evidence`` (``reading: supported|weakened|not tested: ...``
        joined by `` | ``) for every ward some method flags (the model after the correction, else
        outside its per-ward interval, else outside the funnel's 99.8% limits), and ``label`` (the
        model's direction and the supported readings; empty unless the model flags the ward).

    """
    places = moved_places(len(outliers))
    ratio = None
    if profile is not None and profile.other is not None:
        shown = outliers
        if "suppressed" in outliers.columns:
            shown = outliers[~outliers["suppressed"].astype(bool)]
        other = profile.other.reindex(shown["ward_code"]).fillna(0).sum()
        counts = pd.to_numeric(shown["count"], errors="coerce").sum()
        ratio = float(counts / other) if other else None
    evidence, labels = [], []
    for _, row in outliers.iterrows():
        direction = _side(row)
        if not direction:
            evidence.append("")
            labels.append(str(row.get("label", "") or ""))
            continue
        tests = {"stale": _stale(row, direction, places)}
        if direction == "under":
            tests["under"] = _under_reporting(row, profile, ratio)
        else:
            tests["denominator"] = _denominator(row, profile)
        small, small_text = _small_numbers(row)
        parts = [f"{_NAMES[name]}: {text}" for name, (_, text) in tests.items()]
        evidence.append(" | ".join([*parts, f"small numbers: {small_text}"]))
        order = ("denominator", "under", "stale")
        supported = [r for r in order if r in tests and tests[r][0]]
        flagged = str(row.get("direction", "") or "") == direction
        labels.append(_label(direction, supported, small) if flagged else "")
    return pd.DataFrame({"evidence": evidence, "label": labels}, index=outliers.index)


_MODEL = {"over": "more than deprivation predicts", "under": "fewer than deprivation predicts"}


def _funnel_side(position: str) -> str:
    return (
        "over" if position.startswith("above") else "under" if position.startswith("below") else ""
    )


def _not_flagged(row: pd.Series) -> str:
    if bool(row.get("outside_pi", False) is True):
        return (
            f"outside its own 95% interval (p = {float(row['p_value']):.2g}) but not after the "
            "correction for testing every ward"
        )
    return "within its interval"


def _verdict_reason(row: pd.Series, model: str, funnel: str, position: str, spot: str) -> str:
    """Return why the funnel or Gi* says otherwise than the model ("" when they agree)."""
    reasons = []
    if funnel != model:
        if model and not funnel:
            level = "high" if model == "over" else "low"
            reasons.append(
                "the funnel finds the rate ordinary for the authority: it ignores deprivation, "
                f"and the rate is {level} for the ward's deprivation"
            )
        elif funnel and not model:
            level = "high" if funnel == "over" else "low"
            reasons.append(
                f"the funnel finds the rate {level} for the authority ({position}) but ignores "
                f"deprivation; allowing for it, the model puts the ward {_not_flagged(row)}"
            )
        else:
            reasons.append(
                f"the funnel puts the ward {position} the authority's rate, the other way: the "
                "funnel ignores deprivation, the model compares with wards this deprived"
            )
    side = {"hot spot": "over", "cold spot": "under"}.get(spot, "")
    if side and side != model:
        reasons.append(
            f"Gi* finds a {spot} of residuals: it looks at the ward with its neighbours, so the "
            "area around it departs from the model more than the ward alone"
        )
    return "; ".join(reasons)


def ward_verdicts(outliers: pd.DataFrame) -> pd.DataFrame:
    """Return one ``verdict`` per ward across the model, the funnel and Gi*, with its reason.

    The verdict is the model's (its leave-one-out interval after the false discovery rate
    correction: the only method of the three that allows for deprivation): ``more than deprivation
    predicts``, ``fewer than deprivation predicts`` or ``as deprivation predicts``; ``not assessed
    (count suppressed)`` for suppressed wards. ``verdict_reason`` says why the funnel
    (``funnel``: compares with the authority's overall rate, ignoring deprivation) or Gi*
    (``hotspot``: the ward with its neighbours) disagrees, and is empty when they agree.

    Parameters
    ----------
    outliers
        Ward frame with ``flagged_fdr`` and ``direction``; ``funnel``, ``hotspot`` and
        ``suppressed`` when present.

    Returns
    -------
    DataFrame
        Indexed like ``outliers``: ``verdict``, ``verdict_reason``.

    """
    n = len(outliers)
    direction = outliers["direction"].fillna("").astype(str)
    funnel = outliers.get("funnel", pd.Series([""] * n, index=outliers.index))
    spots = outliers.get("hotspot", pd.Series([""] * n, index=outliers.index))
    held = outliers.get("suppressed", pd.Series([False] * n, index=outliers.index))
    verdicts, reasons = [], []
    rows = zip(
        outliers.iterrows(), direction, funnel.fillna("").astype(str),
        spots.fillna("").astype(str), held, strict=True,
    )  # fmt: skip
    for (_, row), d, position, spot, h in rows:
        if bool(h):
            verdicts.append("not assessed (count suppressed)")
            reasons.append("")
            continue
        verdicts.append(_MODEL.get(d, "as deprivation predicts"))
        reasons.append(_verdict_reason(row, d, _funnel_side(position), position, spot))
    return pd.DataFrame({"verdict": verdicts, "verdict_reason": reasons}, index=outliers.index)
