"""Incidents by category and by ward.

- :func:`incident_categories` counts incidents per category; :func:`matching_category` finds the
  category a user named, ignoring case and white space; :func:`incidents_of_category` keeps the
  incidents of that category.
- :func:`ward_incident_counts` counts incidents by ward (points by spatial join, points without
  geometry through their LSOA), setting aside, with a reason, every record it cannot place.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_sppa.errors import InputError
from geo_sppa.wards.geography import point_wards

__all__ = [
    "ALL_CATEGORIES",
    "DEFAULT_CATEGORY",
    "incident_categories",
    "incidents_of_category",
    "matching_category",
    "ward_incident_counts",
]

DEFAULT_CATEGORY = "Anti-social behaviour"
ALL_CATEGORIES = "all"


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

    Returns
    -------
    str or None
        The matching category as spelled in the data.

    """
    if category in present.index:
        return category
    key = _category_key(category)
    hits = [name for name in present.index if _category_key(name) == key]
    return str(hits[0]) if hits else None


def incidents_of_category(
    incidents: gpd.GeoDataFrame, category: str
) -> tuple[gpd.GeoDataFrame, str]:
    """Return the incidents of ``category`` and the category in the data's spelling.

    Parameters
    ----------
    incidents
        Normalised incidents (a ``category`` column).
    category
        A category (matched as :func:`matching_category` does; every spelling that matches is
        kept), or ``"all"`` (any case) for every incident.

    Returns
    -------
    tuple of (GeoDataFrame, str)
        The chosen incidents and the category's name (``"all"`` for every category).

    Raises
    ------
    InputError
        No incident has the category; the message lists those present with their counts.

    """
    if _category_key(category) == ALL_CATEGORIES:
        return incidents, ALL_CATEGORIES
    present = incident_categories(incidents)
    found = matching_category(category, present)
    if found is None:
        listing = "; ".join(f"{name} ({n})" for name, n in present.items())
        raise InputError(
            f"no incidents of category {category!r}; the categories present are: {listing}; "
            f"or pass 'all'"
        )
    key = _category_key(found)
    return incidents[incidents["category"].map(_category_key) == key], found


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

    Parameters
    ----------
    incidents
        Normalised incidents in EPSG:27700 (``incident_id, lsoa_code, geometry``; geometry may be
        missing where only the LSOA is known).
    wards
        ``ward_code, geometry`` in EPSG:27700.
    assignment
        ``lsoa_code, ward_code`` from :func:`geo_sppa.wards.geography.lsoa_to_ward`.
    source
        The incident file name, for the set-aside table when the incidents have no ``source``.

    Returns
    -------
    tuple of (Series, DataFrame)
        Counts indexed by ``ward_code`` (every ward, zero included), named ``count``; and the
        set-aside records ``source, row, record_id, reason, detail`` with reasons ``outside every
        ward``, ``LSOA not in the ward lookup`` or ``no location``. ``row`` is the record's
        1-based data row in its file (``source_row`` from the reader; the position in
        ``incidents`` when there is none) and ``record_id`` its id, else ``<file>:<row>`` as the
        reader labels records without one.

    """
    frame = incidents.reset_index(drop=True)
    has_point = frame.geometry.notna() & ~frame.geometry.is_empty
    ward_of = pd.Series(pd.NA, index=frame.index, dtype="object")
    if has_point.any():
        ward_of[has_point] = point_wards(frame[has_point].geometry, wards)
    no_point = ~has_point
    has_lsoa = (
        frame["lsoa_code"].notna() if "lsoa_code" in frame else pd.Series(False, index=frame.index)
    )
    if "lsoa_code" in frame:
        lsoa_ward = assignment.drop_duplicates("lsoa_code").set_index("lsoa_code")["ward_code"]
        ward_of[no_point] = frame.loc[no_point, "lsoa_code"].map(lsoa_ward)
    unplaced = ward_of.isna()
    reason = np.select(
        [has_point, has_lsoa], ["outside every ward", "LSOA not in the ward lookup"], "no location"
    )
    files = frame["source"] if "source" in frame else pd.Series(source, index=frame.index)
    rows = frame["source_row"] if "source_row" in frame else pd.Series(frame.index + 1)
    ids = frame["incident_id"] if "incident_id" in frame else pd.Series(pd.NA, index=frame.index)
    ids = ids.astype("string").where(ids.notna() & ids.astype("string").ne(""))
    record_id = ids.fillna(files.astype(str) + ":" + rows.astype(str))  # the reader's convention
    set_aside = pd.DataFrame(
        {
            "source": files[unplaced].to_numpy(),
            "row": rows[unplaced].to_numpy(),
            "record_id": record_id[unplaced].to_numpy(),
            "reason": reason[unplaced.to_numpy()],
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
