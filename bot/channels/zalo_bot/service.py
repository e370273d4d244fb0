"""The running Zalo Bot channel: processes journaled webhook updates and sends the queued replies, paced.

Work lives on the shared channel layer (``storage/channel_store.py``, channel "zalo_bot"), exactly as for
Telegram and the Zalo OA: a sweep finds chats with due work, one worker per chat leases it (one process at a
time serves it), processes its updates in arrival order and sends its calls in queue order; an update and
the calls it produced are finished in one transaction. Whatever a crash interrupts is picked up again by the
next sweep after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.channels.base import FailureReason
from bot.channels.zalo_bot import render, texts
from bot.channels.zalo_bot.channel import CHANNEL, RECORDED, ZaloBotChannel, remember_menu
from bot.channels.zalo_bot.events import chat_id_of
from bot.channels.zalo_bot.processor import UpdateProcessor
from bot.runtime import Runtime
from storage import channel_state as state
from storage import channel_store as store
from storage.channel_store import Outgoing, StoredEvent, Work
from storage.crypto import Cipher

log = logging.getLogger(__name__)

LEASE_TTL = timedelta(seconds=15)  # short, so after a hard crash its chats wait at most this long
MAX_UPDATE_ATTEMPTS = 5  # then the parent gets an apology and the update is set aside
MAX_SEND_ATTEMPTS = 10  # then the call is buried (a reply days late helps nobody)
KEEP_PROCESSED = timedelta(days=2)  # processed ids, to recognise Zalo's re-sends
KEEP_MENUS = timedelta(days=7)


def utcnow() -> datetime:
    return datetime.now(UTC)


class _LeaseLost(Exception):
    """Another process took over this chat's lease: stop serving it here."""


def _sent(conn: sa.Connection, *, out: Outgoing, now: datetime, cipher: Cipher) -> Work:
    remember_menu(conn, ref=out.chat_ref, call=out.call, now=now, cipher=cipher)
    return store.sent_and_next(conn, out=out, now=now, cipher=cipher)


def _refused(conn: sa.Connection, *, out: Outgoing, error: str, reason: FailureReason, now: datetime,
             cipher: Cipher) -> Work:
    store.bury_outgoing(conn, outgoing_id=out.id, error=error)
    if reason in RECORDED:
        state.record_unreachable(conn, channel=CHANNEL, chat_ref=out.chat_ref, status=reason.value, detail=error,
                                 now=now)
    return store.next_work(conn, channel=CHANNEL, chat_ref=out.chat_ref, now=now, cipher=cipher)


def _prune(conn: sa.Connection, *, now: datetime) -> int:
    return (store.prune(conn, channel=CHANNEL, before=now - KEEP_PROCESSED)
            + state.prune_state(conn, channel=CHANNEL, prefix="menu:", before=now - KEEP_MENUS))


