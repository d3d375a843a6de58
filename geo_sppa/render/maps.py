"""Self-contained Folium web maps: cluster sites for engineers, ward choropleths for commissioners.

The maps are read from email and shared drives, often on council networks that block CDNs or with
no internet at all, so:

- :func:`self_contained_html` inlines every script and stylesheet (see :mod:`geo_sppa.render.assets`);
  the file makes no request except, when ``tiles`` is set, for background map tiles;
- background tiles are an optional base layer that fails quietly: without them the map still shows
  everything on a light background, with the road network and boundaries as its base;
- markers are SVG circles and lines (no image icons);
- every piece of text that comes from data (site, road, ward names, location text) is HTML-escaped
  before it reaches a popup, tooltip or legend, so markup in a name shows as text and never runs.

Frames come in EPSG:27700 and are reprojected to EPSG:4326 here, at render time. Display geometry is
simplified (in metres, before reprojection) and coordinates rounded to keep files small.

Each drawn SVG path carries a class naming its layer (``gs-site``, ``gs-collision``, ``gs-road``,
``gs-ward-outline``, ``gs-ward-<column>``) so a browser test can count what was drawn;
:func:`map_layer_counts` gives the numbers the map was built with.
"""

from __future__ import annotations

import html
import json
import math
import re
import warnings
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template
from folium.utilities import JsCode

from geo_sppa.crs import BNG
from geo_sppa.errors import InputError, OfflineError
from geo_sppa.render.assets import inline_assets, remote_references

__all__ = [
    "cluster_map",
    "ward_map",
    "self_contained_html",
    "map_layer_counts",
    "RANK_BANDS",
    "SEVERITY_COLOURS",
    "DEFAULT_TILES",
]

#: Background tiles used when the browser can reach them (an xyzservices / folium name).
DEFAULT_TILES = "OpenStreetMap"
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
_WARD_LAYERS = {
    "imd_score": (
        "Deprivation (IMD score)",
        ("#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f"),
    ),
    "rate_per_1000": (
        "Incidents per 1,000 residents",
        ("#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"),
    ),
    "imd_rank_popweighted": (
        "IMD rank (population-weighted; 1 = most deprived)",
        ("#54278f", "#756bb1", "#9e9ac8", "#bcbddc", "#dadaeb"),
    ),
    "label": ("Outlier label", ()),
}
_NUMERIC_RAMP = ("#ccece6", "#99d8c9", "#66c2a4", "#2ca25f", "#006d2c")
_QUALITATIVE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")
_NO_DATA = "#d9d9d9"
_SITE_COLUMNS = (
    "site_id", "site_type", "name", "fatal", "serious", "slight", "total", "criterion",
    "cost_gbp", "status", "rank", "collision_ids", "geometry",
)  # fmt: skip
_COLLISION_COLUMNS = ("collision_id", "date", "severity", "geometry")
_WARD_COLUMNS = ("ward_name", "geometry")

_CSS = (Path(__file__).parent / "assets" / "geo_sppa.css").read_text(encoding="utf-8")


def _esc(value: object) -> str:
    """Return ``value`` as HTML-escaped text ('' for missing values)."""
    if value is None or (not isinstance(value, (list, tuple, np.ndarray)) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


def _require(frame: gpd.GeoDataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what}: missing column(s) {', '.join(missing)}; expected at least "
            f"{', '.join(columns)} (see docs/architecture.md)"
        )
    if frame.crs is None:
        raise InputError(f"{what}: the frame has no CRS; set it (EPSG:27700) before mapping")


def _display_geometry(frame: gpd.GeoDataFrame, *, simplify_m: float, decimals: int) -> np.ndarray:
    """Return EPSG:4326 display geometries: simplified in metres, then rounded."""
    geoms = frame.geometry.to_crs(BNG)
    if simplify_m > 0:
        geoms = geoms.simplify(simplify_m, preserve_topology=True)
    wgs = geoms.to_crs("EPSG:4326").values
    return shapely.transform(np.asarray(wgs, dtype=object), lambda xy: np.round(xy, decimals))


