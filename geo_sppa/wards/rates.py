"""Ward table: population, deprivation (IMD) and incident rates per 1,000 residents.

Everything here is a pure function on in-memory frames in EPSG:27700 (see ``docs/architecture.md``):

- :func:`lsoa_to_ward` assigns each LSOA 2011 to one ward, through the LSOA lookup's ward column
  when its codes are exactly the ward set, else by the largest share of the LSOA's area.
- :func:`lsoa_deprivation` puts IMD values on LSOA 2011 codes (IMD 2010 is on LSOA 2001:
  children of a split parent inherit its value) and adds the rank-based recombinations
  ``imd_exp_score`` and ``imd_no_crime_score``.
- :func:`ward_deprivation` aggregates LSOA values to wards, weighted by population.
- :func:`ward_incident_counts` counts incidents by ward (points by spatial join, points without
  geometry through their LSOA), setting aside, with a reason, every record it cannot place.
- :func:`ward_overlaps` finds wards whose polygons overlap (a point there would be counted in
  one of them only, silently); :func:`ward_rates` refuses a layer whose overlaps are material.
- :func:`ward_rates` joins it all into the ward table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_sppa.crs import BNG
from geo_sppa.errors import InputError

__all__ = [
    "ALL_CATEGORIES",
    "DEFAULT_CATEGORY",
    "DOMAINS",
    "IMD_WEIGHTS",
    "LABEL_OVER",
    "LABEL_UNDER",
    "OVERLAP_TOLERANCE",
    "WardRates",
    "exponential_transform",
    "incident_categories",
    "matching_category",
    "apportioned_counts",
    "lsoa_deprivation",
    "lsoa_to_ward",
    "lsoa_ward_shares",
    "ward_deprivation",
    "ward_incident_counts",
    "ward_overlaps",
    "ward_rates",
]

DEFAULT_CATEGORY = "Anti-social behaviour"
ALL_CATEGORIES = "all"
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
N_LSOA_ENGLAND = {2001: 32_482, 2011: 32_844}
LABEL_UNDER = "fewer than deprivation predicts (possible under-reporting)"
LABEL_OVER = (
    "more than deprivation predicts "
    "(check whether the deprivation data are out of date, e.g. new housing)"
)

_WARD_SET_COLUMNS = ("ward17_code", "ward22_code_derived", "ward13_code_derived")
#: Share of a ward's area that may overlap other wards (digitising slivers) before the layer is
#: refused: beyond it, incidents in the overlap would be counted in one ward arbitrarily.
OVERLAP_TOLERANCE = 0.01


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
        ``source, row, record_id, reason, detail`` (``row``: 1-based position among the records
        of the chosen category; ``record_id`` identifies the record in the file).
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


def exponential_transform(rank: pd.Series | np.ndarray, *, n: int) -> np.ndarray:
    """Return the IMD exponential transform of national ranks (rank 1 = most deprived).

    The IMD scales each domain rank to ``R`` in (0, 1] with ``R = 1/n`` for the least deprived and
    ``R = 1`` for the most deprived, then ``X = -23 ln(1 - R (1 - exp(-100/23)))`` so that X runs
    from about 0 to 100 and the most deprived 10% are stretched out (DCLG, English Indices of
    Deprivation 2010 technical report, section 3.6). The overall IMD score is the weighted sum of
    the transformed domain ranks with :data:`IMD_WEIGHTS`.
    """
    r = (n + 1 - np.asarray(rank, dtype=float)) / n
    return -23.0 * np.log(1.0 - r * (1.0 - np.exp(-100.0 / 23.0)))


def incident_categories(incidents: pd.DataFrame) -> pd.Series:
    """Return the number of incidents per category, largest first (a Series named ``count``)."""
    counts = incidents["category"].value_counts(dropna=False)
    counts.index.name = "category"
    return counts.rename("count")


def _category_key(text: object) -> str:
    return " ".join(str(text).split()).casefold()


def matching_category(category: str, present: pd.Series) -> str | None:
    """Return the category of ``present`` that ``category`` names, in the data's spelling.

    Matching ignores case and surrounding or repeated white space (``" anti-social  behaviour"``
    names ``"Anti-social behaviour"``). An exact match wins; when several spellings in the data
    match, the most frequent is returned. None when nothing matches.

    Parameters
    ----------
    category
        The category asked for.
    present
        Counts by category, as from :func:`incident_categories` (largest first).

    """
    if category in present.index:
        return category
    key = _category_key(category)
    hits = [name for name in present.index if _category_key(name) == key]
    return str(hits[0]) if hits else None


def ward_overlaps(wards: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return every pair of wards whose polygons overlap, with the overlap area.

    Pairs come from one vectorised ``STRtree`` query; wards that only share a boundary have a zero
    area and are left out.

    Returns
    -------
    DataFrame
        ``ward_code_a, ward_name_a, ward_code_b, ward_name_b, overlap_m2, share_a, share_b``
        (area in EPSG:27700 square metres; shares of each ward's own area), largest first.

    """
    geoms = np.asarray(wards.geometry.to_crs(BNG).values, dtype=object)
    fixed = np.where(shapely.is_valid(geoms), geoms, shapely.make_valid(geoms))
    left, right = shapely.STRtree(fixed).query(fixed, predicate="intersects")
    pair = left < right
    left, right = left[pair], right[pair]
    crossing = ~shapely.touches(fixed[left], fixed[right])  # neighbours only share a boundary
    left, right = left[crossing], right[crossing]
    area = shapely.area(shapely.intersection(fixed[left], fixed[right]))
    own = shapely.area(fixed)
    codes = wards["ward_code"].astype(str).to_numpy()
    names = wards["ward_name"].astype(str).to_numpy()
    out = pd.DataFrame(
        {
            "ward_code_a": codes[left],
            "ward_name_a": names[left],
            "ward_code_b": codes[right],
            "ward_name_b": names[right],
            "overlap_m2": area,
            "share_a": area / own[left],
            "share_b": area / own[right],
        }
    )
    out = out[out["overlap_m2"] > 0]
    return out.sort_values("overlap_m2", ascending=False, kind="stable").reset_index(drop=True)


