"""The per-network parts the link scan works out once: kept while the network lives, no longer."""

from __future__ import annotations

import gc

import pandas as pd

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


def test_chain_positions_from_links_match_a_lookup_of_the_ids():
    net = road_network(crossroads())
    ids = net.links["chain_id"].reset_index(drop=True)
    link = net.links["link_id"].to_numpy()
    expected = net.chains.index.get_indexer(ids.to_numpy(dtype=object))
    find = network_sites_module._chain_positions
    assert list(find(ids, link, net)) == list(expected)
    assert list(find(ids, link[::-1].copy(), net)) == list(expected)  # wrong links: looked up
    assert list(find(ids, None, net)) == list(expected)
    unknown = pd.Series(["nowhere", *ids[1:]], dtype=ids.dtype)
    assert find(unknown, link, net)[0] == -1
