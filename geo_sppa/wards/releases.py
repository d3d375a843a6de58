"""Deprivation across IMD releases: IMD 2025 on any ward set, and each ward's change in position.

IoD2025 is on LSOA 2021, IoD2019 on LSOA 2011 and IoD2010 on LSOA 2001 (joined to LSOA 2011 by
:func:`geo_sppa.wards.deprivation.lsoa_deprivation`). To put every release on one ward set the
same way, the wards are cut into *pieces*, one per row of the ONS LSOA 2011 -> 2021 best-fit
lookup (an unchanged LSOA is one piece, a split LSOA 2011 one piece per child, a merged LSOA 2021
one piece per parent). Each piece has

- the residents of its LSOA 2011 shared equally among that LSOA's pieces (no LSOA 2021 population
  is bundled: a split LSOA's children get equal shares of their parent's mid-2015 population);
- one ward: its LSOA 2021's ward in the ONS LSOA 2021 -> ward 2024 lookup when every ward code is
  a 2024 ward code (Peterborough's bundled 2022 wards have the 2024 codes), else the ward of its
  LSOA 2011 (the LSOA lookup's ward column or the largest area share, as for the other releases);
- the value of every release: its LSOA 2011's for IMD 2010 and 2019, its LSOA 2021's for 2025.

:func:`lsoa_pieces` builds them; :func:`piece_deprivation` aggregates IMD 2025 to wards;
:func:`ward_positions` ranks the wards of one release within the ward set and places them in
England's deciles; :func:`deprivation_change` puts the releases side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo_sppa.errors import InputError
from geo_sppa.wards.deprivation import (
    gap_notes,
    incomplete_wards,
    missing_lsoas,
    ward_deprivation,
)

__all__ = [
    "CHANGE_COLUMNS",
    "RELEASES",
    "DeprivationInputs",
    "WardDeprivation",
    "deprivation_change",
    "lsoa_pieces",
    "piece_deprivation",
    "population_change",
    "release_score",
    "ward24_assignment",
    "ward_deprivation_table",
    "ward_positions",
]

#: The IMD releases compared, oldest first.
RELEASES = ("2010", "2019", "2025")
#: The ward-table columns :func:`deprivation_change` adds (read by the outlier evidence).
CHANGE_COLUMNS = (
    *(f"deprivation_rank_la_{r}" for r in RELEASES),
    *(f"deprivation_decile_england_{r}" for r in RELEASES),
    "deprivation_change",
    "population_change",
)


@dataclass(frozen=True)
class DeprivationInputs:
    """The chosen IMD release with what IMD 2025 and the change between releases need.

    Attributes
    ----------
    imd
        The chosen release as ``geo_sppa.io.read_imd`` returns it (None: no deprivation).
    releases
        Every release available for the deprivation change, by edition (``"2010"``, ``"2019"``,
        ``"2025"``), each a ``read_imd`` table.
    lsoa11_lsoa21
        The ONS LSOA 2011 -> 2021 lookup (``lsoa11_code, lsoa21_code, change_code``), or None.
    lsoa21_ward24
        The ONS LSOA 2021 -> ward 2024 lookup (``lsoa21_code, ward24_code, ward24_name``), or None.
    allow_incomplete
        ``--allow-incomplete``: mark wards whose tables miss LSOAs instead of refusing the run.
    population21
        ``lsoa_code, population`` on LSOA 2021 (``--population-2021``), for
        ``population_change``; None leaves it NA.
    """

    imd: pd.DataFrame | None = None
    releases: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    lsoa11_lsoa21: pd.DataFrame | None = None
    lsoa21_ward24: pd.DataFrame | None = None
    allow_incomplete: bool = False
    population21: pd.DataFrame | None = None


def _source(frame: pd.DataFrame | None, default: str) -> str:
    return str(frame.attrs.get("source", default)) if frame is not None else default


def ward24_assignment(ward_codes: pd.Series, lsoa21_ward24: pd.DataFrame | None) -> pd.DataFrame:
    """Return ``lsoa21_code, ward_code`` when every ward code is a 2024 ward code, else empty.

    Parameters
    ----------
    ward_codes
        The ward set's codes.
    lsoa21_ward24
        The ONS LSOA 2021 -> ward 2024 lookup, or None.

    Returns
    -------
    DataFrame
        One row per LSOA 2021 of those wards; no rows when the lookup is missing or a ward code
        is not in it (then the wards are not 2024 wards).

    """
    empty = pd.DataFrame({"lsoa21_code": [], "ward_code": []}, dtype=object)
    if lsoa21_ward24 is None or "ward24_code" not in lsoa21_ward24:
        return empty
    codes = set(ward_codes.astype(str))
    rows = lsoa21_ward24[lsoa21_ward24["ward24_code"].isin(codes)]
    if set(rows["ward24_code"]) != codes:
        return empty
    out = rows[["lsoa21_code", "ward24_code"]].rename(columns={"ward24_code": "ward_code"})
    return out.drop_duplicates("lsoa21_code").reset_index(drop=True)


def lsoa_pieces(
    lsoa11_lsoa21: pd.DataFrame,
    *,
    population: pd.DataFrame | None,
    assignment: pd.DataFrame | None = None,
    ward24: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the wards' LSOA pieces (one per lookup row) with their ward and residents.

    Parameters
    ----------
    lsoa11_lsoa21
        The ONS LSOA 2011 -> 2021 lookup (``lsoa11_code, lsoa21_code``).
    population
        ``lsoa_code, population`` on LSOA 2011; None weights every LSOA 2021 equally (its pieces
        share a weight of 1).
    assignment, ward24
        The wards by LSOA 2011 (``lsoa_code, ward_code``) or, preferred when not empty, by LSOA
        2021 (``lsoa21_code, ward_code`` from :func:`ward24_assignment`).

    Returns
    -------
    DataFrame
        ``lsoa11_code, lsoa21_code, ward_code, population`` (a piece's share of its LSOA 2011's
        residents; NaN where the population table lacks the LSOA).

    """
    lookup = lsoa11_lsoa21[["lsoa11_code", "lsoa21_code"]].dropna().drop_duplicates()
    if ward24 is not None and len(ward24):
        wards = ward24.set_index("lsoa21_code")["ward_code"]
        rows = lookup[lookup["lsoa21_code"].isin(wards.index)]
        ward = rows["lsoa21_code"].map(wards)
    else:
        if assignment is None:
            raise InputError("no LSOA-to-ward assignment for the LSOA pieces")
        wards = assignment.drop_duplicates("lsoa_code").set_index("lsoa_code")["ward_code"]
        rows = lookup[lookup["lsoa11_code"].isin(wards.index)]
        ward = rows["lsoa11_code"].map(wards)
    pieces = rows.assign(ward_code=ward.to_numpy()).reset_index(drop=True)
    if population is None:
        per_child = pieces.groupby("lsoa21_code")["lsoa11_code"].transform("size")
        return pieces.assign(population=1.0 / per_child)
    n_children = lookup.groupby("lsoa11_code").size()
    residents = population.drop_duplicates("lsoa_code").set_index("lsoa_code")["population"]
    share = pieces["lsoa11_code"].map(residents) / pieces["lsoa11_code"].map(n_children)
    return pieces.assign(population=share.astype(float))


