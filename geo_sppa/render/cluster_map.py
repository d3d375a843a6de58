"""The cluster-site map for engineers: sites over their collisions, roads and ward outlines.

Sites are drawn by rank band, worst severity and cost, with their rank number on top.

The map has a size budget (national scale stays well under 20 MB and opens in seconds): sites and
the collisions at sites are always drawn; the other collisions are points up to ``POINT_LIMIT`` and
above it a heat layer of collision counts in grid cells; roads are simplified and, above
``_ROAD_LIMIT`` links, limited to those near sites. Popups, tooltips, the collision filters, the
search box and road-name labels are built in the browser from one embedded data table
(``assets/cluster_map.js``). :func:`cluster_map_contents` says what was drawn.

Each drawn path carries a class naming its layer (``gs-site``, ``gs-collision``, ``gs-road``,
``gs-ward-outline``) so a browser test can count what was drawn; layers of more than
``_SVG_LIMIT`` features are drawn on a canvas instead, and ``window.geoSppaDrawn`` holds the
number of collision points, roads and rank numbers drawn.
"""

from __future__ import annotations

import json
import math
import weakref
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.utilities import JsCode

from geo_sppa.crs import BNG
from geo_sppa.errors import InputError
from geo_sppa.render.web_map import (
    DEFAULT_TILES,
    DataLayer,
    Legend,
    Snippet,
    TaggedHeatMap,
    base_map,
    bounds_of,
    display_geometry,
    embedded_script,
    escape_text,
    feature_collection,
    finished_map,
    geojson_layer,
    legend_rows,
    lon_lat,
    near_any,
    require_map_frame,
    ward_outlines,
)

__all__ = [
    "ATTRIBUTION",
    "POINT_LIMIT",
    "RANK_BANDS",
    "SEVERITY_COLOURS",
    "ClusterMapContents",
    "cluster_map",
    "cluster_map_contents",
]

#: Most collisions at no site drawn as points; above it they are drawn as a heat layer.
POINT_LIMIT = 20_000
#: Data licences, shown on the map itself (visible offline).
ATTRIBUTION = (
    "\u00a9 OpenStreetMap contributors, ODbL; Contains OS data \u00a9 Crown copyright and "
    "database right; OGL v3"
)
_ROAD_LIMIT = 20_000  # above this many road lines, only roads near sites are drawn
_ROAD_NEAR_SITE_M = 150.0
_SVG_LIMIT = 5_000  # larger point and road layers are drawn on a canvas
_LABEL_ZOOM = 16  # road names from this zoom (street scale)
_MAX_RANK_LABELS = 300  # rank numbers of the best-ranked sites in view
_HEAT_CELL_M = 400.0  # grid cell of the aggregated heat layer
_SEVERITY_CODE = {"fatal": 0, "serious": 1, "slight": 2}

#: (highest rank in the band, label, colour) for cluster sites, most urgent first.
RANK_BANDS: tuple[tuple[float, str, str], ...] = (
    (10, "Top 10", "#800026"),
    (25, "11\u201325", "#e31a1c"),
    (50, "26\u201350", "#fd8d3c"),
    (math.inf, "Below 50", "#fed976"),
)
#: Colour of a collision point by severity.
SEVERITY_COLOURS = {"fatal": "#111111", "serious": "#7b3294", "slight": "#2c7bb6"}
# Outline of a site by its worst severity: (colour, width in px).
_SITE_OUTLINE = {"fatal": ("#000000", 3.0), "serious": ("#4d4d4d", 2.0), "slight": ("#ffffff", 1.5)}
_RESOLVED = ("Resolved / not ranked", "#bdbdbd")
_HEAT_WEIGHT = {"fatal": 1.0, "serious": 0.7, "slight": 0.4}
_STATUS_TEXT = {
    "new": "New site this period",
    "persistent": "Persistent: also a site last period",
    "resolved": "Resolved: a site last period, not now",
}
_SITE_COLUMNS = (
    "site_id", "site_type", "name", "fatal", "serious", "slight", "total", "criterion",
    "cost_gbp", "status", "rank", "collision_ids", "geometry",
)  # fmt: skip
_RECORD_COLUMNS = {*_SITE_COLUMNS, "previous_total", "casualties"} - {"geometry"}  # popups read
_COLLISION_COLUMNS = ("collision_id", "date", "severity", "geometry")


