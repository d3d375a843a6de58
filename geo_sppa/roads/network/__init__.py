"""Network-mode cluster scan: junction sites and 100 m road-link sites on a noded road network.

Three pure steps, each vectorised with shapely 2 / numpy so a national network (about a million
links, a few hundred thousand collisions) runs in well under a minute:

1. :func:`road_network` nodes a line layer at its endpoints and shared vertices (never at bare
   geometric crossings, so bridges do not become junctions), chains links through degree-2 nodes
   and merges the nodes of one physical junction (nodes within ``junction_merge_m``, transitively,
   plus every node on a small round face: a roundabout ring).
2. :func:`snapped_collisions` snaps each collision to the nearest link within a tolerance,
   preferring, among near-equal candidates, a road whose name or ref the collision names.
3. :func:`network_sites` counts collisions per junction and in 100 m windows along chains and
   keeps those meeting a :class:`~geo_sppa.roads.rules.Rule`.

Design choices (see also each function):

* A junction is a node where 3+ link ends meet. Junction ids and chain ids come from rounded
  coordinates (metres), never from row order, and the network frames are sorted by keys derived
  from geometry, so shuffling the input rows changes nothing.
* Junction merging: junction nodes within ``junction_merge_m`` are merged transitively
  (union-find with ``connected_components``), and so are all junction nodes on a small, round
  face of the network (``polygonize`` of short chains; circularity >= 0.85, so square blocks are
  not roundabouts; at most ``roundabout_max_diameter_m`` across). Chains lying inside one
  junction (ring arcs, short connectors) belong to it.
* Snapping ties: among links within ``tie_m`` of the nearest, one named by the collision's
  ``road_number`` or ``location`` wins; then the nearest; then the lowest ``link_id``.
* Collisions in a qualifying junction site are not counted again in link windows; collisions at a
  junction that does not qualify on its own may still count in a link window along the road.
* Link windows are anchored at collisions (exact, equivalent to a step of 0 m), and chosen greedily:
  the peak window of a chain becomes a site, its collisions are removed, and the chain is scanned
  again. A run of qualifying windows therefore gives its peak as one site, and a long bad stretch
  gives several non-overlapping sites rather than one.
"""

from geo_sppa.roads.network.build import HIGHWAY_RANK, RoadNetwork, public_roads, road_network
from geo_sppa.roads.network.sites import members_of_sites, network_sites
from geo_sppa.roads.network.snap import SnappedCollisions, snapped_collisions

__all__ = [
    "RoadNetwork",
    "SnappedCollisions",
    "road_network",
    "snapped_collisions",
    "network_sites",
    "members_of_sites",
    "HIGHWAY_RANK",
    "public_roads",
]
