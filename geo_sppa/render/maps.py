"""Self-contained Folium web maps (the public names, kept here for existing imports).

The code lives in one module per concept: :mod:`geo_sppa.render.web_map` (folium plumbing and
:func:`self_contained_html`), :mod:`geo_sppa.render.cluster_map` and
:mod:`geo_sppa.render.ward_map`.
"""

from __future__ import annotations

from geo_sppa.render.cluster_map import (
    RANK_BANDS,
    SEVERITY_COLOURS,
    ClusterMapContents,
    cluster_map,
    cluster_map_contents,
)
from geo_sppa.render.ward_map import ward_map
from geo_sppa.render.web_map import DEFAULT_TILES, map_layer_counts, self_contained_html

__all__ = [
    "cluster_map",
    "cluster_map_contents",
    "ClusterMapContents",
    "ward_map",
    "self_contained_html",
    "map_layer_counts",
    "RANK_BANDS",
    "SEVERITY_COLOURS",
    "DEFAULT_TILES",
]
