"""What the running chat channels of ``hotline serve`` share: the sweep, one leased worker per chat, a graceful stop.

Telegram, the Zalo OA and the Zalo Bot keep their work on the one channel layer (``storage/channel_store.py``),
each under its channel name: stored events wait in ``channel_events``, calls to make in ``channel_outgoing``.
:class:`ChannelService` is the part of their services that does not depend on the platform:

- a sweep finds chats with due work and starts one worker per chat (at most ``max_chats`` at once); once an
  hour it prunes what is kept only to recognise the platform's re-sends;
- a worker leases its chat (one process at a time serves it; renewed before sends, see :data:`LEASE_TTL`),
  takes the chat's work in order — its oldest due event to process, else its oldest due call to send, each
  step naming the next — and gives the lease back once the chat is idle;
- an event whose processing fails is retried after a doubling delay; after :data:`MAX_EVENT_ATTEMPTS` the
  parent gets the platform's apology and the event is set aside;
- when ``stop`` is set the sweep ends and workers finish their current step, cancelled after ``stop_grace``
  seconds; a step cut short is redone after the restart, since all of it is still in the tables.

A platform's service (``bot/channels/<platform>/service.py``) says how an event becomes calls (``_handle``) and
what the apology is (``_apology``), how a call is sent and what each outcome means (``_send``, with the helpers
here for what the outcomes have in common), what else the sweep prunes (``_prune``) or does each hour
(``_hourly``), and what runs beside the sweep (``run``: Telegram's long poll; the Zalo channels' webhooks
wake the service through ``on_stored``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa

from bot.channels.base import FailureReason
from bot.runtime import Runtime
from storage import channel_state as state
from storage import channel_store as store
from storage.channel_store import Outgoing, StoredEvent, Work
from storage.crypto import Cipher

# Short, so that after a hard crash its chats wait at most this long; renewed before sends.
LEASE_TTL = timedelta(seconds=15)
MAX_EVENT_ATTEMPTS = 5  # then the parent gets an apology and the event is set aside
MAX_SEND_ATTEMPTS = 10  # for outcomes read by reason (Zalo): then the call is buried, a reply days late helps nobody
# Processed event ids are kept to recognise the platforms' re-sends (Telegram gives up within a day; for Zalo
# longer than the signature's freshness window, so a replay the signature still accepts is recognised as one);
# buried calls (their reason only, no content) as long, for a look at what went wrong.
KEEP_PROCESSED = timedelta(days=2)
PRUNE_EVERY = 3600.0  # seconds between the sweep's prunes

Calls = Sequence[dict[str, Any]]


def utcnow() -> datetime:
    return datetime.now(UTC)


class LeaseLost(Exception):
    """Another process took over this chat's lease: stop serving it here."""


class ReasonedOutcome(Protocol):
    """A failed send whose meaning the channel read into a :class:`FailureReason` (both Zalo channels)."""

    @property
    def reason(self) -> FailureReason | None: ...
    @property
    def error(self) -> str: ...
    @property
    def retry_after(self) -> float | None: ...
    @property
    def auth(self) -> bool: ...


class Notifier(Protocol):
    """A channel that tells the running service of each chat it stored work for (the Zalo webhooks)."""

    on_stored: Callable[[str], None] | None


def _buried_and_next(conn: sa.Connection, *, out: Outgoing, error: str, status: str | None, now: datetime,
                     cipher: Cipher) -> Work:
    store.bury_outgoing(conn, outgoing_id=out.id, error=error)
    if status is not None:
        state.record_unreachable(conn, channel=out.channel, chat_ref=out.chat_ref, status=status, detail=error,
                                 now=now)
    return store.next_work(conn, channel=out.channel, chat_ref=out.chat_ref, now=now, cipher=cipher)


