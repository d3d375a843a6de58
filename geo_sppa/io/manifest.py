"""The ``run.json`` manifest: what a run read, with which options and versions, and what it wrote.

Each command writes its entry last, after every output is complete, so a folder whose
``run.json`` names a run holds that run's outputs in full. Several commands may share one
output folder (``maps/`` by default); the manifest keeps one entry per command, and
``latest`` names the command that ran last.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import platform
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from geo_sppa.io.writers import PARTIAL_MARK, write_text

__all__ = ["MANIFEST_NAME", "file_record", "stale_outputs", "write_manifest"]

MANIFEST_NAME = "run.json"
_PACKAGES = (
    "geo-sppa",
    "geopandas",
    "shapely",
    "pandas",
    "numpy",
    "pyarrow",
    "pyogrio",
    "pyproj",
    "folium",
)


def file_record(path: str | Path) -> dict[str, object]:
    """Return a file's name, size in bytes and SHA-256 checksum (a folder: its CSV files)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.rglob("*.csv"))
        return {"path": str(path), "files": [file_record(f) for f in files]}
    with open(path, "rb", buffering=0) as handle:  # one pass, large reads, GIL released
        digest = hashlib.file_digest(handle, "sha256")
    return {"path": str(path), "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            continue
    return versions


def _read_manifest(folder: Path) -> dict:
    try:
        data = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and isinstance(data.get("runs"), dict) else {}


def stale_outputs(folder: str | Path, command: str, written: Iterable[Path]) -> list[Path]:
    """Return files an earlier run of ``command`` wrote to ``folder`` that this run did not.

    Only the command's own entry in ``run.json`` counts, so commands sharing a folder (``maps/``
    by default) never remove each other's files; a file that another command's entry also lists
    (``report`` and ``clusters`` both write ``clusters.csv``) is left alone. Also returns the
    partial files of a killed run (their names carry the partial mark of
    :func:`geo_sppa.io.writers.atomic_path`): those of this command's files, and any whose
    writing process is gone, never those another command is still writing.
    """
    folder = Path(folder)
    now = {Path(p).name for p in written}
    runs = _read_manifest(folder).get("runs", {})
    mine = _output_names(runs.get(command, {}))
    others = set().union(*(_output_names(e) for c, e in runs.items() if c != command))
    stale = [folder / n for n in sorted(mine - now - others) if n and (folder / n).is_file()]
    for partial in sorted(p for p in folder.glob(f".*{PARTIAL_MARK}*") if p.is_file()):
        target, pid = _partial_target(partial.name)
        if target in mine | now or not _running(pid):
            stale.append(partial)
    return stale


def _output_names(entry: object) -> set[str]:
    """Return the file names an entry of ``run.json`` lists as its outputs."""
    outputs = entry.get("outputs", []) if isinstance(entry, dict) else []
    return {Path(str(o.get("path", ""))).name for o in outputs if isinstance(o, dict)} - {""}


def _partial_target(name: str) -> tuple[str, int | None]:
    """Return the file a partial file ``.stem.partial-PID.suffix`` stands for, and the PID."""
    stem, _, rest = name[1:].partition(PARTIAL_MARK)
    digits = "".join(itertools.takewhile(str.isdigit, rest))
    suffix = rest[len(digits) :].removesuffix("-journal")
    return stem + suffix, int(digits) if digits else None


def _running(pid: int | None) -> bool:
    """Return True if process ``pid`` is alive (and is not this one, whose writes are done)."""
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, owned by another user
        return True
    return True


def write_manifest(
    folder: str | Path,
    *,
    command: str,
    inputs: Iterable[str | Path],
    options: Mapping[str, object],
    counts: Mapping[str, object],
    outputs: Iterable[str | Path],
    started: datetime,
    removed: Iterable[str | Path] = (),
) -> Path:
    """Write (or update) ``folder/run.json`` with this run's entry; call it after every output.

    Parameters
    ----------
    folder
        The output folder.
    command
        The command's name (``clusters``); its earlier entry is replaced.
    inputs
        The files read (size and checksum recorded).
    options
        The options in force, JSON-serialisable values (others are written as text).
    counts
        Records read, used, set aside, sites found...
    outputs
        The files written by this run (size and checksum recorded).
    started
        When the run started (UTC).
    removed
        Files of an earlier run removed from the folder.
    """
    folder = Path(folder)
    manifest = _read_manifest(folder) or {"runs": {}}
    manifest["latest"] = command
    manifest["runs"][command] = {
        "command": command,
        "argv": sys.argv[1:],
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": _package_versions(),
        "options": {k: _jsonable(v) for k, v in options.items()},
        "inputs": [file_record(p) for p in inputs if p and Path(p).exists()],
        "counts": {k: _jsonable(v) for k, v in counts.items()},
        "outputs": [file_record(p) for p in outputs],
        "removed_from_earlier_run": [Path(p).name for p in removed],
    }
    return write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", folder / MANIFEST_NAME
    )


def _jsonable(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return str(value)
