"""What a cluster site's collisions have in common: the per-site collision list and factor table.

:func:`site_collisions` lists each collision of a site with its conditions (the engineer's
collision list); :func:`site_factors` counts each condition level at each site and tests it
against the whole area: is the level over-represented at the site?

The test is the exact one-sided binomial test: with ``n`` site collisions whose factor is known
and the level's share ``p`` among all the area's collisions of the window (``area_share``), the
p-value is P(X >= count) for X ~ Binomial(n, p), the ``greater`` p-value of
:func:`scipy.stats.binomtest`. A level is flagged ``over_represented`` when that p-value is below
``alpha`` (0.05) and the count is at least ``min_count`` (3). One test per site and level, with no
correction for the many tests: a flag is a lead to investigate, not a finding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geo_sppa.schema import ROAD_USERS, require_columns

__all__ = ["FACTORS", "COLLISION_LIST_COLUMNS", "site_collisions", "site_factors"]

#: Factors tested, in table order (collision columns of :func:`geo_sppa.io.read_collisions`;
#: ``daylight_or_dark`` is derived from ``light``).
FACTORS = (
    "daylight_or_dark",
    "light",
    "weather",
    "surface",
    "speed_limit",
    "road_type",
    "junction_detail",
    "junction_control",
    "carriageway_hazards",
    "special_conditions",
    "urban_rural",
    "weekday",
    *ROAD_USERS,
)

#: Columns of :func:`site_collisions`; the optional ones (after ``casualties``) only where the
#: data have any value.
COLLISION_LIST_COLUMNS = (
    "site_id", "rank", "name", "collision_id", "date", "time", "weekday", "severity",
    "casualties", "ksi_casualties", "casualty_classes", "casualty_ages", "light", "weather",
    "surface", "speed_limit", "road_type", "junction_detail",
    "junction_control", "carriageway_hazards", "special_conditions", "urban_rural", *ROAD_USERS,
    "vehicle_types", "manoeuvres", "location", "easting", "northing",
)  # fmt: skip
_ALWAYS = 9  # site_id .. casualties


def _in_sites(sites: pd.DataFrame, collisions: pd.DataFrame) -> pd.DataFrame:
    """Return the collisions whose ``site_id`` is a site's, with its rank and name."""
    require_columns(
        sites, ["site_id", "rank", "name"], what="sites", hint="cluster_sites gives them"
    )
    require_columns(
        collisions,
        ["site_id", "collision_id", "date", "severity"],
        what="collisions",
        hint="geo_sppa.io.window_collisions gives them",
    )
    ranks = sites[["site_id", "rank", "name"]].astype({"site_id": "string"})
    return collisions.astype({"site_id": "string"}).merge(ranks, on="site_id", how="inner")


def site_collisions(sites: pd.DataFrame, collisions: pd.DataFrame) -> pd.DataFrame:
    """Return one row per collision in a site: the site, the collision and its conditions.

    Parameters
    ----------
    sites
        Ranked sites (``ClusterResult.sites``); not modified.
    collisions
        The window's collisions with the ``site_id`` each counts in (NA for none), as
        :func:`geo_sppa.io.window_collisions` returns; not modified.

    Returns
    -------
    DataFrame
        Columns :data:`COLLISION_LIST_COLUMNS` (optional ones only where the data have a value),
        ``date`` as ``YYYY-MM-DD`` text, ``easting``/``northing`` in metres (EPSG:27700), sorted
        by rank, date, time and collision id; exactly the collisions listed in the sites'
        ``collision_ids``.

    """
    rows = _in_sites(sites, collisions)
    points = np.asarray(rows["geometry"] if "geometry" in rows.columns else [None] * len(rows))
    rows = rows.assign(
        date=pd.to_datetime(rows["date"]).dt.strftime("%Y-%m-%d"),
        easting=shapely.get_x(points).round(1),
        northing=shapely.get_y(points).round(1),
    )
    wanted = [
        c
        for i, c in enumerate(COLLISION_LIST_COLUMNS)
        if c in rows.columns and (i < _ALWAYS or rows[c].notna().any())
    ]
    out = rows[wanted].sort_values(
        ["rank", "date", "time", "collision_id"], kind="mergesort", na_position="last"
    )
    return pd.DataFrame(out).reset_index(drop=True)


