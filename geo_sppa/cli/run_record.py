"""The end of every run: remove an earlier run's stale outputs, then write ``run.json`` last.

One call from a command, after its outputs are written::

    lines += finish_run(out, command="wards", written=written, started=started,
                        inputs=ward_input_files(**inputs), options={...}, counts={...})

``run.json`` is one file per output folder with an entry per command (``runs["wards"]``), so
commands sharing a folder keep their own records and only ever remove their own files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "assessment_record",
    "finish_run",
    "run_started",
    "ward_counts",
    "ward_input_files",
    "ward_options",
]


def run_started() -> datetime:
    """Return the current time in UTC, the ``started`` of :func:`finish_run`."""
    return datetime.now(timezone.utc)


def finish_run(
    out: Path,
    *,
    command: str,
    written: list[Path],
    started: datetime,
    inputs: Iterable[str | Path | None] = (),
    options: Mapping[str, Any] | None = None,
    counts: Mapping[str, Any] | None = None,
) -> list[tuple[str, str]]:
    """Remove an earlier run's stale outputs, write ``run.json`` last; return summary lines.

    Outputs that an earlier run of the same command wrote to ``out`` and this run did not (a
    ``clusters_resolved.csv`` from a window that had resolved sites, say), and partial files of
    a killed run, are removed so the folder holds one run's outputs; the summary names them.

    Parameters
    ----------
    out
        The output folder.
    command
        The command's key in ``run.json`` (``clusters``, ``wards``, ``map wards wards_map.html``).
    written
        Every file this run wrote, in the order written.
    started
        When the run started (UTC; :func:`run_started`).
    inputs
        The files read, bundled or the user's (None entries are skipped).
    options
        The options that shape the result.
    counts
        Records read, used, set aside, and what the run found.
    """
    from geo_sppa.io.manifest import stale_outputs, write_manifest

    stale = stale_outputs(out, command, written)
    for path in stale:
        path.unlink(missing_ok=True)
    manifest = write_manifest(
        out,
        command=command,
        inputs=[p for p in inputs if p],
        options=options or {},
        counts=counts or {},
        outputs=written,
        started=started,
        removed=stale,
    )
    lines = [("wrote", str(p)) for p in [*written, manifest]]
    lines += [("removed", f"{p.name} (left by an earlier run)") for p in stale]
    return lines


def ward_input_files(
    *,
    area: str,
    incidents: str | None = None,
    wards_path: str | None = None,
    ward_set: str | None = None,
    imd_choice: str | None = None,
    population_path: str | None = None,
    population21_path: str | None = None,
    lsoas_path: str | None = None,
    lookup_path: str | None = None,
    **_: Any,
) -> list[Path]:
    """Return the files ``wards``/``outliers`` read from their options: the user's, else bundled.

    Takes the inputs of :func:`geo_sppa.cli.wards.read_ward_inputs` as they are; the bundled
    deprivation releases and England lookups, read for the change columns, are listed too.
    """
    from geo_sppa.bundled.areas import bundled_area

    bundle = bundled_area(area)
    chosen_set = ward_set or bundle.default_ward_set
    imd_key = imd_choice or bundle.default_imd
    files = [
        incidents or bundle.incidents,
        wards_path or (bundle.wards.get(chosen_set) if chosen_set else None),
        population_path or bundle.population,
        population21_path,
        lsoas_path or bundle.lsoas,
        lookup_path or bundle.lsoa_lookup,
        imd_key if imd_key and imd_key not in bundle.imd else None,
        *bundle.imd.values(),
        *(bundle.england.get(k) for k in ("lookup_lsoa11_lsoa21", "lookup_lsoa21_ward24")),
    ]
    return [Path(f) for f in files if f]


def ward_counts(frames: Mapping[str, Any], table: Any) -> dict[str, object]:
    """Return the counts of a ward run for ``run.json``, never more than its summary shows.

    ``frames`` are the inputs :func:`geo_sppa.cli.wards.read_ward_inputs` returned and ``table``
    the :class:`~geo_sppa.wards.rates.WardTable` (``ward_outliers(...).table``); where small
    counts are suppressed the summary withholds the exact total used, and so does this.
    """
    n_used = int(table.rates.n_used)
    shown = dict(table.summary).get("records used")
    return {
        "n_read": len(frames["incidents"]) + len(frames["read_set_aside"]),
        "n_used": n_used if shown == f"{n_used:,}" else "withheld (small counts suppressed)",
        "n_set_aside": len(table.set_aside),
    }


def ward_options(inputs: Mapping[str, Any], **more: Any) -> dict[str, Any]:
    """Return the options of a ward run that shape its result (its file paths are inputs)."""
    kept = {k: v for k, v in inputs.items() if not k.endswith("_path") and k != "incidents"}
    return {**kept, **more}


def assessment_record(
    assessment: Any, *, roads: str | None, unit_costs: str, ward_set: str | None, imd: str | None
) -> tuple[list[Path], dict[str, object]]:
    """Return the files a strategic assessment read and its counts, for ``run.json``.

    ``assessment`` is a :class:`~geo_sppa.assessment.pipeline.StrategicAssessment`; the other
    arguments are the ``report`` options it was made with.
    """
    from geo_sppa.assessment.crime_costs import UNIT_COST_TABLES
    from geo_sppa.bundled.areas import bundled_area

    a = assessment
    bundle = bundled_area(a.area)
    files: list[Path | str | None] = [
        a.collisions_path,
        a.incidents_path,
        a.themes_path,
        a.population_path,
        (bundle.roads or bundle.context_roads) if roads is None else None,
        roads if roads not in (None, "osm") else None,
        None if unit_costs in UNIT_COST_TABLES else unit_costs,
    ]
    if a.outliers is not None:
        wards = ward_input_files(area=a.area, incidents=a.incidents_path, ward_set=ward_set,
                                 imd_choice=imd)  # fmt: skip
        files += [f for f in wards if f not in files]
    table = a.set_aside_counts()
    counts = {
        "n_read": int(table["read"].sum()),
        "n_set_aside": int(table["set_aside"].sum()),
        "by_input": table[["input", "read", "used", "set_aside"]].to_dict("records"),
        "n_sites": len(a.clusters.sites),
        "cluster_window": list(a.clusters.window),
    }
    return [Path(f) for f in files if f], counts
