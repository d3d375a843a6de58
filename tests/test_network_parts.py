"""The per-network parts the link scan works out once: kept while the network lives, no longer."""

from __future__ import annotations

import gc

import numpy as np

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


def test_chain_ends_are_the_junction_positions_of_the_chain_ends():
    net = road_network(crossroads())
    parts = network_sites_module._parts_of(net)
    ids = net.junctions.index.to_numpy(dtype=object)
    for ends, col in zip(parts.chain_ends, ("start_junction_id", "end_junction_id"), strict=True):
        expected = net.chains[col].to_numpy(dtype=object)
        got = np.where(ends >= 0, ids[np.maximum(ends, 0)], None)
        assert [g if g is not None else None for g in got] == [
            e if isinstance(e, str) else None for e in expected
        ]
