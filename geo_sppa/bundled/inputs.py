"""Gather a command's inputs: the user's files where given, the bundled area's otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo_sppa.bundled.areas import Area, bundled_area
from geo_sppa.errors import InputError
from geo_sppa.io._common import Loaded
from geo_sppa.io.collisions import read_collisions
from geo_sppa.io.incidents import read_incidents
from geo_sppa.io.layers import read_lsoas, read_roads, read_study_area, read_wards
from geo_sppa.io.tables import read_imd, read_lsoa_lookup, read_population
from geo_sppa.wards.releases import DeprivationInputs

__all__ = [
    "ClusterInputs",
    "WardInputs",
    "cluster_inputs",
    "deprivation_inputs",
    "incidents_input",
    "ward_inputs",
    "ward_outlier_inputs",
    "RiskThemes",
    "collisions_input",
    "map_context_input",
    "optional_incidents_input",
    "population_total_input",
    "risk_themes_input",
    "unit_costs_input",
    "area_risk_themes_input",
    "no_risk_matrix_text",
]


@dataclass(frozen=True)
class ClusterInputs:
    """What ``geo-sppa clusters`` reads, with where each part came from.

    Attributes
    ----------
    collisions, collisions_path
        The loaded collisions (with set-aside rows) and their file.
    roads, roads_source
        The road lines for network mode (None: radius mode) and the file name they came from.
    context_roads, wards
        Layers drawn on the map for context (None where there are none).
    area, place
        The bundled area used ("" for the user's own collisions) and a name for titles.
    notes
        One-line notes for the run summary.
    count_points, count_points_path
        DfT traffic count points (``--counts``, else the area's own) and their file, or None.
    """

    collisions: Loaded
    collisions_path: Path
    roads: gpd.GeoDataFrame | None
    roads_source: str | None
    context_roads: gpd.GeoDataFrame | None
    wards: gpd.GeoDataFrame | None
    area: str
    place: str
    notes: tuple[str, ...] = field(default=())
    count_points: Loaded | None = None
    count_points_path: Path | None = None


def cluster_inputs(
    area: str,
    *,
    collisions: str | Path | None = None,
    roads: str | Path | None = None,
    study_area: str | Path | None = None,
    crs: str | None = None,
    columns: dict[str, str] | None = None,
    date_format: str | None = None,
    radius_mode: bool = False,
    keep_service_roads: bool = False,
    cache_dir: str | Path = "maps",
    with_context: bool = True,
    counts: str | Path | None = None,
) -> ClusterInputs:
    """Read the collisions, study area, road network and map context for a cluster scan.

    The user's ``collisions`` replace the area's (and then no bundled layer is assumed to fit
    them); ``roads="osm"`` fetches OpenStreetMap roads; without ``roads`` the area's own network
    is used where it has one, unless ``radius_mode``. ``counts`` (DfT count points) replace the
    area's own, which are used only with the area's collisions.
    """
    from geo_sppa.roads.network import public_roads

    bundle = bundled_area(area)
    own = collisions is not None
    path = (
        Path(collisions)
        if collisions is not None
        else bundle.require("collisions", option="--collisions")
    )
    zone = None
    if study_area:
        zone = read_study_area(study_area, crs=crs)
    elif not own and bundle.study_area:
        zone = read_study_area(bundle.study_area)
    loaded = read_collisions(
        path, columns=columns, crs=crs, study_area=zone, date_format=date_format
    )
    notes = list(loaded.notes)

    network, source, road_notes = _network_roads(
        roads, None if own else bundle, radius_mode=radius_mode, zone=zone,
        collisions=loaded.data, crs=crs, cache_dir=Path(cache_dir),
    )  # fmt: skip
    notes.extend(road_notes)
    lines = None
    if network is not None:
        lines, dropped = public_roads(network.data, keep_service=keep_service_roads)
        if dropped:
            notes.append(
                f"{source}: {dropped:,} highway=service ways left out of the scan "
                "(--keep-service-roads keeps them)"
            )
    context = lines
    wards = None
    if with_context and not own:
        if context is None and bundle.context_roads:
            context = read_roads(bundle.context_roads).data
        if bundle.wards and bundle.default_ward_set:
            wards = read_wards(bundle.wards[bundle.default_ward_set])
    from geo_sppa.io.count_points import read_count_points

    counts_path = Path(counts) if counts else None if own else bundle.count_points
    points = read_count_points(counts_path) if counts_path else None  # DfT grid refs: own CRS
    return ClusterInputs(
        count_points=points,
        count_points_path=counts_path,
        collisions=loaded,
        collisions_path=path,
        roads=lines,
        roads_source=source,
        context_roads=context,
        wards=wards,
        area="" if own else bundle.name,
        place=path.name if own else bundle.title,
        notes=tuple(notes),
    )


def _network_roads(
    roads: str | Path | None,
    bundle: Area | None,
    *,
    radius_mode: bool,
    zone: gpd.GeoDataFrame | None,
    collisions: gpd.GeoDataFrame,
    crs: str | None,
    cache_dir: Path,
) -> tuple[Loaded | None, str | None, list[str]]:
    """Return the road network to scan (None: radius mode), its file name and summary notes.

    ``roads="osm"`` fetches OpenStreetMap roads around the study area (or the collisions);
    a path is read as given; otherwise the bundled area's network, unless ``radius_mode`` or
    the collisions are the user's own (``bundle`` None). Road features set aside (no geometry,
    not a line) are counted in the notes, never dropped silently.
    """
    notes: list[str] = []
    if roads == "osm":
        from geo_sppa.io.osm import osm_roads

        footprint = zone if zone is not None else gpd.GeoDataFrame(
            geometry=[collisions.geometry.union_all().convex_hull.buffer(200)], crs=collisions.crs
        )  # fmt: skip
        cache = cache_dir / "osm_roads.gpkg"
        network, source = read_roads(osm_roads(footprint, cache)), cache.name
        notes.append(f"road network: OpenStreetMap via osmnx, cached at {cache}")
    elif roads:
        network, source = read_roads(roads, crs=crs), Path(roads).name
    elif bundle is not None and bundle.roads and not radius_mode:
        network, source = read_roads(bundle.roads), bundle.roads.name
    else:
        return None, None, notes
    notes.extend(network.notes)
    if len(network.set_aside):
        reasons = network.set_aside.groupby("detail")["row"].count()
        kinds = ", ".join(f"{n:,} {kind}" for kind, n in reasons.items())
        notes.append(
            f"{source}: {len(network.set_aside):,} of {network.n_read:,} road features set aside "
            f"as not lines ({kinds})"
        )
    return network, source, notes


@dataclass(frozen=True)
class WardInputs:
    """What ``geo-sppa wards``/``outliers`` read besides the incidents, and where it came from.

    Attributes
    ----------
    wards, ward_label, ward_source
        Ward boundaries, a label for the summary (e.g. ``2013 (WD13, pre-2016)``) and the file name.
    imd, imd_label
        LSOA deprivation (None when there is none) and its label (``IMD 2010`` or the file name).
    deprivation
        The chosen release with every bundled release and the ONS lookups, for IMD 2025 and the
        deprivation change columns (``ward_rates(imd=...)`` takes it in place of ``imd``).
    population, lookup, lsoas
        LSOA population; the LSOA lookup and LSOA boundaries (None where the area has none).
    """

    wards: gpd.GeoDataFrame
    ward_label: str
    ward_source: str
    imd: pd.DataFrame | None
    imd_label: str
    population: pd.DataFrame
    lookup: pd.DataFrame | None
    lsoas: gpd.GeoDataFrame | None
    deprivation: DeprivationInputs | None = None


def deprivation_inputs(
    bundle: Area, chosen: pd.DataFrame | None, key: str | None
) -> DeprivationInputs:
    """Return the chosen IMD with every bundled release and the England lookups of ``bundle``.

    The chosen release is reused when it is a bundled edition; the England-wide tables are read
    only when the area has them (``data/england/``).
    """
    from geo_sppa.wards.releases import RELEASES

    releases = {
        r: chosen if r == key and chosen is not None else read_imd(bundle.imd[r])
        for r in RELEASES
        if r in bundle.imd
    }
    lookups = {
        name: read_lsoa_lookup(bundle.england[name]) if name in bundle.england else None
        for name in ("lookup_lsoa11_lsoa21", "lookup_lsoa21_ward24")
    }
    return DeprivationInputs(
        imd=chosen,
        releases=releases,
        lsoa11_lsoa21=lookups["lookup_lsoa11_lsoa21"],
        lsoa21_ward24=lookups["lookup_lsoa21_ward24"],
    )


def incidents_input(
    area: str, incidents: str | Path | None = None, *, crs: str | None = None
) -> tuple[Loaded, Path]:
    """Read the user's incident file(s), or the area's, and return them with the path read."""
    path = (
        Path(incidents)
        if incidents
        else bundled_area(area).require("incidents", option="--incidents")
    )
    return read_incidents(path, crs=crs), path


def ward_inputs(
    area: str,
    *,
    wards_path: str | Path | None = None,
    ward_code_column: str | None = None,
    ward_name_column: str | None = None,
    ward_set: str | None = None,
    imd_choice: str | None = None,
    population_path: str | Path | None = None,
    population21_path: str | Path | None = None,
    lsoas_path: str | Path | None = None,
    lookup_path: str | Path | None = None,
    crs: str | None = None,
) -> WardInputs:
    """Read ward boundaries, deprivation, population and LSOA tables: the user's, else the area's.

    ``imd_choice`` is a bundled edition (``"2010"``, ``"2019"``, ``"2025"``: England-wide, on
    LSOA 2021) or a path to an IoD file; ``population21_path`` an LSOA 2021 population (for
    ``population_change``).
    """
    bundle = bundled_area(area)
    if wards_path:
        wards_file, ward_label = Path(wards_path), Path(wards_path).name
    else:
        if not bundle.wards:
            raise InputError(f"the area {area!r} has no bundled wards; pass --wards PATH")
        chosen = ward_set or bundle.default_ward_set
        if chosen not in bundle.wards:
            raise InputError(
                f"the area {area!r} has no {chosen} wards; choose one of {', '.join(bundle.wards)}"
            )
        ward_label = f"{chosen} ({'WD13, pre-2016' if chosen == '2013' else 'WD22, current'})"
        wards_file = bundle.wards[chosen]
    imd_key = imd_choice or bundle.default_imd
    if imd_key in bundle.imd:
        imd_file, imd_label = bundle.imd[imd_key], f"IMD {imd_key}"
    elif imd_key:
        imd_file, imd_label = Path(imd_key), Path(imd_key).name
    else:
        imd_file, imd_label = None, "none"
    population_file = (
        Path(population_path)
        if population_path
        else bundle.require("population", option="--population")
    )
    lookup_file = lookup_path or bundle.lsoa_lookup
    lsoas_file = lsoas_path or bundle.lsoas
    imd = read_imd(imd_file) if imd_file else None
    return WardInputs(
        wards=read_wards(
            wards_file, code_column=ward_code_column, name_column=ward_name_column, crs=crs
        ),
        ward_label=ward_label,
        ward_source=Path(wards_file).name,
        imd=imd,
        imd_label=imd_label,
        population=read_population(population_file),
        lookup=read_lsoa_lookup(lookup_file) if lookup_file else None,
        lsoas=read_lsoas(lsoas_file, crs=crs) if lsoas_file else None,
        deprivation=replace(
            deprivation_inputs(bundle, imd, imd_key if imd_key in bundle.imd else None),
            population21=read_population(population21_path) if population21_path else None,
        ),
    )


# --------------------------------------------------------------------------- assessment inputs
# "The user's file, else the area's" for the strategic-assessment commands (costs, trends, risk,
# report) is decided here and nowhere else.


def collisions_input(
    area: str,
    collisions: str | Path | None = None,
    *,
    crs: str | None = None,
    columns: dict[str, str] | None = None,
) -> tuple[Loaded, Path]:
    """Read the user's collisions file, or the area's, and return it with the path read.

    Raises
    ------
    InputError
        No ``collisions`` given and the area has none (the message names ``--collisions``).
    """
    path = (
        Path(collisions)
        if collisions is not None
        else bundled_area(area).require("collisions", option="--collisions")
    )
    return read_collisions(path, columns=columns, crs=crs), path


def optional_incidents_input(
    area: str, incidents: str | Path | None = None, *, crs: str | None = None
) -> tuple[Loaded | None, Path | None]:
    """Read the user's incident file(s), else the area's; ``(None, None)`` when there are none."""
    path = Path(incidents) if incidents else bundled_area(area).incidents
    if path is None:
        return None, None
    return read_incidents(path, crs=crs), path


def population_total_input(
    area: str, population: str | Path | None = None, *, own_collisions: bool = False
) -> tuple[float | None, Path | None]:
    """Return the residents for rates and the file they came from.

    The user's LSOA population file, else the area's, unless the collisions are the user's own
    (the area's population would not fit them): then ``(None, None)``, and no rates.
    """
    if population:
        path: Path | None = Path(population)
    else:
        path = None if own_collisions else bundled_area(area).population
    if path is None:
        return None, None
    return float(read_population(path)["population"].sum()), path


def unit_costs_input(value: str) -> str | pd.DataFrame:
    """Return a bundled unit-cost table name as is, else the user's CSV ``value``, checked.

    Raises
    ------
    InputError
        The file is missing or lacks the ``category, unit_cost_gbp`` columns.
    """
    from geo_sppa.assessment.crime_costs import UNIT_COST_TABLES, checked_unit_costs
    from geo_sppa.io.tables import read_table

    if value in UNIT_COST_TABLES:
        return value
    raw = read_table(value, what="unit-cost", option="--unit-costs")
    return checked_unit_costs(raw, source=Path(value).name)


@dataclass(frozen=True)
class RiskThemes:
    """The risk themes a matrix is scored from, and where they came from.

    Attributes
    ----------
    table
        The themes as read (every column text).
    path
        The file read.
    bundled
        True when no ``--themes`` was given and the bundled matrix was used.
    """

    table: pd.DataFrame
    path: Path
    bundled: bool


def risk_themes_input(area: str, themes: str | Path | None = None) -> RiskThemes:
    """Read the user's risk-theme CSV, else the bundled matrix for ``area``."""
    from geo_sppa.bundled.areas import default_risk_themes
    from geo_sppa.io.tables import read_table

    path = Path(themes) if themes else default_risk_themes(area)
    table = read_table(path, what="risk matrix", option="--themes")
    return RiskThemes(table=table, path=path, bundled=not themes)


def map_context_input(area: str) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None]:
    """Return the bundled area's roads and default ward boundaries drawn as map context.

    ``area`` may be empty (results made from the user's own files): then ``(None, None)``.
    """
    if not area:
        return None, None
    bundle = bundled_area(area)
    path = bundle.roads or bundle.context_roads
    roads = read_roads(path).data if path else None
    ward_set = bundle.default_ward_set
    wards = read_wards(bundle.wards[ward_set]) if ward_set and bundle.wards else None
    return roads, wards


def no_risk_matrix_text(area: str) -> str:
    """Return why ``area`` has no risk matrix and how to give one (one line, no trailing stop)."""
    return (
        f"the area {area!r} has no risk matrix of its own (the bundled 2012 matrix is the Safer "
        "Peterborough Partnership's); pass --themes CSV with columns theme, impact and frequency "
        "(or harm_score), partnership_gaps_score"
    )


def area_risk_themes_input(area: str, themes: str | Path | None = None) -> RiskThemes | None:
    """Read the user's risk-theme CSV, else ``area``'s own bundled matrix; None if it has none.

    Unlike :func:`risk_themes_input` no other area's matrix is borrowed: an area without one
    (``leeds-central``) gives None, and the caller says so (:func:`no_risk_matrix_text`).
    """
    from geo_sppa.bundled.areas import bundled_file

    if themes:
        return risk_themes_input(area, themes)
    path = bundled_file(area, "risk_matrix_2012")
    if path is None:
        return None
    return RiskThemes(table=risk_themes_input(area, path).table, path=path, bundled=True)


def ward_outlier_inputs(
    area: str,
    *,
    incidents: str | Path | None,
    category: str,
    crs: str | None = None,
    allow_incomplete: bool = False,
    **paths: Any,
) -> dict[str, Any]:
    """Return the keyword arguments of ``ward_table``/``ward_outliers``, read from the inputs.

    The incidents are the user's file where given, else the area's; ``paths`` are those of
    :func:`ward_inputs` (wards, population, IMD, LSOAs, lookup, ward set). ``geo-sppa wards``,
    ``geo-sppa outliers`` and the strategic assessment all read through here.
    ``allow_incomplete`` (``--allow-incomplete``) marks wards whose population or IMD table misses
    some of their LSOAs instead of refusing them.
    """
    loaded, incidents_path = incidents_input(area, incidents, crs=crs)
    inputs = ward_inputs(area, crs=crs, **paths)
    deprivation = inputs.deprivation
    if deprivation is not None and allow_incomplete:
        deprivation = replace(deprivation, allow_incomplete=True)
    return {
        "wards": inputs.wards,
        "population": inputs.population,
        "incidents": loaded.data,
        "category": category,
        "source": incidents_path.name,
        "ward_source": inputs.ward_source,
        "imd": deprivation or inputs.imd,
        "lookup": inputs.lookup,
        "lsoas": inputs.lsoas,
        "read_set_aside": loaded.set_aside,
        "read_notes": loaded.notes,
        "ward_label": inputs.ward_label,
        "imd_label": inputs.imd_label,
    }
