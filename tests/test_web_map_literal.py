"""Big layers' scripts go into the page as they are, exactly as Jinja would have rendered them."""

from __future__ import annotations

import re

import folium
import folium.plugins
import numpy as np
import pytest
from jinja2 import Template

from geo_sppa.render.web_map import (
    TaggedGeoJson,
    TaggedHeatMap,
    _as_rendered,
    display_geometry,
    lon_lat,
)


@pytest.mark.parametrize(
    "text",
    ["plain", "ends with a newline\n", "two newlines\n\n", "", "\n", 'var a = {"b": [1, 2]};\n'],
)
def test_plain_text_is_what_jinja_renders(text):
    assert _as_rendered(text) == Template(text).render()


@pytest.mark.parametrize("text", ["{{ x }}", "{% if a %}b{% endif %}", "{# c #}", "a\r\nb"])
def test_text_with_jinja_markup_or_carriage_returns_is_left_to_jinja(text):
    assert _as_rendered(text) is None


def _page(layer_class, heat_class, name: str) -> str:
    m = folium.Map(location=[52.5, -0.2], zoom_start=10)
    data = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"n": name, "i": i},
             "geometry": {"type": "Point", "coordinates": [-0.2 + i / 100, 52.5]}}
            for i in range(3)
        ],
    }  # fmt: skip
    extra = {} if layer_class is folium.GeoJson else {"layer_key": "k"}
    layer_class(data, name="layer", **extra).add_to(m)
    heat_class([[52.5, -0.2, 1.0], [52.6, -0.3, 0.5]], **extra).add_to(m)
    return re.sub(r"_[0-9a-f]{32}", "", m.get_root().render())


def _page_or_error(layer_class, heat_class, name: str) -> str:
    try:
        return _page(layer_class, heat_class, name)
    except Exception as error:  # folium compiles a layer's script: markup in the data breaks it
        return type(error).__name__


@pytest.mark.parametrize("name", ["Oundle Road", "{{ 1 + 1 }}", "{% raw %}", "a\r\nb"])
def test_tagged_layers_render_the_page_folium_renders(name):
    expected = _page_or_error(folium.GeoJson, folium.plugins.HeatMap, name)
    assert _page_or_error(TaggedGeoJson, TaggedHeatMap, name) == expected


def test_display_geometry_and_lon_lat_match_to_crs():
    import geopandas as gpd
    import shapely

    xy = np.array([[512345.6, 298765.4], [430000.0, 433000.0], [np.nan, np.nan]])
    lines = gpd.GeoSeries(
        [shapely.linestrings(xy[:2]), shapely.points(xy[0]), None], crs="EPSG:27700"
    )
    frame = gpd.GeoDataFrame(geometry=lines)
    wgs = lines.to_crs("EPSG:4326").values
    expected = shapely.transform(np.asarray(wgs, dtype=object), lambda c: np.round(c, 6))
    got = display_geometry(frame, simplify_m=0, decimals=6)
    assert list(shapely.to_wkb(got[:2])) == list(shapely.to_wkb(expected[:2]))
    assert got[2] is None
    pts = gpd.GeoSeries(shapely.points(xy), crs="EPSG:27700").to_crs("EPSG:4326").values
    lon, lat = lon_lat(xy)
    np.testing.assert_array_equal(lon, shapely.get_x(pts))
    np.testing.assert_array_equal(lat, shapely.get_y(pts))


@pytest.mark.parametrize(("name", "literal"), [("Oundle Road", True), ("{# c #}", False)])
def test_plain_layer_scripts_skip_the_template_compile(name, literal):
    """The fast path really engages for plain text (a folium upgrade could silently stop it)."""
    from geo_sppa.render.web_map import _RawHtml

    m = folium.Map(location=[52.5, -0.2], zoom_start=10)
    feature = {"type": "Feature", "properties": {"n": name},
               "geometry": {"type": "Point", "coordinates": [-0.2, 52.5]}}  # fmt: skip
    layer = TaggedGeoJson({"type": "FeatureCollection", "features": [feature]}, layer_key="k")
    layer.add_to(m)
    m.get_root().render()
    assert isinstance(m.get_root().script._children[layer.get_name()], _RawHtml) == literal
