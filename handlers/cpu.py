"""Pinning a serving process to one CPU (``server.cpu``), and handing its helpers back the CPUs it had.

A ``hotline serve`` process runs Python on one core at a time anyway (the GIL), but two of its threads take
turns all the time: the event loop and the SQLite writer (:mod:`storage.db`), which hand the interpreter to
each other at every statement. Left free, the kernel runs them on different cores, and every hand-over moves
the interpreter's working set between the cores' caches: in bench/ab_chat.py's interleaved rounds one pinned
process took 0.94 ms of CPU per chat message against 1.42 unpinned (0.22 against 0.16 of the ceiling); two
processes on one file did as well unpinned as pinned once their writers took turns through flock. Off by
default: on a machine shared with other work, a pinned process cannot move away from a busy core.

Children inherit a process's CPUs, so the evidence workers (OCR, one per core) are given back the set the
server had before it pinned itself (:func:`unpinned`).
"""

from __future__ import annotations

import os

_before: frozenset[int] | None = None  # the CPUs this process could use before pin()


class PinError(ValueError):
    """The CPU asked for cannot be used here (not Linux, or not among this process's CPUs)."""


def available() -> frozenset[int]:
    """The CPUs this process may run on now (all of them where the platform cannot say)."""
    getter = getattr(os, "sched_getaffinity", None)
    return frozenset(getter(0)) if getter is not None else frozenset(range(os.cpu_count() or 1))


def pin(cpu: int) -> None:
    """Run this thread, and every thread and process it starts from now on, on ``cpu`` only. Call it before the
    server starts its threads: a thread keeps the CPUs it had when it started."""
    global _before
    setter = getattr(os, "sched_setaffinity", None)
    if setter is None:
        raise PinError("server.cpu: pinning to a CPU needs Linux (sched_setaffinity)")
    allowed = available()
    if cpu not in allowed:
        raise PinError(f"server.cpu: CPU {cpu} is not one this process may use "
                       f"({', '.join(map(str, sorted(allowed)))})")
    if _before is None:
        _before = allowed
    setter(0, {cpu})
    # numpy's OpenBLAS starts its own thread pool at import and spreads it over every CPU, whatever this thread's
    # affinity: on one CPU it can only get in the way (the intent model's products are small). Evidence workers
    # inherit this too, and there one worker per core is the parallelism.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def unpinned() -> frozenset[int]:
    """The CPUs this process had before :func:`pin` (what it has now if it never pinned): for its workers."""
    return _before if _before is not None else available()