@dataclass(frozen=True)
class ClusterMapContents:
    """What a cluster map drew (from :func:`cluster_map_contents`).

    Attributes
    ----------
    sites
        Sites drawn (always all of them).
    site_collisions
        Collisions at sites, always drawn as points.
    other_collisions
        Collisions at no site.
    other_collisions_as
        ``"points"`` (up to ``point_limit``) or ``"heat"`` (aggregated in ``heat_cell_m`` cells).
    point_limit, heat_cell_m
        The limit and cell size used.
    roads, roads_given
        Road lines drawn, and road features passed in (fewer are drawn at large scale: only those
        near sites).
    """

    sites: int
    site_collisions: int
    other_collisions: int
    other_collisions_as: str
    point_limit: int
    heat_cell_m: float
    roads: int
    roads_given: int

    @property
    def note(self) -> str:
        """Return one sentence saying how the collisions were drawn (shown in the legend)."""
        if self.other_collisions_as == "points":
            return (
                f"All {self.site_collisions + self.other_collisions:,} collisions drawn as points."
            )
        return (
            f"{self.site_collisions:,} collisions at sites drawn as points; the other "
            f"{self.other_collisions:,} (more than {self.point_limit:,}) as a heat layer of "
            f"{self.heat_cell_m:g} m cells."
        )


_CONTENTS: weakref.WeakKeyDictionary[folium.Map, ClusterMapContents] = weakref.WeakKeyDictionary()


def cluster_map_contents(m: folium.Map) -> ClusterMapContents:
    """Return what the cluster map ``m`` (from :func:`cluster_map`) drew.

    Raises
    ------
    InputError
        ``m`` was not made by :func:`cluster_map`.

    """
    if m not in _CONTENTS:
        raise InputError(
            "cluster_map_contents: expected a map made by cluster_map; got another map"
        )
    return _CONTENTS[m]


def _rank_band(rank: float, status: str) -> tuple[str, str]:
    if status == "resolved" or pd.isna(rank):
        return _RESOLVED
    for top, label, colour in RANK_BANDS:
        if pd.notna(rank) and rank <= top:
            return label, colour
    return RANK_BANDS[-1][1], RANK_BANDS[-1][2]


def _worst(fatal: Any, serious: Any) -> str:
    for severity, n in (("fatal", fatal), ("serious", serious)):
        if pd.notna(n) and n > 0:
            return severity
    return "slight"


def _ids_per_site(sites: pd.DataFrame) -> pd.DataFrame:
    """Return one row per (site position ``i``, ``collision_id``) from ``collision_ids``."""
    ids = sites["collision_ids"].map(
        lambda v: v.split(";") if isinstance(v, str) else list(v) if v is not None else []
    )
    exploded = ids.explode().dropna()
    return pd.DataFrame(
        {"i": exploded.index.to_numpy(), "collision_id": exploded.astype(str).str.strip()}
    )


def _by_year_text(pairs: pd.DataFrame, n_sites: int) -> list[str]:
    """Return per site ``'2015: 1, 2016: 2'`` from (``i``, ``year``) pairs ('\u2013' for none)."""
    counts = pairs.dropna().astype(int).groupby(["i", "year"]).size().reset_index(name="n")
    parts: list[list[str]] = [[] for _ in range(n_sites)]
    for i, year, n in zip(*(counts[c].tolist() for c in ("i", "year", "n")), strict=True):
        parts[i].append(f"{year}: {n}")
    return [", ".join(p) or "\u2013" for p in parts]


