"""Flood control for messages we send: Telegram's limits, kept on our side so we rarely meet a 429.

Telegram asks bots to stay under about 30 messages per second overall, one per second in a chat and 20 per
minute in a group. PTB's ``AIORateLimiter`` limits only groups per chat and lets a leaky bucket burst, so
the pacing here is our own. It counts a message from the moment it is let go until one interval after its
call *finished*: however long a request waits in a queue or on the network, Telegram cannot see two of a
chat's messages closer than the interval, nor more than the overall budget in any one second. A 429 pauses
every send until its ``retry_after`` has passed (Telegram's flood wait is often bot-wide).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable


class FloodLimiter:
    """Paces sends in one process: ``async with limiter.slot(chat):`` around each message call."""

    def __init__(self, *, overall_per_second: float = 28.0, chat_interval: float = 1.0,
                 group_interval: float = 3.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget = max(1, int(overall_per_second))
        self.chat_interval = chat_interval
        self.group_interval = group_interval
        self.clock = clock
        self._finished: deque[float] = deque()  # when recent calls finished (the last second's worth)
        self._in_flight = 0
        self._chat_free_at: dict[str, float] = {}
        self._paused_until = 0.0
        self._global = asyncio.Lock()  # FIFO: chats waiting for the overall budget go in arrival order
        self._freed = asyncio.Event()

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nothing goes out for ``seconds`` (plus a margin)."""
        self._paused_until = max(self._paused_until, self.clock() + seconds + 0.1)

    async def wait_unpaused(self) -> None:
        # A deadline, not an event: a later 429 may push it further while we sleep.
        while (delay := self._paused_until - self.clock()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    @contextlib.asynccontextmanager
    async def slot(self, chat: str, *, group: bool = False) -> AsyncIterator[None]:
        """Wait until a message to ``chat`` may go out; the call made inside counts until it returns."""
        await self._acquire(chat)
        try:
            yield
        finally:
            now = self.clock()
            self._in_flight -= 1
            self._finished.append(now)
            self._chat_free_at[chat] = now + (self.group_interval if group else self.chat_interval)
            self._freed.set()
            if len(self._chat_free_at) > 10_000:
                self._forget_idle(now)

    async def _acquire(self, chat: str) -> None:
        # Deadlines again (the chat's gap, a pause): sleeping until them is the point.
        while (delay := max(self._chat_free_at.get(chat, 0.0), self._paused_until) - self.clock()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)
        async with self._global:
            while True:
                now = self.clock()
                while self._finished and self._finished[0] <= now - 1.0:
                    self._finished.popleft()
                delay = self._paused_until - now
                full = self._in_flight + len(self._finished) >= self.budget
                if full and self._finished:
                    delay = max(delay, self._finished[0] + 1.0 - now)
                if delay <= 0 and not full:
                    break
                # Sleep until the oldest counted call ages out, or until an in-flight one finishes.
                self._freed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._freed.wait(), timeout=delay if delay > 0 else None)
            self._in_flight += 1

    def _forget_idle(self, now: float) -> None:
        for chat in [c for c, t in self._chat_free_at.items() if t < now]:
            del self._chat_free_at[chat]
