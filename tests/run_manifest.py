"""Check a command's entry in its output folder's ``run.json`` against the files themselves."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def wrote(output: str) -> list[Path]:
    """Return the paths a run summary names on its ``wrote`` lines, in order."""
    return [Path(m) for m in re.findall(r"^  wrote +(\S+)", output, flags=re.M)]


def checked_entry(folder: Path, command: str, output: str) -> dict:
    """Return ``run.json``'s entry for ``command`` after checking it against the disk.

    Its outputs are exactly the files the summary says it wrote (run.json last, itself not
    listed), each with the size and SHA-256 of the file; each input exists with its checksum.
    """
    manifest = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    entry = manifest["runs"][command]
    assert manifest["latest"] == command and entry["command"] == command
    named = wrote(output)
    assert named[-1] == folder / "run.json"
    assert [Path(o["path"]) for o in entry["outputs"]] == named[:-1]
    for record in entry["outputs"] + entry["inputs"]:
        path = Path(record["path"])
        assert record["bytes"] == path.stat().st_size, path
        assert record["sha256"] == sha256(path), path
    assert entry["inputs"], "no inputs recorded"
    assert "geopandas" in entry["versions"]
    return entry
