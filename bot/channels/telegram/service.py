"""The running Telegram channel: long polling (polling mode), the update processor and the paced sender.

Work lives in the database, not in memory: on the shared channel layer (``storage/channel_store.py``,
channel "telegram") stored updates wait in ``channel_events`` and calls to make in ``channel_outgoing``. A
sweep finds chats with due work and starts one worker per chat; the worker leases the chat (so one process
at a time serves it), processes its updates in the order they were stored and sends its calls in queue
order, each paced by the :class:`FloodLimiter`. Whatever a crash interrupts is still in the tables and is
picked up by the next sweep after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from datetime import timedelta

from telegram import Bot
from telegram.error import TelegramError

from bot.channels.telegram import render, texts
from bot.channels.telegram.api import CHANNEL, HTTP_CONCURRENCY, LONG_POLL_SECONDS, make_bot, utcnow
from bot.channels.telegram.delivery import Outcome, deliver
from bot.channels.telegram.limiter import FloodLimiter
from bot.channels.telegram.parse import ParseContext, chat_id_of
from bot.channels.telegram.polling import poll, sleep_unless
from bot.channels.telegram.processor import UpdateProcessor
from bot.runtime import Runtime
from storage import channel_store as store
from storage.channel_store import Outgoing, StoredEvent, Work

log = logging.getLogger(__name__)

# Short, so that after a hard crash its chats wait at most this long; renewed before sends.
LEASE_TTL = timedelta(seconds=15)
MAX_UPDATE_ATTEMPTS = 5  # then the parent gets an apology and the update is set aside
# Processed update ids are kept to recognise Telegram's re-sends (it gives up within a day); refused calls
# (their reason only, no content) as long, for a look at what went wrong.
KEEP_PROCESSED = timedelta(days=2)


class _LeaseLost(Exception):
    """Another process took over this chat's lease: stop serving it here."""