def piece_deprivation(pieces: pd.DataFrame, lsoa_imd: pd.DataFrame) -> pd.DataFrame:
    """Return :func:`geo_sppa.wards.deprivation.ward_deprivation` of IMD on LSOA 2021 pieces.

    Parameters
    ----------
    pieces
        From :func:`lsoa_pieces`.
    lsoa_imd
        IMD values indexed by LSOA 2021 code (``lsoa_deprivation`` of IMD 2025).

    Returns
    -------
    DataFrame
        By ``ward_code``: ``population`` (the pieces' residents), ``n_lsoa`` (LSOAs 2021) and the
        population-weighted IMD measures.

    """
    keyed = pieces.assign(lsoa_code=pieces["lsoa11_code"] + "|" + pieces["lsoa21_code"])
    values = lsoa_imd.reindex(keyed["lsoa21_code"]).set_axis(keyed["lsoa_code"])
    out = ward_deprivation(
        keyed[["lsoa_code", "ward_code"]],
        keyed[["lsoa_code", "population"]].fillna({"population": 0.0}),
        values,
    )
    out["n_lsoa"] = pieces.groupby("ward_code")["lsoa21_code"].nunique()
    return out


def population_change(pieces: pd.DataFrame, population21: pd.DataFrame) -> pd.Series:
    """Return the relative change of each ward's share of residents between LSOA vintages.

    Parameters
    ----------
    pieces
        From :func:`lsoa_pieces` (residents from the LSOA 2011 table).
    population21
        ``lsoa_code, population`` on LSOA 2021 (an LSOA 2021 split between wards by the pieces
        is shared equally among its pieces).

    Returns
    -------
    Series
        By ``ward_code``: ``share_2021 / share_2011 - 1``, where a share is the ward's residents
        over the ward set's; +0.25: the ward's share of residents grew by a quarter (it grew
        faster than the rest of the authority).

    """
    residents = population21.drop_duplicates("lsoa_code").set_index("lsoa_code")["population"]
    per = pieces.groupby("lsoa21_code")["lsoa21_code"].transform("size")
    new = (pieces["lsoa21_code"].map(residents) / per).groupby(pieces["ward_code"]).sum()
    old = pieces["population"].groupby(pieces["ward_code"]).sum()
    return ((new / new.sum()) / (old / old.sum()) - 1).rename("population_change")


