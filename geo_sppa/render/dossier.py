"""The printable site dossier: one A4 page per cluster site, self-contained and offline.

Each page (``<section class="site" id="<site_id>">``, so a map can link to
``clusters_sites.html#<site_id>``, and linking back to ``clusters.html#<site_id>``, which opens
that site's popup on the map) holds the traffic-flow rate where the run had count points
(:mod:`geo_sppa.roads.flow`), a site plan (inline SVG: the roads near the site with their
names, and the site's collisions coloured by severity, lettered P/C/M where a pedestrian, cyclist
or motorcyclist was involved, with a scale bar), the counts by year and severity with the
previous window's totals, a time-of-day x day-of-week grid, the over-represented factors
(:func:`geo_sppa.roads.factors.site_factors`) and the collision list
(:func:`geo_sppa.roads.factors.site_collisions`). Print CSS puts each site on its own A4 page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from html import escape
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["DOSSIER_SITES", "MAP_FILE", "dossier_note", "site_dossier_html"]

#: Sites in the dossier by default: the top of the ranking, which is where investigation starts.
DOSSIER_SITES = 200
#: The cluster map each page links back to (``clusters.html#<site_id>`` opens that site there).
MAP_FILE = "clusters.html"

_SEVERITY_COLOURS = {"fatal": "#7a0019", "serious": "#e6550d", "slight": "#3182bd"}
_USER_LETTERS = (("pedestrian", "P"), ("cyclist", "C"), ("motorcyclist", "M"))
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HOUR_BANDS = (
    (0, 6, "00-06"),
    (7, 9, "07-09"),
    (10, 15, "10-15"),
    (16, 18, "16-18"),
    (19, 23, "19-23"),
)
_LIST_COLUMNS = ("date", "time", "severity", "conditions", "speed_limit", "junction_detail",
                 "vehicle_types", "manoeuvres", "location")  # fmt: skip
_LOCATION_CHARS = 48
_PLAN_PX = 260
_CSS = """
@page { size: A4; margin: 12mm; }
body { font: 9pt/1.3 system-ui, sans-serif; color: #222; margin: 0; }
section.site { page-break-after: always; break-after: page; padding: 0; }
section.site:last-child { page-break-after: auto; break-after: auto; }
h1 { font-size: 14pt; margin: 0 0 2mm; } h2 { font-size: 9.5pt; margin: 2mm 0 0.5mm; }
.facts { color: #444; margin-bottom: 2mm; }
@media print { a.map-link { color: inherit; text-decoration: none; } }
.top { display: flex; gap: 5mm; align-items: flex-start; }
table { border-collapse: collapse; font-size: 6.5pt; }
.list td { line-height: 1.15; }
th, td { border: 1px solid #ccc; padding: 0.3mm 1mm; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.n { text-align: right; }
svg.plan { border: 1px solid #999; background: #fafafa; flex: none; }
svg.plan text { font: 9px sans-serif; }
@media screen { section.site { max-width: 190mm; margin: 0 auto; border-bottom: 2px solid #999; } }
"""


def _plan_extent(site: pd.Series, rows: pd.DataFrame) -> tuple[float, float, float]:
    """Return the plan's centre and half-width (m): the site, its collisions and 20 m around."""
    x0, y0 = float(site["x"]), float(site["y"])
    east, north = rows["easting"].to_numpy(float), rows["northing"].to_numpy(float)
    reach = np.nanmax(np.hypot(east - x0, north - y0), initial=0.0)
    return x0, y0, max(60.0, float(reach) + 20.0)


def _roads_near_plans(
    roads: gpd.GeoDataFrame | None, extents: list[tuple[float, float, float]]
) -> gpd.GeoDataFrame | None:
    """Return the roads that cross any plan, found with a tree of the few plans, not the roads."""
    if roads is None or not len(roads) or not extents:
        return roads
    boxes = [shapely.box(x - h, y - h, x + h, y + h) for x, y, h in extents]
    hits = shapely.STRtree(boxes).query(roads.geometry.to_numpy(), predicate="intersects")[0]
    return roads.iloc[np.unique(hits)]


def _plan_svg(site: pd.Series, rows: pd.DataFrame, roads: gpd.GeoDataFrame | None) -> str:
    """Return the site plan: roads with names and the collisions, north up, with a scale bar."""
    x0, y0, half = _plan_extent(site, rows)
    scale = _PLAN_PX / (2 * half)

    def xy(x: float, y: float) -> tuple[str, str]:
        return f"{(x - x0 + half) * scale:.1f}", f"{(y0 + half - y) * scale:.1f}"

    def px(x: float, y: float) -> str:
        return ",".join(xy(x, y))

    parts = []
    if roads is not None and len(roads):
        frame = shapely.box(x0 - half, y0 - half, x0 + half, y0 + half)
        near = roads.iloc[np.sort(roads.sindex.query(frame, predicate="intersects"))]
        named: set[str] = set()
        for geom, name in zip(near.geometry.intersection(frame), _road_labels(near), strict=True):
            for line in getattr(geom, "geoms", [geom]):
                if line.geom_type != "LineString" or line.is_empty:
                    continue
                points = " ".join(px(x, y) for x, y in line.coords)
                parts.append(
                    f'<polyline points="{points}" fill="none" stroke="#bbb" '
                    'stroke-width="5" stroke-linecap="round"/>'
                )
                if name and name not in named and line.length > half / 2:
                    named.add(name)
                    mid = line.interpolate(0.5, normalized=True)
                    tx, ty = xy(mid.x, mid.y)
                    parts.append(f'<text x="{tx}" y="{ty}" fill="#555">{escape(name)}</text>')
    for _, row in rows.iterrows():
        if np.isnan(row["easting"]):
            continue
        cx, cy = xy(row["easting"], row["northing"])
        colour = _SEVERITY_COLOURS.get(str(row["severity"]), "#777")
        letter = next((lt for col, lt in _USER_LETTERS if row.get(col) is True), "")
        parts.append(
            f'<circle class="collision {escape(str(row["severity"]))}" cx="{cx}" '
            f'cy="{cy}" r="6" fill="{colour}" fill-opacity="0.85" stroke="#fff"/>'
        )
        if letter:
            parts.append(
                f'<text x="{cx}" y="{cy}" dy="3" text-anchor="middle" fill="#fff">{letter}</text>'
            )
    bar = 20 * scale
    parts.append(
        f'<line x1="10" y1="{_PLAN_PX - 12}" x2="{10 + bar:.1f}" y2="{_PLAN_PX - 12}" '
        'stroke="#000" stroke-width="2"/>'
        f'<text x="10" y="{_PLAN_PX - 16}">20 m</text>'
        f'<text x="{_PLAN_PX - 14}" y="14">N</text>'
    )
    return (
        f'<svg class="plan" xmlns="http://www.w3.org/2000/svg" width="{_PLAN_PX}" '
        f'height="{_PLAN_PX}" viewBox="0 0 {_PLAN_PX} {_PLAN_PX}">' + "".join(parts) + "</svg>"
    )


def _road_labels(roads: gpd.GeoDataFrame) -> list[str]:
    """Return each road's label: its name, else its ref, else empty."""
    labels = []
    for col in ("name", "ref"):
        if col in roads.columns:
            labels.append(roads[col].astype("string").fillna(""))
    if not labels:
        return [""] * len(roads)
    out = labels[0]
    for more in labels[1:]:
        out = out.where(out != "", more)
    return [str(v) for v in out]


def _table(frame: pd.DataFrame, *, numeric: tuple[str, ...] = ()) -> str:
    """Return ``frame`` as an HTML table (text escaped, NA blank)."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    body = []
    for values in frame.itertuples(index=False):
        cells = []
        for col, value in zip(frame.columns, values, strict=True):
            text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else value
            cls = ' class="n"' if col in numeric else ""
            cells.append(f"<td{cls}>{escape(str(text))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _count_grid(
    rows: pd.Series, columns: pd.Series, index: Iterable[object], labels: Iterable[str]
) -> pd.DataFrame:
    """Return how often each (row, column) pair occurs, on a fixed index and columns."""
    pairs = Counter(zip(rows.tolist(), columns.tolist(), strict=True))
    index, labels = list(index), list(labels)
    grid = [[pairs.get((r, c), 0) for c in labels] for r in index]
    return pd.DataFrame(grid, index=pd.Index(index), columns=labels, dtype="int64")


def _year_counts(site: pd.Series, rows: pd.DataFrame, window: tuple[int, int]) -> pd.DataFrame:
    """Return collisions by year (rows) and severity (columns), with the previous window's."""
    years = pd.to_datetime(rows["date"]).dt.year
    table = _count_grid(years, rows["severity"], range(window[0], window[1] + 1), _SEVERITY_COLOURS)
    table["total"] = table.sum(axis=1)
    table = table.reset_index(names="year").astype({"year": str})
    previous = [c for c in site.index if str(c).startswith("previous_n_")]
    known = [c for c in previous if not pd.isna(site[c])]
    if known:
        text = "; ".join(f"{c[len('previous_n_') :]}: {int(site[c])}" for c in known)
        previous_row = {"year": f"previous window ({text})", "total": site["previous_total"]}
        table = pd.concat([table, pd.DataFrame([previous_row])], ignore_index=True)
    return table


def _time_grid(rows: pd.DataFrame) -> pd.DataFrame:
    """Return collisions by day of week (rows) and hour band (columns)."""
    hour = pd.to_numeric(rows["time"].astype("string").str.slice(0, 2), errors="coerce")
    band = pd.Series(pd.NA, index=rows.index, dtype="string")
    for low, high, label in _HOUR_BANDS:
        band[hour.between(low, high).fillna(False)] = label
    weekday = (
        rows["weekday"] if "weekday" in rows.columns else pd.to_datetime(rows["date"]).dt.day_name()
    )
    grid = _count_grid(weekday, band, _WEEKDAYS, [b[2] for b in _HOUR_BANDS])
    grid.index = [d[:3] for d in _WEEKDAYS]
    return grid.T.reset_index(names="hours")


def _listed(rows: pd.DataFrame) -> pd.DataFrame:
    """Return the collision list as printed: conditions in one cell, long locations cut."""
    conditions = [c for c in ("light", "weather", "surface") if c in rows.columns]
    parts = rows[conditions].astype("string") if conditions else pd.DataFrame(index=rows.index)
    joined = parts.apply(lambda r: ", ".join(v for v in r if isinstance(v, str)), axis=1)
    if not conditions:
        joined = pd.Series(pd.NA, index=rows.index, dtype="string")
    out = rows.assign(conditions=joined)
    if "location" in out.columns:
        text = out["location"].astype("string")
        cut = text.str.len() > _LOCATION_CHARS
        out["location"] = text.where(~cut, text.str.slice(0, _LOCATION_CHARS - 1) + "…")
    return out[[c for c in _LIST_COLUMNS if c in out.columns and out[c].notna().any()]]


def _flow_text(site: pd.Series) -> str:
    """Return the facts line's traffic-flow part ("" for junctions and runs with no counts)."""
    note = site.get("flow_note")
    if note is None or pd.isna(note) or site.get("site_type") == "junction":
        return ""
    rate = site.get("rate_per_mvkm")
    if rate is None or pd.isna(rate):
        return f" · no traffic-flow rate ({escape(str(note))})"
    return (
        f" · traffic flow (indicative): {float(rate):.2f} collisions per million vehicle-km, "
        f"AADT {float(site['aadt']):,.0f} ({escape(str(site['aadt_year']))}) at DfT count "
        f"point {escape(str(site['count_point_id']))}, {float(site['count_point_m']):.0f} m away"
    )


def _site_page(
    site: pd.Series,
    rows: pd.DataFrame,
    flagged: pd.DataFrame,
    roads: gpd.GeoDataFrame | None,
    window: tuple[int, int],
) -> str:
    """Return one site's ``<section>``."""
    sid = escape(str(site["site_id"]))
    facts = (
        f"{escape(str(site['site_type']))} · {int(site['total'])} injury collisions "
        f"({int(site['fatal'])} fatal, {int(site['serious'])} serious, "
        f"{int(site['slight'])} slight) · {escape(str(site['criterion']))} · "
        f"status {escape(str(site['status']))} · "
        f"cost £{float(site['cost_gbp']):,.0f} · score {int(site['score'])} · site id {sid}"
    )
    factors = (
        _table(
            flagged.assign(
                share=(flagged["share"] * 100).round().astype(int).astype(str) + "%",
                area_share=(flagged["area_share"] * 100).round().astype(int).astype(str) + "%",
                p_value=flagged["p_value"].map(lambda p: f"{p:.3f}"),
            )[["factor", "level", "count", "n", "share", "area_share", "p_value"]],
            numeric=("count", "n", "share", "area_share", "p_value"),
        )
        if len(flagged)
        else "<p>No factor over-represented (p &lt; 0.05 with 3 or more collisions).</p>"
    )
    listed = _listed(rows)
    back = escape(f"{MAP_FILE}#{quote(str(site['site_id']), safe='')}")
    return (
        f'<section class="site" id="{sid}"><h1>{int(site["rank"])}. '
        f'{escape(str(site["name"]))}</h1><div class="facts">{facts} · '
        f'<a class="map-link" href="{back}">show on the map</a>{_flow_text(site)}</div>'
        f'<div class="top">{_plan_svg(site, rows, roads)}<div>'
        f"<h2>Collisions by year and severity</h2>{_table(_year_counts(site, rows, window))}"
        f"<h2>Time of day x day of week</h2>{_table(_time_grid(rows))}</div></div>"
        f"<h2>Over-represented factors (against the whole area)</h2>{factors}"
        f'<h2>Collisions ({len(rows)})</h2><div class="list">{_table(listed)}</div>'
        "</section>"
    )


def site_dossier_html(
    sites: pd.DataFrame,
    collisions: pd.DataFrame,
    factors: pd.DataFrame,
    *,
    title: str,
    window: tuple[int, int],
    roads: gpd.GeoDataFrame | None = None,
    max_sites: int | None = DOSSIER_SITES,
) -> str:
    """Return the printable dossier of the cluster sites as one self-contained HTML page.

    Only the ``max_sites`` best-ranked sites get a page (None: every site); the first page then
    says so, since every site is in ``clusters.csv`` and ``clusters_collisions.csv``.

    Parameters
    ----------
    sites
        Ranked sites (``ClusterResult.sites``): ``site_id``, ``rank``, ``name``, ``site_type``,
        severity counts, ``total``, ``criterion``, ``status``, ``cost_gbp``, ``score``, ``x``,
        ``y`` and optionally ``previous_total`` / ``previous_n_<year>``; not modified.
    collisions
        The collision list (:func:`geo_sppa.roads.factors.site_collisions`).
    factors
        The factor table (:func:`geo_sppa.roads.factors.site_factors`); its
        ``over_represented`` rows are shown.
    title
        The page title.
    window
        First and last year of the window.
    roads
        Road lines in EPSG:27700 with ``name``/``ref`` to draw on the plans; None: no roads.
    max_sites
        How many sites, best-ranked first, get a page (default :data:`DOSSIER_SITES`).

    Returns
    -------
    str
        HTML with inline CSS and SVG only: no script, no remote resource. One ``section.site``
        per site, in rank order, each printed on its own A4 page.

    """
    by_site = {str(k): g for k, g in collisions.groupby(collisions["site_id"].astype(str))}
    flagged = factors[factors["over_represented"].astype(bool)] if len(factors) else factors
    flagged_by = {str(k): g for k, g in flagged.groupby(flagged["site_id"].astype(str))}
    empty_rows = collisions.iloc[0:0]
    empty_flags = flagged.iloc[0:0]
    paged = [
        (site, by_site.get(str(site["site_id"]), empty_rows))
        for _, site in sites.sort_values("rank").iloc[:max_sites].iterrows()
    ]
    near = _roads_near_plans(roads, [_plan_extent(site, rows) for site, rows in paged])
    pages = [
        _site_page(site, rows, flagged_by.get(str(site["site_id"]), empty_flags), near, window)
        for site, rows in paged
    ]
    note = dossier_note(len(sites), max_sites)
    body = (f'<p class="note">{escape(note)}</p>' if note else "") + (
        "".join(pages) or "<p>No cluster sites.</p>"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>"
    )


def dossier_note(n_sites: int, max_sites: int | None) -> str:
    """Return the note that the dossier covers only the top ``max_sites`` sites ("" when all)."""
    if max_sites is None or n_sites <= max_sites:
        return ""
    return (
        f"This dossier has a page for each of the top {max_sites:,} of {n_sites:,} sites by rank; "
        "every site is in clusters.csv and clusters_collisions.csv (--dossier-sites N for more)."
    )