class TelegramService:
    """Runs the Telegram channel inside ``hotline serve`` (both modes) until ``stop`` is set.

    The keyword arguments exist for tests and benchmarks; the defaults are Telegram's published limits
    (≈30 messages/s overall, 1/s per chat, 20/min per group) with a small margin.
    """

    def __init__(self, runtime: Runtime, *, overall_per_second: float = 28.0, chat_interval: float = 1.0,
                 group_interval: float = 3.0, sweep_interval: float = 0.25,
                 long_poll_seconds: int = LONG_POLL_SECONDS, max_chats: int = 256, stop_grace: float = 5.0,
                 retry_base: float = 2.0) -> None:
        self.runtime = runtime
        self.settings = runtime.settings.telegram
        self.limiter = FloodLimiter(overall_per_second=overall_per_second, chat_interval=chat_interval,
                                    group_interval=group_interval)
        self.sweep_interval = sweep_interval
        self.long_poll_seconds = long_poll_seconds
        self.max_chats = max_chats
        self.stop_grace = stop_grace
        self.retry_base = retry_base  # first retry delay after a failure; doubles each attempt
        self.owner = secrets.token_hex(8)  # this process's name on chat leases
        self._wake = asyncio.Event()
        self._http = asyncio.Semaphore(HTTP_CONCURRENCY)  # Bot API calls in flight (see api.HTTP_CONCURRENCY)
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._renewed: dict[str, float] = {}
        self._stopping = False
        self._processor: UpdateProcessor | None = None
        self._bot: Bot | None = None

    def wake(self, chat_ref: str | None = None) -> None:
        """New work was stored: for ``chat_ref`` (its worker starts now), or somewhere (the sweep looks now)."""
        if chat_ref is not None and self._processor is not None:
            self._spawn(chat_ref)
        else:
            self._wake.set()

    async def push(self, call: render.Call, *, chat: str) -> Outcome:
        """Make one call now, outside any update (the police writing to a parent, see channel.py), paced by
        the same limiter as the replies of chat ``chat`` (its keyed hash). ``retry`` until the bot is up."""
        if self._bot is None or self._stopping:
            return Outcome("retry", "the Telegram bot is not connected")
        async with self.limiter.slot(chat, group=str(call["chat_id"]).startswith("-")), self._http:
            outcome = await deliver(self._bot, call)
        if outcome.kind == "flood":
            self.limiter.pause(outcome.seconds)
        return outcome

    async def run(self, stop: asyncio.Event) -> None:
        """Poll (polling mode), process and send until ``stop`` is set; then finish in-flight work briefly."""
        bot = make_bot(self.settings)
        try:
            if not await self._initialize(bot, stop):
                return
            self._bot = bot
            ctx = ParseContext(officers_chat_id=self.settings.officers_chat_id,
                               officer_ids=frozenset(self.settings.officer_ids), bot_username=bot.username)
            self._processor = UpdateProcessor(self.runtime, bot, self.limiter, ctx, http=self._http)
            tasks = [asyncio.create_task(self._sweep(stop), name="telegram-sweep")]
            if self.settings.mode == "polling":
                tasks.append(asyncio.create_task(
                    poll(self.runtime, bot, stop, on_stored=self.wake, long_poll_seconds=self.long_poll_seconds),
                    name="telegram-poll"))
            try:
                await stop.wait()
            finally:
                await self._shutdown(tasks)
        finally:
            await bot.shutdown()

    async def _initialize(self, bot: Bot, stop: asyncio.Event) -> bool:
        delay = 1.0
        while not stop.is_set():
            try:
                await bot.initialize()  # getMe: checks the token, learns our username
                log.info("Telegram bot @%s ready (%s mode)", bot.username, self.settings.mode)
                return True
            except TelegramError as exc:
                log.warning("Telegram not reachable yet (%s); retrying in %.0f s", exc, delay)
                await sleep_unless(stop, delay)
                delay = min(delay * 2, 60.0)
        return False

    async def _shutdown(self, tasks: list[asyncio.Task[None]]) -> None:
        self._stopping = True
        self._wake.set()
        for task in tasks:
            if task.get_name() == "telegram-poll":
                task.cancel()  # an unanswered long poll is safe to drop: nothing was confirmed
        await asyncio.gather(*tasks, return_exceptions=True)
        workers = list(self._workers.values())
        if workers:
            # Workers stop after their current step; a step cut short is redone after the restart.
            _, late = await asyncio.wait(workers, timeout=self.stop_grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    # ----- finding work ------------------------------------------------------------------------------------
    async def _sweep(self, stop: asyncio.Event) -> None:
        next_prune = 0.0
        while not stop.is_set():
            self._wake.clear()
            try:
                # Room for as many chats as may start now, beyond those whose workers are busy already.
                limit = self.max_chats + len(self._workers)
                for chat in await self.runtime.db.run(store.due_chats, channel=CHANNEL, now=utcnow(), limit=limit):
                    self._spawn(chat)
                if time.monotonic() >= next_prune:
                    await self.runtime.db.run(store.prune, channel=CHANNEL, before=utcnow() - KEEP_PROCESSED)
                    next_prune = time.monotonic() + 3600
            except Exception:
                log.exception("Telegram sweep failed; trying again")
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
                    await self._drain(work)
                except BaseException:
                    await db.run(store.release, channel=CHANNEL, chat_ref=chat, owner=self.owner)
                    raise
                if self._halted():
                    await db.run(store.release, channel=CHANNEL, chat_ref=chat, owner=self.owner)
                    return
                released = await db.run(store.release_if_idle, channel=CHANNEL, chat_ref=chat, owner=self.owner,
                                        now=utcnow())
                if released and chat not in self._again:
                    return  # (no await between this check and leaving the worker table below)
        except _LeaseLost:
            log.warning("lost the lease on a chat; another process continues it")
        except Exception:
            log.exception("Telegram chat worker failed; the sweep will retry")
        finally:
            self._workers.pop(chat, None)
            self._renewed.pop(chat, None)

    async def _drain(self, work: Work) -> None:
        """Process and send until the chat has nothing due; each step names the next."""
        while work is not None and not self._stopping:
            work = await (self._process(work) if isinstance(work, StoredEvent) else self._send(work))

    async def _process(self, update: StoredEvent) -> Work:
        assert self._processor is not None
        db, cipher = self.runtime.db, self.runtime.cipher
        try:
            calls = await self._processor.process(update)
        except Exception as exc:
            attempts = update.attempts + 1
            if attempts < MAX_UPDATE_ATTEMPTS:
                log.warning("update %s failed (attempt %d), will retry: %r", update.event_id, attempts, exc)
                retry_at = utcnow() + timedelta(seconds=self.retry_base * 2 ** (attempts - 1))
                await db.run(store.fail_event, event_pk=update.id, error=repr(exc), retry_at=retry_at)
                return await db.run(store.next_work, channel=CHANNEL, chat_ref=update.chat_ref, now=utcnow(),
                                    cipher=cipher)
            log.exception("update %s failed %d times; telling the parent", update.event_id, attempts)
            chat_id = chat_id_of(update.data)
            calls = render.notice(int(chat_id), texts.NOTICES["failed"]) if chat_id else []
        return await db.run(store.finish_and_next, event=update, calls=calls, now=utcnow(), cipher=cipher)

    async def _send(self, out: Outgoing) -> Work:
        assert self._bot is not None
        db, cipher = self.runtime.db, self.runtime.cipher
        chat = out.chat_ref
        async with self.limiter.slot(chat, group=str(out.call["chat_id"]).startswith("-")):
            await self._renew(chat)  # after the wait for a slot, which may have been a long flood pause
            async with self._http:
                outcome = await deliver(self._bot, out.call)
        if outcome.kind == "ok":
            return await db.run(store.sent_and_next, out=out, now=utcnow(), cipher=cipher)
        if outcome.kind == "flood":
            log.info("Telegram flood control: waiting %.1f s", outcome.seconds)
            self.limiter.pause(outcome.seconds)  # the same call goes next, once the pause is over
            await db.run(store.retry_outgoing, out=out, not_before=utcnow(), error=outcome.error)
            return out
        if outcome.kind == "rewrite" and outcome.call is not None:
            await db.run(store.retry_outgoing, out=out, not_before=utcnow(), error=outcome.error, call=outcome.call,
                         cipher=cipher)
            return Outgoing(id=out.id, channel=out.channel, chat_ref=chat, call=outcome.call,
                            attempts=out.attempts + 1)
        if outcome.kind == "dead":
            log.warning("Telegram refused a message for good: %s", outcome.error)
            await db.run(store.bury_outgoing, outgoing_id=out.id, error=outcome.error)
        else:
            delay = min(300.0, self.retry_base * 2.0 ** min(out.attempts, 8)) * random.uniform(0.8, 1.2)  # noqa: S311
            log.warning("sending failed (%s); retrying in %.0f s", outcome.error, delay)
            await db.run(store.retry_outgoing, out=out, not_before=utcnow() + timedelta(seconds=delay),
                         error=outcome.error)
        # Later calls of this chat wait behind this one; its updates need not.
        return await db.run(store.next_work, channel=CHANNEL, chat_ref=chat, now=utcnow(), cipher=cipher)

    async def _renew(self, chat: str) -> None:
        """Keep the lease fresh before a send; if another process took the chat meanwhile, leave it to it."""
        if time.monotonic() - self._renewed.get(chat, 0.0) < LEASE_TTL.total_seconds() / 3:
            return
        if not await self.runtime.db.run(store.claim, channel=CHANNEL, chat_ref=chat, owner=self.owner, now=utcnow(),
                                         ttl=LEASE_TTL):
            raise _LeaseLost
        self._renewed[chat] = time.monotonic()
