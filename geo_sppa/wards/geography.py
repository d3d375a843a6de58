"""Where things are: LSOAs to wards (lookup or areal overlay), points to wards, overlapping wards.

Every function takes layers in EPSG:27700 and checks it with :func:`geo_sppa.crs.require_bng`
(reprojection happens once, at read time).

- :func:`lsoa_to_ward` assigns each LSOA 2011 to one ward, through the LSOA lookup's ward column
  when its codes are exactly the ward set, else by the largest share of the LSOA's area.
- :func:`lsoa_ward_shares` gives every LSOA-ward overlap with its area share, and
  :func:`apportioned_counts` spreads LSOA-level counts over wards by those shares.
- :func:`point_wards` is the point-in-polygon join of incidents to wards.
- :func:`ward_overlaps` finds wards whose polygons overlap (a point there would be counted in one
  of them only, silently); :func:`check_no_overlap` refuses a layer whose overlaps are material.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_sppa.crs import require_bng
from geo_sppa.errors import InputError

__all__ = [
    "OVERLAP_TOLERANCE",
    "apportioned_counts",
    "check_no_overlap",
    "lsoa_to_ward",
    "lsoa_ward_shares",
    "point_wards",
    "ward_overlaps",
]

_WARD_SET_COLUMNS = ("ward17_code", "ward22_code_derived", "ward13_code_derived")
#: Share of a ward's area that may overlap other wards (digitising slivers) before the layer is
#: refused: beyond it, incidents in the overlap would be counted in one ward arbitrarily.
OVERLAP_TOLERANCE = 0.01


def ward_overlaps(wards: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return every pair of wards whose polygons overlap, with the overlap area.

    Pairs come from one vectorised ``STRtree`` query; wards that only share a boundary have a zero
    area and are left out.

    Parameters
    ----------
    wards
        ``ward_code, ward_name, geometry`` in EPSG:27700.

    Returns
    -------
    DataFrame
        ``ward_code_a, ward_name_a, ward_code_b, ward_name_b, overlap_m2, share_a, share_b``
        (area in EPSG:27700 square metres; shares of each ward's own area), largest first.

    """
    require_bng(wards, what="wards")
    geoms = np.asarray(wards.geometry.values, dtype=object)
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


def check_no_overlap(wards: gpd.GeoDataFrame, *, source: str) -> None:
    """Raise :class:`InputError` when a ward overlaps others by more than the tolerance.

    Parameters
    ----------
    wards
        ``ward_code, ward_name, geometry`` in EPSG:27700.
    source
        The ward file name, named in the message.

    Raises
    ------
    InputError
        Naming the largest overlapping pair, its area and share (see :data:`OVERLAP_TOLERANCE`).

    """
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


def _lookup_assignment(
    ward_codes: set[str], lookup: pd.DataFrame
) -> tuple[pd.DataFrame, str] | None:
    """Return the assignment from the first lookup ward column whose codes equal the ward set."""
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
    return None


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
        ``lsoa_code, geometry`` in EPSG:27700; used when no lookup column matches: each LSOA goes
        to the ward holding the largest share of its area.

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
        found = _lookup_assignment(ward_codes, lookup)
        if found is not None:
            return found
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
            "check that both layers are for the same area"
        )
    best = pieces.sort_values(["share", "ward_code"], ascending=[False, True]).drop_duplicates(
        "lsoa_code"
    )
    return best.sort_values("lsoa_code").reset_index(drop=True)


def lsoa_ward_shares(wards: gpd.GeoDataFrame, lsoas: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return every LSOA-ward overlap with its share of the LSOA's area.

    Parameters
    ----------
    wards
        ``ward_code, geometry`` in EPSG:27700.
    lsoas
        ``lsoa_code, geometry`` in EPSG:27700.

    Returns
    -------
    DataFrame
        ``lsoa_code, ward_code, share`` (EPSG:27700 areas; the shares of an LSOA sum to 1 when the
        wards cover it, less when part of it lies outside every ward).

    """
    require_bng(wards, what="wards")
    require_bng(lsoas, what="LSOA boundaries")
    left = lsoas[["lsoa_code", "geometry"]]
    right = wards[["ward_code", "geometry"]]
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
    table = shares[["lsoa_code", "ward_code", "share"]].assign(
        share=lambda f: f["share"].fillna(1.0)
    )
    counts = lsoa_counts.groupby("lsoa_code")["count"].sum()
    joined = table.join(counts, on="lsoa_code", how="inner")
    by_ward = (joined["count"] * joined["share"]).groupby(joined["ward_code"]).sum().rename("count")
    placed = joined.groupby("lsoa_code")["share"].sum().reindex(counts.index).fillna(0.0)
    missing = counts[placed == 0]
    part = (placed > 0) & (placed < 1 - 1e-6)
    partial = counts[part] * (1 - placed[part])
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


def point_wards(points: gpd.GeoSeries, wards: gpd.GeoDataFrame) -> pd.Series:
    """Return the code of the ward containing each point (NA outside every ward).

    A point on a shared boundary goes to one ward only (the first the spatial index returns).

    Parameters
    ----------
    points
        Point geometries in EPSG:27700 (no missing or empty ones).
    wards
        ``ward_code, geometry`` in EPSG:27700.

    Returns
    -------
    Series
        Object dtype, named ``ward_code``, indexed like ``points``.

    """
    require_bng(points, what="incident points")
    require_bng(wards, what="wards")
    joined = gpd.sjoin(
        gpd.GeoDataFrame(geometry=points),
        wards[["ward_code", "geometry"]],
        how="left",
        predicate="intersects",
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["ward_code"].astype(object).reindex(points.index).rename("ward_code")