def _check_no_overlap(wards: gpd.GeoDataFrame, *, source: str) -> None:
    pairs = ward_overlaps(wards)
    if pairs.empty:
        return
    shares = pd.concat(
        [
            pairs[["ward_code_a", "share_a"]].set_axis(["ward_code", "share"], axis=1),
            pairs[["ward_code_b", "share_b"]].set_axis(["ward_code", "share"], axis=1),
        ]
    )
    total = shares.groupby("ward_code")["share"].sum()
    bad = set(total[total > OVERLAP_TOLERANCE].index)
    if not bad:
        return
    worst = pairs[pairs["ward_code_a"].isin(bad) | pairs["ward_code_b"].isin(bad)].iloc[0]
    others = (
        f"; {len(bad)} wards overlap others by more than {OVERLAP_TOLERANCE:.0%} of their area"
        if len(bad) > 2
        else ""
    )
    raise InputError(
        f"{source}: wards {worst['ward_code_a']} {worst['ward_name_a']} and "
        f"{worst['ward_code_b']} {worst['ward_name_b']} overlap by "
        f"{worst['overlap_m2'] / 10_000:,.1f} ha "
        f"({max(worst['share_a'], worst['share_b']):.1%} of the smaller ward{others}); "
        "the boundary layer must not overlap (fix the geometry or pass a clean layer)"
    )


def lsoa_to_ward(
    wards: gpd.GeoDataFrame,
    *,
    lookup: pd.DataFrame | None = None,
    lsoas: gpd.GeoDataFrame | None = None,
) -> tuple[pd.DataFrame, str]:
    """Return the ward of each LSOA 2011 and how it was found.

    Parameters
    ----------
    wards
        ``ward_code, ward_name, geometry``.
    lookup
        The LSOA lookup (``lsoa11_code`` and ward code columns such as ``ward17_code`` (ONS best
        fit, WD17 = WD22) or ``ward13_code_derived``). A column is used only when its set of codes
        equals the ward set exactly.
    lsoas
        ``lsoa_code, geometry``; used when no lookup column matches: each LSOA goes to the ward
        holding the largest share of its area.

    Returns
    -------
    tuple of (DataFrame, str)
        ``lsoa_code, ward_code, share`` (share of the LSOA's area in the ward; NaN from a lookup),
        and the method (the lookup column name, or ``"largest area share"``).

    Raises
    ------
    InputError
        No lookup column matches the ward codes and no LSOA geometry was given, or no LSOA overlaps
        any ward.

    """
    ward_codes = set(wards["ward_code"].astype(str))
    if lookup is not None:
        candidates = [c for c in _WARD_SET_COLUMNS if c in lookup.columns]
        candidates += [
            c
            for c in lookup.columns
            if "ward" in c.lower() and c.lower().endswith("code") and c not in candidates
        ]
        for column in candidates:
            if set(lookup[column].dropna().astype(str)) == ward_codes:
                table = lookup[["lsoa11_code", column]].drop_duplicates("lsoa11_code")
                table = table.rename(columns={"lsoa11_code": "lsoa_code", column: "ward_code"})
                return table.assign(share=np.nan).reset_index(drop=True), column
    if lsoas is None:
        looked = ", ".join(
            c for c in (lookup.columns if lookup is not None else []) if "ward" in c.lower()
        )
        sample = ", ".join(sorted(ward_codes)[:3])
        raise InputError(
            f"ward codes ({sample}, ...) match no ward column of the LSOA lookup "
            f"(looked in: {looked or 'no lookup given'}) and no LSOA boundaries were given to "
            "assign LSOAs by area; pass LSOA boundaries, or wards from the same set as the "
            "lookup (--ward-set 2013|2022)"
        )
    return _largest_share(wards, lsoas), "largest area share"


