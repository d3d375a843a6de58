"""The bundled England-wide tables (``data/england/``) as the inputs of an authority's wards."""

from __future__ import annotations

from pathlib import Path

from geo_sppa.bundled.areas import ENGLAND, catalogue, project_root
from geo_sppa.errors import MissingFileError
from geo_sppa.io.tables import read_imd, read_lsoa_lookup, read_population
from geo_sppa.wards.authority import AuthorityWards, authority_ward_deprivation
from geo_sppa.wards.releases import DeprivationInputs

__all__ = ["authority_wards_input", "england_inputs"]


def england_inputs() -> DeprivationInputs:
    """Return IMD 2019 and 2025 for every LSOA in England with the ONS lookups.

    Raises
    ------
    MissingFileError
        The catalogue lists no England-wide tables.
    """
    files = {r["key"]: project_root() / r["path"] for r in catalogue() if r["area"] == ENGLAND}
    needed = ("imd_2019", "imd_2025", "lookup_lsoa11_lsoa21", "lookup_lsoa21_ward24")
    if not set(needed) <= set(files):
        raise MissingFileError(
            "data/catalogue.csv lists no England-wide IMD and lookups (area england); "
            "reinstall the bundled data"
        )
    return DeprivationInputs(
        releases={"2019": read_imd(files["imd_2019"]), "2025": read_imd(files["imd_2025"])},
        lsoa11_lsoa21=read_lsoa_lookup(files["lookup_lsoa11_lsoa21"]),
        lsoa21_ward24=read_lsoa_lookup(files["lookup_lsoa21_ward24"]),
    )


def authority_wards_input(la_code: str, population: str | Path | None = None) -> AuthorityWards:
    """Return the ward deprivation table of authority ``la_code`` from the bundled tables."""
    return authority_ward_deprivation(
        la_code,
        england_inputs(),
        population=read_population(population) if population else None,
    )
