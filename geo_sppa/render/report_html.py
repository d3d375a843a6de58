"""The strategic assessment as one self-contained HTML page.

Every script and stylesheet is inline, charts are PNG ``data:`` URIs and the folium maps (already
self-contained, :func:`geo_sppa.render.web_map.self_contained_html`) are embedded as
``<iframe srcdoc>`` with their HTML escaped, so the file opens offline from an email. All text
that comes from data (site and ward names, themes, categories, file names) is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from geo_sppa.render.report_markup import REPORT_CSS as _CSS
from geo_sppa.render.report_markup import Chart, figure_data_uri
from geo_sppa.render.report_markup import chart_figure as _img
from geo_sppa.render.report_markup import count_text as _count
from geo_sppa.render.report_markup import escape as _e
from geo_sppa.render.report_markup import html_table as _table
from geo_sppa.render.report_markup import map_iframe as _iframe
from geo_sppa.render.report_markup import money as _money
from geo_sppa.render.report_markup import pounds as _pounds
from geo_sppa.render.report_recommendations import recommendations_section
from geo_sppa.render.report_schemes import SCHEMES_TITLE, scheme_points, schemes_section

if TYPE_CHECKING:
    from geo_sppa.assessment.crime_costs import CostResult
    from geo_sppa.assessment.recommendations import Recommendation
    from geo_sppa.assessment.trends import TrendResult
    from geo_sppa.evaluation.schemes import SchemeEvaluation
    from geo_sppa.roads.clusters import ClusterResult
    from geo_sppa.wards.outliers import OutlierReport

__all__ = [
    "ATTRIBUTION",
    "ReportInputs",
    "SECTIONS",
    "SECTION_TITLES",
    "SCHEMES_SECTION",
    "report_sections",
    "figure_data_uri",
    "executive_summary",
    "assessment_report",
]


#: Section ids, in page order (each is an ``<section id=...>``).
SECTIONS = (
    "summary",
    "clusters",
    "outliers",
    "trends",
    "costs",
    "risk",
    "recommendations",
    "set_aside",
)

#: The optional section (only with a treated-sites file), placed before the recommendations.
SCHEMES_SECTION = "schemes"

#: Section id -> its title (the ``<h2>``; the PDF test finds them in the printed text).
SECTION_TITLES = {
    "summary": "Executive summary",
    "clusters": "Accident cluster sites",
    "outliers": "Ward outliers",
    "trends": "Road collision trends",
    "costs": "Costs",
    "risk": "Partnership risk matrix",
    "recommendations": "Recommendations",
    "set_aside": "Records set aside",
    SCHEMES_SECTION: SCHEMES_TITLE,
}

#: The credit every dataset the report may draw requires, shown in the page footer.
ATTRIBUTION = (
    "Roads: \u00a9 OpenStreetMap contributors, available under the Open Database Licence (ODbL), "
    "openstreetmap.org/copyright.",
    "Ward, LSOA and study-area boundaries: Office for National Statistics; contains OS data "
    "\u00a9 Crown copyright and database right; source: Office for National Statistics licensed "
    "under the Open Government Licence v3.0.",
    "Road collisions: Department for Transport STATS19 (and Cambridgeshire Insight), "
    "\u00a9 Crown copyright, Open Government Licence v3.0.",
    "Recorded crime and anti-social behaviour: police.uk, \u00a9 Crown copyright, "
    "Open Government Licence v3.0.",
    "Deprivation (IMD) and population: Ministry of Housing, Communities and Local Government and "
    "ONS, \u00a9 Crown copyright, Open Government Licence v3.0.",
    "Risk matrix: the partnership's own scores (the bundled 2012 matrix: Safer Peterborough "
    "Partnership, Open Government Licence v3.0).",
)


@dataclass(frozen=True)
class ReportInputs:
    """The results a report assembles; any may be None (the section then says it is missing).

    Attributes
    ----------
    title, area
        Page title and the study area's name.
    clusters
        :class:`geo_sppa.roads.clusters.ClusterResult`; ``cluster_map_html`` its self-contained map.
    outliers
        :class:`geo_sppa.wards.outliers.OutlierReport`; ``outlier_charts`` ``{caption: Figure or PNG
        bytes}`` (scatter, funnel); ``ward_map_html`` the ward map.
    trends
        :class:`geo_sppa.assessment.trends.TrendResult`; ``trend_charts`` ``{caption: Figure or
        bytes}``.
    costs
        :class:`geo_sppa.assessment.crime_costs.CostResult`; ``cost_chart`` a Figure or bytes.
    risk
        :func:`geo_sppa.assessment.risk.risk_matrix` frame; ``risk_chart`` a Figure or bytes;
        ``risk_threshold`` the priority threshold; ``risk_missing`` why there is none and how
        to give one (shown instead of the matrix, never another area's).
    sources
        Section id -> one line saying which data and years the section used.
    road_period
        The dates the collision costs cover, e.g. ``01 Jan 2012 to 31 Oct 2017``.
    crime_period
        The months the crime counts cover, e.g. ``7 months, 2018-10 to 2021-01``.
    road_months
        Months the road costs cover (for the cost a year; 0: not stated).
    cluster_coverage
        A note when the cluster window runs past the data ('' when covered): no site is then
        called resolved.
    cluster_rows
        Sites listed in the cluster table (the rest are counted and named in ``full_list``).
    full_list
        File holding every cluster site ('' when none was written).
    suppress_below
        Ward counts from 1 to this minus one are shown as ``<N`` (None: shown as they are).
    recommendations
        :class:`geo_sppa.assessment.recommendations.Recommendation` records, in order.
    set_aside_counts
        One row per input: ``input, file, read, used, set_aside, reasons`` (None: not stated);
        ``set_aside_file`` the CSV listing every record set aside ('' when none was written).
    schemes
        :class:`geo_sppa.evaluation.schemes.SchemeEvaluation` of the treated sites (None: no
        "Effect of schemes" section, and nothing said about it).
    """

    title: str = "Strategic assessment"
    area: str = ""
    clusters: ClusterResult | None = None
    cluster_map_html: str | None = None
    outliers: OutlierReport | None = None
    outlier_charts: Mapping[str, Chart] = field(default_factory=dict)
    ward_map_html: str | None = None
    trends: TrendResult | None = None
    trend_charts: Mapping[str, Chart] = field(default_factory=dict)
    costs: CostResult | None = None
    cost_chart: Chart | None = None
    risk: pd.DataFrame | None = None
    risk_chart: Chart | None = None
    risk_threshold: float | None = None
    risk_missing: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)
    road_period: str = ""
    crime_period: str = ""
    generated: str = ""
    road_months: int = 0
    cluster_coverage: str = ""
    cluster_rows: int = 20
    full_list: str = ""
    suppress_below: int | None = None
    recommendations: Sequence[Recommendation] = ()
    set_aside_counts: pd.DataFrame | None = None
    set_aside_file: str = ""
    schemes: SchemeEvaluation | None = None


def _flagged(outliers: OutlierReport) -> pd.DataFrame:
    data = outliers.data
    return data[data["label"].astype("string").fillna("") != ""]


def _cluster_points(clusters: ClusterResult, coverage: str = "") -> list[str]:
    sites = clusters.sites
    window = f"{clusters.window[0]}-{clusters.window[1]}"
    if coverage:
        window += f" ({coverage[0].lower()}{coverage[1:]}; no site called resolved)"
    if not len(sites):
        return [f"No accident cluster sites in {window}."]
    top = "; ".join(
        f"{r['name']} ({int(r['total'])} collisions)" for _, r in sites.head(3).iterrows()
    )
    return [
        f"{len(sites)} accident cluster sites in {window}; the top three by casualty cost: {top}."
    ]


def _outlier_points(outliers: OutlierReport) -> list[str]:
    flagged = _flagged(outliers)
    if not len(flagged):
        return ["No ward is outside its deprivation-based prediction interval."]
    words = {
        "over": "more incidents than deprivation predicts",
        "under": "fewer than deprivation predicts",
    }
    names = "; ".join(
        f"{r['ward_name']} ({words.get(r.get('direction', ''), r['label'])})"
        for _, r in flagged.iterrows()
    )
    return [f"{len(flagged)} wards flagged against deprivation: {names}."]


def _trend_points(t: TrendResult) -> list[str]:
    partial = t.by_year[t.by_year["partial"]]
    extra = f" ({'; '.join(partial['label'])} not compared)" if len(partial) else ""
    points = [f"Road collisions: {t.direction}{extra}."]
    latest = t.monthly.dropna(subset=["rolling_12"]).tail(1)
    if len(latest) and t.population:
        row = latest.iloc[0]
        points.append(
            f"Rolling 12 months to {row['month']}: {int(row['rolling_12'])} injury collisions, "
            f"{row['rolling_12_rate_per_1000']:.2f} per 1,000 residents."
        )
    return points


def _crime_price_years(c: CostResult) -> str:
    if c.crime is None:
        return ""
    costed = c.crime.dropna(subset=["cost_gbp"])
    return " and ".join(sorted(set(costed["price_year"].astype(str)))) or "not stated"


def _cost_points(c: CostResult, inputs: ReportInputs) -> list[str]:
    """Return the cost bullets: each names its period and price year; never set side by side."""
    points = []
    road_price = ""
    if c.road is not None:
        total = c.road.iloc[-1]
        road_price = str(int(total["price_year"]))
        since = f" from {inputs.road_period}" if inputs.road_period else ""
        months = inputs.road_months
        span = f"{months // 12} years" if months % 12 == 0 else f"{months} months"
        yearly = f"; {_money(total['cost_gbp'] * 12 / months)} a year over {span}" if months else ""
        points.append(
            f"Road collisions{since} cost {_money(total['cost_gbp'])} at {road_price} prices "
            f"({int(total['collisions']):,} collisions{yearly})."
        )
    if c.crime is not None:
        costed = c.crime.dropna(subset=["cost_gbp"])
        period = f" over {inputs.crime_period}" if inputs.crime_period else ""
        crime_price = _crime_price_years(c)
        apart = (
            f" Not comparable with the road figure (different period and price year: "
            f"{road_price} against {crime_price}); do not add them."
            if road_price and crime_price != road_price
            else " Not comparable with the road figure (different period); do not add them."
            if road_price
            else ""
        )
        points.append(
            f"Recorded crime cost {_money(costed['cost_gbp'].sum())}{period} at {crime_price} "
            f"prices ({int(costed['count'].sum()):,} costed incidents; indicative: police.uk "
            f"categories mapped to Home Office unit costs).{apart}"
        )
    return points


def executive_summary(inputs: ReportInputs) -> list[str]:
    """Return the executive summary as plain-text bullet points generated from the results."""
    points: list[str] = []
    if inputs.clusters is not None:
        points += _cluster_points(inputs.clusters, inputs.cluster_coverage)
    if inputs.outliers is not None:
        points += _outlier_points(inputs.outliers)
    if inputs.trends is not None:
        points += _trend_points(inputs.trends)
    if inputs.costs is not None:
        points += _cost_points(inputs.costs, inputs)
    if inputs.risk is None and inputs.risk_missing:
        points.append(f"Risks: no risk matrix: {inputs.risk_missing}.")
    if inputs.schemes is not None:
        points.append(f"Effect of schemes: {scheme_points(inputs.schemes)[0]}")
    if inputs.recommendations:
        kinds = "; ".join(f"{r.kind} ({len(r.subjects) or 'area'})" for r in inputs.recommendations)
        n = len(inputs.recommendations)
        points.append(
            f"{n} suggestion{'s' if n != 1 else ''} for the partnership to weigh: {kinds} "
            "(see Recommendations)."
        )
    if inputs.risk is not None:
        risks = inputs.risk.head(3)
        points.append(
            "Top risks: "
            + "; ".join(f"{r['theme']} (risk {r['risk']:g})" for _, r in risks.iterrows())
            + "."
        )
    return points


def _data_line(inputs: ReportInputs, key: str) -> str:
    text = inputs.sources.get(key)
    return f'<p class="data">Data: {_e(text)}</p>' if text else ""


def _missing(what: str) -> str:
    return f'<p class="note">No {_e(what)} for this report.</p>'


_SITE_COLUMNS = {
    "rank": "Rank",
    "name": "Site",
    "site_type": "Type",
    "fatal": "Fatal",
    "serious": "Serious",
    "slight": "Slight",
    "total": "Total",
    "cost_gbp": "Cost",
    "status": "Status",
}


def _shown_sites(inputs: ReportInputs, sites: pd.DataFrame) -> str:
    """Return the table of the top ``cluster_rows`` sites, saying so when some are left out."""
    shown = sites.head(inputs.cluster_rows)
    table = _table(shown, _SITE_COLUMNS, formats={"cost_gbp": _money, "rank": "g"})
    if len(shown) == len(sites):
        return f"<p>All {len(sites)} sites, ranked by casualty cost:</p>{table}"
    where = f"; all {len(sites)} are in {_e(inputs.full_list)}" if inputs.full_list else ""
    return f"<p>Top {len(shown)} of {len(sites)} sites by casualty cost{where}:</p>{table}"


def _resolved_sites(inputs: ReportInputs, resolved: pd.DataFrame) -> str:
    """Return the previous window's sites no longer meeting the rule (none if data are missing)."""
    if inputs.cluster_coverage:
        return (
            f'<p class="note">{_e(inputs.cluster_coverage)}. {len(resolved)} sites of the '
            "previous window are not listed as resolved: missing months cannot resolve a site. "
            "Choose a window the data cover (--years).</p>"
        )
    clusters = inputs.clusters
    if clusters is not None and any(n.startswith("No previous window") for n in clusters.notes):
        return "<p>No previous window in the data, so no site can be called resolved.</p>"
    if not len(resolved):
        return "<p>No site of the previous window has dropped below the rule (none resolved).</p>"
    columns = {"name": "Site", "site_type": "Type", "total": "Collisions now"}
    if "previous_total" in resolved.columns:
        columns["previous_total"] = "Collisions in the previous window"
    return (
        f"<h3>Resolved sites</h3><p>{len(resolved)} sites of the previous window no longer meet "
        f"the rule:</p>{_table(resolved, columns, formats={'total': 'g'})}"
    )


def _clusters_section(inputs: ReportInputs) -> str:
    c = inputs.clusters
    if c is None:
        return _missing("cluster sites")
    sites = c.sites
    body = [
        f"<p>{len(sites)} sites meet the rule ({_e(c.rule.summary(c.mode))}) in "
        f"{c.window[0]}-{c.window[1]}; {_e(c.mode)} mode. {_e(c.cost_table)}.</p>"
    ]
    if len(sites):
        body.append(_shown_sites(inputs, sites))
    body.append(_resolved_sites(inputs, c.resolved))
    if inputs.cluster_map_html:
        body.append(_iframe(inputs.cluster_map_html, "Cluster sites map"))
    return "".join(body)


def _outliers_section(inputs: ReportInputs) -> str:
    o = inputs.outliers
    if o is None:
        return _missing("ward outliers")
    flagged = _flagged(o)
    if inputs.suppress_below and "suppressed" not in flagged.columns:
        from geo_sppa.wards.disclosure import suppress_small_counts

        flagged = suppress_small_counts(flagged, threshold=inputs.suppress_below)
    body = [
        f"<p>{len(flagged)} of {len(o.data)} wards are outside their 95% leave-one-out "
        f"prediction interval (model: {_e(o.fit.model)}).</p>"
    ]
    if len(flagged):
        cols = {
            "ward_name": "Ward",
            "observed": "Observed",
            "expected": "Expected",
            "label": "Flag",
        }
        if "funnel" in flagged.columns:
            cols["funnel"] = "Funnel"
        body.append(_table(flagged, cols, formats={"expected": ".1f", "observed": _count}))
    body += [_img(fig, caption) for caption, fig in inputs.outlier_charts.items()]
    if inputs.ward_map_html:
        body.append(_iframe(inputs.ward_map_html, "Ward outliers map"))
    return "".join(body)


def _trends_section(inputs: ReportInputs) -> str:
    t = inputs.trends
    if t is None:
        return _missing("trends")
    pct = lambda v: f"{v:+.1f}%"  # noqa: E731
    cols = {
        "label": "Year",
        "fatal": "Fatal",
        "serious": "Serious",
        "slight": "Slight",
        "ksi": "KSI",
        "total": "Total",
        "ksi_change_pct": "KSI change",
        "total_change_pct": "Change",
    }
    body = [
        f"<p>Baseline year {_e(t.baseline_year)}; period {t.start:%d %b %Y} to {t.end:%d %b %Y}. "
        "Partial years are labelled and not compared.</p>",
        _table(t.by_year, cols, formats={"ksi_change_pct": pct, "total_change_pct": pct}),
    ]
    season = t.seasonality
    above = ", ".join(season.loc[season["above_average"], "name"])
    body.append(f"<p>Months above the average month: {_e(above or 'none')}.</p>")
    if t.road_users is not None:
        users = [
            c
            for c in ("pedestrian", "cyclist", "motorcyclist", "child")
            if c in t.road_users.columns
        ]
        body.append(
            _table(t.road_users, {"label": "Year", **{u: f"{u.title()} collisions" for u in users}})
        )
    body += [_img(fig, caption) for caption, fig in inputs.trend_charts.items()]
    body += [f'<p class="note">{_e(n)}</p>' for n in t.notes]
    return "".join(body)


def _costs_section(inputs: ReportInputs) -> str:
    c = inputs.costs
    if c is None:
        return _missing("costs")
    body = []
    if c.road is not None:
        body.append("<h3>Road collisions</h3>")
        body.append(
            _table(
                c.road,
                {
                    "severity": "Severity",
                    "collisions": "Collisions",
                    "unit_cost_gbp": "Value per collision",
                    "cost_gbp": "Cost",
                },
                formats={"unit_cost_gbp": _pounds, "cost_gbp": _money},
            )
        )
        body.append(f'<p class="note">{_e(c.road_note)}</p>')
    if c.crime is not None:
        body.append("<h3>Recorded crime</h3>")
        body.append(
            _table(
                c.crime,
                {
                    "category": "police.uk category",
                    "count": "Crimes",
                    "unit_cost_category": "Unit cost class",
                    "unit_cost_gbp": "Unit cost",
                    "cost_gbp": "Cost",
                },
                formats={"unit_cost_gbp": _pounds, "cost_gbp": _money},
            )
        )
        body.append(f'<p class="note">{_e(c.crime_note)}</p>')
    if inputs.cost_chart is not None:
        body.append(_img(inputs.cost_chart, "Costs by severity and by crime category"))
    body += [f'<p class="note">{_e(n)}</p>' for n in c.notes]
    return "".join(body)


def _risk_section(inputs: ReportInputs) -> str:
    r = inputs.risk
    if r is None and inputs.risk_missing:
        return f'<p class="note">No risk matrix for this report: {_e(inputs.risk_missing)}.</p>'
    if r is None:
        return _missing("risk matrix")
    threshold = inputs.risk_threshold
    body = [
        f"<p>Risk = harm x partnership gaps; priorities: risk at or above {threshold:g}.</p>"
        if threshold is not None
        else ""
    ]
    body.append(
        _table(
            r,
            {
                "rank": "Rank",
                "group": "Group",
                "theme": "Theme",
                "harm": "Harm",
                "gaps": "Gaps",
                "risk": "Risk",
            },
            formats={"harm": "g", "gaps": "g", "risk": "g"},
            row_class=lambda row: "priority" if row["priority"] else "",
        )
    )
    if inputs.risk_chart is not None:
        body.append(_img(inputs.risk_chart, "Risk matrix: harm x partnership gaps grid"))
    return "".join(body)


def _footer() -> str:
    """Return the visible footer: data sources, copyright and licences."""
    items = "".join(f"<li>{_e(line)}</li>" for line in ATTRIBUTION)
    return (
        f'<footer id="attribution"><h2>Data sources and attribution</h2><ul>{items}</ul></footer>'
    )


def _set_aside_section(inputs: ReportInputs) -> str:
    """Return the per-input table of records read, used and set aside, with the reasons."""
    counts = inputs.set_aside_counts
    if counts is None:
        return _missing("set-aside counts")
    total = int(counts["set_aside"].sum()) if len(counts) else 0
    where = (
        f" Every one is listed (file row, record id, reason) in {_e(inputs.set_aside_file)}."
        if total and inputs.set_aside_file
        else ""
    )
    lead = f"<p>{total:,} records set aside across the inputs.{where}</p>"
    columns = {"input": "Input", "file": "File", "read": "Read", "used": "Used",
               "set_aside": "Set aside", "reasons": "Reasons"}  # fmt: skip
    fmt = {c: ",.0f" for c in ("read", "used", "set_aside")}
    return lead + _table(counts, columns, formats=fmt)


def report_sections(inputs: ReportInputs) -> tuple[str, ...]:
    """Return the section ids of this report in page order (with schemes only when given)."""
    if inputs.schemes is None:
        return SECTIONS
    at = SECTIONS.index("recommendations")
    return (*SECTIONS[:at], SCHEMES_SECTION, *SECTIONS[at:])


def assessment_report(inputs: ReportInputs) -> str:
    """Return the report as one self-contained HTML page (no external requests)."""
    titles = SECTION_TITLES
    summary = (
        '<ul class="summary">'
        + "".join(f"<li>{_e(p)}</li>" for p in executive_summary(inputs))
        + "</ul>"
    )
    considered = "cluster sites, ward outliers and the age of the deprivation data"
    bodies = {
        "summary": summary,
        "clusters": _clusters_section(inputs),
        "outliers": _outliers_section(inputs),
        "trends": _trends_section(inputs),
        "costs": _costs_section(inputs),
        "risk": _risk_section(inputs),
        "recommendations": recommendations_section(inputs.recommendations, considered=considered),
        "set_aside": _set_aside_section(inputs),
    }
    order = report_sections(inputs)
    if inputs.schemes is not None:
        bodies[SCHEMES_SECTION] = schemes_section(inputs.schemes)
    nav = "".join(f'<a href="#{s}">{_e(titles[s])}</a>' for s in order)
    sections = "".join(
        f'<section id="{s}"><h2>{_e(titles[s])}</h2>{_data_line(inputs, s)}{bodies[s]}</section>'
        for s in order
    )
    subtitle = " · ".join(_e(x) for x in (inputs.area, inputs.generated) if x)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(inputs.title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(inputs.title)}</h1><div>{subtitle}</div><nav>{nav}</nav></header>"
        f"<main>{sections}</main>{_footer()}</body></html>"
    )
