"""Deprivation (IMD) on LSOAs and wards.

- :func:`exponential_transform` is the IMD's own transform of national ranks; with
  :data:`IMD_WEIGHTS` it rebuilds the overall score from the seven domain ranks.
- :func:`lsoa_deprivation` puts IMD values on LSOA 2011 codes (IMD 2010 is on LSOA 2001:
  children of a split parent inherit its value; IMD 2025 stays on its LSOA 2021 codes) and adds
  the rank-based recombinations ``imd_exp_score`` and ``imd_no_crime_score``.
- :func:`ward_deprivation` aggregates LSOA values to wards, weighted by population (and keeps the
  population-weighted mean national rank, ``imd_rank_popweighted``).
- :func:`deprivation_measure` says which ward column holds the overall measure: the published
  score, else the score rebuilt from the domain ranks (IMD 2019 File 2 has ranks only).
- :func:`missing_lsoas` and :func:`incomplete_join_error` check that a table joined to wards
  covers every LSOA of those wards (nothing is silently averaged over fewer LSOAs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo_sppa.errors import InputError

__all__ = [
    "DOMAINS",
    "IMD_WEIGHTS",
    "N_LSOA_ENGLAND",
    "deprivation_measure",
    "exponential_transform",
    "gap_notes",
    "incomplete_join_error",
    "incomplete_wards",
    "lsoa_deprivation",
    "missing_lsoas",
    "ward_deprivation",
]

DOMAINS = ("income", "employment", "education", "health", "crime", "housing", "environment")
#: Official domain weights of the IMD 2010 (and 2015, 2019); they sum to 0.999 as published.
IMD_WEIGHTS = {
    "income": 0.225,
    "employment": 0.225,
    "health": 0.135,
    "education": 0.135,
    "crime": 0.093,
    "housing": 0.093,
    "environment": 0.093,
}
#: Number of LSOAs in England, by LSOA vintage, that IMD ranks run over (rank 1 = most deprived).
N_LSOA_ENGLAND = {2001: 32_482, 2011: 32_844, 2021: 33_755}


def exponential_transform(rank: pd.Series | np.ndarray, *, n: int) -> np.ndarray:
    """Return the IMD exponential transform of national ranks (rank 1 = most deprived).

    The IMD scales each domain rank to ``R`` in (0, 1] with ``R = 1/n`` for the least deprived and
    ``R = 1`` for the most deprived, then ``X = -23 ln(1 - R (1 - exp(-100/23)))`` so that X runs
    from about 0 to 100 and the most deprived 10% are stretched out (DCLG, English Indices of
    Deprivation 2010 technical report, section 3.6). The overall IMD score is the weighted sum of
    the transformed domain ranks with :data:`IMD_WEIGHTS`.

    Parameters
    ----------
    rank
        National ranks, 1 = most deprived.
    n
        Number of LSOAs ranked (:data:`N_LSOA_ENGLAND`).

    Returns
    -------
    numpy.ndarray
        The transformed values, from about 0 (least deprived) to 100 (most deprived).

    """
    r = (n + 1 - np.asarray(rank, dtype=float)) / n
    return -23.0 * np.log(1.0 - r * (1.0 - np.exp(-100.0 / 23.0)))


def lsoa_deprivation(imd: pd.DataFrame, *, lookup: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return IMD values on LSOA 2011 codes, with rank-based recombinations.

    Parameters
    ----------
    imd
        From ``geo_sppa.io.read_imd``: ``lsoa_code, vintage, imd_score, imd_rank, imd_decile`` and
        ``<domain>_score|_rank|_decile``. Vintage 2001 (IMD 2010) needs ``lookup``.
    lookup
        ``lsoa11_code, lsoa01_code`` (best-fit). A split parent's children all inherit its value;
        an LSOA 2011 made from several parents takes their unweighted mean.

    Returns
    -------
    DataFrame
        Indexed by ``lsoa_code`` (2011; 2021 for IMD 2025), the numeric IMD columns plus
        ``imd_exp_score`` (the seven
        exponentially transformed domain ranks combined with the official weights: reproduces the
        published score where there is one) and ``imd_no_crime_score`` (the same without the crime
        domain, the other weights scaled up to sum to 1).

    Raises
    ------
    InputError
        More than one LSOA vintage, IMD 2010 without a lookup, or a lookup for another area.

    """
    vintages = set(pd.to_numeric(imd["vintage"]).dropna().astype(int))
    if len(vintages) != 1 or not vintages <= set(N_LSOA_ENGLAND):
        raise InputError(
            f"IMD table: expected one LSOA vintage (2001, 2011 or 2021), found {sorted(vintages)}"
        )
    vintage = vintages.pop()
    numeric = imd.drop(columns=["vintage"]).set_index("lsoa_code").select_dtypes("number")
    numeric = _with_exp_scores(numeric, n=N_LSOA_ENGLAND[vintage])
    if vintage in (2011, 2021):
        return numeric
    if lookup is None:
        raise InputError(
            "IMD 2010 is on 2001 LSOAs: pass the LSOA lookup "
            "(lsoa11_code -> lsoa01_code) to join it"
        )
    pairs = lookup[["lsoa11_code", "lsoa01_code"]].dropna()
    if not set(pairs["lsoa01_code"]) & set(numeric.index):
        raise InputError(
            "IMD table: none of the lookup's LSOA 2001 codes is in the IMD file; "
            "check that the IMD file and the lookup are for the same area"
        )
    joined = pairs.join(numeric, on="lsoa01_code", how="inner")
    out = joined.drop(columns=["lsoa01_code"]).groupby("lsoa11_code").mean()
    out.index.name = "lsoa_code"
    return out


