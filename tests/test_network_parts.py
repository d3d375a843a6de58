"""The per-network parts the link scan works out once: kept while the network lives, no longer."""

from __future__ import annotations

import gc

from geo_sppa.roads.network import road_network
from geo_sppa.roads.network import sites as network_sites_module
from tests.test_network import crossroads


def test_parts_are_made_once_per_network_and_dropped_with_it():
    net = road_network(crossroads())
    parts = network_sites_module._parts_of(net)
    assert network_sites_module._parts_of(net) is parts
    assert parts.routes is parts.routes  # worked out once
    other = road_network(crossroads())
    assert network_sites_module._parts_of(other) is not parts
    key = id(net)
    del net, parts
    gc.collect()
    assert key not in network_sites_module._PARTS
