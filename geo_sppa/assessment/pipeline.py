"""The strategic assessment from Python: every analysis the report assembles, run once.

:func:`strategic_assessment` runs the cluster-site scan, the ward outliers, the collision trends,
the costs and the risk matrix on the same inputs the commands use (the user's files where given,
else the bundled area's; :mod:`geo_sppa.bundled.inputs`), and returns them in one frozen
:class:`StrategicAssessment`. Rendering is not done here:
:func:`geo_sppa.render.report_page.report_inputs` draws the result's maps and charts for the
HTML report.

Example::

    from geo_sppa.assessment.pipeline import strategic_assessment
    from geo_sppa.render.report_page import report_html

    assessment = strategic_assessment("peterborough", price_year=2009)
    assessment.costs.road          # the cost of collisions by severity
    html = report_html(assessment)  # the self-contained page
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from geo_sppa.assessment.crime_costs import (
    DEFAULT_UNIT_COSTS,
    CostResult,
    assessment_costs,
    collisions_in_years,
)
from geo_sppa.assessment.recommendations import Recommendation, recommendations
from geo_sppa.assessment.risk import DEFAULT_PRIORITY_THRESHOLD, risk_matrix
from geo_sppa.assessment.schemes import SchemeAssessment, scheme_assessment, scheme_inputs
from geo_sppa.assessment.trends import (
    TrendResult,
    latest_complete_years,
    trends_in_years,
    window_coverage_note,
)
from geo_sppa.bundled.areas import bundled_area
from geo_sppa.bundled.inputs import (
    area_risk_themes_input,
    cluster_inputs,
    no_risk_matrix_text,
    optional_incidents_input,
    population_total_input,
    unit_costs_input,
)
from geo_sppa.errors import InputError
from geo_sppa.io import Loaded

if TYPE_CHECKING:
    from geo_sppa.bundled.inputs import ClusterInputs
    from geo_sppa.roads.clusters import ClusterResult
    from geo_sppa.wards.outliers import OutlierReport

__all__ = [
    "DEFAULT_CATEGORY",
    "SET_ASIDE_COLUMNS",
    "StrategicAssessment",
    "WardOutliers",
    "strategic_assessment",
]

#: police.uk crime type the report's ward outliers use unless told otherwise.
DEFAULT_CATEGORY = "Anti-social behaviour"
#: Seed of the Moran's I permutation test unless told otherwise.
DEFAULT_SEED = 12345


@dataclass(frozen=True)
class WardOutliers:
    """The ward-outlier part of the assessment.

    Attributes
    ----------
    report
        :class:`geo_sppa.wards.outliers.OutlierReport` (``data``, ``fit``, ``overdispersion``).
    measure
        The deprivation column the wards are compared with (e.g. ``imd_score``).
    category, months
        The incident category counted and the months (``YYYY-MM``) covered.
    source
        One line naming the incidents, ward set and deprivation data used.
    incidents
        The incidents read (every category, with set-aside rows).
    suppress_below
        Counts from 1 to this minus one are shown as ``<N`` in the report (None: not suppressed).
    imd_label
        The deprivation data compared with (``IMD 2010``, ``IMD 2019`` or a file name).
    set_aside
        Every incident record not counted (read, then ward assignment), as ``geo-sppa outliers``
        writes it to ``outliers_set_aside.csv``.
    """

    report: OutlierReport
    measure: str
    category: str
    months: tuple[str, ...]
    source: str
    incidents: Loaded
    suppress_below: int | None = None
    imd_label: str = ""
    set_aside: pd.DataFrame | None = None

    @property
    def n_flagged(self) -> int:
        """Number of wards with an outlier label."""
        return int((self.report.data["label"].astype("string").fillna("") != "").sum())


@dataclass(frozen=True)
class StrategicAssessment:
    """Everything the strategic-assessment report needs.

    Attributes
    ----------
    title, area, area_title
        The report title, the bundled area name and its human title.
    collisions, collisions_path
        The collisions read (with set-aside rows) and their file.
    incidents, incidents_path
        The incidents read and their file (None: no incidents, so no crime costs).
    clusters
        :class:`geo_sppa.roads.clusters.ClusterResult` of the cluster-site scan.
    cluster_collisions
        The collisions inside the scan's window (drawn on the cluster map).
    context_roads, ward_boundaries
        Map context layers (None where the area has none).
    outliers
        :class:`WardOutliers`, or None when the area has no wards, population or incidents.
    outliers_missing
        Why there are no outliers ('' when there are).
    trends, costs
        :class:`~geo_sppa.assessment.trends.TrendResult` and
        :class:`~geo_sppa.assessment.crime_costs.CostResult`.
    risk, risk_threshold
        The ranked risk matrix (None: the area has none and no ``themes`` were given) and its
        priority threshold.
    risk_missing
        Why there is no risk matrix and how to give one ('' when there is one).
    themes_path, themes_bundled
        The themes file (None without a matrix), and whether it is the area's bundled one (no
        ``themes`` given).
    population_path
        The population file of the trend rates (None: no rates).
    years
        The calendar years (first, last) of the trends and road costs: ``years`` as given, else
        the latest three complete years (as ``geo-sppa costs`` and ``trends`` choose them).
    schemes
        The treated sites' evaluation (``treated`` given; else None): the "Effect of schemes".
    """

    title: str
    area: str
    area_title: str
    collisions: Loaded
    collisions_path: Path
    incidents: Loaded | None
    incidents_path: Path | None
    clusters: ClusterResult
    context_roads: gpd.GeoDataFrame | None
    ward_boundaries: gpd.GeoDataFrame | None
    outliers: WardOutliers | None
    outliers_missing: str
    trends: TrendResult
    costs: CostResult
    risk: pd.DataFrame | None
    risk_threshold: float
    risk_missing: str
    themes_path: Path | None
    themes_bundled: bool
    population_path: Path | None
    years: tuple[int, int] = (0, 0)
    schemes: SchemeAssessment | None = None

    @property
    def cluster_coverage(self) -> str:
        """A note when the cluster window runs past the data ('' when the data cover it)."""
        return window_coverage_note(self.collisions.data, self.clusters.window)

    @property
    def cluster_collisions(self) -> gpd.GeoDataFrame:
        """The collisions inside the cluster scan's window (drawn on the cluster map)."""
        data = self.collisions.data
        return data[data["year"].between(*self.clusters.window)]

    @property
    def crime_months(self) -> list[str]:
        """The months (``YYYY-MM``) the incidents cover, in order."""
        return _months(self.incidents)

    @property
    def road_period(self) -> str:
        """The dates the collision figures cover, e.g. ``01 Jan 2012 to 31 Oct 2017``."""
        return f"{self.trends.start:%d %b %Y} to {self.trends.end:%d %b %Y}"

    @property
    def crime_period(self) -> str:
        """The months the crime figures cover, e.g. ``7 months, 2018-10 to 2021-01``."""
        months = self.crime_months
        return f"{len(months)} months, {months[0]} to {months[-1]}" if months else ""

    @property
    def sources(self) -> dict[str, str]:
        """Report section id -> one line naming the data and years it used."""
        return _sources(self)

    @property
    def recommendations(self) -> list[Recommendation]:
        """Suggestions drawn from the cluster sites and ward outliers (``recommendations``)."""
        o = self.outliers
        return recommendations(
            sites=self.clusters.sites,
            wards=o.report.data if o else None,
            imd_label=o.imd_label if o else "",
            months=o.months if o else (),
        )

    @property
    def set_aside(self) -> pd.DataFrame:
        """Every record set aside, by input: ``input, source, row, record_id, reason, detail``."""
        return _set_aside(self)

    def set_aside_counts(self) -> pd.DataFrame:
        """Return one row per input: ``input, file, read, used, set_aside, reasons``."""
        return _set_aside_counts(self)

    def summary_lines(self) -> list[tuple[str, str]]:
        """Return the run-summary lines: records read, used and set aside; headline results."""
        crashes, crimes = self.collisions, self.incidents
        lines = [
            (
                "collisions",
                f"{self.collisions_path.name}: {crashes.n_read:,} read, {len(crashes.data):,} "
                f"used, {len(crashes.set_aside):,} set aside",
            ),
            (
                "incidents",
                f"{self.incidents_path.name}: {crimes.n_read:,} read, {len(crimes.data):,} used, "
                f"{len(crimes.set_aside):,} set aside"
                if crimes is not None and self.incidents_path is not None
                else "none",
            ),
            (
                "risk themes",
                f"{self.themes_path.name}: {len(self.risk)} read, {len(self.risk)} used, "
                "0 set aside"
                if self.risk is not None and self.themes_path is not None
                else "none (pass --themes CSV)",
            ),
            (
                "cluster sites",
                f"{len(self.clusters.sites)} in "
                f"{self.clusters.window[0]}-{self.clusters.window[1]}",
            ),
            (
                "flagged wards",
                str(self.outliers.n_flagged) if self.outliers else self.outliers_missing,
            ),
            ("trend", self.trends.direction),
            (
                "top risk",
                f"{self.risk.iloc[0]['theme']} ({self.risk.iloc[0]['risk']:g})"
                if self.risk is not None
                else "none: no risk matrix for this area",
            ),
        ]
        return lines + (self.schemes.summary_lines() if self.schemes else [])