def _with_exp_scores(frame: pd.DataFrame, *, n: int) -> pd.DataFrame:
    rank_columns = [f"{d}_rank" for d in DOMAINS]
    if not set(rank_columns) <= set(frame.columns):
        return frame
    transformed = {d: exponential_transform(frame[f"{d}_rank"], n=n) for d in DOMAINS}
    full = np.sum([IMD_WEIGHTS[d] * transformed[d] for d in DOMAINS], axis=0)
    others = [d for d in DOMAINS if d != "crime"]
    no_crime = np.sum([IMD_WEIGHTS[d] * transformed[d] for d in others], axis=0) / sum(
        IMD_WEIGHTS[d] for d in others
    )
    return frame.assign(imd_exp_score=full, imd_no_crime_score=no_crime)


def _weighted_means(values: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Return the population-weighted mean of each column by ward, over LSOAs with a value."""
    weights = values["population"]
    ward = values["ward_code"]
    out = {}
    for column in columns:
        known = values[column].notna() & (weights > 0)
        num = (values[column] * weights).where(known).groupby(ward).sum(min_count=1)
        den = weights.where(known).groupby(ward).sum()
        name = "imd_rank_popweighted" if column == "imd_rank" else column
        out[name] = num / den.replace(0, np.nan)
    return pd.DataFrame(out)


def ward_deprivation(
    assignment: pd.DataFrame,
    population: pd.DataFrame,
    lsoa_imd: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return population and population-weighted IMD measures by ward.

    Parameters
    ----------
    assignment
        ``lsoa_code, ward_code`` from :func:`geo_sppa.wards.geography.lsoa_to_ward`.
    population
        ``lsoa_code, population``.
    lsoa_imd
        From :func:`lsoa_deprivation` (indexed by LSOA 2011 code), or None.

    Returns
    -------
    DataFrame
        Indexed by ``ward_code``: ``population``, ``n_lsoa``, and for each IMD measure the
        population-weighted mean over the ward's LSOAs. Score columns keep their names
        (``imd_score``, ``income_score``, the rebuilt ``imd_exp_score``...);
        ``imd_rank_popweighted`` is the population-weighted mean national rank (1 = most
        deprived) wherever the IMD has ranks; when the IMD has no published overall score (IoD
        2019 File 2) ``imd_pct_pop_decile1`` (% of residents in LSOAs in the most deprived
        decile) is added.

    """
    pop = population[["lsoa_code", "population"]].drop_duplicates("lsoa_code")
    table = assignment[["lsoa_code", "ward_code"]].merge(pop, on="lsoa_code", how="left")
    table["population"] = table["population"].fillna(0.0)
    grouped = table.groupby("ward_code")
    out = pd.DataFrame({"population": grouped["population"].sum(), "n_lsoa": grouped.size()})
    if lsoa_imd is None:
        return out
    has_score = "imd_score" in lsoa_imd.columns and lsoa_imd["imd_score"].notna().any()
    columns = [c for c in lsoa_imd.columns if c.endswith("_score") and lsoa_imd[c].notna().any()]
    if "imd_rank" in lsoa_imd.columns and lsoa_imd["imd_rank"].notna().any():
        columns.append("imd_rank")
    values = table.join(
        lsoa_imd[columns + (["imd_decile"] if "imd_decile" in lsoa_imd else [])], on="lsoa_code"
    )
    out = out.join(_weighted_means(values, columns))
    if not has_score and "imd_decile" in values:
        in_d1 = values["population"].where(values["imd_decile"] == 1, 0.0)
        out["imd_pct_pop_decile1"] = (
            100 * in_d1.groupby(values["ward_code"]).sum() / out["population"]
        )
    return out


def deprivation_measure(wards: pd.DataFrame) -> str:
    """Return the ward column holding the overall deprivation measure.

    ``imd_score`` when the IMD has published scores; else ``imd_exp_score``, the score rebuilt
    from the seven domain ranks with the IMD's own exponential transform and weights (it
    reproduces Peterborough's published IMD 2019 average score, 27.821); else
    ``imd_rank_popweighted`` (a population-weighted mean national rank, 1 = most deprived: not a
    score) when the file has overall ranks only.
    """
    for column in ("imd_score", "imd_exp_score"):
        if column in wards.columns and wards[column].notna().any():
            return column
    return "imd_rank_popweighted"


def missing_lsoas(needed: pd.Series | pd.Index, present: pd.Index | pd.Series) -> list[str]:
    """Return the codes of ``needed`` absent from ``present`` (sorted, without repeats)."""
    have = set(pd.Index(present).dropna().astype(str))
    return sorted({str(c) for c in pd.Index(needed).dropna()} - have)


def incomplete_join_error(
    source: str, missing: list[str], n_needed: int, *, what: str, option: str
) -> InputError:
    """Return the one-line error for a table that misses some of the wards' LSOAs.

    Parameters
    ----------
    source
        The table's file name.
    missing, n_needed
        The LSOA codes it lacks, and how many LSOAs the wards have.
    what, option
        What the table holds (``"population"``, ``"IMD 2025 values"``) and the option that
        supplies it.

    Returns
    -------
    InputError
        Naming the file, how many LSOAs are missing with a few codes, and the two fixes.

    """
    codes = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
    return InputError(
        f"{source}: {len(missing)} of the {n_needed} LSOAs of the wards have no {what} "
        f"({codes}); pass a file that covers every LSOA of the wards ({option}), or "
        "--allow-incomplete to mark the affected wards"
    )


def incomplete_wards(
    units: pd.DataFrame,
    present: pd.Index | pd.Series,
    *,
    key: str,
    source: str,
    what: str,
    option: str,
    allow: bool,
) -> pd.Series:
    """Return, by ward, what a joined table misses; raise when it misses anything, unless allowed.

    Parameters
    ----------
    units
        The wards' LSOAs: ``ward_code`` and the ``key`` column of LSOA codes.
    present
        The LSOA codes the table has (with a value).
    key, source, what, option
        The LSOA column of ``units``; the table's file name, what it holds and the option that
        supplies it (for the message).
    allow
        With ``--allow-incomplete``: return the affected wards instead of raising.

    Returns
    -------
    Series
        ``"<what>: k of n LSOAs missing"`` by ``ward_code`` for the affected wards (empty when the
        table is complete).

    Raises
    ------
    InputError
        The table lacks some LSOAs and ``allow`` is False
        (:func:`geo_sppa.wards.deprivation.incomplete_join_error`).

    """
    pairs = units[["ward_code", key]].dropna().drop_duplicates()
    missing = missing_lsoas(pairs[key], present)
    if not missing:
        return pd.Series(dtype=object)
    if not allow:
        raise incomplete_join_error(source, missing, pairs[key].nunique(), what=what, option=option)
    gone = pairs[key].astype(str).isin(missing)
    k = gone.groupby(pairs["ward_code"]).sum()
    n = pairs.groupby("ward_code").size()
    k = k[k > 0]
    return pd.Series(
        [f"{what}: {int(k[w])} of {int(n[w])} LSOAs missing" for w in k.index], index=k.index
    )


def gap_notes(gaps: list[pd.Series], index: pd.Index) -> pd.Series:
    """Return, by ward of ``index``, the gaps of :func:`incomplete_wards` joined with ``; ``."""
    found = [g for g in gaps if len(g)]
    if not found:
        return pd.Series("", index=index, dtype=object)
    joined = pd.concat(found).groupby(level=0).agg("; ".join)
    return joined.reindex(index).fillna("").astype(object)
