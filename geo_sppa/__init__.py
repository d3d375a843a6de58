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
    "cluster_sites": "clusters",
    "ClusterResult": "clusters",
    "Rule": "rules",
    "Clause": "rules",
    "RULES": "rules",
    "rule_named": "rules",
    "collision_costs": "costs",
    "road_network": "network",
    "snapped_collisions": "network",
    "network_sites": "network",
    "ward_rates": "wards",
    "deprivation_outliers": "outliers",
    "outlier_report": "outliers",
    "funnel_table": "funnel",
    "residual_moran": "spatial",
    "hotspots": "spatial",
    "suppress_small_counts": "disclosure",
    "cluster_map": "maps",
    "ward_map": "maps",
    "self_contained_html": "maps",
    "collision_trends": "trends",
    "assessment_costs": "crime_costs",
    "crime_costs": "crime_costs",
    "risk_matrix": "risk",
    "assessment_report": "report",
    "bundled_area": "areas",
    "bundled_datasets": "datasets",
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