def _factor_levels(collisions: pd.DataFrame) -> pd.DataFrame:
    """Return the collisions' factor levels as text columns (NA where unknown)."""
    columns: dict[str, pd.Series] = {}
    for factor in FACTORS:
        if factor == "daylight_or_dark":
            if "light" not in collisions.columns:
                continue
            light = collisions["light"].astype("string").str.lower()
            level = pd.Series(pd.NA, index=collisions.index, dtype="string")
            level[light.str.startswith("dark").fillna(False)] = "dark"
            level[light.str.startswith("day").fillna(False)] = "daylight"
            columns[factor] = level
        elif factor in collisions.columns:
            values = collisions[factor]
            if factor in ROAD_USERS:
                values = values.astype("boolean").map({True: "yes", False: "no"})
            columns[factor] = values.astype("string")
    return pd.DataFrame(columns, index=collisions.index)


def site_factors(
    sites: pd.DataFrame,
    collisions: pd.DataFrame,
    *,
    alpha: float = 0.05,
    min_count: int = 3,
) -> pd.DataFrame:
    """Return, per site x factor x level, the count and share at the site against the area.

    Parameters
    ----------
    sites
        Ranked sites (``ClusterResult.sites``); not modified.
    collisions
        All the window's collisions in the study area with the ``site_id`` each counts in (NA
        for none), as :func:`geo_sppa.io.window_collisions` returns; the area shares are taken
        over all of them. Not modified.
    alpha
        Flag a level when its p-value is below this.
    min_count
        ... and the site has at least this many collisions at the level.

    Returns
    -------
    DataFrame
        ``site_id``, ``rank``, ``factor`` (:data:`FACTORS` present in the data), ``level``,
        ``count``, ``n`` (the site's collisions with the factor known), ``share`` (count / n),
        ``area_count``, ``area_n``, ``area_share``, ``p_value`` (exact one-sided binomial, see
        the module docstring) and ``over_represented``; one row per level seen at the site,
        sorted by rank, factor (in :data:`FACTORS` order) and count (descending).

    """
    from scipy.stats import binom

    levels = _factor_levels(collisions)
    long = (
        levels.assign(site_id=collisions["site_id"].astype("string"))
        .melt(id_vars="site_id", var_name="factor", value_name="level")
        .dropna(subset=["level"])
    )
    area = long.groupby(["factor", "level"]).size().rename("area_count").reset_index()
    area = area.merge(long.groupby("factor").size().rename("area_n").reset_index(), on="factor")
    ranks = sites[["site_id", "rank"]].astype({"site_id": "string"})
    at_sites = long.merge(ranks, on="site_id", how="inner")
    counts = at_sites.groupby(["site_id", "rank", "factor", "level"]).size().rename("count")
    table = counts.reset_index().merge(
        at_sites.groupby(["site_id", "factor"]).size().rename("n").reset_index(),
        on=["site_id", "factor"],
    )
    table = table.merge(area, on=["factor", "level"])
    table["share"] = table["count"] / table["n"]
    table["area_share"] = table["area_count"] / table["area_n"]
    # P(X >= count), X ~ Binomial(n, area_share): binomtest's "greater" p-value, vectorised.
    table["p_value"] = binom.sf(table["count"] - 1, table["n"], table["area_share"])
    table["over_represented"] = (table["p_value"] < alpha) & (table["count"] >= min_count)
    order = {f: i for i, f in enumerate(FACTORS)}
    table = table.assign(_f=table["factor"].map(order)).sort_values(
        ["rank", "_f", "count", "level"], ascending=[True, True, False, True], kind="mergesort"
    )
    columns = ["site_id", "rank", "factor", "level", "count", "n", "share", "area_count",
               "area_n", "area_share", "p_value", "over_represented"]  # fmt: skip
    return pd.DataFrame(table[columns]).reset_index(drop=True)