def _checked_category(category: str) -> str:
    """Return ``category``, or raise: an empty one would list categories instead of counting."""
    if not category.strip():
        raise InputError(
            "category: expected a police.uk crime type for the ward outliers (e.g. "
            f"{DEFAULT_CATEGORY!r}), found none; pass --category NAME"
        )
    return category


def _ward_outliers(
    area: str, incidents: str | Path | None, category: str, seed: int, options: dict
) -> WardOutliers:
    """Return the ward outliers of ``category`` as ``geo-sppa outliers`` computes them.

    Both read through :func:`geo_sppa.bundled.inputs.ward_outlier_inputs` and call
    :func:`geo_sppa.wards.outliers.ward_outliers`, so the report cannot drift from the command.
    """
    from geo_sppa.bundled.inputs import ward_outlier_inputs
    from geo_sppa.io import Loaded
    from geo_sppa.wards.outliers import ward_outliers

    inputs = ward_outlier_inputs(
        area, incidents=incidents, category=category, ward_set=options.get("ward_set"),
        imd_choice=options.get("imd"),
    )  # fmt: skip
    result = ward_outliers(**inputs, rng=seed, suppress_below=options.get("suppress_below"))
    rates = result.table.rates
    months = tuple(rates.months)
    source = (
        f"{inputs['source']} ({rates.category}, {len(months)} months: {', '.join(months)}); "
        f"wards {inputs['ward_label']}; {inputs['imd_label']}"
    )
    n_read = len(inputs["incidents"]) + len(inputs["read_set_aside"])
    loaded = Loaded(inputs["incidents"], inputs["read_set_aside"], n_read, inputs["read_notes"])
    return WardOutliers(
        # the published frame: with suppression, small counts shown as <N and their derived
        # values blank, so no table, chart or map of the report gives them back
        report=replace(result.report, data=result.data),
        measure=result.measure,
        category=rates.category,
        months=months,
        source=source,
        incidents=loaded,
        suppress_below=options.get("suppress_below"),
        imd_label=str(inputs["imd_label"]),
        set_aside=result.table.set_aside,
    )


