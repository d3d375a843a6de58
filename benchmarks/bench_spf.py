"""Benchmark what the safety performance function and Empirical Bayes add to ``geo-sppa clusters``.

The synthetic national case of ``bench_cli.py`` (``--scale 1``: about 1,000,000 road links and
350,000 collisions, 2016-2021) is written once per scale, untimed. Then the whole command
``python -m geo_sppa -v clusters --collisions ... --roads ... --years 2019-2021 --no-map`` runs,
each in its own process, with and without ``--no-eb``, alternating, ``--repeat`` times each; the
fastest of each is compared (the machine is shared, so the minimum is the fairest figure; CPU
seconds, user + system of the child, are steadier than wall time under load). The
map is left out of both runs so that the share is of the scan and the outputs, where the SPF sits
(with the map the share is smaller). The SPF's own fit line is read from the summary.

Example::

    .venv/bin/python benchmarks/bench_spf.py --scales 0.1
    .venv/bin/python benchmarks/bench_spf.py               # 0.1 and 1.0
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_cli import timed_child, write_inputs  # noqa: E402


def run_scale(scale: float, repeat: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="geo-sppa-bench-spf-") as tmp:
        folder = Path(tmp)
        csv, gpkg = write_inputs(scale, folder)
        times: dict[str, list[float]] = {"eb": [], "no-eb": []}
        cpu: dict[str, list[float]] = {"eb": [], "no-eb": []}
        fit = ""
        for i in range(repeat):
            for label in ("no-eb", "eb"):
                out = folder / f"out-{label}-{i}"
                args = [sys.executable, "-m", "geo_sppa", "-v", "clusters", "--collisions",
                        str(csv), "--roads", str(gpkg), "--years", "2019-2021", "--no-map",
                        "-o", str(out)]  # fmt: skip
                if label == "no-eb":
                    args.append("--no-eb")
                child = timed_child(args)
                if not (out / "run.json").exists():
                    raise SystemExit(f"{label} failed at {scale}:\n{child['stderr'][-2000:]}")
                times[label].append(child["wall_s"])
                cpu[label].append(child["cpu_s"])
                found = re.search(r"SPF fit\s+(.*)", child["stdout"])
                fit = found.group(1).strip() if found else fit
        return {"scale": scale, "eb": min(times["eb"]), "no_eb": min(times["no-eb"]),
                "eb_cpu": min(cpu["eb"]), "no_eb_cpu": min(cpu["no-eb"]), "fit": fit}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    print(
        "| scale | CLI --no-eb wall / CPU | CLI with EB wall / CPU | added wall / CPU | SPF fit |"
    )
    print("| --- | --- | --- | --- | --- |")
    for scale in args.scales:
        r = run_scale(scale, args.repeat)
        added, added_cpu = r["eb"] / r["no_eb"] - 1, r["eb_cpu"] / r["no_eb_cpu"] - 1
        fit = r["fit"].split(";")[0]
        print(f"| {scale:g} | {r['no_eb']:.1f} / {r['no_eb_cpu']:.1f} s "
              f"| {r['eb']:.1f} / {r['eb_cpu']:.1f} s | {added:+.0%} / {added_cpu:+.0%} | {fit} |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
