"""Benchmark the network-mode cluster scan on a synthetic national-scale case.

The case (``--scale 1``): a jittered street grid of about 1,000,000 links (each grid edge is two
OSM-like ways meeting at a bent degree-2 node; 8% of edges dropped, so there are T junctions,
dead ends and long chains; 1 in 400 grid nodes is a small roundabout of 4 arcs) and about
350,000 collisions (55% scattered along roads, 45% in hotspots of 3-14 collisions at junctions
and mid-link), 1% fatal and 14% serious.

Two parts run in separate processes so that each reports its own peak memory (maxrss):

* ``floor``: build the roads and collisions GeoDataFrames and snap every collision to its nearest
  road with one STRtree ``query_nearest`` call: the least any network scan must do;
* ``scan``: build the same GeoDataFrames, then ``road_network`` + ``snapped_collisions`` +
  ``network_sites``.

Example::

    .venv/bin/python benchmarks/bench_clusters.py --scale 0.1
    .venv/bin/python benchmarks/bench_clusters.py            # full scale
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmark this checkout

SPACING_M = 200.0
LINKS_PER_NODE = 2 * 2 * 0.92  # two directions, two ways per edge, 8% of edges dropped
ROUNDABOUT_EVERY = 400


def synthetic_arrays(scale: float, seed: int = 1) -> dict:
    """Return plain numpy arrays for roads and collisions (generation is not timed)."""
    rng = np.random.default_rng(seed)
    n = max(int(round(np.sqrt(1_000_000 * scale / LINKS_PER_NODE))), 4)
    ix, iy = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    node_xy = np.stack([ix.ravel(), iy.ravel()], 1) * SPACING_M + 400_000.0
    node_xy += rng.uniform(-40, 40, node_xy.shape)
    node = np.arange(n * n).reshape(n, n)
    a = np.r_[node[:-1, :].ravel(), node[:, :-1].ravel()]
    b = np.r_[node[1:, :].ravel(), node[:, 1:].ravel()]
    horizontal = np.r_[np.ones(n * (n - 1), bool), np.zeros(n * (n - 1), bool)]
    line_no = np.r_[iy[:-1, :].ravel(), ix[:, :-1].ravel()]
    keep = rng.random(len(a)) > 0.08
    a, b, horizontal, line_no = a[keep], b[keep], horizontal[keep], line_no[keep]
    p, q = node_xy[a], node_xy[b]
    mid = (p + q) / 2 + rng.uniform(-15, 15, p.shape)
    coords = np.stack([np.stack([p, mid], 1), np.stack([mid, q], 1)], 1).reshape(-1, 2, 2)
    names, refs, highway = _attributes(horizontal, line_no)
    rings = _roundabouts(rng, node_xy, coords, a, b)
    return {"coords": coords, "names": names, "refs": refs, "highway": highway, "rings": rings,
            **_collisions(rng, coords, scale)}  # fmt: skip


def _attributes(horizontal, line_no):
    """Name, ref and highway per way: every grid line is one named road, every 10th an A road."""
    kind = np.repeat(np.where(horizontal, "Street", "Avenue"), 2)
    number = np.repeat(line_no, 2)
    names = np.char.add(np.char.add("Road ", number.astype(str)), np.char.add(" ", kind))
    major = number % 10 == 0
    refs = np.where(major, np.char.add("A", (number + 1).astype(str)), "")
    highway = np.where(major, "primary", np.where(number % 3 == 0, "tertiary", "residential"))
    return names.astype(object), refs.astype(object), highway.astype(object)


def _roundabouts(rng, node_xy, coords, a, b, radius=15.0) -> list:
    """Pull the arm ends at some grid nodes back onto a circle; return the ring arcs."""
    pts = coords.reshape(-1, 2)  # a view: edits change coords
    k = np.arange(len(a))
    flat = np.r_[4 * k, 4 * k + 3]
    node_of = np.r_[a, b]
    centres = np.flatnonzero(rng.random(len(node_xy)) < 1 / ROUNDABOUT_EVERY)
    chosen = np.isin(node_of, centres)
    flat, node_of = flat[chosen], node_of[chosen]
    order = np.argsort(node_of, kind="stable")
    flat, node_of = flat[order], node_of[order]
    bounds = np.flatnonzero(np.r_[True, node_of[1:] != node_of[:-1], True])
    rings = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):  # setup only: a few thousand nodes
        c = node_xy[node_of[lo]]
        hit = flat[lo:hi]
        other = np.where((hit % 2 == 0)[:, None], pts[hit + 1], pts[hit - 1])
        ang = np.sort(np.arctan2(other[:, 1] - c[1], other[:, 0] - c[0]))
        if len(ang) < 3:
            continue
        pts[hit] = (
            c
            + radius
            * np.stack([np.cos(ang), np.sin(ang)], 1)[
                np.argsort(np.argsort(np.arctan2(other[:, 1] - c[1], other[:, 0] - c[0])))
            ]
        )
        for i in range(len(ang)):
            end = ang[(i + 1) % len(ang)] + (2 * np.pi if i == len(ang) - 1 else 0)
            t = np.linspace(ang[i], end, 6)
            rings.append(c + radius * np.stack([np.cos(t), np.sin(t)], 1))
    return rings


def _collisions(rng, coords, scale) -> dict:
    n = int(350_000 * scale)
    n_links = len(coords)
    scattered = int(n * 0.55)
    link = rng.integers(0, n_links, scattered)
    t = rng.random(scattered)[:, None]
    xy = coords[link, 0] + t * (coords[link, 1] - coords[link, 0])
    hot_n = []
    while sum(hot_n) < n - scattered:
        hot_n.append(int(rng.integers(3, 15)))
    hot_n[-1] -= sum(hot_n) - (n - scattered)
    hot_link = rng.integers(0, n_links, len(hot_n))
    hot_t = np.where(rng.random(len(hot_n)) < 0.5, 0.0, rng.random(len(hot_n)))[:, None]
    hot_xy = coords[hot_link, 0] + hot_t * (coords[hot_link, 1] - coords[hot_link, 0])
    xy = np.r_[xy, np.repeat(hot_xy, hot_n, axis=0) + rng.normal(0, 12, (sum(hot_n), 2))]
    xy += rng.normal(0, 2, xy.shape)
    severity = rng.choice(np.array(["fatal", "serious", "slight"]), n, p=[0.01, 0.14, 0.85])
    return {"xy": xy, "severity": severity}


def frames(arrays: dict):
    """Build the roads and collisions GeoDataFrames (timed: part of the floor and the scan)."""
    import geopandas as gpd
    import shapely

    coords, extra = arrays["coords"], arrays["rings"]
    ways = shapely.linestrings(coords)
    n_ring = len(extra)
    geoms = np.r_[ways, np.array([shapely.LineString(r) for r in extra], dtype=object)]
    hw = arrays["highway"]
    roads = gpd.GeoDataFrame(
        {
            "road_id": np.arange(len(geoms)).astype(str),
            "name": np.r_[arrays["names"], np.full(n_ring, None, dtype=object)],
            "ref": np.r_[arrays["refs"], np.full(n_ring, "", dtype=object)],
            "highway": np.r_[hw, np.full(n_ring, "primary", dtype=object)],
        },
        geometry=geoms,
        crs="EPSG:27700",
    )
    n = len(arrays["xy"])
    collisions = gpd.GeoDataFrame(
        {
            "collision_id": np.char.add("c", np.arange(n).astype(str)).astype(object),
            "severity": arrays["severity"].astype(object),
            "road_number": None,
            "location": None,
        },
        geometry=shapely.points(arrays["xy"]),
        crs="EPSG:27700",
    )
    return roads, collisions


def run_part(part: str, scale: float) -> dict:
    arrays = synthetic_arrays(scale)
    return _timed(part, arrays)


class _Clock:
    """Wall and CPU seconds per step (CPU time is the fairer figure on a shared machine)."""

    def __init__(self, out: dict):
        self.out = out

    def __call__(self, name: str, fn, *args):
        w, c = time.perf_counter(), time.process_time()
        result = fn(*args)
        self.out[name + "_s"] = time.perf_counter() - w
        self.out[name + "_cpu_s"] = time.process_time() - c
        return result


def _timed(part: str, arrays: dict) -> dict:
    import shapely

    out: dict = {"part": part}
    clock = _Clock(out)
    w0, c0 = time.perf_counter(), time.process_time()
    roads, collisions = clock("frames", frames, arrays)
    out["n_roads"], out["n_collisions"] = len(roads), len(collisions)
    if part == "floor":

        def nearest():
            tree = shapely.STRtree(roads.geometry.values)
            return tree.query_nearest(collisions.geometry.values, return_distance=True,
                                      all_matches=False)  # fmt: skip

        clock("nearest", nearest)
    else:
        from geo_sppa.roads.network import network_sites, road_network, snapped_collisions
        from geo_sppa.roads.rules import RULES

        net = clock("road_network", road_network, roads)
        snapped = clock("snapped_collisions", snapped_collisions, collisions, net)
        sites = clock("network_sites", network_sites, snapped.snapped, net, RULES["spp"])
        out.update(n_links=len(net.links), n_chains=len(net.chains),
                   n_junctions=len(net.junctions), n_set_aside=len(snapped.set_aside),
                   n_sites=len(sites), n_junction_sites=int((sites.site_type == "junction").sum()),
                   n_multi_node_junctions=int((net.junctions.n_nodes > 1).sum()))  # fmt: skip
    out["total_s"] = time.perf_counter() - w0
    out["total_cpu_s"] = time.process_time() - c0
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 350k collisions, ~1M links")
    parser.add_argument("--part", choices=["floor", "scan"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        print(json.dumps(run_part(args.part, args.scale)))
        return
    results = {}
    for part in ("floor", "scan"):
        command = [sys.executable, __file__, "--scale", str(args.scale), "--part", part]
        proc = subprocess.run(command, capture_output=True, text=True, check=True)
        results[part] = json.loads(proc.stdout.strip().splitlines()[-1])
    floor, scan = results["floor"], results["scan"]
    print(f"scale {args.scale}: {scan['n_roads']:,} roads -> {scan['n_links']:,} links, "
          f"{scan['n_chains']:,} chains, {scan['n_junctions']:,} junctions "
          f"({scan['n_multi_node_junctions']:,} multi-node); {scan['n_collisions']:,} collisions, "
          f"{scan['n_set_aside']:,} set aside; {scan['n_sites']:,} sites "
          f"({scan['n_junction_sites']:,} junction)")  # fmt: skip
    print(f"{'part':<34}{'wall s':>10}{'CPU s':>10}")
    rows = [("floor: build GeoDataFrames", floor, "frames"),
            ("floor: STRtree nearest road", floor, "nearest"),
            ("floor total", floor, "total"),
            ("scan: build GeoDataFrames", scan, "frames"),
            ("scan: road_network", scan, "road_network"),
            ("scan: snapped_collisions", scan, "snapped_collisions"),
            ("scan: network_sites", scan, "network_sites"),
            ("scan total", scan, "total")]  # fmt: skip
    for label, part, key in rows:
        peak = f"   peak RSS {part['maxrss_mb']:,.0f} MB" if key == "total" else ""
        print(f"{label:<34}{part[key + '_s']:>10.2f}{part[key + '_cpu_s']:>10.2f}{peak}")
    print(
        f"scan / floor: {scan['total_s'] / floor['total_s']:.2f}x wall, "
        f"{scan['total_cpu_s'] / floor['total_cpu_s']:.2f}x CPU"
    )


if __name__ == "__main__":
    main()
