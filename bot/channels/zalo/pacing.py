"""Our pace towards Zalo: at most N calls started in any one second (all chats), and a pause after a -32.

Zalo limits each app's API calls (error -32 "reached limit call api"); staying under a configured rate keeps
us from meeting it, and when we do, every send waits out the pause. A chat's own order needs no pacing here:
its worker sends one call at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable


class Pacer:
    """``async with pacer.slot():`` around each call to Zalo; FIFO for the callers waiting."""

    def __init__(self, per_second: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget = max(1, int(per_second))
        self.clock = clock
        self._started: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Nothing starts for ``seconds`` (a later, longer pause wins)."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self.clock())

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._lock:
            while True:
                now = self.clock()
                while self._started and self._started[0] <= now - 1.0:
                    self._started.popleft()
                delay = self._paused_until - now
                if len(self._started) >= self.budget:
                    delay = max(delay, self._started[0] + 1.0 - now)
                if delay <= 0:
                    break
                await asyncio.sleep(delay)  # a deadline (the window's oldest call, a pause): sleeping is the point
            self._started.append(self.clock())
        yield
