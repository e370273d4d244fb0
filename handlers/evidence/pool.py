"""A bounded pool of worker processes for OCR, QR and APK work, with a time limit per job.

Heavy work never runs on the event loop, and a hostile file cannot take the bot down with it: it runs in a
separate process (a crash in an image decoder kills one worker, not the server), at most ``workers`` jobs
run at once and at most ``queue`` more wait — beyond that the answer is "busy" at once. A job past
``job_seconds`` is abandoned: the workers are killed and started again on the next job.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from handlers.cpu import unpinned
from handlers.evidence.limits import Limits, Unreadable
from handlers.evidence.work import init_worker

log = logging.getLogger(__name__)
T = TypeVar("T")


class EvidencePool:
    """Runs picklable functions in worker processes. Create once per runtime; :meth:`close` at shutdown."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._executor: ProcessPoolExecutor | None = None
        self._busy = 0

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # "spawn": a fresh interpreter, never a fork of a server that holds database connections and threads.
            self._executor = ProcessPoolExecutor(max_workers=self.limits.workers, initializer=init_worker,
                                                 initargs=(unpinned(),),
                                                 mp_context=multiprocessing.get_context("spawn"))
        return self._executor

    def _kill(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        # ProcessPoolExecutor has no public way to stop a running job (Python 3.14 adds terminate_workers);
        # killing its processes makes every pending future fail at once with BrokenProcessPool.
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker. :class:`Unreadable` when busy, past the time limit, or the worker died."""
        if self._busy >= self.limits.workers + self.limits.queue:
            raise Unreadable("busy", "too many files are being read right now")
        self._busy += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(self._pool(), fn, *args)
            return await asyncio.wait_for(future, self.limits.job_seconds)
        except TimeoutError:
            log.warning("evidence job took over %.0f s; restarting the workers", self.limits.job_seconds)
            self._kill()
            raise Unreadable("timeout", f"reading took longer than {self.limits.job_seconds:g} s") from None
        except BrokenProcessPool:
            log.warning("an evidence worker died; restarting the workers")
            self._kill()
            raise Unreadable("crashed", "the reader stopped on this file") from None
        finally:
            self._busy -= 1

    def close(self) -> None:
        """Stop the workers: at once when a job still runs (it is not worth a slow shutdown), else cleanly."""
        if self._busy:
            self._kill()
            return
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