def _crime_inputs(
    area: str, incidents: str | Path | None, category: str, seed: int, options: dict
) -> tuple[WardOutliers | None, str, Loaded | None, Path | None]:
    """Return (ward outliers or None, why there are none, the incidents read, their file).

    ``options``: ``ward_set``, ``imd`` and ``suppress_below`` of the ward step.
    """
    bundle = bundled_area(area)
    if (incidents or bundle.incidents) and bundle.wards and bundle.population:
        outliers = _ward_outliers(area, incidents, category, seed, options)
        return outliers, "", outliers.incidents, Path(incidents) if incidents else bundle.incidents
    missing = (
        f"not available: the area {area!r} has no bundled wards, population or incidents "
        "(geo-sppa outliers takes --wards, --population and --incidents)"
    )
    return None, missing, *optional_incidents_input(area, incidents)


#: Columns of :attr:`StrategicAssessment.set_aside` (``report_set_aside.csv``).
SET_ASIDE_COLUMNS = ("input", "source", "row", "record_id", "reason", "detail")


def _incidents_set_aside(a: StrategicAssessment) -> pd.DataFrame | None:
    """Return the incident records not counted: the ward step's (read and assignment) or read."""
    if a.outliers is not None and a.outliers.set_aside is not None:
        return a.outliers.set_aside
    return a.incidents.set_aside if a.incidents is not None else None