class ChannelService:
    """The sweep and the per-chat workers of one channel, until ``stop`` is set (see the module's docstring).

    Subclasses set :attr:`channel_name` (the channel layer's name) and :attr:`label` (the platform as the logs
    name it), implement ``_handle``, ``_apology`` and ``_send``, and call :meth:`_work_until` from ``run``.
    The keyword arguments exist for tests and benchmarks.
    """

    channel_name: ClassVar[str]
    label: ClassVar[str]
    event_noun: ClassVar[str] = "event"  # what the logs call one stored event ("update" on Telegram, Zalo Bot)
    recorded: ClassVar[frozenset[FailureReason]] = frozenset()  # send failures noted against the parent

    def __init__(self, runtime: Runtime, *, sweep_interval: float = 0.25, max_chats: int = 256,
                 stop_grace: float = 5.0, retry_base: float = 2.0) -> None:
        self.runtime = runtime
        self.sweep_interval = sweep_interval
        self.max_chats = max_chats
        self.stop_grace = stop_grace
        self.retry_base = retry_base  # first retry delay after a failure; doubles each attempt
        self.owner = secrets.token_hex(8)  # this process's name on chat leases
        self.log = logging.getLogger(type(self).__module__)  # the platform's logger, as before the split
        self._wake = asyncio.Event()
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._renewed: dict[str, float] = {}
        self._stopping = False
        self._running = False

    def wake(self, chat_ref: str | None = None) -> None:
        """New work was stored: for ``chat_ref`` (its worker starts now), or somewhere (the sweep looks now)."""
        if chat_ref is not None and self._running:
            self._spawn(chat_ref)
        else:
            self._wake.set()

    # ----- what a platform says ----------------------------------------------------------------------------
    async def _handle(self, event: StoredEvent) -> tuple[Calls, tuple[str, str] | None]:
        """The calls one stored event makes, and (status, detail) if it tells the parent is unreachable."""
        raise NotImplementedError

    def _apology(self, event: StoredEvent) -> Calls:
        """The calls that tell the parent an event failed for good (none if the event names no chat)."""
        raise NotImplementedError

    async def _send(self, out: Outgoing) -> Work:
        """Make one queued call (after :meth:`_renew`), record what became of it, return the chat's next work."""
        raise NotImplementedError

    def _name(self, event: StoredEvent) -> str:
        """How the logs name an event: never its content."""
        return f"{self.label} {self.event_noun}"

    def _prune(self, conn: sa.Connection, *, now: datetime) -> int:
        """What the sweep deletes once an hour: processed ids and buried calls past :data:`KEEP_PROCESSED`."""
        return store.prune(conn, channel=self.channel_name, before=now - KEEP_PROCESSED)

    async def _hourly(self) -> None:
        """Anything else the sweep does once an hour, after pruning."""

    # ----- running -------------------------------------------------------------------------------------------
    async def _work_until(self, stop: asyncio.Event, *,
                          beside: Mapping[str, Coroutine[Any, Any, None]] | None = None,
                          woken_by: Notifier | None = None) -> None:
        """Sweep and serve chats until ``stop`` is set, with ``beside`` (task name: coroutine) running along
        and ``woken_by`` (a channel whose webhook stores events) calling :meth:`wake` meanwhile; then stop:
        the wake-ups end, the ``beside`` tasks are cancelled (safe to drop: Telegram's unanswered long poll
        confirmed nothing), the sweep ends, and workers get ``stop_grace`` seconds to finish their step."""
        self._running, self._stopping = True, False
        if woken_by is not None:
            woken_by.on_stored = self.wake
        tasks = [asyncio.create_task(self._sweep(stop), name=f"{self.channel_name.replace('_', '-')}-sweep")]
        extra = [asyncio.create_task(coro, name=name) for name, coro in (beside or {}).items()]
        try:
            await stop.wait()
        finally:
            if woken_by is not None:
                woken_by.on_stored = None
            self._stopping = True
            self._wake.set()
            for task in extra:
                task.cancel()
            await asyncio.gather(*tasks, *extra, return_exceptions=True)
            workers = list(self._workers.values())
            if workers:
                # Workers stop after their current step; a step cut short is redone after the restart.
                _, late = await asyncio.wait(workers, timeout=self.stop_grace)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
            self._running = False

    # ----- finding work ------------------------------------------------------------------------------------
    async def _sweep(self, stop: asyncio.Event) -> None:
        next_prune = 0.0
        while not stop.is_set():
            self._wake.clear()
            try:
                # Room for as many chats as may start now, beyond those whose workers are busy already.
                limit = self.max_chats + len(self._workers)
                for chat in await self.runtime.db.run(store.due_chats, channel=self.channel_name, now=utcnow(),
                                                      limit=limit):
                    self._spawn(chat)
                if time.monotonic() >= next_prune:
                    await self.runtime.db.run(self._prune, now=utcnow())
                    next_prune = time.monotonic() + PRUNE_EVERY
                    await self._hourly()
            except Exception:
                self.log.exception("%s sweep failed; trying again", self.label)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.sweep_interval)

    def _halted(self) -> bool:
        return self._stopping

    def _spawn(self, chat: str) -> None:
        if chat in self._workers:
            self._again.add(chat)  # the worker looks once more before it stops
        elif len(self._workers) < self.max_chats and not self._stopping:
            self._workers[chat] = asyncio.create_task(self._serve_chat(chat))

    # ----- one chat -----------------------------------------------------------------------------------------
    async def _serve_chat(self, chat: str) -> None:
        db, cipher, channel = self.runtime.db, self.runtime.cipher, self.channel_name
        try:
            while not self._stopping:
                self._again.discard(chat)
                claimed, work = await db.run(store.claim_and_next, channel=channel, chat_ref=chat, owner=self.owner,
                                             now=utcnow(), ttl=LEASE_TTL, cipher=cipher)
                if not claimed:
                    return  # another process serves this chat
                self._renewed[chat] = time.monotonic()
                try:
                    await self._drain(work)
                except BaseException:
                    await db.run(store.release, channel=channel, chat_ref=chat, owner=self.owner)
                    raise
                if self._halted():  # (a method: the loop above narrowed the attribute for mypy)
                    await db.run(store.release, channel=channel, chat_ref=chat, owner=self.owner)
                    return
                released = await db.run(store.release_if_idle, channel=channel, chat_ref=chat, owner=self.owner,
                                        now=utcnow())
                if released and chat not in self._again:
                    return  # (no await between this check and leaving the worker table below)
        except LeaseLost:
            self.log.warning("lost the lease on a %s chat; another process continues it", self.label)
        except Exception:
            self.log.exception("%s chat worker failed; the sweep will retry", self.label)
        finally:
            self._workers.pop(chat, None)
            self._renewed.pop(chat, None)

    async def _drain(self, work: Work) -> None:
        """Process and send until the chat has nothing due; each step names the next."""
        while work is not None and not self._stopping:
            work = await (self._process(work) if isinstance(work, StoredEvent) else self._send(work))

    async def _process(self, event: StoredEvent) -> Work:
        db, cipher = self.runtime.db, self.runtime.cipher
        try:
            calls, unreachable = await self._handle(event)
        except Exception as exc:
            attempts = event.attempts + 1
            if attempts < MAX_EVENT_ATTEMPTS:
                self.log.warning("%s failed (attempt %d), will retry: %r", self._name(event), attempts, exc)
                retry_at = utcnow() + timedelta(seconds=self.retry_base * 2 ** (attempts - 1))
                await db.run(store.fail_event, event_pk=event.id, error=repr(exc), retry_at=retry_at)
                return await self._next(event.chat_ref)
            self.log.exception("%s failed %d times; telling the parent", self._name(event), attempts)
            calls, unreachable = self._apology(event), None
        return await db.run(store.finish_and_next, event=event, calls=calls, now=utcnow(), cipher=cipher,
                            unreachable=unreachable)

    async def _renew(self, chat: str) -> None:
        """Keep the lease fresh before a send; if another process took the chat meanwhile, leave it to it."""
        if time.monotonic() - self._renewed.get(chat, 0.0) < LEASE_TTL.total_seconds() / 3:
            return
        if not await self.runtime.db.run(store.claim, channel=self.channel_name, chat_ref=chat, owner=self.owner,
                                         now=utcnow(), ttl=LEASE_TTL):
            raise LeaseLost
        self._renewed[chat] = time.monotonic()

    # ----- what became of a call: helpers for _send ------------------------------------------------------------
    async def _next(self, chat: str) -> Work:
        return await self.runtime.db.run(store.next_work, channel=self.channel_name, chat_ref=chat, now=utcnow(),
                                         cipher=self.runtime.cipher)

    async def _send_instead(self, out: Outgoing, call: dict[str, Any], *, error: str) -> Outgoing:
        """The platform takes the message only in another form: store ``call`` in its place, to be sent next."""
        await self.runtime.db.run(store.retry_outgoing, out=out, not_before=utcnow(), error=error, call=call,
                                  cipher=self.runtime.cipher)
        return Outgoing(id=out.id, channel=out.channel, chat_ref=out.chat_ref, call=call, attempts=out.attempts + 1)

    def _backoff(self, attempts: int) -> float:
        """Seconds before a failed call's next try: doubling from ``retry_base``, at most 5 min, jittered."""
        return min(300.0, self.retry_base * 2.0 ** min(attempts, 8)) * random.uniform(0.8, 1.2)  # noqa: S311

    async def _retry_later(self, out: Outgoing, *, error: str, delay: float) -> Work:
        self.log.warning("sending to %s failed (%s); retrying in %.0f s", self.label, error, delay)
        await self.runtime.db.run(store.retry_outgoing, out=out, not_before=utcnow() + timedelta(seconds=delay),
                                  error=error)
        # Later calls of this chat wait behind this one; its events need not.
        return await self._next(out.chat_ref)

    async def _bury(self, out: Outgoing, *, error: str, status: str | None = None) -> Work:
        """Give a call up for good; ``status`` (a reason about the parent) is noted against the chat too."""
        return await self.runtime.db.run(_buried_and_next, out=out, error=error, status=status, now=utcnow(),
                                         cipher=self.runtime.cipher)

    async def _failed(self, out: Outgoing, outcome: ReasonedOutcome) -> Work:
        """A failed send read by its reason: retried (after the wait the platform named, else :meth:`_backoff`)
        while retrying can help, at most :data:`MAX_SEND_ATTEMPTS` times; else buried, a reason in
        :attr:`recorded` noted against the parent."""
        reason = outcome.reason or FailureReason.PERMANENT
        retryable = reason.retryable or outcome.auth  # a token an admin can fix: keep the reply a while
        if not retryable or out.attempts + 1 >= MAX_SEND_ATTEMPTS:
            self.log.warning("%s refused a message for good (%s): %s", self.label, reason.value, outcome.error)
            return await self._bury(out, error=outcome.error,
                                    status=reason.value if reason in self.recorded else None)
        delay = outcome.retry_after if outcome.retry_after is not None else self._backoff(out.attempts)
        return await self._retry_later(out, error=outcome.error, delay=delay)