def _features(geoms: np.ndarray, props: list[dict]) -> dict:
    features = []
    for geom, prop in zip(geoms, props, strict=True):
        if geom is None or shapely.is_empty(geom):
            continue
        features.append({"type": "Feature", "properties": prop, "geometry": geom.__geo_interface__})
    return {"type": "FeatureCollection", "features": features}


def _bounds(*collections: dict) -> list[list[float]] | None:
    geoms = [shapely.geometry.shape(f["geometry"]) for fc in collections for f in fc["features"]]
    if not geoms:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(geoms, dtype=object))
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


class _Snippet(MacroElement):
    """A script run after the map and its layers exist; ``{map}`` stands for the map's JS name."""

    _template = Template(
        "{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}"  # noqa: E501
    )

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "GeoSppaSnippet"
        self.code = code


class _Legend(MacroElement):
    """A Leaflet control holding legend HTML, shown while its layer (if any) is on the map."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function () {
                var div = L.DomUtil.create('div', 'gs-legend');
                div.setAttribute('data-legend', {{ this.key|tojson }});
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            {%- if this.layer %}
            var layer = {{ this.layer.get_name() }};
            function sync() {
                if (map.hasLayer(layer)) { control.addTo(map); } else { control.remove(); }
            }
            layer.on('add remove', sync);
            sync();
            {%- else %}
            control.addTo(map);
            {%- endif %}
        })();
        {% endmacro %}
        """
    )

    def __init__(self, key: str, html_: str, *, layer=None, position: str = "bottomright") -> None:
        super().__init__()
        self._name = "GeoSppaLegend"
        self.key, self.html, self.layer, self.position = key, html_, layer, position


def _legend_rows(entries: list[tuple[str, str]], *, shape: str = "box") -> str:
    cls = {"box": "gs-key", "dot": "gs-key gs-dot", "line": "gs-key gs-line"}[shape]
    return "".join(
        f'<div class="gs-row"><span class="{cls}" style="background:{colour}"></span>'
        f"{_esc(label)}</div>"
        for label, colour in entries
    )


def _base_map(title: str, subtitle: str, tiles: str | None) -> folium.Map:
    m = folium.Map(
        location=[52.57, -0.24], zoom_start=12, tiles=None, control_scale=True, zoom_snap=0.25
    )
    # Leaflet is all the page needs: drop folium's jQuery, Bootstrap and icon-font defaults.
    m.default_js = [pair for pair in folium.Map.default_js if pair[0] == "leaflet"]
    m.default_css = [pair for pair in folium.Map.default_css if pair[0] == "leaflet_css"]
    m.get_root().header.add_child(Element(f"<style>{_CSS}</style>"), name="geo_sppa_css")
    m.get_root().title = _esc(title)  # branca inserts it into <title> unescaped
    if tiles:
        # Faded, so the data stands out; tiles that cannot load leave the plain background.
        folium.TileLayer(
            tiles, name="Background map (needs internet)", control=True, opacity=0.55
        ).add_to(m)
    heading = _esc(title) + (f"<small>{_esc(subtitle)}</small>" if subtitle else "")
    _Snippet(
        "(function () { var div = L.DomUtil.create('div', 'gs-title', "
        f"{m.get_name()}.getContainer()); div.innerHTML = {json.dumps(heading)}; }})();"
    ).add_to(m)
    folium.plugins.Fullscreen(position="topleft").add_to(m)
    return m


def _finish(m: folium.Map, bounds: list[list[float]] | None) -> folium.Map:
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    if bounds is not None:
        # Keep features clear of the layer control (top right) and legend (bottom right).
        m.fit_bounds(bounds, padding_top_left=(50, 60), padding_bottom_right=(290, 30))
    return m