def _site_records(sites: pd.DataFrame, hits: pd.DataFrame, radius_m: float | None) -> list[dict]:
    """Return the popup table: one record of HTML-escaped texts per site (built into HTML in JS)."""
    by_year = _by_year_text(hits[["i", "year"]], len(sites))
    # hits run site by site (by date within a site): each site's rows are one slice
    bounds = np.searchsorted(hits["i"].to_numpy(), np.arange(len(sites) + 1))
    hit_rows = hits["row"].tolist()
    types = sites.geometry.geom_type.tolist()
    records = []
    used = [c for c in sites.columns if c in _RECORD_COLUMNS]  # to_dict of these only: quicker
    for i, site in enumerate(pd.DataFrame(sites[used]).to_dict("records")):
        if types[i] == "Point":
            kind = "Junction" if site["site_type"] == "junction" else "Road site"
            kind += f", {radius_m:g} m radius" if radius_m else ""
        else:
            kind = "Road link"
        status = _STATUS_TEXT.get(str(site["status"]), escape_text(site["status"]))
        previous = site.get("previous_total")
        trend = status + (f" (previous period: {int(previous)})" if pd.notna(previous) else "")
        casualties = site.get("casualties")
        ranked = pd.notna(site["rank"])
        records.append({
            "id": escape_text(site["site_id"]), "name": escape_text(site["name"]), "kind": kind,
            "rank": f"#{int(site['rank'])} " if ranked else "",
            "rank_no": int(site["rank"]) if ranked else 0,
            "counts": f"{int(site['fatal'])} fatal, {int(site['serious'])} serious, "
                      f"{int(site['slight'])} slight ({int(site['total'])} in all)",
            "by_year": by_year[i],
            "casualties": escape_text(casualties) if casualties is not None else "",
            "cost": f"\u00a3{float(site['cost_gbp']):,.0f}" if pd.notna(site["cost_gbp"]) else "",
            "criterion": escape_text(site["criterion"]), "trend": escape_text(trend),
            "hits": [int(r) for r in hit_rows[bounds[i] : bounds[i + 1]]],
        })  # fmt: skip
    return records


def _site_layers(m, sites: gpd.GeoDataFrame, radius_m) -> dict:
    """Add the site layers (SVG, one class per site) to ``m``; return their FeatureCollection."""
    geoms = display_geometry(sites, simplify_m=0, decimals=6)
    cost = pd.to_numeric(sites["cost_gbp"], errors="coerce").fillna(0.0)
    scale = np.sqrt(cost / cost.max()) if len(cost) and cost.max() > 0 else np.zeros(len(cost))
    props = []
    columns = zip(*(sites[c].tolist() for c in ("rank", "status", "fatal", "serious",
                                                "site_type", "name")), strict=True)  # fmt: skip
    for i, (rank, status, fatal, serious, site_type, name) in enumerate(columns):
        band, colour = _rank_band(rank, str(status))
        outline, width = _SITE_OUTLINE[_worst(fatal, serious)]
        props.append({
            "i": i, "type": "junction" if site_type == "junction" else "link",
            "band": band, "fill": colour, "stroke": outline, "outline": width,
            "r": round(6 + 10 * float(scale[i]), 1), "w": round(4 + 6 * float(scale[i]), 1),
            "tip": escape_text(name),
        })  # fmt: skip
    data = feature_collection(geoms, props)
    data["features"].reverse()  # drawn last = on top: the highest-ranked site
    group = folium.FeatureGroup(name="Cluster sites", overlay=True, control=True)
    lines = {**data, "features": [f for f in data["features"] if f["geometry"]["type"] != "Point"]}
    points = [f for f in data["features"] if f["geometry"]["type"] == "Point"]
    geojson_layer(
        lines, "site_casings", pane="gs-sites", interactive=False, class_name="gs-site-casing",
        style=JsCode("function (f) { var p = f.properties; return {color: p.stroke === '#ffffff' "
                     "? '#555555' : p.stroke, weight: p.w + 2 * p.outline, lineCap: 'round'}; }"),
    ).add_to(group)  # fmt: skip
    if radius_m:
        geojson_layer(
            {**data, "features": points},
            "site_radii",
            pane="gs-radius",
            interactive=False,
            point_to_layer=JsCode(
                f"function (f, ll) {{ return L.circle(ll, {{radius: {float(radius_m)}, "
                "pane: 'gs-radius', className: 'gs-site-radius', interactive: false, "
                "color: f.properties.fill, weight: 1.5, dashArray: '5 4', fillOpacity: 0.08}); }"
            ),
        ).add_to(group)
    geojson_layer(
        data, "sites", pane="gs-sites",
        style=JsCode("function (f) { var p = f.properties; return f.geometry.type === 'Point' ? "
                     "{color: p.stroke, weight: p.outline, fillColor: p.fill, fillOpacity: 0.8} : "
                     "{color: p.fill, weight: p.w, opacity: 0.95, lineCap: 'round'}; }"),
        point_to_layer=JsCode(
            "function (f, ll) { var p = f.properties; return L.circleMarker(ll, {pane: "
            "'gs-sites', radius: p.r, fillColor: p.fill, fillOpacity: 0.8, color: p.stroke, "
            "weight: p.outline}); }"),
        on_each_feature=JsCode(
            "function (f, l) { var p = f.properties; l.options.className = 'gs-site gs-site-' + "
            "p.type + ' gs-site-i' + p.i; l.bindPopup(function () { return GS.sitePopup(p.i); }, "
            "{maxWidth: 380, minWidth: 240}); l.bindTooltip(p.tip, {direction: 'top'}); "
            "GS.siteLayer(p.i, l); }"),
    ).add_to(group)  # fmt: skip
    group.add_to(m)
    return data


