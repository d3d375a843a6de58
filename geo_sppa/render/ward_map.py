"""The ward choropleth map for commissioners: one choropleth at a time, each with its legend.

The choropleths are Leaflet base layers (radio buttons in the layer control), so two never overlay
and blend; each legend is shown only while its layer is. Titles and legends name the category, the
unit and the period (``Anti-social behaviour per 1,000 residents per year, Oct 2018 - Jan 2021
(7 months)``). Each drawn SVG path carries the class ``gs-ward-<column>`` so a browser test can
count what was drawn.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime

import folium
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
from branca.element import Element, Figure
from folium.utilities import JsCode

from geo_sppa.errors import InputError
from geo_sppa.render.web_map import (
    DEFAULT_TILES,
    Legend,
    base_map,
    bounds_of,
    display_geometry,
    escape_text,
    feature_collection,
    finished_map,
    geojson_layer,
    legend_rows,
    require_map_frame,
)

__all__ = ["ward_layer_title", "ward_map", "ward_period"]

_WARD_LAYERS = {
    "imd_score": (
        "Deprivation (IMD score)",
        ("#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f"),
    ),
    "rate_per_1000": (
        "Incidents per 1,000 residents",
        ("#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"),
    ),
    "rate_per_1000_per_year": (
        "Incidents per 1,000 residents per year",
        ("#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"),
    ),
    "imd_rank_popweighted": (
        "IMD rank (population-weighted; 1 = most deprived)",
        ("#54278f", "#756bb1", "#9e9ac8", "#bcbddc", "#dadaeb"),
    ),
    "label": ("Outlier label", ()),
    "hotspot": ("Hot and cold spots of the residuals (Getis-Ord Gi*)", ()),
}
_NUMERIC_RAMP = ("#ccece6", "#99d8c9", "#66c2a4", "#2ca25f", "#006d2c")
_QUALITATIVE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d")
_NO_DATA = "#d9d9d9"
_CONTROL_CSS = ".leaflet-control-layers{max-width:330px}.leaflet-control-layers label{margin:3px}"
_WARD_COLUMNS = ("ward_name", "geometry")


#: Decimals of the legend numbers of known columns (others: see :func:`_legend_decimals`).
_LEGEND_DECIMALS = {
    "rate_per_1000": 2, "rate_per_1000_per_year": 2, "imd_score": 1, "imd_no_crime_score": 1,
    "imd_exp_score": 1, "imd_rank_popweighted": 0, "population": 0, "count": 0, "observed": 0,
}  # fmt: skip


def _legend_decimals(column: str, values: np.ndarray, edges: list[float]) -> int:
    """Return the decimals for legend numbers.

    0 for whole numbers and large values (ranks, populations), 1 for values from 100, else 2
    (rates, scores); more only when needed to keep adjacent class edges apart.
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
    if re.search(r"\b(high|higher|above|more|hot)\b", text):
        return "#d7301f"
    if re.search(r"\b(low|lower|below|fewer|less|cold)\b", text):
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
            cells.append(f"<tr><th>{label}</th><td>{escape_text(text)}</td></tr>")
        tips.append(
            f'<div class="gs-tip"><b class="gs-name">{escape_text(row["ward_name"])}</b>'
            f"<table>{''.join(cells)}</table></div>"
        )
    return tips


def ward_period(months: Sequence[str]) -> str:
    """Return the period of ``months`` (``YYYY-MM``) in words: ``Oct 2018 - Jan 2021 (7 months)``.

    '' when there are no months; a month that is not ``YYYY-MM`` is shown as it is.
    """
    ordered = sorted(str(m) for m in months)
    if not ordered:
        return ""

    def word(month: str) -> str:
        try:
            return f"{datetime.strptime(month, '%Y-%m'):%b %Y}"
        except ValueError:
            return month

    first, last = word(ordered[0]), word(ordered[-1])
    span = first if first == last else f"{first} - {last}"
    return f"{span} ({len(ordered)} month{'s' if len(ordered) != 1 else ''})"


def ward_layer_title(column: str, *, category: str = "", months: Sequence[str] = ()) -> str:
    """Return the layer (and legend) title of ``column``: category, unit and period in words.

    ``rate_per_1000`` is over the whole period, ``rate_per_1000_per_year`` annualised; counts
    and rates without a category say "Incidents". Other columns keep their fixed names.
    """
    what = category or "Incidents"
    period = ward_period(months)
    when = f", {period}" if period else ""
    titles = {
        "rate_per_1000": f"{what} per 1,000 residents over the period{when}",
        "rate_per_1000_per_year": f"{what} per 1,000 residents per year{when}",
        "count": f"{what}: number recorded{when}",
        "observed": f"{what}: number recorded{when}",
    }
    if column in titles:
        return titles[column]
    return _WARD_LAYERS.get(column, (column.replace("_", " "), ()))[0]


