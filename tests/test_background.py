"""geo_sppa.background: work in a forked child, its result or error back in the parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from geo_sppa.background import can_fork, default_jobs, in_background
from geo_sppa.errors import InputError

needs_fork = pytest.mark.skipif(not can_fork(), reason="no fork on this platform")


def _pid_and_sum(values: np.ndarray) -> tuple[int, float]:
    return os.getpid(), float(values.sum())


def _fail() -> None:
    raise InputError("roads.gpkg: column highway missing; add it")


def _vanish() -> None:
    os._exit(3)  # as a child killed by the kernel (out of memory) would end: no result sent


@needs_fork
def test_the_work_runs_in_another_process_on_the_callers_memory():
    values = np.arange(1_000_000, dtype=float)  # not pickled on the way in: the child forks
    pending = in_background(_pid_and_sum, values, jobs=2)
    assert pending.forked
    pid, total = pending.result()
    assert pid != os.getpid()
    assert total == float(values.sum())


def test_with_one_job_the_work_runs_here_when_its_result_is_asked_for():
    calls: list[int] = []

    def work(x: int) -> int:
        calls.append(x)
        return x * 2

    pending = in_background(work, 21, jobs=1)
    assert not pending.forked and calls == []  # not run yet
    assert pending.result() == 42 and calls == [21]


@needs_fork
def test_a_frame_comes_back_equal_and_changes_in_the_child_stay_there():
    frame = pd.DataFrame({"site": ["J1", "S2@0"], "mu": [0.5, 1.5]})

    def work() -> pd.DataFrame:
        frame.loc[0, "mu"] = 99.0  # the child's copy
        return frame.assign(mu2=frame["mu"] * 2)

    back = in_background(work, jobs=2).result()
    assert back["mu2"].tolist() == [198.0, 3.0]
    assert frame["mu"].tolist() == [0.5, 1.5]  # the caller's frame is not modified


@needs_fork
def test_an_error_in_the_child_is_raised_in_the_parent_with_its_message():
    with pytest.raises(InputError, match="column highway missing; add it"):
        in_background(_fail, jobs=2).result()


@needs_fork
def test_a_child_that_ends_without_a_result_is_an_error_that_names_the_way_round():
    with pytest.raises(RuntimeError, match=r"exit code 3\); run again with --jobs 1"):
        in_background(_vanish, jobs=2).result()


def test_the_default_is_two_processes_only_where_there_are_two_cpus(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert default_jobs() == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert default_jobs() == (2 if can_fork() else 1)


@needs_fork
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_child_of_a_killed_run_is_killed_with_it(tmp_path):
    """SIGKILL the parent while its child works: the child must not run on as an orphan."""
    pid_file = tmp_path / "child.pid"
    script = textwrap.dedent(
        f"""
        import os, time
        from geo_sppa.background import in_background

        def work():
            open({str(pid_file)!r}, "w").write(str(os.getpid()))
            time.sleep(60)

        in_background(work, jobs=2).result()
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    child = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for init to reap it counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False