def _codes(values: pd.Series) -> tuple[list[int], list[str]]:
    """Return (code per row, HTML-escaped distinct texts): a small lookup table for the page."""
    codes, uniques = pd.factorize(values.astype("string").fillna(""), sort=False)
    return codes.tolist(), [escape_text(u) for u in uniques]


def _collision_table(points: gpd.GeoDataFrame) -> dict:
    """Return the drawn collisions as columns: lat, lon, severity code, yyyymmdd, time, place."""
    geoms = display_geometry(points, simplify_m=0, decimals=6)
    date = points["date"]
    ymd = (date.dt.year * 10000 + date.dt.month * 100 + date.dt.day).fillna(0).astype(int)
    sev = points["severity"].astype(str).map(_SEVERITY_CODE).fillna(3).astype(int)
    blank = pd.Series("", index=points.index)
    t, times = _codes(points["time"] if "time" in points else blank)
    p, places = _codes(points["location"] if "location" in points else blank)
    return {
        "lat": np.round(shapely.get_y(geoms), 6).tolist(),
        "lon": np.round(shapely.get_x(geoms), 6).tolist(),
        "s": sev.tolist(), "d": ymd.tolist(), "t": t, "times": times, "p": p, "places": places,
    }  # fmt: skip


def _heat_points(collisions: gpd.GeoDataFrame, *, cell_m: float | None) -> np.ndarray:
    """Return heat-map rows ``[lat, lon, weight]``: each collision, or per ``cell_m`` grid cell.

    Weights: fatal 1, serious 0.7, slight 0.4; a cell's weight is its collisions' sum.
    """
    if not len(collisions):
        return np.empty((0, 3))
    weight = collisions["severity"].astype(str).map(_HEAT_WEIGHT).fillna(0.4)
    xy = shapely.get_coordinates(collisions.geometry.to_crs(BNG).values)
    if cell_m:
        cells = pd.DataFrame(np.floor(xy / cell_m), columns=["x", "y"]).assign(w=weight.to_numpy())
        summed = cells.groupby(["x", "y"], sort=False)["w"].sum().reset_index()
        xy = (summed[["x", "y"]].to_numpy() + 0.5) * cell_m
        weight = summed["w"]
    lon, lat = lon_lat(xy)
    return np.column_stack([lat.round(5), lon.round(5), np.round(weight, 2)]).astype(float)