def _geojson(data: dict, key: str, *, name: str | None = None, **options) -> folium.GeoJson:
    layer = folium.GeoJson(data, name=name, control=name is not None, **options)
    layer._geo_sppa_layer = key
    return layer


def _context_layers(m, roads, wards) -> list[dict]:
    """Add ward outlines and the road network (non-interactive context) to ``m``."""
    drawn = []
    if wards is not None and len(wards):
        _require(wards, ("geometry",), "wards")
        fc = _features(_display_geometry(wards, simplify_m=5, decimals=5), [{}] * len(wards))
        _geojson(
            fc, "wards", name="Ward boundaries", pane="gs-wards", interactive=False,
            class_name="gs-ward-outline",
            style=JsCode("function () { return {color: '#6b6b6b', weight: 1.2, "
                         "dashArray: '4 3', fill: false}; }"),
        ).add_to(m)  # fmt: skip
        drawn.append(fc)
    if roads is not None and len(roads):
        _require(roads, ("geometry",), "roads")
        fc = _features(_display_geometry(roads, simplify_m=2, decimals=5), [{}] * len(roads))
        _geojson(
            fc, "roads", name="Road network", pane="gs-roads", interactive=False,
            class_name="gs-road",
            style=JsCode("function () { return {color: '#7d858e', weight: 2.5, opacity: 0.8}; }"),
        ).add_to(m)  # fmt: skip
        drawn.append(fc)
    return drawn


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
    status = _STATUS_TEXT.get(str(site["status"]), _esc(site["status"]))
    previous = site.get("previous_total")
    trend = status + (f" (previous period: {int(previous)})" if pd.notna(previous) else "")
    cost = f"\u00a3{float(site['cost_gbp']):,.0f}" if pd.notna(site["cost_gbp"]) else ""
    casualties = site.get("casualties")
    years = hits["date"].dt.year.value_counts().sort_index() if len(hits) else pd.Series()
    by_year = ", ".join(f"{int(y)}: {n}" for y, n in years.items()) or "\u2013"
    rows = [
        ("Collisions", f"{int(site['fatal'])} fatal, {int(site['serious'])} serious, "
                       f"{int(site['slight'])} slight ({int(site['total'])} in all)"),
        ("By year", by_year),
        ("Casualties", _esc(casualties) if casualties is not None else ""),
        ("Cost", cost),
        ("Criterion met", _esc(site["criterion"])),
        ("Trend", _esc(trend)),
    ]  # fmt: skip
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows if v != "")
    listing = "".join(
        f"<tr><td>{_esc(c.date.strftime('%d %b %Y') if pd.notna(c.date) else '')}</td>"
        f"<td>{_esc(c.time)}</td><td>{_esc(c.severity)}</td></tr>"
        for c in hits.itertuples()
    )
    return (
        f'<div class="gs-popup"><h4>{_esc(rank)}<span class="gs-name">{_esc(site["name"])}</span>'
        f'</h4><p class="gs-sub">{kind} \u00b7 site {_esc(site["site_id"])}</p>'
        f"<table>{table}</table>"
        f'<div class="gs-list"><table><tr><th>Date</th><th>Time</th><th>Severity</th></tr>'
        f"{listing}</table></div></div>"
    )


