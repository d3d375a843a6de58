"""The ward deprivation table of any English local authority, from the ONS lookups alone.

No boundaries are needed: the authority's 2024 wards and their LSOAs 2021 come from the ONS
LSOA 2021 -> ward 2024 lookup, IMD 2025 is on those LSOAs, and IMD 2019 (LSOA 2011) reaches them
through the LSOA 2011 -> 2021 lookup (see :mod:`geo_sppa.wards.releases` for the LSOA pieces).
Without a population table every LSOA 2021 weighs the same (LSOAs are built to hold 1,000 to
3,000 residents); with one (LSOA 2011), the pieces are weighted by residents.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geo_sppa.errors import InputError
from geo_sppa.wards.deprivation import incomplete_wards, lsoa_deprivation
from geo_sppa.wards.releases import (
    DeprivationInputs,
    deprivation_change,
    lsoa_pieces,
    piece_deprivation,
    ward_positions,
)

__all__ = ["AuthorityWards", "authority_ward_deprivation"]


@dataclass(frozen=True)
class AuthorityWards:
    """The ward deprivation table of one local authority.

    Attributes
    ----------
    table
        One row per 2024 ward: ``ward_code, ward_name, n_lsoa``, ``population`` (only with a
        population table), the IMD 2025 measures (``imd_score``, ``<domain>_score``,
        ``imd_exp_score``, ``imd_no_crime_score``, ``imd_rank_popweighted``) and the
        deprivation-change columns of :func:`geo_sppa.wards.releases.deprivation_change`.
    la_code, la_name
        The authority.
    notes
        One-line notes for the run summary.
    """

    table: pd.DataFrame
    la_code: str
    la_name: str
    notes: tuple[str, ...]


def _authority_wards(la_code: str, lookup: pd.DataFrame) -> pd.DataFrame:
    """Return the authority's rows of the LSOA 2021 -> ward 2024 lookup, or a one-line error."""
    code = la_code.strip().upper()
    if code.startswith("W"):
        raise InputError(
            f"{la_code!r} is a Welsh local authority: the English Indices of Deprivation cover "
            "England only (Wales has its own index, WIMD); pass an English code (E06..., E07..., "
            "E08..., E09...)"
        )
    rows = lookup[lookup["ltla24_code"].astype(str) == code]
    if rows.empty:
        raise InputError(
            f"no local authority {la_code!r} in the ONS LSOA 2021 -> ward 2024 lookup; pass a "
            "2024 local authority code such as E06000031 (Peterborough) or E08000035 (Leeds)"
        )
    return rows


def _change_note(years: list[str]) -> str:
    return (
        f"IMD {' and '.join(years)} on the wards; deprivation_rank_la_<year> ranks the wards by "
        "weighted mean score (1 = most deprived; IMD 2019: rebuilt from its domain ranks), "
        f"deprivation_change = rank {years[0]} - rank {years[-1]} (positive: more deprived "
        "relative to the authority's other wards); no England-wide IMD 2010 is bundled"
    )


def _key(imd: pd.DataFrame) -> str:
    """Return the LSOA column of the pieces that a release's LSOA vintage joins on."""
    return "lsoa21_code" if int(imd["vintage"].iloc[0]) == 2021 else "lsoa11_code"


def authority_ward_deprivation(
    la_code: str, inputs: DeprivationInputs, *, population: pd.DataFrame | None = None
) -> AuthorityWards:
    """Return IMD 2025 and the deprivation change by 2024 ward of one English authority.

    Parameters
    ----------
    la_code
        Local authority 2024 code (``E06000031``; case and surrounding spaces ignored).
    inputs
        The England-wide releases (``"2019"``, ``"2025"``) and both ONS lookups.
    population
        ``lsoa_code, population`` on LSOA 2011 (must cover every LSOA of the authority), or None
        to weigh every LSOA 2021 equally.

    Returns
    -------
    AuthorityWards
        The table and its notes.

    Raises
    ------
    InputError
        Unknown or Welsh authority code, missing lookups or IMD 2025, or a population table that
        misses LSOAs of the authority.

    """
    if (
        inputs.lsoa21_ward24 is None
        or inputs.lsoa11_lsoa21 is None
        or "2025" not in inputs.releases
    ):
        raise InputError(
            "the ward IMD table of an authority needs the bundled England-wide IMD 2025 and ONS "
            "lookups (data/england/); reinstall the bundled data"
        )
    assert inputs.lsoa21_ward24 is not None and inputs.lsoa11_lsoa21 is not None  # checked above
    rows = _authority_wards(la_code, inputs.lsoa21_ward24)
    ward24 = rows[["lsoa21_code", "ward24_code"]].rename(columns={"ward24_code": "ward_code"})
    pieces = lsoa_pieces(inputs.lsoa11_lsoa21, population=population, ward24=ward24)
    notes = [
        f"{rows['ward24_code'].nunique()} wards 2024 and {len(rows)} LSOAs 2021 from the ONS "
        "LSOA 2021 -> ward 2024 lookup (no boundaries needed)"
    ]
    if population is None:
        notes.append(
            "no population table: every LSOA 2021 weighs the same (LSOAs hold 1,000-3,000 "
            "residents); pass --population (LSOA 2011) to weight by residents"
        )
    else:
        incomplete_wards(pieces, population["lsoa_code"], key="lsoa11_code",
                         source=str(population.attrs.get("source", "population table")),
                         what="population", option="--population", allow=False)  # fmt: skip
    imd = lsoa_deprivation(inputs.releases["2025"])
    incomplete_wards(pieces, imd.index[imd["imd_score"].notna()], key="lsoa21_code",
                     source=str(inputs.releases["2025"].attrs.get("source", "IMD 2025")),
                     what="IMD 2025 values", option="data/england", allow=False)  # fmt: skip
    table = piece_deprivation(pieces, imd)
    if population is None:
        table = table.drop(columns=["population"])
    positions = {
        release: ward_positions(pieces, lsoa_deprivation(frame), key=_key(frame))
        for release, frame in inputs.releases.items()
    }
    codes = pd.Series(sorted(rows["ward24_code"].unique()))
    table = table.reindex(codes).join(deprivation_change(codes, positions))
    names = rows.drop_duplicates("ward24_code").set_index("ward24_code")["ward24_name"]
    table.insert(0, "ward_name", names.reindex(table.index).to_numpy())
    table.index.name = "ward_code"
    notes.append(_change_note(sorted(positions)))
    return AuthorityWards(
        table=table.reset_index(),
        la_code=str(rows["ltla24_code"].iloc[0]),
        la_name=str(rows["ltla24_name"].iloc[0]),
        notes=tuple(notes),
    )
