"""Indicative collision rates per million vehicle-km at link sites with a DfT count point.

A link site gets a rate when a count point (:func:`geo_sppa.io.count_points.read_count_points`)
lies on **the same road** within :data:`MATCH_M` (500 m) of the site's centre:

- the site's road is the road number most of its collisions give (``road_number``, e.g.
  ``A15``; ties: the first in alphabetical order), the count point's its ``road_name``, both
  normalised (:func:`road_key`: upper case, no spaces; only numbered roads such as ``A15``,
  ``B1443``, ``M1`` or ``A1(M)`` match, since ``C``/``U`` and street names do not say which
  road a count point is on);
- of several matching count points the nearest is used;
- the AADT is the mean over the window's years of each year's count, taking for a year with no
  count the nearest year that has one (the later on a tie); ``aadt_year`` lists the years used
  and ``flow_note`` says when they are not the window's;
- ``rate_per_mvkm = collisions / (aadt x 365 x years x length_km) x 1e6``, with ``length_km``
  the site's length on the road: a network link window's own length (0.1 km for a 100 m
  window) or, in radius mode, the circle's diameter (0.1 km for 50 m circles).

Junction sites get no rate (vehicle-km measure flow along a link, not through a junction). The
rate is indicative: a count point's AADT describes its whole link, minor-road counts are often
estimates, and the collisions are few. Every site without a rate says why in ``flow_note``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

if TYPE_CHECKING:
    from geo_sppa.bundled.inputs import ClusterInputs
    from geo_sppa.io._common import Loaded
    from geo_sppa.roads.clusters import ClusterResult

__all__ = [
    "FLOW_COLUMNS",
    "MATCH_M",
    "flow_summary",
    "road_key",
    "site_flows",
    "site_roads",
    "with_site_flows",
]

#: A count point at most this far from a site's centre can give its flow, metres.
MATCH_M = 500.0
#: The columns :func:`site_flows` returns (added to ``clusters.csv``).
FLOW_COLUMNS = [
    "aadt",
    "aadt_year",
    "count_point_id",
    "count_point_m",
    "rate_per_mvkm",
    "flow_note",
]
_NUMBERED = re.compile(r"^[ABM]\d+[A-Z]?(\(M\))?$")


def road_key(values: pd.Series) -> pd.Series:
    """Return each road number normalised (``"a 15"`` -> ``"A15"``), NA when not a numbered road.

    Parameters
    ----------
    values
        Road numbers or names as text.

    Returns
    -------
    Series
        ``string`` dtype, indexed like ``values``.

    """
    text = values.astype("string").str.upper().str.replace(r"\s+", "", regex=True)
    return text.where(text.str.match(_NUMBERED.pattern).fillna(False).astype(bool)).astype("string")


def site_roads(site_ids: pd.Series, collisions: pd.DataFrame) -> pd.Series:
    """Return, per site, the numbered road most of its collisions give (NA if none gives one).

    Parameters
    ----------
    site_ids
        The sites' ``site_id`` values.
    collisions
        Collisions with ``site_id`` (NA outside sites) and ``road_number``.

    Returns
    -------
    Series
        Normalised road numbers (:func:`road_key`), indexed like ``site_ids``.

    """
    if "road_number" not in collisions.columns:
        return pd.Series(pd.NA, index=site_ids.index, dtype="string")
    keys = pd.DataFrame(
        {
            "site_id": collisions["site_id"].astype("string"),
            "road": road_key(collisions["road_number"]),
        }
    ).dropna()
    counts = keys.groupby(["site_id", "road"]).size().reset_index(name="n")
    counts = counts.sort_values(["site_id", "n", "road"], ascending=[True, False, True])
    first = counts.drop_duplicates("site_id").set_index("site_id")["road"]
    return pd.Series(
        site_ids.astype("string").map(first).to_numpy(), index=site_ids.index, dtype="string"
    )


def _aadt_over(
    years: np.ndarray, flows: np.ndarray, window: tuple[int, int]
) -> tuple[float, list[int]]:
    """Return the mean AADT over the window's years (nearest counted year each) and those years."""
    used = []
    for year in range(window[0], window[1] + 1):
        gap = np.abs(years - year)
        best = np.flatnonzero(gap == gap.min())
        used.append(int(best[np.argmax(years[best])]))  # the later year on a tie
    return float(np.mean(flows[used])), [int(years[i]) for i in used]