def _largest_share(wards: gpd.GeoDataFrame, lsoas: gpd.GeoDataFrame) -> pd.DataFrame:
    pieces = lsoa_ward_shares(wards, lsoas)
    if pieces.empty:
        raise InputError(
            "no LSOA overlaps any ward: the LSOA and ward boundaries cover different places; "
            "check that both layers are for the same area and CRS"
        )
    best = pieces.sort_values(["share", "ward_code"], ascending=[False, True]).drop_duplicates(
        "lsoa_code"
    )
    return best.sort_values("lsoa_code").reset_index(drop=True)


def lsoa_ward_shares(wards: gpd.GeoDataFrame, lsoas: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return every LSOA-ward overlap with its share of the LSOA's area.

    Returns
    -------
    DataFrame
        ``lsoa_code, ward_code, share`` (EPSG:27700 areas; the shares of an LSOA sum to 1 when the
        wards cover it, less when part of it lies outside every ward).

    """
    left = lsoas[["lsoa_code", "geometry"]].to_crs(BNG)
    right = wards[["ward_code", "geometry"]].to_crs(BNG)
    pieces = gpd.overlay(left, right, how="intersection", keep_geom_type=True)
    lsoa_area = left.set_index("lsoa_code").geometry.area
    share = pieces.geometry.area.to_numpy() / lsoa_area.reindex(pieces["lsoa_code"]).to_numpy()
    out = pd.DataFrame(
        {"lsoa_code": pieces["lsoa_code"], "ward_code": pieces["ward_code"], "share": share}
    )
    return out[out["share"] > 1e-9].sort_values(["lsoa_code", "ward_code"]).reset_index(drop=True)


def apportioned_counts(
    lsoa_counts: pd.DataFrame, shares: pd.DataFrame
) -> tuple[pd.Series, pd.DataFrame]:
    """Return ward counts apportioned from LSOA-level counts, and the LSOAs left unplaced.

    Parameters
    ----------
    lsoa_counts
        ``lsoa_code, count`` (e.g. the police.uk count table by LSOA, already filtered to a
        category).
    shares
        ``lsoa_code, ward_code, share`` from :func:`lsoa_ward_shares` (area shares), or a one-to-one
        assignment from :func:`lsoa_to_ward` (share NaN is read as 1).

    Returns
    -------
    tuple of (Series, DataFrame)
        Expected counts by ward (floats: an LSOA split 70/30 gives 0.7 and 0.3 of its count) named
        ``count``, and ``lsoa_code, count, reason`` for LSOAs in no ward (``LSOA not in any ward``)
        or partly outside the wards (``part outside every ward``, with the unplaced part of the
        count).

    """
    table = shares[["lsoa_code", "ward_code", "share"]].copy()
    table["share"] = table["share"].fillna(1.0)
    counts = lsoa_counts.groupby("lsoa_code")["count"].sum()
    joined = table.join(counts, on="lsoa_code", how="inner")
    by_ward = (joined["count"] * joined["share"]).groupby(joined["ward_code"]).sum().rename("count")
    placed = joined.groupby("lsoa_code")["share"].sum().reindex(counts.index).fillna(0.0)
    missing = counts[placed == 0]
    partial = counts[(placed > 0) & (placed < 1 - 1e-6)] * (
        1 - placed[(placed > 0) & (placed < 1 - 1e-6)]
    )
    unplaced = pd.concat(
        [
            pd.DataFrame(
                {
                    "lsoa_code": missing.index,
                    "count": missing.to_numpy(),
                    "reason": "LSOA not in any ward",
                }
            ),
            pd.DataFrame(
                {
                    "lsoa_code": partial.index,
                    "count": partial.to_numpy(),
                    "reason": "part outside every ward",
                }
            ),
        ],
        ignore_index=True,
    )
    by_ward.index.name = "ward_code"
    return by_ward, unplaced


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
        Indexed by ``lsoa_code`` (2011), the numeric IMD columns plus ``imd_exp_score`` (the seven
        exponentially transformed domain ranks combined with the official weights: reproduces the
        published score where there is one) and ``imd_no_crime_score`` (the same without the crime
        domain, the other weights scaled up to sum to 1).

    """
    vintages = set(pd.to_numeric(imd["vintage"]).dropna().astype(int))
    if len(vintages) != 1 or not vintages <= set(N_LSOA_ENGLAND):
        raise InputError(
            f"IMD table: expected one LSOA vintage (2001 or 2011), found {sorted(vintages)}"
        )
    vintage = vintages.pop()
    numeric = imd.drop(columns=["vintage"]).set_index("lsoa_code").select_dtypes("number")
    numeric = _with_exp_scores(numeric, n=N_LSOA_ENGLAND[vintage])
    if vintage == 2011:
        return numeric
    if lookup is None:
        raise InputError(
            "IMD 2010 is on 2001 LSOAs: pass the LSOA lookup "
            "(lsoa11_code -> lsoa01_code) to join it"
        )
    pairs = lookup[["lsoa11_code", "lsoa01_code"]].dropna()
    missing = sorted(set(pairs["lsoa01_code"]) - set(numeric.index))
    if len(missing) == len(set(pairs["lsoa01_code"])):
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
    full = sum(IMD_WEIGHTS[d] * transformed[d] for d in DOMAINS)
    others = [d for d in DOMAINS if d != "crime"]
    no_crime = sum(IMD_WEIGHTS[d] * transformed[d] for d in others) / sum(
        IMD_WEIGHTS[d] for d in others
    )
    return frame.assign(imd_exp_score=full, imd_no_crime_score=no_crime)


def ward_deprivation(
    assignment: pd.DataFrame,
    population: pd.DataFrame,
    lsoa_imd: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return population and population-weighted IMD measures by ward.

    Parameters
    ----------
    assignment
        ``lsoa_code, ward_code`` from :func:`lsoa_to_ward`.
    population
        ``lsoa_code, population``.
    lsoa_imd
        From :func:`lsoa_deprivation` (indexed by LSOA 2011 code), or None.

    Returns
    -------
    DataFrame
        Indexed by ``ward_code``: ``population``, ``n_lsoa``, and for each IMD measure the
        population-weighted mean over the ward's LSOAs. Score columns keep their names
        (``imd_score``, ``income_score``...); when the IMD has no overall score (IoD 2019 File 2)
        the ward measures are ``imd_rank_popweighted`` (population-weighted mean national rank, 1 =
        most deprived) and ``imd_pct_pop_decile1`` (% of residents in LSOAs in the most deprived
        decile).

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
    if not has_score:
        columns.append("imd_rank")
    values = table.join(
        lsoa_imd[columns + (["imd_decile"] if "imd_decile" in lsoa_imd else [])], on="lsoa_code"
    )
    weights = values["population"]
    for column in columns:
        known = values[column].notna() & (weights > 0)
        num = (values[column] * weights).where(known).groupby(values["ward_code"]).sum(min_count=1)
        den = weights.where(known).groupby(values["ward_code"]).sum()
        name = "imd_rank_popweighted" if column == "imd_rank" else column
        out[name] = num / den.replace(0, np.nan)
    if not has_score and "imd_decile" in values:
        in_d1 = weights.where(values["imd_decile"] == 1, 0.0)
        out["imd_pct_pop_decile1"] = (
            100 * in_d1.groupby(values["ward_code"]).sum() / out["population"]
        )
    return out


def ward_incident_counts(
    incidents: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame,
    assignment: pd.DataFrame,
    *,
    source: str = "incidents",
) -> tuple[pd.Series, pd.DataFrame]:
    """Return incident counts by ward and the records that could not be placed.

    Points are counted in the ward polygon that contains them (a point on a shared boundary goes to
    one ward only); records without geometry but with an LSOA code go to that LSOA's ward.

    Returns
    -------
    tuple of (Series, DataFrame)
        Counts indexed by ``ward_code`` (every ward, zero included), named ``count``; and the
        set-aside records ``source, row, record_id, reason, detail`` with reasons ``outside every
        ward``, ``LSOA not in the ward lookup`` or ``no location``.

    """
    frame = incidents.reset_index(drop=True)
    has_point = frame.geometry.notna() & ~frame.geometry.is_empty
    ward_of = pd.Series(pd.NA, index=frame.index, dtype="object")
    points = frame[has_point]
    if len(points):
        joined = gpd.sjoin(
            points[["geometry"]].to_crs(BNG),
            wards[["ward_code", "geometry"]].to_crs(BNG),
            how="left",
            predicate="intersects",
        )
        joined = joined[~joined.index.duplicated(keep="first")]
        ward_of.loc[joined.index] = joined["ward_code"].to_numpy()
    lsoa_ward = assignment.drop_duplicates("lsoa_code").set_index("lsoa_code")["ward_code"]
    no_point = ~has_point
    if "lsoa_code" in frame:
        ward_of.loc[no_point] = frame.loc[no_point, "lsoa_code"].map(lsoa_ward).to_numpy()
    reason = pd.Series(pd.NA, index=frame.index, dtype="object")
    unplaced = ward_of.isna()
    reason[unplaced & has_point] = "outside every ward"
    has_lsoa = (
        frame["lsoa_code"].notna() if "lsoa_code" in frame else pd.Series(False, index=frame.index)
    )
    reason[unplaced & no_point & has_lsoa] = "LSOA not in the ward lookup"
    reason[unplaced & no_point & ~has_lsoa] = "no location"
    set_aside = pd.DataFrame(
        {
            "source": frame.loc[unplaced, "source"].to_numpy() if "source" in frame else source,
            "row": (frame.index[unplaced] + 1),
            "record_id": frame.loc[unplaced, "incident_id"].to_numpy()
            if "incident_id" in frame
            else pd.NA,
            "reason": reason[unplaced].to_numpy(),
            "detail": _detail(frame.loc[unplaced], has_point[unplaced]),
        }
    )
    counts = ward_of.dropna().value_counts().reindex(wards["ward_code"], fill_value=0)
    counts.index.name = "ward_code"
    return counts.astype(int).rename("count"), set_aside.reset_index(drop=True)


def _detail(rows: gpd.GeoDataFrame, has_point: pd.Series) -> np.ndarray:
    """Return the set-aside detail of each row: its point, its LSOA code, or neither."""
    geoms = np.asarray(rows.geometry.values, dtype=object)
    x = pd.Series(shapely.get_x(geoms), index=rows.index).map("{:.0f}".format).astype(str)
    y = pd.Series(shapely.get_y(geoms), index=rows.index).map("{:.0f}".format).astype(str)
    lsoa = rows["lsoa_code"] if "lsoa_code" in rows else pd.Series(pd.NA, index=rows.index)
    by_lsoa = ("LSOA " + lsoa.astype(str)).where(lsoa.notna(), "no point, no LSOA code")
    point = "point at (" + x + ", " + y + ")"
    return np.where(np.asarray(has_point, dtype=bool), point, by_lsoa).astype(object)


def ward_rates(
    wards: gpd.GeoDataFrame,
    *,
    population: pd.DataFrame,
    incidents: gpd.GeoDataFrame,
    imd: pd.DataFrame | None = None,
    lookup: pd.DataFrame | None = None,
    lsoas: gpd.GeoDataFrame | None = None,
    category: str = DEFAULT_CATEGORY,
    source: str = "incidents",
    ward_source: str = "wards",
) -> WardRates:
    """Return the ward table: population, IMD, incident count and rate per 1,000 residents.

    Parameters
    ----------
    wards
        ``ward_code, ward_name, geometry`` (EPSG:27700).
    population
        ``lsoa_code, population`` for LSOA 2011.
    incidents
        Normalised incidents (``incident_id, month, category, lsoa_code, location, geometry``).
    imd
        From ``read_imd`` (IMD 2010 on LSOA 2001 needs ``lookup``), or None.
    lookup
        The LSOA lookup (LSOA 2011 -> LSOA 2001 and ward codes).
    lsoas
        LSOA 2011 boundaries, used when the lookup's ward codes do not match ``wards``.
    category
        A police.uk ``Crime type`` (default ``"Anti-social behaviour"``, as the 2012 assessment), or
        ``"all"``; matched ignoring case and extra white space (see :func:`matching_category`):
        records of every spelling that matches are counted, reported in the data's spelling.
    source
        Incident file name for the set-aside table.
    ward_source
        Ward boundary file name (or label), named in error messages about the wards.

    Raises
    ------
    InputError
        The category does not exist (the message lists those that do, with counts), wards overlap
        by more than :data:`OVERLAP_TOLERANCE` of a ward's area, a ward has no population, or the
        LSOA-to-ward assignment is impossible.

    """
    notes: list[str] = []
    if _category_key(category) != ALL_CATEGORIES:
        present = incident_categories(incidents)
        found = matching_category(category, present)
        if found is None:
            listing = "; ".join(f"{name} ({n})" for name, n in present.items())
            raise InputError(
                f"no incidents of category {category!r}; the categories present are: {listing}; "
                f"or pass 'all'"
            )
        key = _category_key(found)
        chosen = incidents[incidents["category"].map(_category_key) == key]
        category = found
    else:
        chosen = incidents
        category = ALL_CATEGORIES
    _check_no_overlap(wards, source=ward_source)
    assignment, method = lsoa_to_ward(wards, lookup=lookup, lsoas=lsoas)
    notes.append(
        f"LSOAs assigned to wards by {method}"
        + (" (LSOA lookup)" if method != "largest area share" else "")
    )
    lsoa_imd = None
    vintage = None
    if imd is not None:
        vintage = int(pd.to_numeric(imd["vintage"]).iloc[0])
        lsoa_imd = lsoa_deprivation(imd, lookup=lookup)
    deprivation = ward_deprivation(assignment, population, lsoa_imd)
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
    counts, set_aside = ward_incident_counts(chosen, wards, assignment, source=source)
    months = tuple(sorted(chosen["month"].dropna().astype(str).unique()))
    n_months = len(months)
    data = wards[["ward_code", "ward_name", "geometry"]].join(deprivation, on="ward_code")
    data["count"] = counts.reindex(data["ward_code"]).to_numpy()
    data["rate_per_1000"] = 1000 * data["count"] / data["population"]
    data["rate_per_1000_per_year"] = data["rate_per_1000"] * 12 / n_months if n_months else np.nan
    measure = None
    if lsoa_imd is not None:
        measure = (
            "imd_score"
            if "imd_score" in data and data["imd_score"].notna().any()
            else "imd_rank_popweighted"
        )
        label = "IMD 2010 (LSOA 2001)" if vintage == 2001 else "IMD on LSOA 2011"
        notes.append(f"{label}: LSOA values weighted by LSOA population, measure {measure}")
        if measure == "imd_rank_popweighted":
            notes.append(
                "the IMD file has ranks, not scores: imd_rank_popweighted is a "
                "population-weighted mean "
                "national rank (1 = most deprived), not a score"
            )
    notes.append(
        f"category {category!r}: {n_months} month(s) {', '.join(months)}; "
        "rate_per_1000 is over those months, "
        f"rate_per_1000_per_year = rate * 12 / {n_months}"
    )
    if len(set_aside):
        for reason, n in set_aside["reason"].value_counts().items():
            notes.append(f"{n} record(s) set aside: {reason}")
    ordered = ["ward_code", "ward_name", "population", "n_lsoa"]
    ordered += [
        c
        for c in data.columns
        if c not in ordered
        and c not in ("count", "rate_per_1000", "rate_per_1000_per_year", "geometry")
    ]
    ordered += ["count", "rate_per_1000", "rate_per_1000_per_year", "geometry"]
    data = gpd.GeoDataFrame(data[ordered], geometry="geometry", crs=wards.crs).reset_index(
        drop=True
    )
    return WardRates(
        data=data,
        set_aside=set_aside,
        category=category,
        months=months,
        n_read=len(incidents),
        n_in_category=len(chosen),
        n_used=int(counts.sum()),
        imd_vintage=vintage,
        imd_measure=measure,
        assignment=method,
        notes=tuple(notes),
    )