def _set_aside(a: StrategicAssessment) -> pd.DataFrame:
    parts = [
        ("collisions", a.collisions.set_aside),
        ("collisions (cluster scan)", a.clusters.set_aside),
        ("collisions (cluster scan)", a.clusters.previous_set_aside),  # the previous window's
        ("incidents", _incidents_set_aside(a)),
        ("treated sites", a.schemes.set_aside if a.schemes else None),
    ]
    frames = [
        frame.assign(input=name).reindex(columns=list(SET_ASIDE_COLUMNS))
        for name, frame in parts
        if frame is not None and len(frame)
    ]
    if not frames:
        return pd.DataFrame(columns=list(SET_ASIDE_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def _reasons(frame: pd.DataFrame | None) -> str:
    if frame is None or not len(frame):
        return ""
    counts = frame["reason"].astype(str).value_counts()
    return "; ".join(f"{reason} ({n:,})" for reason, n in counts.items())


def _set_aside_counts(a: StrategicAssessment) -> pd.DataFrame:
    """Return the per-input read, used and set-aside counts with the reasons."""
    crashes, scan = a.collisions, a.clusters.set_aside
    rows: list[tuple[str, str, int, int, pd.DataFrame | None]] = [
        ("collisions", a.collisions_path.name, crashes.n_read, len(crashes.data),
         crashes.set_aside),
        ("collisions (cluster scan)", a.collisions_path.name, len(crashes.data),
         len(crashes.data) - len(scan), scan),
    ]  # fmt: skip
    previous, n_prev = a.clusters.previous_set_aside, a.clusters.counts.get("n_previous_window", 0)
    if len(previous):  # the previous window's collisions, placed only for new/persistent/resolved
        rows.append(("collisions, previous window (cluster scan)", a.collisions_path.name,
                     n_prev + len(previous), n_prev, previous))  # fmt: skip
    incidents = _incidents_set_aside(a)
    if a.incidents is not None and a.incidents_path is not None and incidents is not None:
        n_read = a.incidents.n_read
        rows.append(
            ("incidents", a.incidents_path.name, n_read, n_read - len(incidents), incidents)
        )
    if a.outliers is not None:
        data, measure = a.outliers.report.data, a.outliers.measure
        missing = data[measure].isna() | data["population"].isna() if measure in data else None
        left = data[missing] if missing is not None else data.iloc[:0]
        reason = pd.DataFrame({"reason": ["no deprivation or population"] * len(left)})
        rows.append(
            (f"wards and deprivation ({a.outliers.imd_label})", "ward boundaries", len(data),
             len(data) - len(left), reason)
        )  # fmt: skip
    if a.risk is not None and a.themes_path is not None:
        rows.append(("risk themes", a.themes_path.name, len(a.risk), len(a.risk), None))
    rows += a.schemes.count_rows() if a.schemes else []
    return pd.DataFrame(
        [
            {"input": name, "file": file, "read": read, "used": used,
             "set_aside": 0 if aside is None else len(aside), "reasons": _reasons(aside)}
            for name, file, read, used, aside in rows
        ]
    )  # fmt: skip


def _months(incidents: Loaded | None) -> list[str]:
    return sorted(incidents.data["month"].dropna().unique()) if incidents is not None else []


def _sources(a: StrategicAssessment) -> dict[str, str]:
    """Return the one-line data statement of every report section."""
    crashes, months = a.collisions_path.name, a.crime_months
    clusters, trends = a.clusters, a.trends
    data = a.collisions.data
    every = f"{int(data['year'].min())}-{int(data['year'].max())}"
    years = f"{a.years[0]}-{a.years[1]}"
    crime = a.incidents_path.name if a.incidents_path else "no incidents"
    population = (
        f"; population {trends.population:,.0f} ({a.population_path.name})"
        if trends.population and a.population_path
        else ""
    )
    example = " (the 2012 Safer Peterborough Partnership matrix, bundled example)"
    found = {
        "summary": f"{crashes} ({every}; figures {years}); {crime} ({len(months)} months); "
        f"{a.themes_path.name if a.themes_path else 'no risk matrix'}",
        "clusters": f"{crashes}, window {clusters.window[0]}-{clusters.window[1]} "
        f"({clusters.mode} mode)",
        "outliers": a.outliers.source if a.outliers else a.outliers_missing,
        "trends": f"{crashes}, {trends.start:%d %b %Y} to {trends.end:%d %b %Y}{population}",
        "costs": f"collisions {crashes} ({years}); crime {crime} "
        f"({len(months)} months: {', '.join(months)})",
        "risk": (a.themes_path.name + (example if a.themes_bundled else ""))
        if a.themes_path
        else a.risk_missing,
        "recommendations": f"the cluster sites ({clusters.window[0]}-{clusters.window[1]})"
        + (f" and ward outliers above; deprivation {a.outliers.imd_label}" if a.outliers else ""),
        "set_aside": "every input read: "
        + ", ".join(f"{r['input']} ({r['file']})" for _, r in a.set_aside_counts().iterrows()),
    }
    return found | ({"schemes": a.schemes.source} if a.schemes else {})


def strategic_assessment(
    area: str = "peterborough",
    *,
    collisions: str | Path | None = None,
    incidents: str | Path | None = None,
    themes: str | Path | None = None,
    category: str = DEFAULT_CATEGORY,
    price_year: int | None = None,
    unit_costs: str = DEFAULT_UNIT_COSTS,
    threshold: float = DEFAULT_PRIORITY_THRESHOLD,
    seed: int = DEFAULT_SEED,
    years: tuple[int, int] | None = None,
    roads: str | Path | None = None,
    ward_set: str | None = None,
    imd: str | None = None,
    suppress_below: int | None = None,
    treated: str | Path | None = None,
    sites: str | Path | None = None,
) -> StrategicAssessment:
    """Return every analysis of the strategic assessment of ``area``.

    Parameters
    ----------
    area
        Bundled area whose files fill any input not given (``peterborough``, ``leeds-central``).
    collisions, incidents, themes
        The user's collision CSV, police.uk incident file(s) and risk-theme CSV (default: the
        area's; an area without a risk matrix gets none, and says how to give one).
    category, seed
        police.uk crime type of the ward outliers; seed of their Moran's I permutation test.
    price_year, unit_costs, threshold
        Price year of the DfT value of prevention (default: the latest); unit costs of crime
        (``ho2005``, ``ho2018``, ``spp2012`` or a CSV path); the risk-matrix priority threshold.
    years
        Calendar years (first, last) of the cluster scan, trends and road costs (default: the
        latest three complete years, as the commands choose them).
    roads
        Road lines for the network scan, or ``"osm"`` (default: the area's network).
    ward_set, imd
        Ward set (``2013``, ``2022``) and IMD edition or file of the ward outliers (default: the
        area's).
    suppress_below
        Show ward counts from 1 to this minus one as ``<N`` (default: no suppression).
    treated, sites
        Treated-sites CSV and the clusters.csv it names, as ``geo-sppa evaluate`` takes them:
        the schemes are evaluated on the same collisions and roads (default: none).

    Raises
    ------
    InputError
        A missing or malformed input (the message names the option that supplies it).
    """
    bundle, category = bundled_area(area), _checked_category(category)
    table, schemes = unit_costs_input(unit_costs), scheme_inputs(treated, sites)
    inputs = cluster_inputs(area, collisions=collisions, roads=roads)
    crashes, own = inputs.collisions, collisions is not None
    ward_options = {"ward_set": ward_set, "imd": imd, "suppress_below": suppress_below}
    outliers, missing, crimes, incidents_path = _crime_inputs(
        area, incidents, category, seed, ward_options
    )
    people, population_path = population_total_input(area, own_collisions=own)
    clusters, window, trends, costs = _road_analyses(
        inputs, years=years, price_year=price_year, population=people, crimes=crimes, table=table
    )
    return StrategicAssessment(
        title=f"Strategic assessment: {inputs.collisions_path.name if own else bundle.title}",
        area=bundle.name, area_title=bundle.title, collisions=crashes,
        collisions_path=inputs.collisions_path, incidents=crimes, incidents_path=incidents_path,
        clusters=clusters, context_roads=inputs.context_roads, ward_boundaries=inputs.wards,
        outliers=outliers, outliers_missing=missing, trends=trends, costs=costs,
        risk_threshold=threshold, population_path=population_path, years=window,
        schemes=scheme_assessment(inputs, schemes), **_risk_fields(area, themes, threshold),
    )  # fmt: skip


def _risk_fields(area: str, themes: str | Path | None, threshold: float) -> dict:
    """Return the assessment's ``risk``, ``risk_missing``, ``themes_path`` and ``themes_bundled``.

    The user's themes, else the area's own matrix; an area without one gets none (never another
    area's) and the message saying how to give one.
    """
    found = area_risk_themes_input(area, themes)
    if found is None:
        return {
            "risk": None,
            "risk_missing": no_risk_matrix_text(area),
            "themes_path": None,
            "themes_bundled": False,
        }
    return {
        "risk": risk_matrix(found.table, threshold=threshold, source=found.path.name),
        "risk_missing": "",
        "themes_path": found.path,
        "themes_bundled": found.bundled,
    }


def _road_analyses(
    inputs: ClusterInputs,
    *,
    years: tuple[int, int] | None,
    price_year: int | None,
    population: float | None,
    crimes: Loaded | None,
    table: str | pd.DataFrame,
) -> tuple[ClusterResult, tuple[int, int], TrendResult, CostResult]:
    """Return the cluster sites, the window of the trends and costs, the trends and the costs.

    The window is ``years``, else the latest three complete years, as the commands choose it.
    """
    from geo_sppa.roads.clusters import cluster_sites

    crashes = inputs.collisions.data
    clusters = cluster_sites(
        crashes,
        roads=inputs.roads,
        years=years,
        price_year=price_year,
        source=inputs.collisions_path.name,
    )
    window = years or latest_complete_years(crashes)
    trends = trends_in_years(crashes, years=window, population=population)
    costs = assessment_costs(
        collisions=collisions_in_years(crashes, window)[0],
        incidents=crimes.data if crimes is not None else None,
        unit_costs=table,
        price_year=price_year,
    )
    return clusters, window, trends, costs