class ZaloBotService:
    """Runs the Zalo Bot channel inside ``hotline serve`` until ``stop`` is set (keyword arguments: tests)."""

    def __init__(self, runtime: Runtime, channel: ZaloBotChannel, *, sweep_interval: float = 0.25,
                 max_chats: int = 256, stop_grace: float = 5.0, retry_base: float = 2.0) -> None:
        self.runtime = runtime
        self.channel = channel
        self.processor = UpdateProcessor(runtime, channel)
        self.sweep_interval = sweep_interval
        self.max_chats = max_chats
        self.stop_grace = stop_grace
        self.retry_base = retry_base  # first retry delay after a failure; doubles each attempt
        self.owner = secrets.token_hex(8)
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

    async def run(self, stop: asyncio.Event) -> None:
        """Process and send until ``stop`` is set; then finish in-flight work briefly."""
        self._running, self._stopping = True, False
        self.channel.on_stored = self.wake
        sweep = asyncio.create_task(self._sweep(stop), name="zalo-bot-sweep")
        try:
            await stop.wait()
        finally:
            self.channel.on_stored = None
            self._stopping = True
            self._wake.set()
            await asyncio.gather(sweep, return_exceptions=True)
            workers = list(self._workers.values())
            if workers:
                # Workers stop after their current step; a step cut short is redone after the restart.
                _, late = await asyncio.wait(workers, timeout=self.stop_grace)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
            self._running = False

    async def _sweep(self, stop: asyncio.Event) -> None:
        next_prune = 0.0
        while not stop.is_set():
            self._wake.clear()
            try:
                limit = self.max_chats + len(self._workers)
                for chat in await self.runtime.db.run(store.due_chats, channel=CHANNEL, now=utcnow(), limit=limit):
                    self._spawn(chat)
                if time.monotonic() >= next_prune:
                    await self.runtime.db.run(_prune, now=utcnow())
                    next_prune = time.monotonic() + 3600
            except Exception:
                log.exception("Zalo Bot sweep failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.sweep_interval)

    def _halted(self) -> bool:
        return self._stopping

    def _spawn(self, chat: str) -> None:
        if chat in self._workers:
            self._again.add(chat)  # the worker looks once more before it stops
        elif len(self._workers) < self.max_chats and not self._stopping:
            self._workers[chat] = asyncio.create_task(self._serve_chat(chat))

    async def _serve_chat(self, chat: str) -> None:
        db, cipher = self.runtime.db, self.runtime.cipher
        try:
            while not self._stopping:
                self._again.discard(chat)
                claimed, work = await db.run(store.claim_and_next, channel=CHANNEL, chat_ref=chat, owner=self.owner,
                                             now=utcnow(), ttl=LEASE_TTL, cipher=cipher)
                if not claimed:
                    return  # another process serves this chat
                self._renewed[chat] = time.monotonic()
                try:
                    while work is not None and not self._stopping:
                        work = await (self._process(work) if isinstance(work, StoredEvent) else self._send(work))
                except BaseException:
                    await db.run(store.release, channel=CHANNEL, chat_ref=chat, owner=self.owner)
                    raise
                if self._halted():  # (a method: the loop above narrowed the attribute for mypy)
                    await db.run(store.release, channel=CHANNEL, chat_ref=chat, owner=self.owner)
                    return
                released = await db.run(store.release_if_idle, channel=CHANNEL, chat_ref=chat, owner=self.owner,
                                        now=utcnow())
                if released and chat not in self._again:
                    return  # (no await between this check and leaving the worker table below)
        except _LeaseLost:
            log.warning("lost the lease on a Zalo Bot chat; another process continues it")
        except Exception:
            log.exception("Zalo Bot chat worker failed; the sweep will retry")
        finally:
            self._workers.pop(chat, None)
            self._renewed.pop(chat, None)

    async def _process(self, event: StoredEvent) -> Work:
        db, cipher = self.runtime.db, self.runtime.cipher
        try:
            calls = await self.processor.process(event)
        except Exception as exc:
            attempts = event.attempts + 1
            if attempts < MAX_UPDATE_ATTEMPTS:
                log.warning("Zalo Bot update failed (attempt %d), will retry: %r", attempts, exc)
                retry_at = utcnow() + timedelta(seconds=self.retry_base * 2 ** (attempts - 1))
                await db.run(store.fail_event, event_pk=event.id, error=repr(exc), retry_at=retry_at)
                return await db.run(store.next_work, channel=CHANNEL, chat_ref=event.chat_ref, now=utcnow(),
                                    cipher=cipher)
            log.exception("Zalo Bot update failed %d times; telling the parent", attempts)
            chat_id = chat_id_of(event.data)
            calls = render.notice(chat_id, texts.NOTICES["failed"]) if chat_id else []
        return await db.run(store.finish_and_next, event=event, calls=calls, now=utcnow(), cipher=cipher)

    async def _send(self, out: Outgoing) -> Work:
        db, cipher = self.runtime.db, self.runtime.cipher
        await self._renew(out.chat_ref)
        outcome = await self.channel.deliver(out.call)
        if outcome.kind == "ok":
            return await db.run(_sent, out=out, now=utcnow(), cipher=cipher)
        reason = outcome.reason or FailureReason.PERMANENT
        retryable = reason.retryable or outcome.auth  # a token an admin can fix: keep the reply a while
        if not retryable or out.attempts + 1 >= MAX_SEND_ATTEMPTS:
            log.warning("Zalo Bot refused a message for good (%s): %s", reason.value, outcome.error)
            return await db.run(_refused, out=out, error=outcome.error, reason=reason, now=utcnow(), cipher=cipher)
        if outcome.retry_after is not None:
            delay = outcome.retry_after
        else:
            delay = min(300.0, self.retry_base * 2.0 ** min(out.attempts, 8)) * random.uniform(0.8, 1.2)  # noqa: S311
        log.warning("sending to Zalo Bot failed (%s); retrying in %.0f s", outcome.error, delay)
        await db.run(store.retry_outgoing, out=out, not_before=utcnow() + timedelta(seconds=delay),
                     error=outcome.error)
        # Later calls of this chat wait behind this one; its updates need not.
        return await db.run(store.next_work, channel=CHANNEL, chat_ref=out.chat_ref, now=utcnow(), cipher=cipher)

    async def _renew(self, chat: str) -> None:
        """Keep the lease fresh before a send; if another process took the chat meanwhile, leave it to it."""
        if time.monotonic() - self._renewed.get(chat, 0.0) < LEASE_TTL.total_seconds() / 3:
            return
        if not await self.runtime.db.run(store.claim, channel=CHANNEL, chat_ref=chat, owner=self.owner, now=utcnow(),
                                         ttl=LEASE_TTL):
            raise _LeaseLost
        self._renewed[chat] = time.monotonic()
