"""Sending awareness broadcasts from their durable rows, through the channel contract (like officers' notices).

:class:`BroadcastSender` runs inside ``hotline serve`` beside the notice worker (:func:`bot.delivery.
delivery_services` starts both). Each pass it starts due broadcasts, marks finished ones, and for every push
channel registered in ``runtime.channels``:

- a rate-limited platform (Telegram, Zalo…) is sent to only by the process holding its lease, paced by a
  :class:`Pacer` at ``broadcast.per_second`` that counts as the channel's own limiter does: a row is claimed
  only once the pace allows its send, and sent at once — at most ``broadcast.in_flight`` at a time — so a
  crash can leave no claimed row waiting, only sends already on their way;
- a presence channel (the web chat) pushes to the chats whose page is open on this very process.

Outcomes by meaning (:class:`~bot.channels.base.FailureReason`): blocked → the subscription is marked and
skipped next time; rate limited → the row waits ``retry_after`` and the whole platform pauses as long;
transient → retried with backoff up to ``broadcast.max_attempts``; a send that timed out is never repeated.
Chats reached only on their next visit (the HTTP API, a web chat over plain HTTP) take their rows in
:func:`bot.delivery.pull`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from bot.channels.base import Channel, DeliveryFailure, FailureReason
from bot.runtime import Runtime
from handlers.messages import Button, OutboundMessage
from storage import broadcasts

log = logging.getLogger(__name__)

UNSUBSCRIBE = "!unsubscribe"  # the button under every warning (handlers/subscribing.py takes it)
LEASE = timedelta(seconds=10)
_FAILURES = {FailureReason.BLOCKED: "blocked", FailureReason.OUT_OF_WINDOW: "out_of_window",
             FailureReason.INVALID_RECIPIENT: "invalid_recipient", FailureReason.PERMANENT: "permanent"}
_FOOTER = {"vi": "Gõ “dừng” hoặc bấm nút dưới đây để ngừng nhận cảnh báo.",
           "en": "Type “stop” or press the button below to stop these warnings."}
_BUTTON = {"vi": "🔕 Ngừng nhận cảnh báo", "en": "🔕 Stop these warnings"}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Pacer:
    """At most ``per_second`` sends in any second, each counted from its admission until it returns — the way the
    channels' own limiters count (bot/channels/telegram/limiter.py) — and none while a platform's 429
    ``retry_after`` lasts."""

    def __init__(self, per_second: float) -> None:
        self.budget = max(1, int(per_second))
        self._finished: deque[float] = deque()
        self._in_flight = 0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()  # FIFO: waiting sends go in order

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds + 0.1)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._finished and self._finished[0] <= now - 1.0:
                    self._finished.popleft()
                wait = self._paused_until - now
                if self._in_flight + len(self._finished) >= self.budget:
                    # Until the oldest counted send ages out (or, all being in flight, a moment).
                    wait = max(wait, self._finished[0] + 1.0 - now if self._finished else 0.005)
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._finished.append(time.monotonic())


def warning_message(text: str, locale: str) -> OutboundMessage:
    """A broadcast as the parent sees it: the warning, how to stop, and a button that stops."""
    lang = "en" if locale == "en" else "vi"
    return OutboundMessage(f"{text.strip()}\n\n{_FOOTER[lang]}", (Button(UNSUBSCRIBE, _BUTTON[lang]),))


class BroadcastSender:
    """The broadcast worker of one process. Keyword arguments exist for tests and benchmarks."""

    def __init__(self, runtime: Runtime, *, poll_seconds: float = 0.5, lease: timedelta = LEASE,
                 send_timeout: float = 60.0, retry_base: float = 5.0,
                 per_second: dict[str, float] | None = None) -> None:
        settings = runtime.settings.broadcast
        self.runtime = runtime
        self.poll_seconds = poll_seconds
        self.lease = lease
        self.send_timeout = send_timeout
        self.retry_base = retry_base
        self.per_second = {**settings.per_second, **(per_second or {})}
        self.in_flight = settings.in_flight
        self.max_attempts = settings.max_attempts
        self.owner = secrets.token_hex(8)
        self._pacers: dict[str, Pacer] = {}  # per rate-limited platform

    def rate(self, channel: str) -> float:
        return self.per_second.get(channel, self.runtime.settings.broadcast.default_per_second)

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set; every rate-limited platform in its own task."""
        pumps: dict[str, asyncio.Task[None]] = {}
        try:
            while not stop.is_set():
                try:
                    await self.runtime.db.run(broadcasts.housekeeping, now=utcnow(),
                                              visit_days=self.runtime.settings.broadcast.visit_days)
                    due = await self.runtime.db.run(broadcasts.due_channels, now=utcnow())
                    await self._push_present(due)
                except Exception:
                    log.exception("broadcast pass failed")
                    due = set()
                for channel in self._leased_channels():
                    if channel.name not in due:
                        continue
                    task = pumps.get(channel.name)
                    if task is None or task.done():
                        pumps[channel.name] = asyncio.create_task(self._pump(channel, stop),
                                                                  name=f"broadcast-{channel.name}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
        finally:
            for task in pumps.values():
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=self.send_timeout)

    def _leased_channels(self) -> list[Channel]:
        return [c for c in self.runtime.channels if c.capabilities.push and not getattr(c, "presence_owner", None)]

    # ----- a rate-limited platform ------------------------------------------------------------------------
    def _pacer(self, channel: str) -> Pacer:
        if channel not in self._pacers:
            # The channel's own limiter counts a message until its call returns; this one counts from before
            # the claim until the send returns, so whenever it lets a claim happen the channel lets the send
            # go at once: a claimed message never waits, and a crash finds at most the sends on the wire.
            self._pacers[channel] = Pacer(self.rate(channel))
        return self._pacers[channel]

    async def _pump(self, channel: Channel, stop: asyncio.Event) -> None:
        """Claim and send at the platform's pace while this process holds its lease and rows are due."""
        slots = asyncio.Semaphore(self.in_flight)
        exhausted = asyncio.Event()  # nothing due now, or another process holds the platform
        tasks: set[asyncio.Task[None]] = set()
        try:
            while not stop.is_set() and not exhausted.is_set():
                await slots.acquire()
                if exhausted.is_set():
                    slots.release()
                    break
                task = asyncio.create_task(self._one(channel, slots, exhausted))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        finally:
            if tasks:
                await asyncio.wait(list(tasks), timeout=self.send_timeout * 2)
            if stop.is_set():
                with contextlib.suppress(Exception):
                    await self.runtime.db.run(broadcasts.release_lease, channel=channel.name, owner=self.owner)

    async def _one(self, channel: Channel, slots: asyncio.Semaphore, exhausted: asyncio.Event) -> None:
        """Wait for the platform's pace, claim one due row (renewing the lease) and send it."""
        try:
            async with self._pacer(channel.name).slot():
                if exhausted.is_set():
                    return
                item = await self.runtime.db.run(broadcasts.claim_next, channel=channel.name, owner=self.owner,
                                                 now=utcnow(), ttl=self.lease, cipher=self.runtime.cipher)
                if not isinstance(item, broadcasts.Claimed):
                    exhausted.set()  # the next pass looks again
                    return
                await self._deliver(channel, item)
        except Exception:
            log.exception("broadcast send on %s failed", channel.name)
            exhausted.set()
        finally:
            slots.release()

    # ----- web chats open on this process -----------------------------------------------------------------
    async def _push_present(self, due: set[str]) -> None:
        for channel in self.runtime.channels:
            owner = getattr(channel, "presence_owner", None)
            if not owner or not channel.capabilities.push or channel.name not in due:
                continue
            db = self.runtime.db
            for item in await db.run(broadcasts.claim_present, channel=channel.name, owner=str(owner),
                                     now=utcnow(), cipher=self.runtime.cipher):
                await self._deliver(channel, item, owner=str(owner))

    # ----- one send -----------------------------------------------------------------------------------------
    async def _deliver(self, channel: Channel, item: broadcasts.Claimed, *, owner: str | None = None) -> None:
        owner = owner or self.owner
        db = self.runtime.db
        try:
            await asyncio.wait_for(channel.send(item.chat_id, [warning_message(item.text, item.locale)]),
                                   timeout=self.send_timeout)
        except DeliveryFailure as exc:
            await self._failed(channel, item, owner, exc)
            return
        except TimeoutError:
            # It may or may not have arrived: never again (at most once), counted as uncertain.
            await db.run(broadcasts.mark_failed, delivery_id=item.id, owner=owner, failure="timeout",
                         detail="no answer from the platform", now=utcnow())
            return
        except Exception as exc:  # a bug or an unexpected platform error: keep the row, try later
            log.exception("sending broadcast delivery %d failed unexpectedly", item.id)
            await self._failed(channel, item, owner, DeliveryFailure(FailureReason.TRANSIENT, repr(exc)[:200]))
            return
        await db.run(broadcasts.mark_sent, delivery_id=item.id, owner=owner, now=utcnow())

    async def _failed(self, channel: Channel, item: broadcasts.Claimed, owner: str, exc: DeliveryFailure) -> None:
        db = self.runtime.db
        if exc.reason.retryable:
            if exc.retry_after is not None:
                delay = exc.retry_after
                # The platform asked everyone to wait (Telegram's flood wait is bot-wide): so does the pump.
                self._pacer(channel.name).pause(delay)
            else:
                delay = min(600.0, self.retry_base * 2.0 ** min(item.attempts, 7)) * random.uniform(0.8, 1.2)  # noqa: S311
            await db.run(broadcasts.retry_later, delivery_id=item.id, owner=owner,
                         at=utcnow() + timedelta(seconds=delay), detail=str(exc), max_attempts=self.max_attempts)
            return
        failure = _FAILURES.get(exc.reason, "permanent")
        await db.run(broadcasts.mark_failed, delivery_id=item.id, owner=owner, failure=failure, detail=str(exc),
                     now=utcnow(), subscription_id=item.subscription_id)