def _collision_layers(
    m, collisions: gpd.GeoDataFrame, at_site: np.ndarray, point_limit: int
) -> tuple[dict, str]:
    """Add the collision points and the heat layer to ``m``.

    Returns the drawn collisions' table and how the collisions at no site are drawn
    (``"points"``, or ``"heat"`` when there are more than ``point_limit``).
    """
    others = ~at_site
    aggregated = int(others.sum()) > point_limit
    drawn = collisions[at_site] if aggregated else collisions
    table = _collision_table(drawn)
    DataLayer(
        "collisions", "collisions", len(drawn), name="Collisions by severity",
        options={"svg_limit": _SVG_LIMIT},
    ).add_to(m)  # fmt: skip
    heat = _heat_points(collisions[others], cell_m=_HEAT_CELL_M) if aggregated else (
        _heat_points(collisions, cell_m=None)
    )  # fmt: skip
    if len(heat):
        name = (
            f"Other collisions: density of {int(others.sum()):,} ({_HEAT_CELL_M:g} m cells)"
            if aggregated
            else "Collision density (heat)"
        )
        TaggedHeatMap(
            heat, "heat", name=name, show=aggregated, radius=18, blur=14, min_opacity=0.3
        ).add_to(m)
    return table, "heat" if aggregated else "points"


