"""Sending awareness broadcasts from their durable rows, through the channel contract (like officers' notices).

:class:`BroadcastSender` runs inside ``hotline serve`` beside the notice worker (:func:`bot.delivery.
delivery_services` starts both). Each pass it starts due broadcasts, marks finished ones, and for every push
channel registered in ``runtime.channels``:

- a rate-limited platform (Telegram, Zalo…) is sent to only by the process holding its lease, at
  ``broadcast.per_second`` (under the platform's limit, so the channel's own limiter rarely has to hold a
  claimed message back): a row is claimed just before its send, at most ``broadcast.in_flight`` at once;
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.channels.base import Channel, DeliveryFailure, FailureReason
from bot.runtime import Runtime
from handlers.messages import Button, OutboundMessage
from storage import broadcasts

log = logging.getLogger(__name__)

UNSUBSCRIBE = "!unsubscribe"  # the button under every warning (handlers/subscribing.py takes it)
LEASE = timedelta(seconds=10)
CATCH_UP = 0.15  # seconds of a late pace made up by sending sooner
_FAILURES = {FailureReason.BLOCKED: "blocked", FailureReason.OUT_OF_WINDOW: "out_of_window",
             FailureReason.INVALID_RECIPIENT: "invalid_recipient", FailureReason.PERMANENT: "permanent"}
_FOOTER = {"vi": "Gõ “dừng” hoặc bấm nút dưới đây để ngừng nhận cảnh báo.",
           "en": "Type “stop” or press the button below to stop these warnings."}
_BUTTON = {"vi": "🔕 Ngừng nhận cảnh báo", "en": "🔕 Stop these warnings"}


def utcnow() -> datetime:
    return datetime.now(UTC)


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
        self._paused_until: dict[str, float] = {}  # channel → monotonic time a 429 asked us to wait for
        self._tasks: set[asyncio.Task[None]] = set()

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
    async def _pump(self, channel: Channel, stop: asyncio.Event) -> None:
        """Claim and send at the platform's pace while this process holds its lease and rows are due."""
        db, interval = self.runtime.db, 1.0 / self.rate(channel.name)
        slots = asyncio.Semaphore(self.in_flight)
        next_at = time.monotonic()
        try:
            while not stop.is_set():
                paused = self._paused_until.get(channel.name, 0.0) - time.monotonic()
                if paused > 0:
                    await asyncio.sleep(paused)
                    next_at = time.monotonic()
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await slots.acquire()
                try:
                    item = await db.run(broadcasts.claim_next, channel=channel.name, owner=self.owner,
                                        now=utcnow(), ttl=self.lease, cipher=self.runtime.cipher)
                except BaseException:
                    slots.release()
                    raise
                if not isinstance(item, broadcasts.Claimed):
                    slots.release()
                    return  # nothing due (or another process holds the platform): the next pass looks again
                # Evenly spaced; up to CATCH_UP of lost time (a slow claim, a busy machine) is made up, so
                # the pace is not lost to every hiccup — the channel's own limiter still keeps each message
                # under the platform's limit.
                next_at = max(next_at + interval, time.monotonic() - CATCH_UP)
                task = asyncio.create_task(self._deliver(channel, item, slots.release))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        finally:
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=self.send_timeout)
            if stop.is_set():
                with contextlib.suppress(Exception):
                    await db.run(broadcasts.release_lease, channel=channel.name, owner=self.owner)

    # ----- web chats open on this process -----------------------------------------------------------------
    async def _push_present(self, due: set[str]) -> None:
        for channel in self.runtime.channels:
            owner = getattr(channel, "presence_owner", None)
            if not owner or not channel.capabilities.push or channel.name not in due:
                continue
            db = self.runtime.db
            for item in await db.run(broadcasts.claim_present, channel=channel.name, owner=str(owner),
                                     now=utcnow(), cipher=self.runtime.cipher):
                await self._deliver(channel, item, None, owner=str(owner))

    # ----- one send -----------------------------------------------------------------------------------------
    async def _deliver(self, channel: Channel, item: broadcasts.Claimed, done: Callable[[], None] | None, *,
                       owner: str | None = None) -> None:
        owner = owner or self.owner
        db = self.runtime.db
        try:
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
        finally:
            if done is not None:
                done()

    async def _failed(self, channel: Channel, item: broadcasts.Claimed, owner: str, exc: DeliveryFailure) -> None:
        db = self.runtime.db
        if exc.reason.retryable:
            if exc.retry_after is not None:
                delay = exc.retry_after
                # The platform asked everyone to wait (Telegram's flood wait is bot-wide): so does the pump.
                self._paused_until[channel.name] = time.monotonic() + delay
            else:
                delay = min(600.0, self.retry_base * 2.0 ** min(item.attempts, 7)) * random.uniform(0.8, 1.2)  # noqa: S311
            await db.run(broadcasts.retry_later, delivery_id=item.id, owner=owner,
                         at=utcnow() + timedelta(seconds=delay), detail=str(exc), max_attempts=self.max_attempts)
            return
        failure = _FAILURES.get(exc.reason, "permanent")
        await db.run(broadcasts.mark_failed, delivery_id=item.id, owner=owner, failure=failure, detail=str(exc),
                     now=utcnow(), subscription_id=item.subscription_id)
