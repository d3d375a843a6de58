"""The strategic assessment drawn: its maps and charts, assembled for the HTML report.

:func:`report_inputs` turns a :class:`geo_sppa.assessment.pipeline.StrategicAssessment` into the
:class:`geo_sppa.render.report_html.ReportInputs` the page is written from; :func:`report_html`
does both steps.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
from matplotlib.figure import Figure

from geo_sppa.errors import GeoSppaError
from geo_sppa.render.charts import (
    cost_chart,
    funnel_chart,
    outlier_scatter,
    risk_chart,
    trend_charts,
)
from geo_sppa.render.cluster_map import cluster_map
from geo_sppa.render.report_html import ReportInputs, assessment_report
from geo_sppa.render.ward_map import ward_map
from geo_sppa.render.web_map import self_contained_html
from geo_sppa.wards.funnel import Overdispersion
from geo_sppa.wards.measures import imd_edition, measure_name

if TYPE_CHECKING:
    from geo_sppa.assessment.pipeline import StrategicAssessment, WardOutliers

__all__ = [
    "TREND_CAPTIONS",
    "chromium_executable",
    "report_html",
    "report_inputs",
    "report_pdf",
    "require_pdf_printer",
]

#: Trend chart file name -> its caption in the report (`` (* partial year)`` added when one is).
TREND_CAPTIONS = {
    "trends_by_year.png": "Collisions by year and severity",
    "trends_rolling.png": "Monthly collisions and the rolling 12-month count and rate",
    "trends_seasonality.png": "Seasonality: collisions by month of year",
    "trends_road_users.png": "Collisions by road user involved",
}


def _cluster_page(a: StrategicAssessment) -> str:
    """Return the self-contained cluster map of the assessment (no tiles: it opens offline)."""
    clusters = a.clusters
    fmap = cluster_map(
        clusters.sites,
        a.cluster_collisions,
        roads=a.context_roads,
        wards=a.ward_boundaries,
        tiles=None,
        radius_m=clusters.rule.radius_m if clusters.mode == "radius" else None,
        title=f"Accident cluster sites {clusters.window[0]}-{clusters.window[1]}",
    )
    return self_contained_html(fmap)


def _outlier_title(o: WardOutliers) -> str:
    """Return the ward title: category, unit, period and the deprivation measure in words."""
    period = f"{o.months[0]} to {o.months[-1]} ({len(o.months)} months)" if o.months else ""
    measure = measure_name(o.measure, imd_edition(o.imd_label))
    return f"{o.category} per 1,000 residents, {period}: wards against {measure}"


def _outlier_charts(o: WardOutliers) -> dict[str, Figure]:
    """Return ``{caption: Figure}``: the deprivation scatter and the funnel plot."""
    frame, od = o.report.data, o.report.overdispersion
    assert isinstance(od, Overdispersion)  # OutlierReport types the field loosely
    return {
        f"{o.category}: rate per 1,000 against {o.measure}": outlier_scatter(
            frame, o.report.fit, title=_outlier_title(o), source=o.source
        ),
        f"{o.category}: funnel plot": funnel_chart(
            frame, od, title=f"{o.category}: funnel plot", source=o.source
        ),
    }


def _ward_page(o: WardOutliers) -> str:
    """Return the self-contained ward map: outlier labels first, then deprivation and rates."""
    frame = o.report.data
    assert isinstance(frame, gpd.GeoDataFrame)  # the outlier table keeps the ward geometry
    rate = "rate_per_1000_per_year" if "rate_per_1000_per_year" in frame else "rate_per_1000"
    layers = tuple(c for c in ("label", o.measure, rate, "hotspot") if c in frame)
    page = ward_map(
        frame,
        layers=layers,
        title=_outlier_title(o),
        tiles=None,
        category=o.category,
        months=o.months,
    )
    return self_contained_html(page)


def _trend_charts(a: StrategicAssessment) -> dict[str, Figure]:
    """Return ``{caption: Figure}`` of the trend charts, each with its source line."""
    partial = " (* partial year)" if a.trends.by_year["partial"].any() else ""
    return {
        TREND_CAPTIONS[name] + (partial if name == "trends_by_year.png" else ""): figure
        for name, figure in trend_charts(a.trends, source=a.sources["trends"]).items()
    }


def report_inputs(
    a: StrategicAssessment,
    *,
    generated: date | None = None,
    full_list: str = "",
    set_aside_file: str = "",
) -> ReportInputs:
    """Return the report's contents: the assessment's results with their maps and charts drawn.

    Parameters
    ----------
    a
        :func:`geo_sppa.assessment.pipeline.strategic_assessment` result.
    generated
        Date shown in the header (default: today).
    full_list
        Name of the file holding every cluster site, when the caller writes one.
    set_aside_file
        Name of the file listing every record set aside, when the caller writes one.
    """
    o = a.outliers
    when = generated or date.today()
    return ReportInputs(
        title=a.title,
        area=a.area_title,
        clusters=a.clusters,
        cluster_map_html=_cluster_page(a),
        outliers=o.report if o else None,
        outlier_charts=_outlier_charts(o) if o else {},
        ward_map_html=_ward_page(o) if o else None,
        trends=a.trends,
        trend_charts=_trend_charts(a),
        costs=a.costs,
        cost_chart=cost_chart(a.costs, source=a.sources["costs"]),
        risk=a.risk,
        risk_chart=risk_chart(a.risk, threshold=a.risk_threshold, source=a.sources["risk"])
        if a.risk is not None
        else None,
        risk_threshold=a.risk_threshold,
        risk_missing=a.risk_missing,
        sources=a.sources,
        road_period=a.road_period,
        crime_period=a.crime_period,
        generated=f"generated {when:%d %B %Y} by geo-sppa",
        road_months=len(a.trends.monthly),
        cluster_coverage=a.cluster_coverage,
        full_list=full_list,
        suppress_below=o.suppress_below if o else None,
        recommendations=tuple(a.recommendations),
        set_aside_counts=a.set_aside_counts(),
        set_aside_file=set_aside_file,
        schemes=a.schemes.result if a.schemes else None,
    )


def report_html(a: StrategicAssessment) -> str:
    """Return the assessment as one self-contained HTML page (see :func:`report_inputs`)."""
    return assessment_report(report_inputs(a))


_INSTALL = (
    "install it with `apt-get install -y chromium` and `pip install playwright` (or set "
    "GEO_SPPA_CHROMIUM to a Chromium executable), or leave out --pdf"
)


def chromium_executable() -> str | None:
    """Return the Chromium that prints the PDF: ``$GEO_SPPA_CHROMIUM``, /usr/bin/chromium, PATH."""
    for candidate in (os.environ.get("GEO_SPPA_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def require_pdf_printer() -> str:
    """Return the Chromium executable that prints PDFs, or raise saying how to install it.

    Raises
    ------
    GeoSppaError
        Playwright or Chromium is missing (the message says how to install them).
    """
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise GeoSppaError(f"--pdf needs the Python package playwright: {_INSTALL}") from None
    executable = chromium_executable()
    if executable is None:
        raise GeoSppaError(f"--pdf needs headless Chromium (none found): {_INSTALL}")
    return executable


def report_pdf(page: str, *, settle_ms: int = 1500) -> bytes:
    """Return the report page printed to PDF by headless Chromium (A4, the page's print CSS).

    The page is loaded with every network request refused (it needs none), given ``settle_ms``
    for the embedded maps to draw, then printed with backgrounds, one section per page.

    Raises
    ------
    GeoSppaError
        Playwright or Chromium is missing (the message says how to install them).
    """
    executable = require_pdf_printer()
    # In a thread of its own: Playwright's sync API refuses to run inside a running event loop
    # (a notebook, or a caller already driving a browser).
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_printed, page, executable, settle_ms).result()


def _printed(page: str, executable: str, settle_ms: int) -> bytes:
    """Return ``page`` printed to A4 PDF by the Chromium at ``executable``, offline."""
    from playwright.sync_api import sync_playwright

    switches = ("headless", "no-sandbox", "disable-gpu", "no-first-run",
                "disable-background-networking", "disable-component-update")  # fmt: skip
    args = ["-" * 2 + switch for switch in switches]  # Chromium's, not geo-sppa options
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=args)
        try:
            tab = browser.new_page()
            tab.route("**/*", lambda route: route.abort())
            tab.set_content(page, wait_until="load")
            tab.wait_for_timeout(settle_ms)
            return tab.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            browser.close()
