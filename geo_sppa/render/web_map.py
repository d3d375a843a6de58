"""Folium plumbing shared by every geo-sppa web map, and :func:`self_contained_html`.

The base map, tagged layers, legends and escaping live here.

The maps are read from email and shared drives, often on council networks that block CDNs or with
no internet at all, so:

- :func:`self_contained_html` inlines every script and stylesheet (see
  :mod:`geo_sppa.render.assets`); the file makes no request except, when ``tiles`` is set,
  for background map tiles;
- background tiles are an optional base layer that fails quietly: without them the map still shows
  everything on a light background, with the road network and boundaries as its base;
- markers are SVG circles and lines, or canvas drawings for large layers (no image icons);
- every piece of text that comes from data (site, road, ward names, location text) is HTML-escaped
  (:func:`escape_text`) before it reaches a popup, tooltip or legend, so markup in a name shows as
  text and never runs.

Frames come in EPSG:27700 and are reprojected to EPSG:4326 here, at render time. Display geometry is
simplified (in metres, before reprojection) and coordinates rounded to keep files small.

Each drawn layer is tagged with a key (:func:`geojson_layer`) so :func:`map_layer_counts` can give
the numbers the map was built with.
"""

from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.template import Template
from folium.utilities import JsCode
from pyproj import CRS, Transformer

from geo_sppa.crs import BNG
from geo_sppa.errors import InputError, OfflineError
from geo_sppa.render.assets import inline_assets, remote_references

__all__ = [
    "DEFAULT_TILES",
    "DataLayer",
    "Legend",
    "Snippet",
    "TaggedGeoJson",
    "TaggedHeatMap",
    "base_map",
    "bounds_of",
    "embedded_script",
    "ward_outlines",
    "display_geometry",
    "escape_text",
    "feature_collection",
    "finished_map",
    "geojson_layer",
    "legend_rows",
    "lon_lat",
    "map_layer_counts",
    "near_any",
    "require_map_frame",
    "self_contained_html",
]

#: Background tiles used when the browser can reach them (an xyzservices / folium name).
DEFAULT_TILES = "OpenStreetMap"

_CSS = (Path(__file__).parent / "assets" / "geo_sppa.css").read_text(encoding="utf-8")


def _is_missing(value: object) -> bool:
    """Return True for None, NA, NaT and NaN (containers are never missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    return isinstance(value, (np.datetime64, np.timedelta64)) and bool(np.isnat(value))


def escape_text(value: object) -> str:
    """Return ``value`` as HTML-escaped text ('' for missing values)."""
    if _is_missing(value):
        return ""
    return html.escape(str(value), quote=True)


def require_map_frame(frame: gpd.GeoDataFrame, columns: tuple[str, ...], what: str) -> None:
    """Raise InputError when ``frame`` (called ``what``) lacks one of ``columns`` or a CRS."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what}: missing column(s) {', '.join(missing)}; expected at least "
            f"{', '.join(columns)} (see docs/architecture.md)"
        )
    if frame.crs is None:
        raise InputError(f"{what}: the frame has no CRS; set it (EPSG:27700) before mapping")


def display_geometry(frame: gpd.GeoDataFrame, *, simplify_m: float, decimals: int) -> np.ndarray:
    """Return EPSG:4326 display geometries: simplified in metres, then rounded."""
    geoms = frame.geometry.to_crs(BNG)
    if simplify_m > 0:
        geoms = geoms.simplify(simplify_m, preserve_topology=True)
    values = np.array(geoms.values, dtype=object)
    if shapely.has_z(values).any():  # to_crs keeps z, the rounding drops it
        wgs = geoms.to_crs("EPSG:4326").values
        return shapely.transform(np.asarray(wgs, dtype=object), lambda xy: np.round(xy, decimals))
    # what to_crs then a rounding transform give, in one pass over the coordinates
    xy = shapely.get_coordinates(values)
    lon, lat = _to_wgs84(geoms.crs).transform(xy[:, 0], xy[:, 1])
    return shapely.set_coordinates(values, np.round(np.column_stack([lon, lat]), decimals))