def _match(
    site: pd.Series, road: object, points: pd.DataFrame, tree: cKDTree | None, match_m: float
) -> tuple[int | None, float, str]:
    """Return the nearest same-road count point (position in ``points``), its distance, a note."""
    if site["site_type"] == "junction":
        return None, np.nan, "junction site: rates per vehicle-km are for links"
    if not isinstance(road, str):
        return None, np.nan, "no road number among the site's collisions to match a count point"
    near = [] if tree is None else tree.query_ball_point([site["x"], site["y"]], match_m)
    roads = points["_road"].fillna("").to_numpy(dtype=object)
    same = np.asarray([i for i in near if roads[i] == road], dtype=np.int64)
    if not len(same):
        return None, np.nan, f"no count point on {road} within {match_m:g} m"
    dx = points["_x"].to_numpy()[same] - site["x"]
    dist = np.hypot(dx, points["_y"].to_numpy()[same] - site["y"])
    k = int(np.lexsort((points["count_point_id"].to_numpy()[same].astype(str), dist))[0])
    return int(same[k]), float(dist[k]), ""


def _site_flow(
    site: pd.Series,
    road: object,
    points: pd.DataFrame,
    places: pd.DataFrame,
    tree: cKDTree | None,
    *,
    window: tuple[int, int],
    radius_m: float | None,
    match_m: float,
) -> dict[str, object]:
    """Return one site's :data:`FLOW_COLUMNS` values (only ``flow_note`` when no rate)."""
    at, dist, note = _match(site, road, places, tree, match_m)
    length_km = _length_km(site.geometry, radius_m)
    if at is None or length_km is None:
        return {"flow_note": note or "no length on the road for this site"}
    cp = places.iloc[at]
    counts = points[points["count_point_id"] == cp["count_point_id"]]
    aadt, used = _aadt_over(counts["year"].to_numpy(), counts["aadt"].to_numpy(float), window)
    n_years = window[1] - window[0] + 1
    vkm = aadt * 365 * n_years * length_km
    years = sorted(set(used))
    span = f"{window[0]}-{window[1]}"
    which = (
        "of each year of the window"
        if years == list(range(window[0], window[1] + 1))
        else f"{'; '.join(map(str, years))} (the nearest year with a count to {span})"
    )
    return {
        "aadt": round(aadt, 1),
        "aadt_year": "; ".join(map(str, years)),
        "count_point_id": str(cp["count_point_id"]),
        "count_point_m": round(dist, 1),
        "rate_per_mvkm": round(float(site["total"]) / vkm * 1e6, 3) if vkm > 0 else np.nan,
        "flow_note": f"indicative: count point {cp['count_point_id']} on {road}, {dist:.0f} m "
        f"away; {length_km * 1000:g} m of road; AADT {which}"
        + ("" if vkm > 0 else "; AADT 0: no rate"),
    }


