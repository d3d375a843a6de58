"""Benchmark the cluster map (build time, HTML size, Chromium load) on a synthetic national case.

The case is :func:`bench_clusters.synthetic_arrays` (``--scale 1``: about 350,000 collisions on a
street grid of about 1,000,000 road lines) with synthetic sites: the ``4,400 x scale`` busiest
50 m grid cells holding 3 or more collisions, each a junction site of its cell's collisions.
The map must stay under 20 MB and open in Chromium in seconds at every scale.

Example::

    .venv/bin/python benchmarks/bench_map.py                  # 0.1x, 0.3x and 1x
    .venv/bin/python benchmarks/bench_map.py --scale 0.1 --browser
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# This checkout's geo_sppa (not an installed copy), and bench_clusters beside this file.
sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]
from bench_clusters import frames, synthetic_arrays  # noqa: E402

SITES_AT_1X = 4_400
BUDGET_MB = 20.0


def synthetic_case(scale: float, seed: int = 1):
    """Return (sites, collisions, roads) GeoDataFrames in EPSG:27700 (not timed)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    roads, collisions = frames(synthetic_arrays(scale, seed))
    rng = np.random.default_rng(seed)
    n = len(collisions)
    start = np.datetime64("2019-01-01")
    collisions = collisions.assign(
        date=pd.to_datetime(start + rng.integers(0, 5 * 365, n).astype("timedelta64[D]")),
        time=pd.Series(rng.integers(0, 24 * 60, n)).map(lambda t: f"{t // 60:02d}:{t % 60:02d}"),
        location=np.char.add("Location ", (np.arange(n) % 5000).astype(str)).astype(object),
    )
    xy = shapely.get_coordinates(collisions.geometry.values)
    cell = pd.Series(
        (xy[:, 0] // 50).astype(np.int64) * 10_000_000 + (xy[:, 1] // 50).astype(np.int64)
    )
    sizes = cell.value_counts()
    busiest = sizes[sizes >= 3].head(int(SITES_AT_1X * scale)).index
    members = cell[cell.isin(busiest)]
    groups = pd.DataFrame(
        {"cell": members.to_numpy(), "i": members.index, "x": xy[members.index, 0],
         "y": xy[members.index, 1], "severity": collisions["severity"].to_numpy()[members.index]}
    )  # fmt: skip
    per = groups.groupby("cell", sort=False)
    sev = pd.crosstab(groups["cell"], groups["severity"]).reindex(
        columns=["fatal", "serious", "slight"], fill_value=0
    )
    table = pd.DataFrame({"x": per["x"].mean(), "y": per["y"].mean(), "total": per.size()})
    table = table.join(sev).sort_values(["fatal", "serious", "total"], ascending=False)
    ids = per["i"].agg(list).map(lambda rows: collisions["collision_id"].to_numpy()[rows].tolist())
    k = len(table)
    sites = gpd.GeoDataFrame(
        {
            "site_id": [f"S{r}" for r in range(1, k + 1)],
            "site_type": "junction",
            "name": [f"Road {r} Street / Road {r} Avenue" for r in range(1, k + 1)],
            "fatal": table["fatal"].to_numpy(), "serious": table["serious"].to_numpy(),
            "slight": table["slight"].to_numpy(), "total": table["total"].to_numpy(),
            "criterion": "3+ injury collisions",
            "cost_gbp": (table["fatal"] * 2e6 + table["serious"] * 2.3e5 + table["slight"] * 2.5e4)
            .to_numpy(),
            "status": "new", "rank": np.arange(1, k + 1),
            "collision_ids": ids.reindex(table.index).to_list(),
        },
        geometry=shapely.points(table[["x", "y"]].to_numpy()),
        crs="EPSG:27700",
    )  # fmt: skip
    return sites, collisions, roads


def browser_load_s(path: Path) -> tuple[float, int]:
    """Return (seconds from navigation to the sites drawn, sites drawn) in headless Chromium."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from browser import launch_chromium, open_in_browser

    with launch_chromium() as chromium:
        start = time.perf_counter()
        with open_in_browser(path, browser=chromium, settle_ms=0) as view:
            view.page.wait_for_function("() => window.geoSppaDrawn && 'site_ranks' in geoSppaDrawn")
            seconds = time.perf_counter() - start
            drawn = view.page.locator("path.gs-site").count()
            assert view.errors() == [], view.errors()
    return seconds, drawn


def run(scale: float, *, browser: bool) -> dict:
    """Build, write and (optionally) open the map at ``scale``; return the figures."""
    from geo_sppa.render.cluster_map import cluster_map, cluster_map_contents
    from geo_sppa.render.web_map import self_contained_html

    sites, collisions, roads = synthetic_case(scale)
    t0 = time.perf_counter()
    m = cluster_map(sites, collisions, roads=roads, tiles=None, title="Synthetic national case")
    t1 = time.perf_counter()
    page = self_contained_html(m)
    t2 = time.perf_counter()
    out = {"scale": scale, "sites": len(sites), "collisions": len(collisions),
           "roads_given": len(roads), "build_s": t1 - t0, "html_s": t2 - t1,
           "mb": len(page.encode("utf-8")) / 1e6, "contents": cluster_map_contents(m)}  # fmt: skip
    if browser:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "map.html"
            path.write_text(page, encoding="utf-8")
            out["load_s"], out["sites_drawn"] = browser_load_s(path)
    return out


def main() -> None:
    """Print build time, HTML size (and Chromium load time) at each scale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, action="append", help="default: 0.1, 0.3 and 1")
    parser.add_argument("--browser", action="store_true", help="also time opening in Chromium")
    args = parser.parse_args()
    print(f"{'scale':>6}{'sites':>7}{'collisions':>11}{'roads in':>10}{'drawn':>8}"
          f"{'build s':>9}{'html s':>8}{'MB':>7}{'open s':>8}  other collisions as")  # fmt: skip
    for scale in args.scale or [0.1, 0.3, 1.0]:
        r = run(scale, browser=args.browser)
        c = r["contents"]
        opened = f"{r['load_s']:>8.1f}" if "load_s" in r else f"{'-':>8}"
        print(f"{scale:>6g}{r['sites']:>7,}{r['collisions']:>11,}{r['roads_given']:>10,}"
              f"{c.roads:>8,}{r['build_s']:>9.2f}{r['html_s']:>8.2f}{r['mb']:>7.1f}{opened}  "
              f"{c.other_collisions_as} ({c.site_collisions:,} at sites)", flush=True)  # fmt: skip
        if r["mb"] > BUDGET_MB:
            print(f"  OVER BUDGET: {r['mb']:.1f} MB > {BUDGET_MB:g} MB", flush=True)


if __name__ == "__main__":
    main()