def lon_lat(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (lon, lat) arrays of British National Grid coordinates ``xy``."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    lon, lat = _to_wgs84(CRS.from_user_input(BNG)).transform(xy[:, 0], xy[:, 1])
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


@lru_cache(maxsize=8)
def _to_wgs84(crs: CRS) -> Transformer:
    """Return the transformer GeoSeries.to_crs("EPSG:4326") uses from ``crs`` (x, y order)."""
    return Transformer.from_crs(crs, CRS.from_user_input("EPSG:4326"), always_xy=True)


def near_any(frame: gpd.GeoDataFrame, others: gpd.GeoDataFrame, *, distance_m: float) -> np.ndarray:
    """Return which features of ``frame`` lie within ``distance_m`` of a feature of ``others``.

    The tree holds the (few) ``others``' boxes grown by ``distance_m``, not the (many) features
    of ``frame``; only pairs whose boxes meet get the exact distance test, in EPSG:27700.
    """
    targets = np.asarray(others.geometry.to_crs(BNG).values, dtype=object)
    targets = targets[~(shapely.is_missing(targets) | shapely.is_empty(targets))]
    geoms = np.asarray(frame.geometry.to_crs(BNG).values, dtype=object)
    x0, y0, x1, y1 = shapely.bounds(targets).T
    grown = shapely.box(x0 - distance_m, y0 - distance_m, x1 + distance_m, y1 + distance_m)
    i, j = shapely.STRtree(grown).query(geoms)
    near = np.zeros(len(geoms), dtype=bool)
    near[i[shapely.dwithin(geoms[i], targets[j], distance_m)]] = True
    return near


def feature_collection(geoms: np.ndarray, props: list[dict]) -> dict:
    """Return a GeoJSON FeatureCollection of ``geoms`` with ``props``, empty geometries left out."""
    features = []
    for geom, prop in zip(geoms, props, strict=True):
        if geom is None or shapely.is_empty(geom):
            continue
        features.append({"type": "Feature", "properties": prop, "geometry": geom.__geo_interface__})
    return {"type": "FeatureCollection", "features": features}


def bounds_of(*collections: dict) -> list[list[float]] | None:
    """Return ``[[south, west], [north, east]]`` of the FeatureCollections, or None when empty."""
    geoms = [shapely.geometry.shape(f["geometry"]) for fc in collections for f in fc["features"]]
    if not geoms:
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(geoms, dtype=object))
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


class Snippet(MacroElement):
    """A script run after the map and its layers exist; ``{map}`` stands for the map's JS name."""

    _template = Template(
        "{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}"  # noqa: E501
    )

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "GeoSppaSnippet"
        self.code = code


class Legend(MacroElement):
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


def legend_rows(entries: list[tuple[str, str]], *, shape: str = "box") -> str:
    """Return legend HTML rows of ``(label, colour)``; keys drawn as a box, dot or line."""
    cls = {"box": "gs-key", "dot": "gs-key gs-dot", "line": "gs-key gs-line"}[shape]
    return "".join(
        f'<div class="gs-row"><span class="{cls}" style="background:{colour}"></span>'
        f"{escape_text(label)}</div>"
        for label, colour in entries
    )


