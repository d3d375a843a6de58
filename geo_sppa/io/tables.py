"""Read LSOA tables: MHCLG Indices of Deprivation (2010-2025 layouts), population, lookups.

Every reader here takes a plain ``.csv`` or a gzip-compressed ``.csv.gz`` (the bundled
England-wide tables in ``data/england/`` are compressed). Each returned frame names its file in
``frame.attrs["source"]``, so a join that finds the table incomplete can name it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from geo_sppa.errors import InputError
from geo_sppa.io._common import existing_file, find_column, header_key, read_csv_text

__all__ = [
    "read_imd",
    "read_population",
    "read_lsoa_lookup",
    "read_table",
    "read_package_table",
    "IMD_MEASURES",
    "lsoa_csv",
]

#: measure -> header fragments (after header_key) that identify it.
IMD_MEASURES: dict[str, tuple[str, ...]] = {
    "imd": ("imd", "indexofmultipledeprivation"),
    "income": ("income",),
    "employment": ("employment",),
    "education": ("education",),
    "health": ("health",),
    "crime": ("crime",),
    "housing": ("housing", "barriers"),
    "environment": ("environment",),
}
_EXCLUDE = (
    "subdomain",
    "idaci",
    "idaopi",
    "affectingchildren",
    "affectingolder",
    "indoors",
    "outdoors",
    "adultskills",
    "geographicalbarriers",
    "widerbarriers",
    "childrenandyoung",
    "population",
)
_LSOA_CODES = [
    "lsoa_code",
    "lsoa11_code",
    "lsoa21_code",
    "lsoa01_code",
    "LSOA code (2021)",
    "LSOA code (2011)",
    "LSOA CODE",
    "LSOA21CD",
    "LSOA11CD",
    "LSOA01CD",
    "lsoa",
]


#: Cells read as missing, as ``read_csv_text`` does.
_NA_TEXT = ["", "NULL", "NA", "null"]


def lsoa_csv(path: Path) -> pd.DataFrame:
    """Return a CSV (plain or ``.csv.gz``) with every column as text, as ``read_csv_text`` does.

    Raises
    ------
    InputError
        A ``.gz`` file that is not a readable gzip-compressed CSV, and every error of
        ``read_csv_text``.
    """
    if not path.name.lower().endswith(".gz"):
        frame = read_csv_text(path)
    else:
        try:
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=_NA_TEXT, compression="gzip"
            )
        except (OSError, EOFError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InputError(
                f"{path.name}: not a readable gzip-compressed CSV ({str(exc).splitlines()[0]}); "
                "decompress it and pass the .csv, or re-download the file"
            ) from None
        frame.columns = [str(c).strip() for c in frame.columns]
    frame.attrs["source"] = path.name
    return frame


def _kind(key: str) -> str | None:
    for kind in ("decile", "rank", "score"):
        if kind in key:
            return kind
    return None


def _vintage(column: str, edition_hint: str) -> int:
    key = header_key(column)
    for token, year in (
        ("2021", 2021),
        ("21", 2021),
        ("2011", 2011),
        ("11", 2011),
        ("2001", 2001),
        ("01", 2001),
    ):
        if token in key:
            return year
    return 2001 if re.search(r"20(07|10)", edition_hint) else 2011


def read_imd(path: str | Path) -> pd.DataFrame:
    """Read an Indices of Deprivation CSV and return one row per LSOA.

    Returns
    -------
    DataFrame
        ``lsoa_code``, ``vintage`` (LSOA vintage: 2001, 2011 or 2021) and, for each measure in
        :data:`IMD_MEASURES` found in the file, ``<measure>_score``, ``<measure>_rank`` and
        ``<measure>_decile`` (NaN where the file has none; e.g. IoD 2019 File 2 has ranks only).

    Raises
    ------
    InputError
        No LSOA code column, no IMD measure at all, duplicate LSOA codes.
    """
    path = existing_file(path, what="deprivation", option="--imd")
    source = path.name
    raw = lsoa_csv(path)
    code = find_column(raw, _LSOA_CODES, source=source, what="LSOA code")
    out = pd.DataFrame({"lsoa_code": raw[code].astype("string").str.strip()})
    out["vintage"] = _vintage(code, source)
    found = []
    for column in raw.columns:
        key = header_key(column)
        if column == code or any(x in key for x in _EXCLUDE):
            continue
        kind = _kind(key)
        if kind is None:
            continue
        for measure, fragments in IMD_MEASURES.items():
            if any(f in key for f in fragments):
                name = f"{measure}_{kind}"
                if name not in out:
                    out[name] = pd.to_numeric(raw[column], errors="coerce")
                    found.append(name)
                break
    if not any(c.startswith("imd_") for c in found):
        raise InputError(
            f"{source}: no IMD score, rank or decile column (looked for IMD_score, IMD_rank, "
            "'Index of Multiple Deprivation (IMD) Score'...); is this an Indices of Deprivation "
            "file?"
        )
    for measure in IMD_MEASURES:
        for kind in ("score", "rank", "decile"):
            if f"{measure}_{kind}" not in out:
                out[f"{measure}_{kind}"] = float("nan")
    dup = out["lsoa_code"].duplicated()
    if dup.any():
        raise InputError(
            f"{source}: LSOA {out.loc[dup, 'lsoa_code'].iloc[0]} appears twice; expected one row "
            "per LSOA"
        )
    out.attrs["source"] = source
    return out


def read_population(path: str | Path, *, column: str | None = None) -> pd.DataFrame:
    """Read LSOA population and return ``lsoa_code, population``.

    The population column is the named one, else the first whose header mentions a total
    population (``pop_total_mid2015``, ``Total population: mid 2015 (excluding prisoners)``,
    ``All Ages``, ``population``).
    """
    path = existing_file(path, what="population", option="--population")
    source = path.name
    raw = lsoa_csv(path)
    code = find_column(raw, _LSOA_CODES, source=source, what="LSOA code")
    if column is None:
        keys = {header_key(c): c for c in raw.columns}
        column = next(
            (
                c
                for k, c in keys.items()
                if k.startswith("poptotal")
                or k.startswith("totalpopulation")
                or k in ("population", "allages", "pop")
            ),
            None,
        )
        if column is None:
            raise InputError(
                f"{source}: no total population column (looked for pop_total_*, 'Total "
                "population...', All Ages, population); rename the total column to population"
            )
    population = pd.to_numeric(raw[column], errors="coerce")
    if population.isna().any():
        bad = raw.loc[population.isna(), code].iloc[0]
        raise InputError(
            f"{source}: column {column!r} has a missing or non-numeric population (LSOA {bad}); "
            "fix the value"
        )
    if (population <= 0).any():
        bad = raw.loc[population <= 0, code]
        raise InputError(
            f"{source}: column {column!r} has {len(bad)} population(s) of zero or less (first: "
            f"LSOA {bad.iloc[0]}, {population[population <= 0].iloc[0]:g}); every LSOA has "
            "residents: fix the values"
        )
    codes = raw[code].astype("string").str.strip()
    repeated = codes[codes.duplicated()]
    if len(repeated):
        raise InputError(
            f"{source}: {repeated.nunique()} LSOA code(s) appear more than once (first: "
            f"{repeated.iloc[0]}); give one population per LSOA"
        )
    out = pd.DataFrame({"lsoa_code": codes, "population": population})
    out.attrs["source"] = source
    return out


def read_lsoa_lookup(path: str | Path) -> pd.DataFrame:
    """Read an LSOA lookup table (LSOA 2011 to LSOA 2001, MSOA, wards) as text columns.

    Official ONS headers (``LSOA11CD``, ``LSOA01CD``, ``WD17CD``...) are renamed to the bundled
    layout (``lsoa11_code``, ``lsoa01_code``, ``ward17_code``...).
    """
    path = existing_file(path, what="LSOA lookup", option="--lsoa-lookup")
    raw = lsoa_csv(path)
    renames = {}
    for c in raw.columns:
        m = re.fullmatch(r"(LSOA|MSOA|WD|LAD)(\d\d)(CD|NM)", c.strip(), flags=re.I)
        if m:
            prefix = {"wd": "ward", "lsoa": "lsoa", "msoa": "msoa", "lad": "lad"}[
                m.group(1).lower()
            ]
            renames[c] = f"{prefix}{m.group(2)}_{'code' if m.group(3).upper() == 'CD' else 'name'}"
    out = raw.rename(columns=renames)
    if "lsoa11_code" not in out and "lsoa21_code" not in out:
        raise InputError(
            f"{path.name}: no lsoa11_code (or LSOA11CD) column; expected an LSOA lookup table"
        )
    out.attrs["source"] = path.name
    return out


def read_table(path: str | Path, *, what: str, option: str) -> pd.DataFrame:
    """Read a small CSV table (risk themes, unit costs...) with every column as text.

    ``what`` and ``option`` name the table and the option that supplies it in error messages.
    """
    return read_csv_text(existing_file(path, what=what, option=option))


def read_package_table(name: str, **read_csv: Any) -> pd.DataFrame:
    """Read a CSV shipped in ``geo_sppa/tables/`` (``#`` lines are comments naming the sources)."""
    from importlib.resources import files

    with files("geo_sppa").joinpath("tables", name).open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, comment="#", **read_csv)
