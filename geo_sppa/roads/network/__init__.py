"""Network-mode cluster scan: junction sites and 100 m road-link sites on a noded road network.

Three pure steps, each vectorised with shapely 2 / numpy so a national network (about a million
links, a few hundred thousand collisions) runs in well under a minute:

1. :func:`road_network` cleans and nodes a line layer (:mod:`~geo_sppa.roads.network.clean`:
   repeated ways dropped, loose ends within ``end_snap_m`` noded onto the line they stop at,
   vertices shared across bridge/tunnel layers kept apart; counted in ``RoadNetwork.repairs``),
   chains links through degree-2 nodes, merges the nodes of one physical junction
   (:mod:`~geo_sppa.roads.network.junctions`: nodes within ``junction_merge_m``, transitively,
   every node on a round face up to ``roundabout_max_diameter_m`` across, and ways tagged as one
   roundabout) and joins chains into routes (:mod:`~geo_sppa.roads.network.routes`: through
   junctions by name/ref or the straightest continuation, carriageway pairs on one measure).
2. :func:`snapped_collisions` snaps each collision to the nearest link within a tolerance,
   preferring a road whose name or ref the collision names unless it is more than
   ``prefer_factor`` (2) times as far as the nearest (the moves are counted).
3. :func:`network_sites` counts collisions per junction and in 100 m windows along routes and
   keeps those meeting a :class:`~geo_sppa.roads.rules.Rule`.

Design choices (see also each function):

* A junction is a node where 3+ link ends meet. Junction ids, chain ids and route ids come from
  rounded coordinates (metres), never from row order, and the network frames are sorted by keys
  derived from geometry, so shuffling, reversing, splitting or duplicating input ways changes
  nothing.
* Junction merging: junction nodes within ``junction_merge_m`` are merged transitively
  (union-find with ``connected_components``), and so are all junction nodes on a small, round
  face of the network (``polygonize`` of short chains; circularity >= 0.85, >= 0.92 beyond 60 m,
  so square blocks are not roundabouts). Chains lying inside one junction (ring arcs, short
  connectors) belong to it, so a roundabout's catchment grows with its ring.
* Snapping: a link named by the collision's ``road_number`` or ``location`` (whole words,
  common abbreviations expanded) wins when within the tolerance and at most twice as far as
  the nearest; among near-equal candidates (``tie_m``) the named one, then the nearest, then
  the lowest ``link_id``.
* Collisions in a qualifying junction site are not counted again in link windows. A window
  that passes a junction counts the collisions snapped to its route there when the junction
  is not itself a site (collisions at a junction that does not qualify on its own may still
  make a link site along the road); when the junction is a site, they are that site's alone and
  the window counts only the collisions either side of it.
* Link windows are anchored at collisions (exact, equivalent to a step of 0 m), and chosen greedily:
  the peak window of a route becomes a site, its collisions are removed, and the route is
  scanned again. A run of qualifying windows therefore gives its peak as one site, and a long
  bad stretch gives several non-overlapping sites rather than one. The reported 100 m line is
  centred on the span of the site's collisions (kept within the route), and named after the
  road under its centre and the nearest cross street on the route within 100 m, else a grid
  reference.
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