def base_map(title: str, subtitle: str, tiles: str | None) -> folium.Map:
    """Return an empty map with the geo-sppa style, the title box, optional tiles, fullscreen."""
    m = folium.Map(
        location=[52.57, -0.24], zoom_start=12, tiles=None, control_scale=True, zoom_snap=0.25
    )
    # Leaflet is all the page needs: drop folium's jQuery, Bootstrap and icon-font defaults.
    m.default_js = [pair for pair in folium.Map.default_js if pair[0] == "leaflet"]
    m.default_css = [pair for pair in folium.Map.default_css if pair[0] == "leaflet_css"]
    root = m.get_root()
    assert isinstance(root, Figure)  # a folium.Map's root is always a branca Figure
    root.header.add_child(Element(f"<style>{_CSS}</style>"), name="geo_sppa_css")
    root.title = escape_text(title)  # branca inserts it into <title> unescaped
    if tiles:
        # Faded, so the data stands out; tiles that cannot load leave the plain background.
        folium.TileLayer(
            tiles, name="Background map (needs internet)", control=True, opacity=0.55
        ).add_to(m)
    heading = escape_text(title) + (f"<small>{escape_text(subtitle)}</small>" if subtitle else "")
    Snippet(
        "(function () { var div = L.DomUtil.create('div', 'gs-title', "
        f"{m.get_name()}.getContainer()); div.innerHTML = {json.dumps(heading)}; }})();"
    ).add_to(m)
    folium.plugins.Fullscreen(position="topleft").add_to(m)
    return m


def finished_map(m: folium.Map, bounds: list[list[float]] | None) -> folium.Map:
    """Return ``m`` with its layer control, fitted to ``bounds`` (when given)."""
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    if bounds is not None:
        # Keep features clear of the layer control (top right) and legend (bottom right).
        m.fit_bounds(bounds, padding_top_left=(50, 60), padding_bottom_right=(290, 30))
    return m


class _LiteralScript(MacroElement):
    """A layer whose rendered script goes into the page as it is, not compiled as a template.

    branca wraps each layer's rendered script in an ``Element``, which compiles it as a Jinja
    template: for a layer holding megabytes of GeoJSON that compile is most of the page's render.
    Here the script is set aside while the layer renders and then put in the wrapper's place, as
    the text the template would render: when it holds no Jinja markup, the text less one final
    newline (:func:`_as_rendered`); a script with markup is compiled as before.
    """

    def render(self, **kwargs: Any) -> Any:
        """Render the layer (see the class docstring)."""
        own = vars(self).get("_template")
        aside = _ScriptAside(self._template)
        self._template = aside
        try:
            rendered = super().render(**kwargs)
        finally:
            if own is None:
                del self._template
            else:
                self._template = own
        if aside.text is not None:
            root = self.get_root()
            assert isinstance(root, Figure)  # MacroElement.render asserts it too
            raw = _RawHtml(aside.text)
            root.script._children[self.get_name()] = raw  # in the wrapper's place in the page
            raw._parent = root.script
        return rendered


class _ScriptAside:
    """Stands in for a layer's template: its ``script`` macro's plain output is kept in ``text``."""

    def __init__(self, template: Any) -> None:
        macros = template.module.__dict__
        self.text: str | None = None
        self.module = SimpleNamespace(
            header=macros.get("header"), html=macros.get("html"), script=None
        )
        script = macros.get("script")
        if script is not None:

            def aside(this: Any, kwargs: Any) -> str:
                text = str(script(this, kwargs))
                self.text = _as_rendered(text)
                return text if self.text is None else ""

            self.module.script = aside


def _as_rendered(text: str) -> str | None:
    """Return what Jinja renders ``text`` as, when it holds no Jinja markup; else None."""
    if "{{" in text or "{%" in text or "{#" in text or "\r" in text:
        return None
    return text[:-1] if text.endswith("\n") else text


class TaggedGeoJson(_LiteralScript, folium.GeoJson):
    """A GeoJson layer that remembers its geo-sppa ``layer_key`` (see :func:`map_layer_counts`)."""

    def __init__(self, data: dict, layer_key: str, **options: Any) -> None:
        super().__init__(data, **options)
        self.layer_key = layer_key


class TaggedHeatMap(_LiteralScript, folium.plugins.HeatMap):
    """A heat layer that remembers its geo-sppa ``layer_key`` (see :func:`map_layer_counts`).

    ``data`` as a float array of ``[lat, lon, weight]`` rows is taken whole (folium checks each
    row in Python, slow for tens of thousands of points: the same NaN check is made here).
    """

    def __init__(self, data: list | np.ndarray, layer_key: str, **options: Any) -> None:
        rows = isinstance(data, np.ndarray) and data.dtype == np.float64 and data.ndim == 2
        super().__init__([] if rows else data, **options)
        if rows:
            if np.isnan(data).any():
                raise ValueError("data may not contain NaNs.")
            self.data = np.asarray(data).tolist()
        self.layer_key = layer_key


