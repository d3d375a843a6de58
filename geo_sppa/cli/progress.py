"""Progress on stderr for the stages of a long command (reading, scanning, writing, the map).

The display is a one-line tqdm bar naming the stage under way and the time so far. It shows
only when stderr is a terminal and ``-q`` was not given, so pipes, logs and CI stay clean; with
``-v`` each stage's time is also logged.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import click

__all__ = ["Progress"]

_log = logging.getLogger("geo_sppa")


class Progress:
    """Stage-by-stage progress of one command run.

    Parameters
    ----------
    stages
        The stages' names in order (``["reading inputs", "cluster scan", ...]``).
    file
        Where to draw (default: stderr); nothing is drawn unless it is a terminal.
    quiet
        Draw nothing (default: the ``-q`` flag of the running ``geo-sppa`` command).
    """

    def __init__(
        self, stages: list[str], *, file: IO[str] | None = None, quiet: bool | None = None
    ) -> None:
        from tqdm import tqdm

        if quiet is None:
            ctx = click.get_current_context(silent=True)
            quiet = bool(ctx and ctx.find_root().params.get("quiet"))
        stream = file if file is not None else sys.stderr
        shown = not quiet and hasattr(stream, "isatty") and stream.isatty()
        self._bar = tqdm(
            total=len(stages),
            file=stream,
            disable=not shown,
            leave=False,
            bar_format="{desc} [{n_fmt}/{total_fmt} stages, {elapsed}]",
        )
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Show ``name`` as the stage under way while the block runs; record its time."""
        self._bar.set_description_str(f"geo-sppa: {name}")
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = time.perf_counter() - start
            _log.info("%s: %.1f s", name, self.seconds[name])
            self._bar.update(1)

    def close(self) -> None:
        """Remove the bar from the terminal."""
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