def _site_layers(m, sites: gpd.GeoDataFrame, collisions: pd.DataFrame, radius_m) -> dict:
    sites = sites.sort_values("rank", na_position="last").reset_index(drop=True)
    geoms = _display_geometry(sites, simplify_m=0, decimals=6)
    cost = pd.to_numeric(sites["cost_gbp"], errors="coerce").fillna(0.0)
    scale = np.sqrt(cost / cost.max()) if len(cost) and cost.max() > 0 else np.zeros(len(cost))
    by_id = collisions.set_index("collision_id", drop=False)
    props = []
    for i, site in sites.iterrows():
        ids = site["collision_ids"]
        ids = ids.split(";") if isinstance(ids, str) else ids if ids is not None else []
        ids = [str(x).strip() for x in ids]
        hits = by_id.loc[by_id.index.intersection(ids)].sort_values("date")
        band, colour = _rank_band(site["rank"], str(site["status"]))
        worst = _worst(site)
        outline, width = _SITE_OUTLINE[worst]
        props.append({
            "i": int(i), "type": "junction" if site["site_type"] == "junction" else "link",
            "band": band, "fill": colour, "stroke": outline, "outline": width,
            "r": round(6 + 10 * float(scale[i]), 1), "w": round(4 + 6 * float(scale[i]), 1),
            "tip": _esc(site["name"]), "popup": _site_popup(site, hits, radius_m),
        })  # fmt: skip
    data = _features(geoms, props)
    data["features"].reverse()  # drawn last = on top: the highest-ranked site
    group = folium.FeatureGroup(name="Cluster sites", overlay=True, control=True)
    lines = {**data, "features": [f for f in data["features"] if f["geometry"]["type"] != "Point"]}
    points = [f for f in data["features"] if f["geometry"]["type"] == "Point"]
    _geojson(
        lines, "site_casings", pane="gs-sites", interactive=False, class_name="gs-site-casing",
        style=JsCode("function (f) { var p = f.properties; return {color: p.stroke === '#ffffff' "
                     "? '#555555' : p.stroke, weight: p.w + 2 * p.outline, lineCap: 'round'}; }"),
    ).add_to(group)  # fmt: skip
    if radius_m:
        _geojson(
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
    _geojson(
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
    geoms = _display_geometry(collisions, simplify_m=0, decimals=6)
    when = pd.to_datetime(collisions["date"], errors="coerce").dt.strftime("%d %b %Y")
    time = collisions["time"] if "time" in collisions else pd.Series("", index=collisions.index)
    place = (
        collisions["location"]
        if "location" in collisions
        else pd.Series("", index=collisions.index)
    )
    props = [
        {"s": sev, "tip": f"<b>{_esc(sev.title())}</b> {_esc(d)} {_esc(t)}"
                          + (f"<br>{_esc(loc)}" if _esc(loc) else "")}
        for sev, d, t, loc in zip(
            collisions["severity"].astype(str), when, time, place, strict=True
        )
    ]  # fmt: skip
    data = _features(geoms, props)
    styles = json.dumps({
        sev: {"radius": {"fatal": 6, "serious": 4.5, "slight": 3.5}[sev], "fillColor": colour}
        for sev, colour in SEVERITY_COLOURS.items()
    })  # fmt: skip
    _geojson(
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
        layer = folium.plugins.HeatMap(
            heat, name="Collision density (heat)", show=False, radius=18, blur=14, min_opacity=0.3
        )
        layer._geo_sppa_layer = "heat"
        layer.add_to(m)
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
        _legend_rows(bands, shape="dot"),
        "<h5>Worst severity (outline)</h5>",
        "".join(
            f'<div class="gs-row"><span class="gs-key gs-dot" style="background:#fd8d3c;'
            f'border:{3 if colour == "#000000" else 2}px solid {colour}"></span>{label}</div>'
            for label, colour in outlines
        ),
        "<h5>Size</h5><div>Larger circle or thicker line = higher cost</div>",
        "<h5>Collisions</h5>",
        _legend_rows([(s.title(), c) for s, c in SEVERITY_COLOURS.items()], shape="dot"),
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
    _require(sites, _SITE_COLUMNS, "sites")
    _require(collisions, _COLLISION_COLUMNS, "collisions")
    collisions = collisions.assign(
        collision_id=collisions["collision_id"].astype(str),
        date=pd.to_datetime(collisions["date"], errors="coerce"),
    )
    m = _base_map(title, subtitle, tiles)
    for name, z, events in (
        ("gs-wards", 380, False), ("gs-roads", 390, False), ("gs-collisions", 420, True),
        ("gs-radius", 430, False), ("gs-sites", 440, True),
    ):  # fmt: skip
        folium.map.CustomPane(name, z_index=z, pointer_events=events).add_to(m)
    context = _context_layers(m, roads, wards)
    drawn = _collision_layers(m, collisions)
    site_data = _site_layers(m, sites, collisions, radius_m)
    unranked = sites["rank"].isna() | (sites["status"].astype(str) == "resolved")
    _Legend("cluster", _cluster_legend(radius_m, unranked=bool(unranked.any()))).add_to(m)
    bounds = _bounds(site_data, drawn) or _bounds(*context)
    return _finish(m, bounds)


#: Decimals of the legend numbers of known columns (others: see :func:`_legend_decimals`).
_LEGEND_DECIMALS = {
    "rate_per_1000": 2, "rate_per_1000_per_year": 2, "imd_score": 1, "imd_no_crime_score": 1,
    "imd_exp_score": 1, "imd_rank_popweighted": 0, "population": 0, "count": 0, "observed": 0,
}  # fmt: skip


def _legend_decimals(column: str, values: np.ndarray, edges: list[float]) -> int:
    """Return the decimals for legend numbers: 0 for whole numbers and large values (ranks,
    populations), 1 for values from 100, else 2 (rates, scores); more only when needed to keep
    adjacent class edges apart.
    """
    if column in _LEGEND_DECIMALS:
        decimals = _LEGEND_DECIMALS[column]
    elif np.all(np.equal(np.mod(values, 1), 0)):
        decimals = 0
    else:
        top = float(np.max(np.abs(values)))
        decimals = 0 if top >= 1000 else 1 if top >= 100 else 2
    unique = sorted(set(edges))
    while decimals < 4 and len({f"{e:.{decimals}f}" for e in unique}) < len(unique):
        decimals += 1
    return decimals


def _classify(values: pd.Series, *, k: int, scheme: str) -> tuple[np.ndarray, list[str]]:
    """Return each value's class index (-1 for missing) and the class labels."""
    valid = values.notna().to_numpy()
    out = np.full(len(values), -1)
    y = values[valid].astype(float).to_numpy()
    distinct = np.unique(y)
    if len(distinct) == 0:
        return out, []
    k = int(min(k, len(distinct)))
    if k < 2:
        out[valid] = 0
        decimals = _legend_decimals(str(values.name), y, [float(distinct[0])])
        return out, [f"{distinct[0]:,.{decimals}f}"]
    if scheme == "quantiles":
        classifier = mapclassify.Quantiles(y, k=k)
    elif scheme == "naturalbreaks":
        with warnings.catch_warnings():  # "Numba not installed": the pure-Python path is fine here
            warnings.simplefilter("ignore", UserWarning)
            classifier = mapclassify.FisherJenks(y, k=k)  # optimal, deterministic natural breaks
    else:
        raise InputError(f"scheme={scheme!r}: expected 'naturalbreaks' or 'quantiles'")
    out[valid] = classifier.yb
    lows = [float(y.min())] + [float(b) for b in classifier.bins[:-1]]
    highs = [float(b) for b in classifier.bins]
    decimals = _legend_decimals(str(values.name), y, lows + highs)

    def number(value: float) -> str:
        return f"{value:,.{decimals}f}"

    labels = [
        number(lo) if number(lo) == number(hi) else f"{number(lo)} \u2013 {number(hi)}"
        for lo, hi in zip(lows, highs, strict=True)
    ]
    return out, labels


def _label_colour(label: str, i: int) -> str:
    text = label.lower()
    if re.search(r"\b(high|higher|above|more)\b", text):
        return "#d7301f"
    if re.search(r"\b(low|lower|below|fewer|less)\b", text):
        return "#2b8cbe"
    if re.search(r"\b(expected|normal|typical|none|within)\b", text) or not text:
        return "#f0f0f0"
    return _QUALITATIVE[i % len(_QUALITATIVE)]


def _ward_tooltip(frame: pd.DataFrame) -> list[str]:
    fields = [
        ("ward_code", "Code", "{}"), ("population", "Population", "{:,.0f}"),
        ("imd_score", "IMD score", "{:.1f}"), ("count", "Incidents", "{:,.0f}"),
        ("rate_per_1000", "Rate per 1,000", "{:.2f}"), ("observed", "Observed", "{:,.0f}"),
        ("expected", "Expected", "{:,.1f}"), ("label", "Outlier label", "{}"),
    ]  # fmt: skip
    present = [f for f in fields if f[0] in frame.columns]
    tips = []
    for _, row in frame.iterrows():
        cells = []
        for col, label, fmt in present:
            value = row[col]
            if pd.isna(value):
                text = "no data"
            else:
                try:
                    text = fmt.format(value)
                except (ValueError, TypeError):
                    text = str(value)
            cells.append(f"<tr><th>{label}</th><td>{_esc(text)}</td></tr>")
        tips.append(
            f'<div class="gs-tip"><b class="gs-name">{_esc(row["ward_name"])}</b>'
            f"<table>{''.join(cells)}</table></div>"
        )
    return tips


def ward_map(
    wards: gpd.GeoDataFrame,
    *,
    layers: tuple[str, ...] = ("imd_score", "rate_per_1000", "label"),
    title: str = "Ward deprivation and incident rates",
    subtitle: str = "",
    scheme: str = "naturalbreaks",
    k: int = 5,
    tiles: str | None = DEFAULT_TILES,
) -> folium.Map:
    """Return a ward choropleth map, one switchable layer per column in ``layers``.

    Parameters
    ----------
    wards
        Ward frame (issue 4 contract) in EPSG:27700: ``ward_name`` and geometry, plus the columns
        named in ``layers``; ``ward_code, population, imd_score, count, rate_per_1000, observed,
        expected, label`` are shown in the tooltip when present.
    layers
        Columns to map, the first shown at start. Numeric columns are classed by ``scheme``;
        ``label`` (or any text column) gets categorical colours. A column that is missing or
        entirely empty is skipped.
    title, subtitle
        Shown at the top of the map and as the page title (escaped).
    scheme, k
        ``"naturalbreaks"`` (Fisher-Jenks, deterministic) or ``"quantiles"``, with ``k`` classes
        (fewer when there are fewer distinct values).
    tiles
        Background tiles used when the browser can reach them, or ``None``.

    Returns
    -------
    folium.Map
        Choropleths with a legend per layer (shown while the layer is), tooltips with the ward's
        numbers, layer control, scale bar and fullscreen button.

    Raises
    ------
    InputError
        ``wards`` lacks ``ward_name``, geometry or a CRS, or none of ``layers`` can be drawn.

    """
    _require(wards, _WARD_COLUMNS, "wards")
    usable = [c for c in layers if c in wards.columns and wards[c].notna().any()]
    if not usable:
        raise InputError(
            f"wards: none of the columns {', '.join(layers)} is present with data; "
            f"found {', '.join(map(str, wards.columns))}"
        )
    m = _base_map(title, subtitle, tiles)
    geoms = _display_geometry(wards, simplify_m=5, decimals=5)
    tips = _ward_tooltip(wards)
    for n, column in enumerate(usable):
        _ward_layer(m, geoms, tips, wards[column], show=n == 0, scheme=scheme, k=k)
    return _finish(m, _bounds(_features(geoms, [{}] * len(geoms))))


def _ward_classes(values: pd.Series, *, scheme: str, k: int):
    """Return (class index per ward, -1 for no data; class labels; class colours)."""
    ramp = _WARD_LAYERS.get(str(values.name), ("", ()))[1] or _NUMERIC_RAMP
    if pd.api.types.is_numeric_dtype(values):
        classes, labels = _classify(values, k=k, scheme=scheme)
        picks = np.linspace(0, len(ramp) - 1, max(len(labels), 1)).round()
        return classes, labels, [ramp[int(p)] for p in picks]
    kinds = sorted(values.dropna().astype(str).unique(), key=lambda v: (v == "", v))
    classes = values.astype("string").map({v: i for i, v in enumerate(kinds)})
    colours = [_label_colour(v, i) for i, v in enumerate(kinds)]
    return classes.fillna(-1).astype(int).to_numpy(), [v or "Not flagged" for v in kinds], colours


def _ward_layer(m, geoms, tips, values: pd.Series, *, show: bool, scheme: str, k: int) -> None:
    """Add one ward choropleth and its legend (shown while the layer is) to ``m``."""
    column = str(values.name)
    name = _WARD_LAYERS.get(column, (column, ()))[0]
    key = re.sub(r"[^A-Za-z0-9_-]", "", column) or "layer"
    classes, labels, colours = _ward_classes(values, scheme=scheme, k=k)
    fills = [colours[c] if c >= 0 else _NO_DATA for c in classes]
    data = _features(geoms, [{"fill": f, "tip": t} for f, t in zip(fills, tips, strict=True)])
    layer = _geojson(
        data, f"ward:{column}", name=_esc(name), show=show, class_name=f"gs-ward gs-ward-{key}",
        style=JsCode("function (f) { return {fillColor: f.properties.fill, fillOpacity: 0.78, "
                     "color: '#4a4a4a', weight: 0.8}; }"),
        on_each_feature=JsCode(
            "function (f, l) { l.bindTooltip(f.properties.tip, {sticky: true}); "
            "l.on('mouseover', function () { l.setStyle({weight: 2.5, color: '#111111'}); "
            "l.bringToFront(); }); l.on('mouseout', function () { l.setStyle({weight: 0.8, "
            "color: '#4a4a4a'}); }); }"
        ),
    ).add_to(m)  # fmt: skip
    entries = list(zip(labels, colours, strict=True))
    if (np.asarray(classes) < 0).any():
        entries.append(("No data", _NO_DATA))
    legend = f"<h4>{_esc(name)}</h4>" + _legend_rows(entries)
    if pd.api.types.is_numeric_dtype(values):
        method = "Natural breaks (Fisher-Jenks)" if scheme == "naturalbreaks" else "Quantiles"
        legend += f"<div>{method}, {len(labels)} classes</div>"
    _Legend(f"ward:{key}", legend, layer=layer).add_to(m)


def map_layer_counts(m: folium.Map) -> dict[str, int]:
    """Return the number of features each geo-sppa layer of ``m`` was built with.

    Keys: ``sites``, ``site_casings``, ``site_radii``, ``collisions``, ``heat`` (points),
    ``roads``, ``wards`` (outlines on the cluster map) and ``ward:<column>`` (ward choropleths).
    """
    counts: dict[str, int] = {}
    stack = list(m._children.values())
    while stack:
        child = stack.pop()
        stack.extend(child._children.values())
        key = getattr(child, "_geo_sppa_layer", None)
        if key is None:
            continue
        if key == "heat":
            counts[key] = len(child.data)
        else:
            counts[key] = len(child.data["features"])
    return counts


def self_contained_html(m: folium.Map) -> str:
    """Return the full HTML page of ``m`` with every script and stylesheet inlined.

    The page requests nothing from the network, except background tiles when the map has a tile
    layer (they fail quietly offline).

    Raises
    ------
    OfflineError
        The map uses a script or stylesheet geo-sppa has no local copy of (the message names it).

    """
    page = inline_assets(m.get_root().render())
    left = remote_references(page)
    if left:  # pragma: no cover - inline_assets raises first; a guard against new tag shapes
        raise OfflineError(f"map still refers to {', '.join(left)} after inlining")
    return page