def _road_table(roads: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> tuple[dict, int]:
    """Return the drawn roads (``names``; ``lines`` of [name index, lat, lon, ...]) and their count.

    Above ``_ROAD_LIMIT`` links only those within ``_ROAD_NEAR_SITE_M`` of a site are kept, and
    simplified more coarsely.
    """
    given = roads.geometry.values
    drawn = ~(shapely.is_missing(given) | shapely.is_empty(given))
    large = int(drawn.sum()) > _ROAD_LIMIT
    if large and len(sites):
        drawn &= near_any(roads, sites, distance_m=_ROAD_NEAR_SITE_M)
    name_column = next((c for c in ("name", "road_name", "ref") if c in roads.columns), None)
    used = [c for c in (name_column, roads.geometry.name) if c is not None]
    roads = roads[used].iloc[np.flatnonzero(drawn)]  # the used columns only: quicker to take
    blank = pd.Series("", index=roads.index)
    codes, names = _codes(roads[name_column] if name_column else blank)
    geoms = display_geometry(roads, simplify_m=5 if large else 2, decimals=5)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    lines_only = (shapely.get_type_id(parts) == 1) & ~shapely.is_empty(parts)
    parts, owner = parts[lines_only], owner[lines_only]
    xy, part_of = shapely.get_coordinates(parts, return_index=True)
    latlon = xy[:, ::-1].ravel().tolist()
    ends = (2 * np.searchsorted(part_of, np.arange(len(parts) + 1))).tolist()
    code_of = np.asarray(codes)[owner].tolist()
    lines = [[c, *latlon[a:b]] for c, a, b in zip(code_of, ends[:-1], ends[1:], strict=True)]
    return {"names": names, "lines": lines}, len(lines)


def _cluster_legend(radius_m: float | None, note: str, *, unranked: bool = False) -> str:
    """Return the cluster legend HTML; the grey resolved entry only when such a site is drawn."""
    bands = [(label, colour) for _, label, colour in RANK_BANDS] + ([_RESOLVED] if unranked else [])
    outlines = [
        ("Fatal collision at site", "#000000"),
        ("Serious (worst)", "#4d4d4d"),
        ("Slight only", "#ffffff"),
    ]
    parts = [
        "<h4>Cluster sites</h4><h5>Rank band (fill; number = rank)</h5>",
        legend_rows(bands, shape="dot"),
        "<h5>Worst severity (outline)</h5>",
        "".join(
            f'<div class="gs-row"><span class="gs-key gs-dot" style="background:#fd8d3c;'
            f'border:{3 if colour == "#000000" else 2}px solid {colour}"></span>{label}</div>'
            for label, colour in outlines
        ),
        "<h5>Size</h5><div>Larger circle or thicker line = higher cost</div>",
        "<h5>Collisions</h5>",
        legend_rows([(s.title(), c) for s, c in SEVERITY_COLOURS.items()], shape="dot"),
        f'<div class="gs-note">{escape_text(note)}</div>',
    ]
    if radius_m:
        parts.append(f"<div>Dashed circle: {radius_m:g} m site radius</div>")
    return "".join(parts)


def cluster_map(
    sites: gpd.GeoDataFrame,
    collisions: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | None = None,
    wards: gpd.GeoDataFrame | None = None,
    title: str = "Road-safety cluster sites",
    subtitle: str = "",
    radius_m: float | None = None,
    tiles: str | None = DEFAULT_TILES,
    dossier_sites: int | None = None,
) -> folium.Map:
    """Return a map of cluster sites over their collisions, roads and ward boundaries.

    Parameters
    ----------
    sites
        The cluster-sites frame (issue 3 contract, EPSG:27700): junction and radius sites are
        Points, link sites 100 m LineStrings.
    collisions
        Normalised collisions (``collision_id``, ``date``, ``severity``, geometry; ``time`` and
        ``location`` used when present), EPSG:27700.
    roads, wards
        Optional context layers (any geometry), EPSG:27700. Road names (``name``, ``road_name``
        or ``ref``) are searchable and labelled at street zoom.
    title, subtitle
        Shown at the top of the map and as the page title (escaped).
    radius_m
        Radius-mode sites: draw a dashed circle of this many metres round each Point site.
    tiles
        Background tiles used when the browser can reach them (``None`` for none: the map then
        makes no network request at all).
    dossier_sites
        Ranks 1 to this (0: all) have a ``clusters_sites.html`` page, linked from their popups.

    Returns
    -------
    folium.Map
        Sites by rank band (fill), worst severity (outline), cost (size) and rank number, with
        popups; collisions by severity, with severity and year filters (those at no site as a heat
        layer above ``POINT_LIMIT``); site and road search; legend saying how collisions are
        drawn (:func:`cluster_map_contents`), attribution, layer control, scale, fullscreen.
        :func:`self_contained_html` makes it a file that works offline.

    Raises
    ------
    InputError
        A frame lacks a required column or a CRS.

    """
    require_map_frame(sites, _SITE_COLUMNS, "sites")
    require_map_frame(collisions, _COLLISION_COLUMNS, "collisions")
    collisions = _drawable_collisions(collisions)
    sites = sites.sort_values("rank", na_position="last").reset_index(drop=True)
    m = _empty_map(title, subtitle, tiles)
    outlines = ward_outlines(m, wards)
    pairs = _ids_per_site(sites)
    at_site = _at_sites(collisions, pairs)
    order = np.r_[np.flatnonzero(at_site), np.flatnonzero(~at_site)]  # site collisions first
    collisions = collisions.take(order).reset_index(drop=True)
    at_site = at_site[order]
    table, others_as = _collision_layers(m, collisions, at_site, POINT_LIMIT)
    hits = _site_hits(pairs, collisions)
    data: dict = {"collisions": table, "sites": _site_records(sites, hits, radius_m)}
    n_roads = _road_layer(m, roads, sites, data)
    embedded_script(m, "cluster_map.js", data)
    site_data = _site_layers(m, sites, radius_m)
    _controls(m, int(sites["rank"].notna().sum()), dossier_sites)
    contents = ClusterMapContents(
        sites=len(sites), site_collisions=int(at_site.sum()),
        other_collisions=int((~at_site).sum()), other_collisions_as=others_as,
        point_limit=POINT_LIMIT, heat_cell_m=_HEAT_CELL_M, roads=n_roads,
        roads_given=0 if roads is None else len(roads),
    )  # fmt: skip
    unranked = sites["rank"].isna() | (sites["status"].astype(str) == "resolved")
    legend = _cluster_legend(radius_m, contents.note, unranked=bool(unranked.any()))
    Legend("cluster", legend).add_to(m)
    _CONTENTS[m] = contents
    bounds = _union(bounds_of(site_data), _point_bounds(table))
    return finished_map(m, bounds or (bounds_of(outlines) if outlines else None))


def _at_sites(collisions: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    """Return which collisions are at a site (a set lookup: far quicker than isin on text)."""
    ids = set(pairs["collision_id"].tolist())
    return np.array([c in ids for c in collisions["collision_id"].tolist()], dtype=bool)


def _drawable_collisions(collisions: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the collisions with a location, ids as text and dates parsed (NaT if not).

    Only the columns the map uses are kept, so the copies made while drawing stay small.
    """
    used = [c for c in (*_COLLISION_COLUMNS, "time", "location") if c in collisions.columns]
    collisions = collisions[[*dict.fromkeys([*used, collisions.geometry.name])]]
    drawable = (collisions.geometry.notna() & ~collisions.geometry.is_empty).to_numpy()
    return (
        collisions[drawable]
        .assign(
            collision_id=lambda c: c["collision_id"].astype(str),
            date=lambda c: pd.to_datetime(c["date"], errors="coerce"),
        )
        .reset_index(drop=True)
    )


def _road_layer(m, roads: gpd.GeoDataFrame | None, sites, data: dict) -> int:
    """Add the road layer to ``m`` and its table to ``data``; return the road lines drawn."""
    if roads is None or not len(roads):
        return 0
    require_map_frame(roads, ("geometry",), "roads")
    data["roads"], n_roads = _road_table(roads, sites)
    options = {"svg_limit": _SVG_LIMIT, "label_zoom": _LABEL_ZOOM}
    DataLayer("roads", "roads", n_roads, name="Road network", options=options).add_to(m)
    return n_roads


def _controls(m: folium.Map, n_ranked: int, dossier_sites: int | None = None) -> None:
    """Add the rank numbers, the collision filters, the search box and the attribution to ``m``.

    Also the ``#<site_id>`` handling (``GS.follow``: that site's popup opens) and, with a
    dossier of the top ``dossier_sites`` ranks (0: all), the popups' links to its pages.
    """
    options = {"max_labels": _MAX_RANK_LABELS}
    dossier = (
        "null"
        if dossier_sites is None
        else json.dumps({"href": "clusters_sites.html", "max_rank": int(dossier_sites)})
    )
    DataLayer("ranks", "site_ranks", n_ranked, name="Rank numbers", options=options).add_to(m)
    Snippet(
        f"GS.filterControl({{map}}); GS.search({{map}}); GS.follow({{map}}, {dossier}); "
        "GS.attribution({map}, "
        f"{json.dumps(escape_text(ATTRIBUTION))});".replace("{map}", m.get_name())
    ).add_to(m)


def _empty_map(title: str, subtitle: str, tiles: str | None) -> folium.Map:
    """Return the base map with the cluster map's panes, bottom (wards) to top (rank numbers)."""
    m = base_map(title, subtitle, tiles)
    for name, z, events in (
        ("gs-wards", 380, False), ("gs-roads", 390, False), ("gs-collisions", 420, True),
        ("gs-radius", 430, False), ("gs-sites", 440, True), ("gs-ranks", 450, False),
    ):  # fmt: skip
        folium.map.CustomPane(name, z_index=z, pointer_events=events).add_to(m)
    return m


def _site_hits(pairs: pd.DataFrame, collisions: pd.DataFrame) -> pd.DataFrame:
    """Return (site ``i``, collision ``row`` in ``collisions``, ``date``, ``year``) by date."""
    row = pd.Series(np.arange(len(collisions)), index=collisions["collision_id"])
    row = row[~row.index.duplicated()]
    hits = pairs.assign(row=pairs["collision_id"].map(row)).dropna(subset=["row"])
    hits = hits.assign(row=hits["row"].astype(int))
    hits = hits.assign(date=collisions["date"].to_numpy()[hits["row"].to_numpy()])
    return hits.sort_values(["i", "date"], kind="stable").assign(year=lambda h: h["date"].dt.year)


def _point_bounds(table: dict) -> list[list[float]] | None:
    """Return ``[[south, west], [north, east]]`` of the drawn collisions, or None."""
    if not table["lat"]:
        return None
    lat, lon = np.asarray(table["lat"]), np.asarray(table["lon"])
    return [[float(lat.min()), float(lon.min())], [float(lat.max()), float(lon.max())]]


def _union(*boxes: list[list[float]] | None) -> list[list[float]] | None:
    """Return the box holding every given box, or None when none is given."""
    given = [b for b in boxes if b]
    if not given:
        return None
    return [
        [min(b[0][0] for b in given), min(b[0][1] for b in given)],
        [max(b[1][0] for b in given), max(b[1][1] for b in given)],
    ]
