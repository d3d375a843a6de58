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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any
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


@dataclass(frozen=True)
class _Rows:
    """The dossier's collisions (of the paged sites), each column derived once for all pages.

    A page takes its rows by position; everything here is per row, so a page's slice is what
    the same derivation over that page's rows alone would give.
    """

    east: np.ndarray
    north: np.ndarray
    severity: Sequence[object]
    letter: list[str]
    year: Sequence[object]
    weekday: Sequence[object]
    band: Sequence[object]
    listed: list[tuple[str, np.ndarray, list[str]]]  # column, value known, its printed cell


def _cell(value: Any) -> str:
    """Return a table cell's escaped text (NA blank)."""
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else value
    return escape(str(text))


def _dossier_rows(rows: pd.DataFrame) -> _Rows:
    """Return the per-row facts of ``rows`` that the plans, counts and lists print."""
    letter = [""] * len(rows)
    for col, lt in reversed(_USER_LETTERS):  # the first road user named wins
        if col in rows.columns:
            flags = rows[col].to_numpy(dtype=object)
            letter = [lt if flag is True else was for flag, was in zip(flags, letter, strict=True)]
    listed = _listed(rows)
    return _Rows(
        east=rows["easting"].to_numpy(float),
        north=rows["northing"].to_numpy(float),
        severity=rows["severity"].tolist(),
        letter=letter,
        year=pd.to_datetime(rows["date"]).dt.year.tolist(),
        weekday=(
            rows["weekday"]
            if "weekday" in rows.columns
            else pd.to_datetime(rows["date"]).dt.day_name()
        ).tolist(),
        band=_hour_bands(rows).tolist(),
        listed=[
            (c, listed[c].notna().to_numpy(), [_cell(v) for v in listed[c]])
            for c in _LIST_COLUMNS
            if c in listed.columns
        ],
    )


def _plan_extent(
    site: pd.Series, east: np.ndarray, north: np.ndarray
) -> tuple[float, float, float]:
    """Return the plan's centre and half-width (m): the site, its collisions and 20 m around."""
    x0, y0 = float(site["x"]), float(site["y"])
    reach = np.nanmax(np.hypot(east - x0, north - y0), initial=0.0)
    return x0, y0, max(60.0, float(reach) + 20.0)


class _Roads:
    """The roads the plans draw: geometries, labels and a spatial index, prepared once."""

    def __init__(self, roads: gpd.GeoDataFrame) -> None:
        self.geoms = np.asarray(roads.geometry.values, dtype=object)
        self.labels = _road_labels(roads)
        self.tree = shapely.STRtree(self.geoms)


def _roads_near_plans(
    roads: gpd.GeoDataFrame | None, extents: list[tuple[float, float, float]]
) -> _Roads | None:
    """Return the roads that cross any plan, found with a tree of the few plans, not the roads."""
    if roads is None or not len(roads) or not extents:
        return None
    boxes = [shapely.box(x - h, y - h, x + h, y + h) for x, y, h in extents]
    hits = shapely.STRtree(boxes).query(roads.geometry.to_numpy(), predicate="intersects")[0]
    return _Roads(roads.iloc[np.unique(hits)]) if len(hits) else None


def _road_lines(roads: _Roads | None, x0: float, y0: float, half: float) -> list[str]:
    """Return the plan's road polylines and names (north up, ``_PLAN_PX`` across)."""
    if roads is None:
        return []
    scale = _PLAN_PX / (2 * half)
    frame = shapely.box(x0 - half, y0 - half, x0 + half, y0 + half)
    near = np.sort(roads.tree.query(frame, predicate="intersects"))
    parts, named = [], set()
    for geom, name in zip(
        shapely.intersection(roads.geoms[near], frame), [roads.labels[i] for i in near], strict=True
    ):
        for line in getattr(geom, "geoms", [geom]):
            if line.geom_type != "LineString" or line.is_empty:
                continue
            xy = shapely.get_coordinates(line)
            xs = ((xy[:, 0] - x0 + half) * scale).tolist()
            ys = ((y0 + half - xy[:, 1]) * scale).tolist()
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="#bbb" '
                'stroke-width="5" stroke-linecap="round"/>'
            )
            if name and name not in named and line.length > half / 2:
                named.add(name)
                mid = line.interpolate(0.5, normalized=True)
                tx, ty = (mid.x - x0 + half) * scale, (y0 + half - mid.y) * scale
                parts.append(f'<text x="{tx:.1f}" y="{ty:.1f}" fill="#555">{escape(name)}</text>')
    return parts


