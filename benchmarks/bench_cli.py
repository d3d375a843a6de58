"""Benchmark what users run: the whole ``geo-sppa clusters`` command with every output.

For each scale the synthetic national case of ``bench_clusters.py`` (``--scale 1``: about
1,000,000 road links and 350,000 collisions) is written once, untimed, as the files a user
brings: a STATS19-style collision CSV (2016-2021, so there is a previous window) and a
GeoPackage of roads. Then, each in its own process so that each reports its own peak memory:

* ``floor``: read the CSV and the GeoPackage (pandas, pyogrio) and snap every collision to its
  nearest road with one STRtree ``query_nearest``: the least any such command must do;
* ``cli``: ``python -m geo_sppa -v clusters --collisions ... --roads ... --years 2019-2021``,
  writing every output (CSV, GeoPackage, GeoJSON, set-aside CSV, HTML map, run.json). Its
  per-stage times are read from the ``-v`` log.

Wall seconds, CPU seconds (user + system, from ``os.wait4``) and their ratios are printed, with
the load average before and after each scale: on a shared machine the CPU ratio is the fairer
one. ``--cases DIR`` keeps the written inputs there and reuses them on the next run.

Example::

    .venv/bin/python benchmarks/bench_cli.py --scales 0.1
    .venv/bin/python benchmarks/bench_cli.py               # 0.1, 0.3 and 1.0
    nice -n -5 .venv/bin/python benchmarks/bench_cli.py --cases /tmp/geo-sppa-cases
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_clusters import synthetic_arrays  # noqa: E402

_SEVERITY_CODE = {"fatal": "1", "serious": "2", "slight": "3"}


def write_inputs(scale: float, folder: Path) -> tuple[Path, Path]:
    """Write the synthetic case as a collision CSV and a roads GeoPackage (not timed)."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    arrays = synthetic_arrays(scale)
    rng = np.random.default_rng(7)
    n = len(arrays["xy"])
    days = rng.integers(0, 6 * 365, n)
    dates = pd.Timestamp("2016-01-01") + pd.to_timedelta(days, unit="D")
    csv = folder / "collisions.csv"
    pd.DataFrame(
        {
            "accident_index": np.char.add("2019BENCH", np.arange(n).astype(str)),
            "location_easting_osgr": arrays["xy"][:, 0].round(0).astype(int),
            "location_northing_osgr": arrays["xy"][:, 1].round(0).astype(int),
            "accident_severity": [_SEVERITY_CODE[s] for s in arrays["severity"]],
            "date": dates.strftime("%d/%m/%Y"),
        }
    ).to_csv(csv, index=False)
    rings = [shapely.LineString(r) for r in arrays["rings"]]
    geoms = np.r_[shapely.linestrings(arrays["coords"]), np.array(rings, dtype=object)]
    n_ring = len(rings)
    roads = gpd.GeoDataFrame(
        {
            "name": np.r_[arrays["names"], np.full(n_ring, None, dtype=object)],
            "ref": np.r_[arrays["refs"], np.full(n_ring, "", dtype=object)],
            "highway": np.r_[arrays["highway"], np.full(n_ring, "primary", dtype=object)],
        },
        geometry=geoms,
        crs="EPSG:27700",
    )
    gpkg = folder / "roads.gpkg"
    roads.to_file(gpkg, driver="GPKG", engine="pyogrio")
    return csv, gpkg


def floor(csv: str, gpkg: str) -> None:
    """Read both inputs and snap every collision to its nearest road (run in a child)."""
    import pandas as pd
    import pyogrio
    import shapely

    table = pd.read_csv(csv, dtype=str)
    points = shapely.points(
        table["location_easting_osgr"].astype(float), table["location_northing_osgr"].astype(float)
    )
    roads = pyogrio.read_dataframe(gpkg)
    tree = shapely.STRtree(roads.geometry.values)
    tree.query_nearest(points, return_distance=True, all_matches=False)


def timed_child(args: list[str]) -> dict:
    """Run a child process; return its wall seconds, CPU seconds, peak RSS, stdout and stderr.

    The child writes to temporary files, not pipes, so a long log can never fill a pipe and
    stall it while this process waits; a failed child raises with the end of its stderr.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, text=True)
        _, status, rusage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(args[:4])} ... failed:\n{stderr[-2000:]}")
    return {
        "wall_s": wall,
        "cpu_s": rusage.ru_utime + rusage.ru_stime,
        "maxrss_mb": rusage.ru_maxrss / 1024,
        "stdout": stdout,
        "stderr": stderr,
    }


def run_scale(scale: float, cases: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="geo-sppa-bench-") as tmp:
        folder = Path(tmp)
        if cases is None:
            csv, gpkg = write_inputs(scale, folder)
        else:
            case = cases / f"scale-{scale:g}"
            csv, gpkg = case / "collisions.csv", case / "roads.gpkg"
            if not (csv.exists() and gpkg.exists()):
                case.mkdir(parents=True, exist_ok=True)
                csv, gpkg = write_inputs(scale, case)
        load_before = os.getloadavg()[0]
        base = timed_child([sys.executable, __file__, "--floor", str(csv), str(gpkg)])
        out = folder / "out"
        cli = timed_child(
            [sys.executable, "-m", "geo_sppa", "-v", "clusters", "--collisions", str(csv),
             "--roads", str(gpkg), "--years", "2019-2021", "-o", str(out)]
        )  # fmt: skip
        if not (out / "run.json").exists():
            raise SystemExit(f"the command failed at scale {scale}:\n{cli['stderr'][-2000:]}")
        stages = {
            m.group(1): float(m.group(2))
            for m in re.finditer(r"INFO: ([a-z ]+): ([\d.]+) s", cli["stderr"])
        }
        run = json.loads((out / "run.json").read_text())["runs"]["clusters"]
        sizes = {Path(o["path"]).name: o["bytes"] / 1e6 for o in run["outputs"]}
        return {"scale": scale, "floor": base, "cli": cli, "stages": stages, "sizes": sizes,
                "counts": run["counts"], "load": (load_before, os.getloadavg()[0])}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    parser.add_argument("--floor", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--cases", type=Path, help="keep the written inputs here and reuse them")
    args = parser.parse_args()
    if args.floor:
        floor(*args.floor)
        return
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.1f}; {os.cpu_count()} CPUs")
    print("| scale | collisions | sites | floor wall / CPU | CLI wall / CPU "
          "| CLI / floor wall / CPU "
          "| peak RSS floor / CLI | reading, scan, map+dossier, writing | HTML MB | GPKG MB "
          "| load before / after |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for scale in args.scales:
        r = run_scale(scale, args.cases)
        f, c, st, sz = r["floor"], r["cli"], r["stages"], r["sizes"]
        stage_text = ", ".join(
            f"{st.get(k, float('nan')):.1f}"
            for k in ("reading inputs", "cluster scan", "map", "writing outputs")
        )
        print(
            f"| {scale:g} | {r['counts'].get('n_read', 0):,} | {r['counts'].get('n_sites', 0):,} "
            f"| {f['wall_s']:.1f} / {f['cpu_s']:.1f} s | {c['wall_s']:.1f} / {c['cpu_s']:.1f} s "
            f"| {c['wall_s'] / f['wall_s']:.1f}x / {c['cpu_s'] / f['cpu_s']:.1f}x "
            f"| {f['maxrss_mb']:,.0f} / {c['maxrss_mb']:,.0f} MB | {stage_text} s "
            f"| {sz.get('clusters.html', 0):.1f} | {sz.get('clusters.gpkg', 0):.1f} "
            f"| {r['load'][0]:.1f} / {r['load'][1]:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
