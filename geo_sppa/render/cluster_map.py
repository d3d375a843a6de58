"""The cluster-site map for engineers: sites over their collisions, roads and ward outlines.

Sites are drawn by rank band, worst severity and cost.

Each drawn SVG path carries a class naming its layer (``gs-site``, ``gs-collision``, ``gs-road``,
``gs-ward-outline``) so a browser test can count what was drawn.
"""

from __future__ import annotations

import json
import math

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.utilities import JsCode

from geo_sppa.render.web_map import (
    DEFAULT_TILES,
    Legend,
    TaggedHeatMap,
    base_map,
    bounds_of,
    context_layers,
    display_geometry,
    escape_text,
    feature_collection,
    finished_map,
    geojson_layer,
    legend_rows,
    require_map_frame,
)

__all__ = ["RANK_BANDS", "SEVERITY_COLOURS", "cluster_map"]

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
_COLLISION_COLUMNS = ("collision_id", "date", "severity", "geometry")


def _rank_band(rank: float, status: str) -> tuple[str, str]:
    if status == "resolved" or pd.isna(rank):
        return _RESOLVED
    for top, label, colour in RANK_BANDS:
        if pd.notna(rank) and rank <= top:
            return label, colour
    return RANK_BANDS[-1][1], RANK_BANDS[-1][2]


def _worst(row: pd.Series) -> str:
    for severity in ("fatal", "serious"):
        if pd.notna(row[severity]) and row[severity] > 0:
            return severity
    return "slight"


def _site_popup(site: pd.Series, hits: pd.DataFrame, radius_m: float | None) -> str:
    junction = site["site_type"] == "junction"
    if site.geometry is not None and site.geometry.geom_type == "Point":
        kind = "Junction" if junction else "Road site"
        kind += f", {radius_m:g} m radius" if radius_m else ""
    else:
        kind = "Road link"
    rank = f"#{int(site['rank'])} " if pd.notna(site["rank"]) else ""
    status = _STATUS_TEXT.get(str(site["status"]), escape_text(site["status"]))
    previous = site.get("previous_total")
    trend = status + (f" (previous period: {int(previous)})" if pd.notna(previous) else "")
    cost = f"\u00a3{float(site['cost_gbp']):,.0f}" if pd.notna(site["cost_gbp"]) else ""
    casualties = site.get("casualties")
    years = hits["date"].dt.year.value_counts().sort_index()
    by_year = ", ".join(f"{y}: {n}" for y, n in zip(years.index, years, strict=True)) or "\u2013"
    rows = [
        ("Collisions", f"{int(site['fatal'])} fatal, {int(site['serious'])} serious, "
                       f"{int(site['slight'])} slight ({int(site['total'])} in all)"),
        ("By year", by_year),
        ("Casualties", escape_text(casualties) if casualties is not None else ""),
        ("Cost", cost),
        ("Criterion met", escape_text(site["criterion"])),
        ("Trend", escape_text(trend)),
    ]  # fmt: skip
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows if v != "")
    dates = hits["date"].dt.strftime("%d %b %Y")
    times = hits["time"] if "time" in hits else pd.Series("", index=hits.index)
    listing = "".join(
        f"<tr><td>{escape_text(d)}</td><td>{escape_text(t)}</td><td>{escape_text(s)}</td></tr>"
        for d, t, s in zip(dates, times, hits["severity"], strict=True)
    )
    name = escape_text(site["name"])
    return (
        f'<div class="gs-popup"><h4>{escape_text(rank)}<span class="gs-name">{name}</span>'
        f'</h4><p class="gs-sub">{kind} \u00b7 site {escape_text(site["site_id"])}</p>'
        f"<table>{table}</table>"
        f'<div class="gs-list"><table><tr><th>Date</th><th>Time</th><th>Severity</th></tr>'
        f"{listing}</table></div></div>"
    )


def _site_layers(m, sites: gpd.GeoDataFrame, collisions: pd.DataFrame, radius_m) -> dict:
    sites = sites.sort_values("rank", na_position="last").reset_index(drop=True)
    geoms = display_geometry(sites, simplify_m=0, decimals=6)
    cost = pd.to_numeric(sites["cost_gbp"], errors="coerce").fillna(0.0)
    scale = np.sqrt(cost / cost.max()) if len(cost) and cost.max() > 0 else np.zeros(len(cost))
    by_id = collisions.set_index("collision_id", drop=False)
    props = []
    for i in range(len(sites)):
        site = sites.iloc[i]
        ids = site["collision_ids"]
        ids = ids.split(";") if isinstance(ids, str) else ids if ids is not None else []
        ids = [str(x).strip() for x in ids]
        hits = by_id.loc[by_id.index.intersection(ids)].sort_values("date")
        band, colour = _rank_band(site["rank"], str(site["status"]))
        worst = _worst(site)
        outline, width = _SITE_OUTLINE[worst]
        props.append({
            "i": i, "type": "junction" if site["site_type"] == "junction" else "link",
            "band": band, "fill": colour, "stroke": outline, "outline": width,
            "r": round(6 + 10 * float(scale[i]), 1), "w": round(4 + 6 * float(scale[i]), 1),
            "tip": escape_text(site["name"]), "popup": _site_popup(site, hits, radius_m),
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
            "p.type + ' gs-site-i' + p.i; l.bindPopup(p.popup, {maxWidth: 380, minWidth: 240}); "
            "l.bindTooltip(p.tip, {direction: 'top'}); }"),
    ).add_to(group)  # fmt: skip
    group.add_to(m)
    return data