def ward_map(
    wards: gpd.GeoDataFrame,
    *,
    layers: tuple[str, ...] = ("imd_score", "rate_per_1000", "label"),
    title: str = "Ward deprivation and incident rates",
    subtitle: str = "",
    scheme: str = "naturalbreaks",
    k: int = 5,
    tiles: str | None = DEFAULT_TILES,
    category: str = "",
    months: Sequence[str] = (),
    layer_titles: Mapping[str, str] | None = None,
) -> folium.Map:
    """Return a ward choropleth map: one layer per column in ``layers``, one shown at a time.

    Parameters
    ----------
    wards
        Ward frame (issue 4 contract) in EPSG:27700: ``ward_name`` and geometry, plus the columns
        named in ``layers``; ``ward_code, population, imd_score, count, rate_per_1000, observed,
        expected, label`` are shown in the tooltip when present.
    layers
        Columns to map, the first shown at start. Numeric columns are classed by ``scheme``;
        ``label`` (or any text column) gets categorical colours (hot, high, more: red; cold, low,
        fewer: blue). A column that is missing or entirely empty is skipped.
    title, subtitle
        Shown at the top of the map and as the page title (escaped).
    scheme, k
        ``"naturalbreaks"`` (Fisher-Jenks, deterministic) or ``"quantiles"``, with ``k`` classes
        (fewer when there are fewer distinct values).
    tiles
        Background tiles used when the browser can reach them, or ``None`` (an overlay that can
        be switched off, never a choice against the choropleths).
    category, months
        The incident category and the months (``YYYY-MM``) counted, for the titles of the count
        and rate layers (:func:`ward_layer_title`).
    layer_titles
        Column -> title, overriding :func:`ward_layer_title`.

    Returns
    -------
    folium.Map
        Choropleths as radio-button base layers, each with a legend shown while it is, tooltips
        with the ward's numbers, layer control, scale bar and fullscreen button.

    Raises
    ------
    InputError
        ``wards`` lacks ``ward_name``, geometry or a CRS, or none of ``layers`` can be drawn.

    """
    require_map_frame(wards, _WARD_COLUMNS, "wards")
    usable = [c for c in layers if c in wards.columns and wards[c].notna().any()]
    if not usable:
        raise InputError(
            f"wards: none of the columns {', '.join(layers)} is present with data; "
            f"found {', '.join(map(str, wards.columns))}"
        )
    m = base_map(title, subtitle, None)
    # Titles name category, unit and period: wrap them rather than cover the map's title.
    root = m.get_root()
    assert isinstance(root, Figure)  # a folium.Map's root is always a branca Figure
    root.header.add_child(Element(f"<style>{_CONTROL_CSS}</style>"), name="geo_sppa_ward_css")
    if tiles:
        folium.TileLayer(
            tiles, name="Background map (needs internet)", overlay=True, control=True, opacity=0.55
        ).add_to(m)
    geoms = display_geometry(wards, simplify_m=5, decimals=5)
    tips = _ward_tooltip(wards)
    names = dict(layer_titles or {})
    for n, column in enumerate(usable):
        name = names.get(column) or ward_layer_title(column, category=category, months=months)
        _ward_layer(m, geoms, tips, wards[column], name, show=n == 0, scheme=scheme, k=k)
    return finished_map(m, bounds_of(feature_collection(geoms, [{}] * len(geoms))))


def _ward_classes(values: pd.Series, *, scheme: str, k: int):
    """Return (class index per ward, -1 for no data; class labels; class colours)."""
    ramp = _WARD_LAYERS.get(str(values.name), ("", ()))[1] or _NUMERIC_RAMP
    if pd.api.types.is_numeric_dtype(values):
        classes, labels = _classify(values, k=k, scheme=scheme)
        picks = np.linspace(0, len(ramp) - 1, max(len(labels), 1)).round()
        return classes, labels, [ramp[int(p)] for p in picks]
    kinds = sorted(values.dropna().astype(str).unique(), key=lambda v: (v == "", v))
    kind_index = values.astype("string").map({v: i for i, v in enumerate(kinds)})
    colours = [_label_colour(v, i) for i, v in enumerate(kinds)]
    return (
        kind_index.fillna(-1).astype(int).to_numpy(),
        [v or "Not flagged" for v in kinds],
        colours,
    )


def _ward_layer(
    m, geoms, tips, values: pd.Series, name: str, *, show: bool, scheme: str, k: int
) -> None:
    """Add one ward choropleth (a base layer: one at a time) and its legend to ``m``."""
    column = str(values.name)
    key = re.sub(r"[^A-Za-z0-9_-]", "", column) or "layer"
    classes, labels, colours = _ward_classes(values, scheme=scheme, k=k)
    fills = [colours[c] if c >= 0 else _NO_DATA for c in classes]
    data = feature_collection(
        geoms, [{"fill": f, "tip": t} for f, t in zip(fills, tips, strict=True)]
    )
    layer = geojson_layer(
        data, f"ward:{column}", name=escape_text(name), show=show, overlay=False,
        class_name=f"gs-ward gs-ward-{key}",
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
    legend = f"<h4>{escape_text(name)}</h4>" + legend_rows(entries)
    if pd.api.types.is_numeric_dtype(values):
        method = "Natural breaks (Fisher-Jenks)" if scheme == "naturalbreaks" else "Quantiles"
        legend += f"<div>{method}, {len(labels)} classes</div>"
    Legend(f"ward:{key}", legend, layer=layer).add_to(m)