def site_flows(
    sites: gpd.GeoDataFrame,
    count_points: gpd.GeoDataFrame,
    *,
    roads: pd.Series,
    window: tuple[int, int],
    radius_m: float | None = None,
    match_m: float = MATCH_M,
) -> pd.DataFrame:
    """Return each site's flow match and indicative collision rate (:data:`FLOW_COLUMNS`).

    Parameters
    ----------
    sites
        Cluster sites (``site_id``, ``site_type``, ``total``, ``x``, ``y``, geometry),
        EPSG:27700; not modified.
    count_points
        Count points, one row per point and year (``count_point_id``, ``road_name``, ``year``,
        ``aadt``, Point geometry in EPSG:27700); not modified.
    roads
        Per site (indexed like ``sites``), its road number (:func:`site_roads`).
    window
        First and last year of the collisions counted in ``total``.
    radius_m
        Radius mode: the circle radius (a Point site's length on the road is its diameter);
        None: Point sites get no length and no rate.
    match_m
        Farthest count point from the site centre, metres.

    Returns
    -------
    DataFrame
        Indexed like ``sites``: ``aadt`` (vehicles per day), ``aadt_year`` (years used, text),
        ``count_point_id``, ``count_point_m`` (metres from the site centre), ``rate_per_mvkm``
        (collisions per million vehicle-km) and ``flow_note``; NA where no count point matched,
        and the note says why.

    """
    points = pd.DataFrame(count_points.drop(columns=count_points.geometry.name)).assign(
        _road=road_key(count_points["road_name"]),
        _x=count_points.geometry.x.to_numpy(),
        _y=count_points.geometry.y.to_numpy(),
    )
    places = points.drop_duplicates("count_point_id").reset_index(drop=True)
    tree = cKDTree(places[["_x", "_y"]].to_numpy()) if len(places) else None
    rows = [
        _site_flow(site, road, points, places, tree, window=window, radius_m=radius_m,
                   match_m=match_m)
        for (_, site), road in zip(sites.iterrows(), roads.tolist(), strict=True)
    ]  # fmt: skip
    out = pd.DataFrame(rows, index=sites.index).reindex(columns=FLOW_COLUMNS)
    return out.astype(
        {"aadt": float, "aadt_year": "string", "count_point_id": "string",
         "count_point_m": float, "rate_per_mvkm": float, "flow_note": "string"}
    )  # fmt: skip


def _length_km(geometry: object, radius_m: float | None) -> float | None:
    """Return a site's length on the road in km: a line's length, a circle's diameter, or None."""
    kind = getattr(geometry, "geom_type", "")
    if kind in ("LineString", "MultiLineString") and geometry.length > 0:  # type: ignore[attr-defined]
        return float(geometry.length) / 1000  # type: ignore[attr-defined]
    if kind == "Point" and radius_m:
        return 2 * float(radius_m) / 1000
    return None


def with_site_flows(
    result: ClusterResult, collisions: pd.DataFrame, count_points: Loaded | None
) -> ClusterResult:
    """Return ``result`` with :data:`FLOW_COLUMNS` added to its sites (before ``geometry``).

    Parameters
    ----------
    result
        A cluster run (:func:`geo_sppa.roads.clusters.cluster_sites`); not modified.
    collisions
        The collisions the run was given (indexed like ``result.site_of``), with
        ``road_number``.
    count_points
        Count points (:func:`geo_sppa.io.count_points.read_count_points`), or None.

    Returns
    -------
    ClusterResult
        A copy whose ``sites`` carry the flow columns; ``result`` itself without count points.

    """
    if count_points is None:
        return result
    sites = result.sites
    flows = site_flows(
        sites,
        count_points.data,
        roads=site_roads(sites["site_id"], collisions.assign(site_id=result.site_of)),
        window=result.window,
        radius_m=result.rule.radius_m if result.mode == "radius" else None,
    )
    columns = [c for c in sites.columns if c != "geometry"] + FLOW_COLUMNS + ["geometry"]
    joined = pd.concat([sites.drop(columns=FLOW_COLUMNS, errors="ignore"), flows], axis=1)
    return replace(
        result, sites=gpd.GeoDataFrame(joined[columns], geometry="geometry", crs=sites.crs)
    )


def flow_summary(inputs: ClusterInputs, sites: pd.DataFrame) -> str:
    """Return the summary line: how many link sites got a rate, from which file ("" if none)."""
    if inputs.count_points is None or inputs.count_points_path is None:
        return ""
    links = int((sites["site_type"] == "link").sum())
    rated = int(sites["rate_per_mvkm"].notna().sum()) if "rate_per_mvkm" in sites else 0
    points = inputs.count_points
    return (
        f"{rated:,} of {links:,} link sites have an indicative collision rate per million "
        f"vehicle-km (a count point on the same road within {MATCH_M:g} m; "
        f"{inputs.count_points_path.name}: {points.data['count_point_id'].nunique():,} count "
        f"points, {len(points.set_aside):,} rows set aside)"
    )
