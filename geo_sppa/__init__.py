"""geo-sppa: community-safety and road-safety analysis for English local authorities.

The flat public API is loaded lazily (PEP 562), so ``import geo_sppa`` and ``geo-sppa --help``
stay instant; ``from geo_sppa import cluster_sites`` imports the clusters module on first use.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geo-sppa")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

from geo_sppa.errors import GeoSppaError, InputError, MissingFileError, OfflineError  # noqa: E402

#: public name -> module that defines it
_LAZY = {
    "cluster_sites": "roads.clusters",
    "ClusterResult": "roads.clusters",
    "Rule": "roads.rules",
    "Clause": "roads.rules",
    "RULES": "roads.rules",
    "rule_named": "roads.rules",
    "collision_costs": "roads.costs",
    "road_network": "roads.network",
    "snapped_collisions": "roads.network",
    "network_sites": "roads.network",
    "site_columns": "roads.clusters",
    "ward_rates": "wards.rates",
    "ward_table": "wards.rates",
    "ward_outliers": "wards.outliers",
    "deprivation_outliers": "wards.outliers",
    "outlier_report": "wards.outliers",
    "funnel_table": "wards.funnel",
    "residual_moran": "wards.autocorrelation",
    "hotspots": "wards.autocorrelation",
    "suppress_small_counts": "wards.disclosure",
    "cluster_map": "render.maps",
    "ward_map": "render.maps",
    "self_contained_html": "render.maps",
    "cluster_map_contents": "render.maps",
    "collision_trends": "assessment.trends",
    "assessment_costs": "assessment.crime_costs",
    "crime_costs": "assessment.crime_costs",
    "risk_matrix": "assessment.risk",
    "assessment_report": "render.report_html",
    "strategic_assessment": "assessment.pipeline",
    "StrategicAssessment": "assessment.pipeline",
    "report_html": "render.report_page",
    "bundled_area": "bundled.areas",
    "bundled_datasets": "bundled.catalogue",
    "read_collisions": "io",
    "read_incidents": "io",
    "read_roads": "io",
    "read_wards": "io",
    "read_lsoas": "io",
    "read_imd": "io",
    "read_population": "io",
    "read_lsoa_lookup": "io",
}

__all__ = ["__version__", "GeoSppaError", "InputError", "MissingFileError", "OfflineError", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"geo_sppa.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'geo_sppa' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
