"""The ward table: population, deprivation (IMD) and incident rates per 1,000 residents.

:func:`ward_rates` joins the pieces of the other ward modules (each a pure function on in-memory
frames in EPSG:27700, see ``docs/architecture.md``) into one table:
:mod:`geo_sppa.wards.geography` (LSOA -> ward), :mod:`geo_sppa.wards.deprivation` (ward IMD) and
:mod:`geo_sppa.wards.incidents` (counts by ward). :func:`ward_table` adds what ``geo-sppa wards``
publishes: the table with small counts suppressed and the run summary.

The names of those modules that used to live here are re-exported, so
``from geo_sppa.wards.rates import lsoa_to_ward`` keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_sppa.crs import require_bng
from geo_sppa.errors import InputError
from geo_sppa.wards.deprivation import (
    DOMAINS,
    IMD_WEIGHTS,
    N_LSOA_ENGLAND,
    deprivation_measure,
    exponential_transform,
    lsoa_deprivation,
    ward_deprivation,
)
from geo_sppa.wards.disclosure import suppress_small_counts, suppressed_mask, withheld_total_text
from geo_sppa.wards.geography import (
    OVERLAP_TOLERANCE,
    apportioned_counts,
    check_no_overlap,
    lsoa_to_ward,
    lsoa_ward_shares,
    ward_overlaps,
)
from geo_sppa.wards.incidents import (
    ALL_CATEGORIES,
    DEFAULT_CATEGORY,
    incident_categories,
    incidents_of_category,
    matching_category,
    ward_incident_counts,
)
from geo_sppa.wards.releases import DeprivationInputs, ward_deprivation_table

__all__ = [
    "ALL_CATEGORIES",
    "DEFAULT_CATEGORY",
    "DOMAINS",
    "DeprivationInputs",
    "IMD_WEIGHTS",
    "N_LSOA_ENGLAND",
    "OVERLAP_TOLERANCE",
    "WardRates",
    "WardTable",
    "apportioned_counts",
    "exponential_transform",
    "incident_categories",
    "lsoa_deprivation",
    "lsoa_to_ward",
    "lsoa_ward_shares",
    "matching_category",
    "ward_deprivation",
    "ward_incident_counts",
    "ward_overlaps",
    "ward_rates",
    "ward_table",
    "ward_table_summary",
]

_RATE_COLUMNS = ("count", "rate_per_1000", "rate_per_1000_per_year", "geometry")


def __getattr__(name: str) -> Any:
    """Return the outlier labels from their new home, :mod:`geo_sppa.wards.outliers`."""
    if name in ("LABEL_OVER", "LABEL_UNDER"):
        from geo_sppa.wards import outliers

        return getattr(outliers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class WardRates:
    """The ward table and how it was made.

    Attributes
    ----------
    data
        GeoDataFrame, one row per ward: ``ward_code, ward_name, population, n_lsoa``, the IMD
        measures (``imd_score`` and ``<domain>_score`` when the IMD has scores, else
        ``imd_rank_popweighted`` and ``imd_pct_pop_decile1``; always ``imd_exp_score`` and
        ``imd_no_crime_score``), ``count``, ``rate_per_1000`` (over the months present),
        ``rate_per_1000_per_year`` (annualised: rate * 12 / n_months), geometry.
    set_aside
        Incident records that could not be placed in a ward:
        ``source, row, record_id, reason, detail`` (``row``: the record's 1-based data row in its
        file; ``record_id`` its id, else ``<file>:<row>``).
    category
        The incident category counted (``"all"`` for every category).
    months
        The months (``YYYY-MM``) present in the counted records.
    n_read, n_in_category, n_used
        Incident records given, of the chosen category, and counted in a ward.
    imd_vintage
        LSOA vintage of the IMD (2001 for IMD 2010, 2011 for IMD 2019), or None without IMD.
    imd_measure
        The column that holds the overall deprivation measure (``imd_score`` or
        ``imd_rank_popweighted``).
    assignment
        How LSOAs were assigned to wards (lookup column name or ``largest area share``).
    notes
        One-line notes for the run summary.

    """

    data: gpd.GeoDataFrame
    set_aside: pd.DataFrame
    category: str
    months: tuple[str, ...]
    n_read: int
    n_in_category: int
    n_used: int
    imd_vintage: int | None
    imd_measure: str | None
    assignment: str
    notes: tuple[str, ...] = field(default=())


def _populated_deprivation(
    wards: gpd.GeoDataFrame, deprivation: pd.DataFrame, *, ward_source: str
) -> pd.DataFrame:
    """Return the ward deprivation table for every ward, refusing wards with no population."""
    deprivation = deprivation.reindex(wards["ward_code"])
    empty = deprivation["population"].fillna(0) <= 0
    if empty.any():
        names = wards.set_index("ward_code").loc[empty[empty].index, "ward_name"]
        listed = ", ".join(f"{code} {name}" for code, name in names.items())
        raise InputError(
            f"{ward_source}: {int(empty.sum())} ward(s) have zero population "
            f"(no LSOA with residents is assigned to them): {listed}; use the ward set that "
            "matches the LSOA lookup (--ward-set), pass the LSOA boundaries (--lsoas) and the "
            "population of every LSOA (--population), or merge these wards into their neighbours"
        )
    return deprivation


def _rates_notes(
    method: str,
    measure: str | None,
    vintage: int | None,
    category: str,
    months: tuple[str, ...],
    set_aside: pd.DataFrame,
) -> tuple[str, ...]:
    """Return the notes of :class:`WardRates`: assignment, IMD measure, months, set-asides."""
    lookup = " (LSOA lookup)" if method != "largest area share" else ""
    notes = [f"LSOAs assigned to wards by {method}{lookup}"]
    if measure is not None:
        label = {2001: "IMD 2010 (LSOA 2001)", 2021: "IMD on LSOA 2021"}.get(
            vintage or 0, "IMD on LSOA 2011"
        )
        notes.append(f"{label}: LSOA values weighted by LSOA population, measure {measure}")
    if measure == "imd_exp_score":
        notes.append(
            "the IMD file has ranks, not scores: imd_exp_score rebuilds the score from the seven "
            "domain ranks (the IMD's exponential transform and weights; it reproduces the "
            "published average scores); imd_rank_popweighted (mean national rank) is kept"
        )
    if measure == "imd_rank_popweighted":
        notes.append(
            "the IMD file has ranks, not scores: imd_rank_popweighted is a population-weighted "
            "mean national rank (1 = most deprived), not a score"
        )
    notes.append(
        f"category {category!r}: {len(months)} month(s) {', '.join(months)}; "
        "rate_per_1000 is over those months, "
        f"rate_per_1000_per_year = rate * 12 / {len(months)}"
    )
    notes += [
        f"{n} record(s) set aside: {r}" for r, n in set_aside["reason"].value_counts().items()
    ]
    return tuple(notes)


def _rate_table(
    wards: gpd.GeoDataFrame, deprivation: pd.DataFrame, counts: pd.Series, n_months: int
) -> gpd.GeoDataFrame:
    """Return the ward frame: names, population, IMD columns, count and rates, geometry last."""
    data = wards[["ward_code", "ward_name", "geometry"]].join(deprivation, on="ward_code")
    data["count"] = counts.reindex(data["ward_code"]).to_numpy()
    data["rate_per_1000"] = 1000 * data["count"] / data["population"]
    data["rate_per_1000_per_year"] = data["rate_per_1000"] * 12 / n_months if n_months else np.nan
    ordered = ["ward_code", "ward_name", "population", "n_lsoa"]
    ordered += [c for c in data.columns if c not in ordered and c not in _RATE_COLUMNS]
    ordered += list(_RATE_COLUMNS)
    return gpd.GeoDataFrame(data[ordered], geometry="geometry", crs=wards.crs).reset_index(
        drop=True
    )


def ward_rates(
    wards: gpd.GeoDataFrame,
    *,
    population: pd.DataFrame,
    incidents: gpd.GeoDataFrame,
    imd: pd.DataFrame | DeprivationInputs | None = None,
    lookup: pd.DataFrame | None = None,
    lsoas: gpd.GeoDataFrame | None = None,
    category: str = DEFAULT_CATEGORY,
    source: str = "incidents",
    ward_source: str = "wards",
    allow_incomplete: bool = False,
) -> WardRates:
    """Return the ward table: population, IMD, incident count and rate per 1,000 residents.

    Parameters
    ----------
    wards
        ``ward_code, ward_name, geometry`` in EPSG:27700 (checked, never reprojected).
    population
        ``lsoa_code, population`` for LSOA 2011.
    incidents
        Normalised incidents (``incident_id, month, category, lsoa_code, location, geometry``).
    imd
        From ``read_imd`` (IMD 2010 needs ``lookup``), or None, or a
        :class:`geo_sppa.wards.releases.DeprivationInputs` (needed for IMD 2025 and the
        deprivation change columns).
    lookup, lsoas
        The LSOA lookup (LSOA 2011 -> LSOA 2001 and ward codes) and LSOA 2011 boundaries (in
        EPSG:27700, used when the lookup's ward codes do not match ``wards``).
    category
        A police.uk ``Crime type`` (default ``"Anti-social behaviour"``), or ``"all"``; matched
        ignoring case and white space (:func:`geo_sppa.wards.incidents.matching_category`).
    source, ward_source
        Incident file name for the set-aside table; ward file name for error messages.
    allow_incomplete
        Mark wards whose population or IMD table misses some of their LSOAs (column
        ``incomplete``) instead of refusing them.

    Returns
    -------
    WardRates
        The table and how it was made.

    Raises
    ------
    InputError
        The wards are not in EPSG:27700, the category does not exist (the message lists those that
        do), wards overlap (:data:`OVERLAP_TOLERANCE`), a ward has no population, the LSOA-to-ward
        assignment is impossible, or a joined table misses LSOAs (without ``allow_incomplete``).

    """
    require_bng(wards, what=ward_source)
    chosen, category = incidents_of_category(incidents, category)
    check_no_overlap(wards, source=ward_source)
    assignment, method = lsoa_to_ward(wards, lookup=lookup, lsoas=lsoas)
    joined = ward_deprivation_table(
        wards["ward_code"], assignment, population, imd, lookup=lookup,
        allow_incomplete=allow_incomplete,
    )  # fmt: skip
    deprivation = _populated_deprivation(wards, joined.table, ward_source=ward_source)
    counts, set_aside = ward_incident_counts(chosen, wards, assignment, source=source)
    months = tuple(sorted(chosen["month"].dropna().astype(str).unique()))
    data = _rate_table(wards, deprivation, counts, len(months))
    measure = deprivation_measure(data) if joined.vintage is not None else None
    notes = _rates_notes(method, measure, joined.vintage, category, months, set_aside)
    return WardRates(
        data=data,
        set_aside=set_aside,
        category=category,
        months=months,
        n_read=len(incidents),
        n_in_category=len(chosen),
        n_used=int(counts.sum()),
        imd_vintage=joined.vintage,
        imd_measure=measure,
        assignment=method,
        notes=notes + joined.notes,
    )


@dataclass(frozen=True)
class WardTable:
    """The ward table as ``geo-sppa wards`` publishes it, with its run summary.

    Attributes
    ----------
    rates
        The exact ward table and how it was made.
    data
        The table to publish: with ``suppress_below``, counts from 1 to N-1 shown as ``<N`` and
        the values they could be recovered from blanked
        (:func:`geo_sppa.wards.disclosure.suppress_small_counts`); else ``rates.data``.
    set_aside
        Every incident record not counted: those the reader set aside, then ``rates.set_aside``.
    summary
        ``(label, text)`` lines for the run summary: records read, used (the exact total withheld
        when counts are suppressed), in other categories, set aside by reason, the category,
        months, ward set, deprivation, disclosure and notes.
    columns
        The columns of ``data`` the command prints.
    map_title, map_layers
        Title and layer columns of the ward map.
    disclosure
        What was suppressed, for the summary (None without suppression).

    """

    rates: WardRates
    data: gpd.GeoDataFrame
    set_aside: pd.DataFrame
    summary: tuple[tuple[str, str], ...]
    columns: tuple[str, ...]
    map_title: str
    map_layers: tuple[str, ...]
    disclosure: str | None = None


def _count_lines(
    rates: WardRates, n_read: int, set_aside: pd.DataFrame, suppress_below: int | None
) -> list[tuple[str, str]]:
    """Return the records read / used / other categories / set aside lines of the summary."""
    used = f"{rates.n_used:,}"
    other = f"{rates.n_read - rates.n_in_category:,} (not counted)"
    if suppress_below and suppressed_mask(rates.data, threshold=suppress_below).any():
        used = withheld_total_text(rates.data["count"], threshold=suppress_below, what="wards")
        other = "not shown (with the records read and set aside it would give the total used)"
    reasons = set_aside["reason"].value_counts()
    lines = [
        ("records read", f"{n_read:,}"),
        ("records used", used),
        ("  other categories", other),
        ("set aside", f"{len(set_aside):,}" + ("" if len(set_aside) else " (none)")),
    ]
    return lines + [(f"  - {reason}", f"{int(n):,}") for reason, n in reasons.items()]


def ward_table_summary(
    rates: WardRates,
    *,
    source: str,
    read_set_aside: pd.DataFrame | None = None,
    read_notes: tuple[str, ...] = (),
    ward_label: str = "wards",
    imd_label: str = "IMD",
    suppress_below: int | None = None,
) -> tuple[tuple[str, str], ...]:
    """Return the run-summary lines of a ward table (see :attr:`WardTable.summary`).

    Parameters
    ----------
    rates
        From :func:`ward_rates`.
    source
        The incident file name.
    read_set_aside, read_notes
        The rows the incident reader set aside and its notes (``geo_sppa.io.Loaded``); the records
        read are ``rates.n_read + len(read_set_aside)``.
    ward_label, imd_label
        How the summary names the ward set and the IMD edition.
    suppress_below
        With suppressed counts, the exact total used and the count in other categories (from which
        it follows) are withheld (:func:`geo_sppa.wards.disclosure.withheld_total_text`).

    Returns
    -------
    tuple of (str, str)
        ``(label, text)`` lines.

    """
    set_aside = _all_set_aside(rates, read_set_aside)
    n_read = rates.n_read + len(set_aside) - len(rates.set_aside)
    vintage = f"LSOA {rates.imd_vintage or 2011}"
    return (
        ("incidents file", source),
        *_count_lines(rates, n_read, set_aside, suppress_below),
        ("category", rates.category),
        ("months", f"{len(rates.months)}: {', '.join(rates.months)}"),
        (
            "ward set",
            f"{ward_label}, {len(rates.data)} wards; LSOAs assigned by {rates.assignment}",
        ),
        (
            "deprivation",
            f"{imd_label} ({vintage}), measure {rates.imd_measure}"
            if rates.imd_measure
            else "none",
        ),
        *(("note", n) for n in (*read_notes, *rates.notes)),
    )


def _all_set_aside(rates: WardRates, read_set_aside: pd.DataFrame | None) -> pd.DataFrame:
    before = [] if read_set_aside is None or read_set_aside.empty else [read_set_aside]
    return pd.concat([*before, rates.set_aside], ignore_index=True)


def ward_table(
    wards: gpd.GeoDataFrame,
    *,
    population: pd.DataFrame,
    incidents: gpd.GeoDataFrame,
    category: str,
    source: str,
    ward_source: str,
    imd: pd.DataFrame | DeprivationInputs | None = None,
    lookup: pd.DataFrame | None = None,
    lsoas: gpd.GeoDataFrame | None = None,
    read_set_aside: pd.DataFrame | None = None,
    read_notes: tuple[str, ...] = (),
    ward_label: str | None = None,
    imd_label: str = "IMD",
    suppress_below: int | None = None,
    allow_incomplete: bool = False,
) -> WardTable:
    """Return the ward table of :func:`ward_rates` as published, with its run summary.

    Parameters
    ----------
    wards, population, incidents, imd, lookup, lsoas, category, source, ward_source
        As :func:`ward_rates` (``category``, ``source`` and ``ward_source`` are required here).
    allow_incomplete
        As :func:`ward_rates`.
    read_set_aside, read_notes
        The rows the incident reader set aside and its notes (``geo_sppa.io.Loaded``), reported
        with the records read (``len(incidents) + len(read_set_aside)``).
    ward_label, imd_label
        How the summary names the ward set (default ``ward_source``) and the IMD edition.
    suppress_below
        Show counts from 1 to N-1 as ``<N`` and withhold every figure they follow from.

    Returns
    -------
    WardTable
        Everything ``geo-sppa wards`` writes and prints.

    """
    rates = ward_rates(
        wards,
        population=population,
        incidents=incidents,
        imd=imd,
        lookup=lookup,
        lsoas=lsoas,
        category=category,
        source=source,
        ward_source=ward_source,
        allow_incomplete=allow_incomplete,
    )
    summary = ward_table_summary(
        rates,
        source=source,
        read_set_aside=read_set_aside,
        read_notes=read_notes,
        ward_label=ward_label or ward_source,
        imd_label=imd_label,
        suppress_below=suppress_below,
    )
    data, disclosure = rates.data, None
    measure = (rates.imd_measure,) if rates.imd_measure else ()
    if suppress_below:
        data = suppress_small_counts(data, threshold=suppress_below)
        disclosure = (
            f"counts below {suppress_below} suppressed: 1-{suppress_below - 1} shown as "
            f"<{suppress_below}, their rates blanked, the exact total withheld"
        )
    return WardTable(
        rates=rates,
        data=data,
        set_aside=_all_set_aside(rates, read_set_aside),
        summary=summary,
        columns=("ward_code", "ward_name", "population", *measure, "count", "rate_per_1000"),
        map_title=f"{rates.category}: incidents per 1,000 residents by ward",
        map_layers=(*measure, "rate_per_1000"),
        disclosure=disclosure,
    )