def release_score(lsoa_imd: pd.DataFrame) -> pd.Series:
    """Return a release's overall LSOA score: the published ``imd_score``, else the rebuilt one."""
    if "imd_score" in lsoa_imd and lsoa_imd["imd_score"].notna().any():
        return lsoa_imd["imd_score"]
    return lsoa_imd["imd_exp_score"]


def _weighted_median(values: pd.Series, weights: pd.Series, groups: pd.Series) -> pd.Series:
    """Return the weighted median of ``values`` by group (the value where half the weight lies)."""
    frame = pd.DataFrame({"v": values, "w": weights, "g": groups}).dropna()
    frame = frame[frame["w"] > 0].sort_values(["g", "v"], kind="stable")
    cum = frame.groupby("g")["w"].cumsum() / frame.groupby("g")["w"].transform("sum")
    return frame[cum >= 0.5 - 1e-12].groupby("g")["v"].first()


def ward_positions(pieces: pd.DataFrame, lsoa_imd: pd.DataFrame, *, key: str) -> pd.DataFrame:
    """Return each ward's deprivation position in one release.

    Parameters
    ----------
    pieces
        From :func:`lsoa_pieces` (``ward_code, population`` and the LSOA codes).
    lsoa_imd
        The release's LSOA values (``lsoa_deprivation``), indexed by LSOA code of vintage ``key``.
    key
        ``lsoa11_code`` (IMD 2010, 2019) or ``lsoa21_code`` (IMD 2025).

    Returns
    -------
    DataFrame
        By ``ward_code``: ``score`` (population-weighted mean of the LSOAs' overall scores,
        :func:`release_score`), ``rank_la`` (1 = the most deprived ward of the set, ties share the
        smaller rank) and ``decile_england`` (the England IMD decile of the ward's median
        resident: the decile of the LSOA where half the ward's residents live in LSOAs of that
        decile or a more deprived one; 1 = the most deprived tenth of England).

    """
    score = release_score(lsoa_imd).reindex(pieces[key]).to_numpy()
    decile = lsoa_imd["imd_decile"].reindex(pieces[key]).to_numpy()
    weight = pieces["population"].to_numpy(dtype=float)
    known = ~np.isnan(score) & (weight > 0)
    ward = pieces["ward_code"]
    num = pd.Series(np.where(known, score * weight, 0.0)).groupby(ward.to_numpy()).sum()
    den = pd.Series(np.where(known, weight, 0.0)).groupby(ward.to_numpy()).sum()
    mean = num / den.replace(0, np.nan)
    out = pd.DataFrame({"score": mean})
    out["rank_la"] = mean.rank(ascending=False, method="min").astype("Int64")
    out["decile_england"] = _weighted_median(
        pd.Series(decile), pd.Series(weight), ward.reset_index(drop=True)
    ).reindex(out.index)
    out.index.name = "ward_code"
    return out