def _plan_svg(site: pd.Series, rows: _Rows, at: np.ndarray, roads: _Roads | None) -> str:
    """Return the site plan: roads with names and the collisions, north up, with a scale bar."""
    x0, y0, half = _plan_extent(site, rows.east[at], rows.north[at])
    scale = _PLAN_PX / (2 * half)
    parts = _road_lines(roads, x0, y0, half)
    for i in at.tolist():
        east, north = float(rows.east[i]), float(rows.north[i])
        if np.isnan(east):
            continue
        cx, cy = f"{(east - x0 + half) * scale:.1f}", f"{(y0 + half - north) * scale:.1f}"
        severity = str(rows.severity[i])
        colour = _SEVERITY_COLOURS.get(severity, "#777")
        parts.append(
            f'<circle class="collision {escape(severity)}" cx="{cx}" '
            f'cy="{cy}" r="6" fill="{colour}" fill-opacity="0.85" stroke="#fff"/>'
        )
        if rows.letter[i]:
            parts.append(
                f'<text x="{cx}" y="{cy}" dy="3" text-anchor="middle" fill="#fff">'
                f"{rows.letter[i]}</text>"
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


def _table(head: Iterable[str], body: Iterable[Iterable[str]], *, numeric: int = 0) -> str:
    """Return an HTML table: ``head``, then ``body`` (escaped; the last ``numeric`` at right)."""
    heads = list(head)
    plain = len(heads) - numeric
    tags = ["<td>"] * plain + ['<td class="n">'] * numeric
    cells = "".join(
        "<tr>" + "".join(f"{tag}{text}</td>" for tag, text in zip(tags, row, strict=True)) + "</tr>"
        for row in body
    )
    return "<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in heads) + f"</tr>{cells}</table>"


def _year_counts(site: pd.Series, rows: _Rows, at: np.ndarray, window: tuple[int, int]) -> str:
    """Return collisions by year (rows) and severity (columns), with the previous window's."""
    pairs = Counter((rows.year[i], rows.severity[i]) for i in at.tolist())
    previous = [c for c in site.index if str(c).startswith("previous_n_")]
    known = [c for c in previous if not pd.isna(site[c])]
    body = []
    for year in range(window[0], window[1] + 1):
        counts = [pairs.get((year, s), 0) for s in _SEVERITY_COLOURS]
        body.append([str(year), *(str(n) for n in counts), str(sum(counts))])
    if known:
        text = "; ".join(f"{c[len('previous_n_') :]}: {int(site[c])}" for c in known)
        body.append(
            [escape(f"previous window ({text})"), "", "", "", _cell(site["previous_total"])]
        )
    return _table(["year", *_SEVERITY_COLOURS, "total"], body)


def _hour_bands(rows: pd.DataFrame) -> pd.Series:
    """Return each collision's hour band label (NA where the time is unknown)."""
    hour = pd.to_numeric(rows["time"].astype("string").str.slice(0, 2), errors="coerce")
    band = pd.Series(pd.NA, index=rows.index, dtype="string")
    for low, high, label in _HOUR_BANDS:
        band[hour.between(low, high).fillna(False)] = label
    return band


def _time_grid(rows: _Rows, at: np.ndarray) -> str:
    """Return collisions by hour band (rows) and day of week (columns)."""
    pairs = Counter((rows.weekday[i], rows.band[i]) for i in at.tolist())
    body = [
        [label, *(str(pairs.get((day, label), 0)) for day in _WEEKDAYS)]
        for _, _, label in _HOUR_BANDS
    ]
    return _table(["hours", *(d[:3] for d in _WEEKDAYS)], body)


def _listed(rows: pd.DataFrame) -> pd.DataFrame:
    """Return the collision list as printed: conditions in one cell, long locations cut."""
    conditions = [c for c in ("light", "weather", "surface") if c in rows.columns]
    if conditions and len(rows):
        parts = rows[conditions].astype("string")
        joined = parts.apply(lambda r: ", ".join(v for v in r if isinstance(v, str)), axis=1)
    else:
        joined = pd.Series(pd.NA, index=rows.index, dtype="string")
    out = rows.assign(conditions=joined)
    if "location" in out.columns:
        text = out["location"].astype("string")
        cut = text.str.len() > _LOCATION_CHARS
        out["location"] = text.where(~cut, text.str.slice(0, _LOCATION_CHARS - 1) + "…")
    return out[[c for c in _LIST_COLUMNS if c in out.columns]]


def _list_table(rows: _Rows, at: np.ndarray) -> str:
    """Return the collision list: the columns with a value at this site."""
    shown = [(c, cells) for c, known, cells in rows.listed if known[at].any()]
    return _table([c for c, _ in shown], ([cells[i] for _, cells in shown] for i in at.tolist()))


def _factor_rows(flagged: pd.DataFrame) -> dict[str, list[list[str]]]:
    """Return each site's over-represented factor rows, as printed cells."""
    printed = pd.DataFrame(
        {
            "factor": flagged["factor"],
            "level": flagged["level"],
            "count": flagged["count"],
            "n": flagged["n"],
            "share": (flagged["share"] * 100).round().astype(int).astype(str) + "%",
            "area_share": (flagged["area_share"] * 100).round().astype(int).astype(str) + "%",
            "p_value": flagged["p_value"].map(lambda p: f"{p:.3f}"),
        }
    )
    out: dict[str, list[list[str]]] = {}
    keys = flagged["site_id"].astype(str).tolist()
    for key, values in zip(keys, printed.itertuples(index=False), strict=True):
        out.setdefault(key, []).append([_cell(v) for v in values])
    return out


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
    rows: _Rows,
    at: np.ndarray,
    flagged: list[list[str]] | None,
    roads: _Roads | None,
    window: tuple[int, int],
) -> str:
    """Return one site's ``<section>``: ``rows`` at positions ``at`` are its collisions."""
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
            ["factor", "level", "count", "n", "share", "area_share", "p_value"], flagged, numeric=5
        )  # fmt: skip
        if flagged
        else "<p>No factor over-represented (p &lt; 0.05 with 3 or more collisions).</p>"
    )
    back = escape(f"{MAP_FILE}#{quote(str(site['site_id']), safe='')}")
    return (
        f'<section class="site" id="{sid}"><h1>{int(site["rank"])}. '
        f'{escape(str(site["name"]))}</h1><div class="facts">{facts} · '
        f'<a class="map-link" href="{back}">show on the map</a>{_flow_text(site)}</div>'
        f'<div class="top">{_plan_svg(site, rows, at, roads)}<div>'
        f"<h2>Collisions by year and severity</h2>{_year_counts(site, rows, at, window)}"
        f"<h2>Time of day x day of week</h2>{_time_grid(rows, at)}</div></div>"
        f"<h2>Over-represented factors (against the whole area)</h2>{factors}"
        f'<h2>Collisions ({len(at)})</h2><div class="list">{_list_table(rows, at)}</div>'
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
    ranked = [site for _, site in sites.sort_values("rank").iloc[:max_sites].iterrows()]
    # Only the paged sites' collisions, derived once: not a pandas group per site.
    keys = collisions["site_id"].astype(str)
    wanted = keys.isin([str(site["site_id"]) for site in ranked]).to_numpy(bool)
    rows = _dossier_rows(collisions[wanted])
    at_site: dict[str, list[int]] = {}
    for i, key in enumerate(keys[wanted].tolist()):
        at_site.setdefault(key, []).append(i)
    paged = [(site, np.array(at_site.get(str(site["site_id"]), []), dtype=np.intp))
             for site in ranked]  # fmt: skip
    flagged = factors[factors["over_represented"].astype(bool)] if len(factors) else factors
    flagged_by = _factor_rows(flagged)
    extents = [_plan_extent(site, rows.east[at], rows.north[at]) for site, at in paged]
    near = _roads_near_plans(roads, extents)
    pages = [
        _site_page(site, rows, at, flagged_by.get(str(site["site_id"])), near, window)
        for site, at in paged
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