def geojson_layer(
    data: dict, key: str, *, name: str | None = None, **options: Any
) -> TaggedGeoJson:
    """Return a GeoJson layer tagged ``key``; it is listed in the layer control when named."""
    return TaggedGeoJson(data, key, name=name, control=name is not None, **options)


def ward_outlines(m: folium.Map, wards: gpd.GeoDataFrame | None) -> dict | None:
    """Add ward outlines (non-interactive context) to ``m``; return their FeatureCollection."""
    if wards is None or not len(wards):
        return None
    require_map_frame(wards, ("geometry",), "wards")
    fc = feature_collection(display_geometry(wards, simplify_m=5, decimals=5), [{}] * len(wards))
    geojson_layer(
        fc, "wards", name="Ward boundaries", pane="gs-wards", interactive=False,
        class_name="gs-ward-outline",
        style=JsCode("function () { return {color: '#6b6b6b', weight: 1.2, "
                     "dashArray: '4 3', fill: false}; }"),
    ).add_to(m)  # fmt: skip
    return fc


class DataLayer(folium.map.Layer):
    """A layer group filled in the browser by the page script's ``GS.<builder>`` function.

    The features come from the page's one embedded data table (:func:`embedded_script`), not from
    a GeoJSON copy per layer; ``feature_count`` is what the builder draws (see
    :func:`map_layer_counts`).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.featureGroup();
        GS.{{ this.builder }}({{ this.get_name() }}, {{ this._parent.get_name() }},
                              {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        builder: str,
        layer_key: str,
        feature_count: int,
        *,
        name: str | None = None,
        show: bool = True,
        options: dict | None = None,
    ) -> None:
        super().__init__(name=name, overlay=True, control=name is not None, show=show)
        self._name = "GeoSppaDataLayer"
        self.builder, self.layer_key, self.feature_count = builder, layer_key, feature_count
        self.options = options or {}


def embedded_script(m: folium.Map, script: str, data: dict) -> None:
    """Add ``script`` (an asset file name) and ``data`` (passed to ``GS.load``) to ``m``'s page.

    Both go in the page body, after Leaflet has loaded and before the map script runs. The data
    must hold HTML-escaped text only; ``</`` is escaped so it cannot close the script element.
    """
    code = (Path(__file__).parent / "assets" / script).read_text(encoding="utf-8")
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    root = m.get_root()
    assert isinstance(root, Figure)  # a folium.Map's root is always a branca Figure
    tag = f'<script data-asset="geo-sppa:{script}">\n{code}\nGS.load({payload});\n</script>'
    root.html.add_child(_RawHtml(tag), name="geo_sppa_data")


class _RawHtml(Element):
    """Markup written into the page as it is: never compiled as a Jinja template (it is big)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        """Return the markup unchanged."""
        return self.text


def map_layer_counts(m: folium.Map) -> dict[str, int]:
    """Return the number of features each geo-sppa layer of ``m`` was built with.

    Keys: ``sites``, ``site_casings``, ``site_radii``, ``site_ranks``, ``collisions``, ``heat``
    (points or aggregated cells), ``roads``, ``wards`` (outlines on the cluster map) and
    ``ward:<column>`` (ward choropleths).
    """
    counts: dict[str, int] = {}
    stack = list(m._children.values())
    while stack:
        child = stack.pop()
        stack.extend(child._children.values())
        if isinstance(child, TaggedHeatMap):
            counts[child.layer_key] = len(child.data)
        elif isinstance(child, DataLayer):
            counts[child.layer_key] = child.feature_count
        elif isinstance(child, TaggedGeoJson):
            counts[child.layer_key] = len(child.data["features"])
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