def deprivation_change(
    ward_codes: pd.Series, positions: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """Return the deprivation-change columns of the ward table (:data:`CHANGE_COLUMNS`).

    Parameters
    ----------
    ward_codes
        The ward set's codes (the index of the result).
    positions
        :func:`ward_positions` by release (``"2010"``, ``"2019"``, ``"2025"``); a release left
        out gives NA columns.

    Returns
    -------
    DataFrame
        By ``ward_code``: ``deprivation_rank_la_<year>`` and ``deprivation_decile_england_<year>``
        for each of :data:`RELEASES`; ``deprivation_change`` = rank in the earliest release
        available minus rank in the latest (positive: the ward became MORE deprived relative to
        the rest of the ward set); ``population_change`` NA (no second population vintage).

    """
    index = pd.Index(ward_codes.astype(str), name="ward_code")
    out = pd.DataFrame(index=index)
    for release in RELEASES:
        found = positions.get(release)
        if found is None:
            out[f"deprivation_rank_la_{release}"] = pd.array([pd.NA] * len(index), dtype="Int64")
            out[f"deprivation_decile_england_{release}"] = np.nan
        else:
            out[f"deprivation_rank_la_{release}"] = found["rank_la"].reindex(index).astype("Int64")
            out[f"deprivation_decile_england_{release}"] = found["decile_england"].reindex(index)
    years = [r for r in RELEASES if r in positions]
    if len(years) >= 2:
        first = out[f"deprivation_rank_la_{years[0]}"]
        out["deprivation_change"] = first - out[f"deprivation_rank_la_{years[-1]}"]
    else:
        out["deprivation_change"] = pd.array([pd.NA] * len(index), dtype="Int64")
    out["population_change"] = np.nan
    return out[list(CHANGE_COLUMNS)]


@dataclass(frozen=True)
class WardDeprivation:
    """Population, IMD and deprivation change by ward, and how they were joined.

    Attributes
    ----------
    table
        By ``ward_code``: ``population``, ``n_lsoa``, the IMD measures of the chosen release,
        :data:`CHANGE_COLUMNS` and, with ``allow_incomplete``, ``incomplete`` (what each ward's
        joins missed, empty when nothing).
    vintage
        LSOA vintage of the chosen release (2001, 2011, 2021), or None.
    notes
        One-line notes for the run summary.
    """

    table: pd.DataFrame
    vintage: int | None
    notes: tuple[str, ...]


def _valued(lsoa_imd: pd.DataFrame) -> pd.Index:
    """Return the LSOA codes with an overall IMD value (score or rank)."""
    overall = [c for c in ("imd_score", "imd_exp_score", "imd_rank") if c in lsoa_imd]
    return lsoa_imd.index[lsoa_imd[overall].notna().any(axis=1)]


def _positions(
    pieces: pd.DataFrame, inputs: DeprivationInputs, lookup: pd.DataFrame | None
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Return :func:`ward_positions` of every release that covers the pieces, and notes."""
    from geo_sppa.wards.deprivation import lsoa_deprivation

    positions, notes = {}, []
    for release, frame in sorted(inputs.releases.items()):
        try:
            values = lsoa_deprivation(frame, lookup=lookup)
        except InputError as exc:
            notes.append(f"IMD {release} not placed on the wards ({exc}): its columns are NA")
            continue
        key = "lsoa21_code" if int(frame["vintage"].iloc[0]) == 2021 else "lsoa11_code"
        missing = missing_lsoas(pieces[key], _valued(values))
        if missing:
            notes.append(
                f"IMD {release} ({_source(frame, 'IMD table')}) lacks {len(missing)} LSOA(s) of "
                f"the wards (first: {missing[0]}): deprivation_*_{release} are NA"
            )
            continue
        positions[release] = ward_positions(pieces, values, key=key)
    return positions, notes


def ward_deprivation_table(
    ward_codes: pd.Series,
    assignment: pd.DataFrame,
    population: pd.DataFrame,
    imd: pd.DataFrame | DeprivationInputs | None,
    *,
    lookup: pd.DataFrame | None = None,
    allow_incomplete: bool = False,
) -> WardDeprivation:
    """Return population, the chosen release's IMD and the deprivation change by ward.

    Parameters
    ----------
    ward_codes
        The ward set's codes.
    assignment
        ``lsoa_code, ward_code`` of the LSOAs 2011 (``geo_sppa.wards.geography.lsoa_to_ward``).
    population
        ``lsoa_code, population`` on LSOA 2011.
    imd
        The chosen release with the releases to compare and the ONS lookups, or just the chosen
        release (``read_imd``; then no deprivation change), or None.
    lookup
        The LSOA lookup (LSOA 2011 -> 2001) that IMD 2010 needs.
    allow_incomplete
        Mark wards whose population or IMD table misses some of their LSOAs (column
        ``incomplete``) instead of refusing the run (also when ``imd.allow_incomplete``).

    Returns
    -------
    WardDeprivation
        The table, the chosen release's LSOA vintage and notes.

    Raises
    ------
    InputError
        The population, the IMD or a lookup misses LSOAs of the wards (without
        ``allow_incomplete``), or IMD on LSOA 2021 without the LSOA 2011 -> 2021 lookup.

    """
    inputs = imd if isinstance(imd, DeprivationInputs) else DeprivationInputs(imd=imd)
    allow_incomplete = allow_incomplete or inputs.allow_incomplete
    index = pd.Index(ward_codes.astype(str), name="ward_code")
    pop_source = _source(population, "population table")
    gaps = [
        incomplete_wards(assignment, population["lsoa_code"], key="lsoa_code",
                         source=pop_source, what="population", option="--population",
                         allow=allow_incomplete)
    ]  # fmt: skip
    pieces, route = _checked_pieces(index, assignment, population, inputs, allow_incomplete, gaps)
    table, vintage, notes = _chosen_release(
        assignment, population, inputs.imd, pieces, route, lookup, allow_incomplete, gaps
    )
    positions: dict[str, pd.DataFrame] = {}
    if pieces is not None:
        positions, change_notes = _positions(pieces, inputs, lookup)
        notes += change_notes + [_change_note(positions, route, inputs.population21)]
    else:
        notes.append("no ONS LSOA 2011 -> 2021 lookup: the deprivation change columns are NA")
    table = table.reindex(index).join(deprivation_change(ward_codes, positions))
    if pieces is not None and inputs.population21 is not None:
        gaps.append(
            incomplete_wards(pieces, inputs.population21["lsoa_code"], key="lsoa21_code",
                             source=_source(inputs.population21, "LSOA 2021 population"),
                             what="LSOA 2021 population", option="--population-2021",
                             allow=allow_incomplete)
        )  # fmt: skip
        change = population_change(pieces, inputs.population21)
        table["population_change"] = change.reindex(index).to_numpy()
    if allow_incomplete:
        table["incomplete"] = gap_notes(gaps, index)
        affected = int((table["incomplete"] != "").sum())
        notes.append(
            f"--allow-incomplete: {affected} ward(s) computed from tables that miss some of "
            "their LSOAs (column incomplete)"
            if affected
            else "--allow-incomplete: every table covers every LSOA of the wards"
        )
    return WardDeprivation(table=table, vintage=vintage, notes=tuple(notes))


def _chosen_release(
    assignment: pd.DataFrame,
    population: pd.DataFrame,
    chosen: pd.DataFrame | None,
    pieces: pd.DataFrame | None,
    route: str,
    lookup: pd.DataFrame | None,
    allow: bool,
    gaps: list[pd.Series],
) -> tuple[pd.DataFrame, int | None, list[str]]:
    """Return the ward table of the chosen release, its LSOA vintage and notes; check its join.

    IMD on LSOA 2021 is aggregated over the LSOA pieces (population from the pieces); older
    releases over the LSOAs 2011 of ``assignment``.
    """
    from geo_sppa.wards.deprivation import lsoa_deprivation

    if chosen is None:
        return ward_deprivation(assignment, population), None, []
    vintage = int(pd.to_numeric(chosen["vintage"]).iloc[0])
    lsoa_imd = lsoa_deprivation(chosen, lookup=lookup)
    imd_source = _source(chosen, "IMD table")
    notes = []
    if vintage == 2021:
        if pieces is None:
            raise InputError(
                f"{imd_source}: IMD on LSOA 2021 needs the ONS LSOA 2011 -> 2021 lookup "
                "(bundled in data/england/); reinstall the bundled data"
            )
        units, key = pieces, "lsoa21_code"
        table = piece_deprivation(pieces, lsoa_imd)
        notes.append(
            f"IMD on LSOA 2021 placed on the wards {route}; LSOA 2021 population apportioned "
            f"from the LSOA 2011 figures ({_source(population, 'population table')}): a split "
            "LSOA's children share its residents equally (no LSOA 2021 population is bundled)"
        )
    else:
        units, key = assignment, "lsoa_code"
        table = ward_deprivation(assignment, population, lsoa_imd)
    gaps.append(
        incomplete_wards(units, _valued(lsoa_imd), key=key, source=imd_source,
                         what="IMD values", option="--imd", allow=allow)
    )  # fmt: skip
    return table, vintage, notes


def _change_note(
    positions: Mapping[str, pd.DataFrame], route: str, population21: pd.DataFrame | None
) -> str:
    years = [r for r in RELEASES if r in positions]
    change = (
        f"deprivation_change = rank {years[0]} - rank {years[-1]} (positive: more deprived "
        "relative to the other wards)"
        if len(years) >= 2
        else "deprivation_change NA (fewer than two releases)"
    )
    return (
        f"deprivation position in IMD {', '.join(years) or 'none'} on LSOA pieces {route}: "
        "deprivation_rank_la_<year> ranks the wards by population-weighted mean score (1 = "
        "most deprived; IMD 2019: the score rebuilt from its domain ranks), "
        "deprivation_decile_england_<year> is the England decile of the ward's median resident; "
        f"{change}; "
        + (
            "population_change = the ward's share of residents in "
            f"{_source(population21, 'the LSOA 2021 table')} over its share in the LSOA 2011 "
            "table, minus 1"
            if population21 is not None
            else "population_change NA (one population vintage; --population-2021 gives it)"
        )
    )


def _checked_pieces(
    index: pd.Index,
    assignment: pd.DataFrame,
    population: pd.DataFrame,
    inputs: DeprivationInputs,
    allow: bool,
    gaps: list[pd.Series],
) -> tuple[pd.DataFrame | None, str]:
    """Return the wards' LSOA pieces and how they got their ward, checking every join."""
    lookup = inputs.lsoa11_lsoa21
    if lookup is None:
        return None, ""
    source = _source(lookup, "LSOA 2011 -> 2021 lookup")
    ward24 = ward24_assignment(pd.Series(index), inputs.lsoa21_ward24)
    fix = "the bundled data/england lookup"
    if len(ward24):
        route = "by the ONS LSOA 2021 -> ward 2024 lookup"
        gaps.append(
            incomplete_wards(
                ward24,
                lookup["lsoa21_code"],
                key="lsoa21_code",
                source=source,
                what="LSOA 2011 parent",
                option=fix,
                allow=allow,
            )
        )
        pieces = lsoa_pieces(lookup, population=population, ward24=ward24)
        gaps.append(
            incomplete_wards(
                pieces,
                population["lsoa_code"],
                key="lsoa11_code",
                source=_source(population, "population table"),
                what="population",
                option="--population",
                allow=allow,
            )
        )
    else:
        route = "through their LSOA 2011's ward (ONS LSOA 2011 -> 2021 lookup)"
        gaps.append(
            incomplete_wards(
                assignment,
                lookup["lsoa11_code"],
                key="lsoa_code",
                source=source,
                what="LSOA 2021 child",
                option=fix,
                allow=allow,
            )
        )
        pieces = lsoa_pieces(lookup, population=population, assignment=assignment)
    return pieces, route