def _collision_layers(m, collisions: gpd.GeoDataFrame) -> dict:
    geoms = display_geometry(collisions, simplify_m=0, decimals=6)
    when = pd.to_datetime(collisions["date"], errors="coerce").dt.strftime("%d %b %Y")
    time = collisions["time"] if "time" in collisions else pd.Series("", index=collisions.index)
    place = (
        collisions["location"]
        if "location" in collisions
        else pd.Series("", index=collisions.index)
    )
    props = [
        {"s": sev, "tip": f"<b>{escape_text(sev.title())}</b> {escape_text(d)} {escape_text(t)}"
                          + (f"<br>{escape_text(loc)}" if escape_text(loc) else "")}
        for sev, d, t, loc in zip(
            collisions["severity"].astype(str), when, time, place, strict=True
        )
    ]  # fmt: skip
    data = feature_collection(geoms, props)
    styles = json.dumps({
        sev: {"radius": {"fatal": 6, "serious": 4.5, "slight": 3.5}[sev], "fillColor": colour}
        for sev, colour in SEVERITY_COLOURS.items()
    })  # fmt: skip
    geojson_layer(
        data,
        "collisions",
        name="Collisions by severity",
        pane="gs-collisions",
        point_to_layer=JsCode(
            f"function (f, ll) {{ var s = ({styles})[f.properties.s] || {{radius: 3.5, "
            "fillColor: '#999999'}; return L.circleMarker(ll, {pane: 'gs-collisions', "
            "className: 'gs-collision gs-collision-' + (f.properties.s in "
            f"{styles} ? f.properties.s : 'other'), radius: s.radius, fillColor: s.fillColor, "
            "fillOpacity: 0.85, color: '#ffffff', weight: 0.8}); }"
        ),
        on_each_feature=JsCode("function (f, l) { l.bindTooltip(f.properties.tip); }"),
    ).add_to(m)
    heat = [
        [f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0],
         _HEAT_WEIGHT.get(f["properties"]["s"], 0.4)]
        for f in data["features"]
    ]  # fmt: skip
    if heat:
        TaggedHeatMap(
            heat,
            "heat",
            name="Collision density (heat)",
            show=False,
            radius=18,
            blur=14,
            min_opacity=0.3,
        ).add_to(m)
    return data


def _cluster_legend(radius_m: float | None, *, unranked: bool = False) -> str:
    """Return the cluster legend HTML; the grey resolved entry only when such a site is drawn."""
    bands = [(label, colour) for _, label, colour in RANK_BANDS] + ([_RESOLVED] if unranked else [])
    outlines = [
        ("Fatal collision at site", "#000000"),
        ("Serious (worst)", "#4d4d4d"),
        ("Slight only", "#ffffff"),
    ]
    parts = [
        "<h4>Cluster sites</h4><h5>Rank band (fill)</h5>",
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
        Optional context layers (any geometry), EPSG:27700.
    title, subtitle
        Shown at the top of the map and as the page title (escaped).
    radius_m
        Radius-mode sites: draw a dashed circle of this many metres round each Point site.
    tiles
        Background tiles used when the browser can reach them (``None`` for none: the map then
        makes no network request at all).

    Returns
    -------
    folium.Map
        Sites coloured by rank band (fill) and worst severity (outline), sized by cost, with a
        popup each; collisions coloured by severity (toggled layer); a heat layer (off at first);
        legend, layer control, scale bar and fullscreen button. Pass it to
        :func:`self_contained_html` to get a file that works offline.

    Raises
    ------
    InputError
        A frame lacks a required column or a CRS.

    """
    require_map_frame(sites, _SITE_COLUMNS, "sites")
    require_map_frame(collisions, _COLLISION_COLUMNS, "collisions")
    collisions = collisions.assign(
        collision_id=collisions["collision_id"].astype(str),
        date=pd.to_datetime(collisions["date"], errors="coerce"),
    )
    m = base_map(title, subtitle, tiles)
    for name, z, events in (
        ("gs-wards", 380, False), ("gs-roads", 390, False), ("gs-collisions", 420, True),
        ("gs-radius", 430, False), ("gs-sites", 440, True),
    ):  # fmt: skip
        folium.map.CustomPane(name, z_index=z, pointer_events=events).add_to(m)
    context = context_layers(m, roads, wards)
    drawn = _collision_layers(m, collisions)
    site_data = _site_layers(m, sites, collisions, radius_m)
    unranked = sites["rank"].isna() | (sites["status"].astype(str) == "resolved")
    Legend("cluster", _cluster_legend(radius_m, unranked=bool(unranked.any()))).add_to(m)
    bounds = bounds_of(site_data, drawn) or bounds_of(*context)
    return finished_map(m, bounds)
