"""Run one piece of work in a forked child process while the caller goes on with its own.

A cluster run on a 2-core machine has independent pieces that each take seconds at national
scale: the safety performance function over a million candidate sites beside the window scan,
the printable dossier beside the map and the files. :func:`in_background` forks a child that
computes one of them from the caller's memory as it stands (nothing is pickled on the way in)
and sends back only the result; :meth:`Pending.result` waits for it. On Linux the child is
killed with its parent, so a run killed part-way stops all of its work.

Where ``fork`` is not available (Windows, or a caller that asks for one process) the work runs
in the caller's process when its result is asked for, with the same result. The child writes no
file: if the run is killed, nothing half-written is left behind, and a child whose parent has
gone ends when it tries to send its result.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["Pending", "can_fork", "default_jobs", "in_background"]

T = TypeVar("T")


def can_fork() -> bool:
    """Return True where a child process can be forked (POSIX ``fork`` start method)."""
    return "fork" in multiprocessing.get_all_start_methods()


def default_jobs() -> int:
    """Return the number of processes a run uses by default: 2 with 2+ CPUs and fork, else 1."""
    return 2 if (os.cpu_count() or 1) >= 2 and can_fork() else 1


class Pending(Generic[T]):
    """The result of a piece of work under way (or, run serially, still to be run)."""

    def __init__(
        self, fn: Callable[..., T], args: tuple, kwargs: dict, *, fork: bool
    ) -> None:  # fmt: skip
        self._call = (fn, args, kwargs)
        self._proc: Any = None
        self._conn: Any = None
        if fork:
            ctx = multiprocessing.get_context("fork")
            self._conn, child_end = ctx.Pipe(duplex=False)
            self._proc = ctx.Process(target=_child, args=(child_end, fn, args, kwargs, os.getpid()),
                                     daemon=True)  # fmt: skip
            self._proc.start()
            child_end.close()

    @property
    def forked(self) -> bool:
        """True when the work runs in a child process."""
        return self._proc is not None

    def result(self) -> T:
        """Return the work's result, waiting for the child; re-raise the error it raised.

        Raises
        ------
        RuntimeError
            The child ended without a result (killed, e.g. out of memory).
        """
        if self._proc is None:
            fn, args, kwargs = self._call
            return fn(*args, **kwargs)
        try:
            ok, value = self._conn.recv()
        except EOFError:
            self._proc.join()
            raise RuntimeError(
                f"a background process of this run ended without a result (exit code "
                f"{self._proc.exitcode}); run again with --jobs 1 to do the work in one process"
            ) from None
        finally:
            self._conn.close()
        self._proc.join()
        if not ok:
            raise value
        return value


def in_background(fn: Callable[..., T], /, *args: Any, jobs: int = 2, **kwargs: Any) -> Pending[T]:
    """Start ``fn(*args, **kwargs)`` in a forked child; return its :class:`Pending` result.

    Parameters
    ----------
    fn, args, kwargs
        The work. It must not write files or change state the caller relies on: it runs on a
        copy of the caller's memory, and only its return value (pickled) comes back.
    jobs
        Processes the run may use; with 1, or where fork is unavailable, nothing is forked and
        ``fn`` runs when :meth:`Pending.result` is called.

    Returns
    -------
    Pending
        Call :meth:`Pending.result` for the value (or the exception ``fn`` raised).
    """
    return Pending(fn, args, kwargs, fork=jobs > 1 and can_fork())


def _child(conn: Any, fn: Callable[..., Any], args: tuple, kwargs: dict, parent: int) -> None:
    """Run the work in the child and send ``(ok, value or exception)`` to the parent."""
    _end_with_parent(parent)
    try:
        message: tuple[bool, Any] = (True, fn(*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - sent to the parent, which re-raises it
        message = (False, exc)
    try:
        conn.send(message)
    except (BrokenPipeError, OSError):  # the parent has gone: nothing to report to
        pass
    except Exception as exc:  # noqa: BLE001 - the value or error would not pickle
        conn.send((False, RuntimeError(f"background work could not send its result: {exc}")))
    finally:
        conn.close()


def _end_with_parent(parent: int) -> None:
    """Linux: have the kernel kill this child when its parent dies (a killed run's work stops)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the child ends when it tries to send
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
