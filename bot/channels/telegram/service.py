"""The running Telegram channel: long polling (polling mode), the update processor and the paced sender.

Work lives in the database, not in memory, on the shared channel layer (channel "telegram"); the sweep, the
per-chat workers and their leases are :class:`~bot.channels.service_base.ChannelService`'s. What is
Telegram's: the bot is initialised first (``getMe``, retried until Telegram answers), polling mode runs the
long poll beside the sweep, and every call — queued or pushed — is paced by the :class:`FloodLimiter`
(Telegram's flood control pauses all sending for the time it names).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from telegram import Bot
from telegram.error import TelegramError

from bot.channels.service_base import Calls, ChannelService, utcnow
from bot.channels.telegram import render, texts
from bot.channels.telegram.api import CHANNEL, HTTP_CONCURRENCY, LONG_POLL_SECONDS, make_bot
from bot.channels.telegram.delivery import Outcome, deliver
from bot.channels.telegram.limiter import FloodLimiter
from bot.channels.telegram.parse import ParseContext, chat_id_of
from bot.channels.telegram.polling import poll, sleep_unless
from bot.channels.telegram.processor import UpdateProcessor
from bot.runtime import Runtime
from storage import channel_store as store
from storage.channel_store import Outgoing, StoredEvent, Work

log = logging.getLogger(__name__)


class TelegramService(ChannelService):
    """Runs the Telegram channel inside ``hotline serve`` (both modes) until ``stop`` is set.

    The keyword arguments exist for tests and benchmarks; the defaults are Telegram's published limits
    (≈30 messages/s overall, 1/s per chat, 20/min per group) with a small margin.
    """

    channel_name = CHANNEL
    label = "Telegram"
    event_noun = "update"

    def __init__(self, runtime: Runtime, *, overall_per_second: float = 28.0, chat_interval: float = 1.0,
                 group_interval: float = 3.0, sweep_interval: float = 0.25,
                 long_poll_seconds: int = LONG_POLL_SECONDS, max_chats: int = 256, stop_grace: float = 5.0,
                 retry_base: float = 2.0) -> None:
        super().__init__(runtime, sweep_interval=sweep_interval, max_chats=max_chats, stop_grace=stop_grace,
                         retry_base=retry_base)
        self.settings = runtime.settings.telegram
        self.limiter = FloodLimiter(overall_per_second=overall_per_second, chat_interval=chat_interval,
                                    group_interval=group_interval)
        self.long_poll_seconds = long_poll_seconds
        self._http = asyncio.Semaphore(HTTP_CONCURRENCY)  # Bot API calls in flight (see api.HTTP_CONCURRENCY)
        self._processor: UpdateProcessor | None = None
        self._bot: Bot | None = None

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
            beside: dict[str, Coroutine[Any, Any, None]] = {}
            if self.settings.mode == "polling":
                beside["telegram-poll"] = poll(self.runtime, bot, stop, on_stored=self.wake,
                                               long_poll_seconds=self.long_poll_seconds)
            await self._work_until(stop, beside=beside)
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

    # ----- an update ----------------------------------------------------------------------------------------
    def _name(self, event: StoredEvent) -> str:
        return f"update {event.event_id}"  # Telegram's update ids say nothing about the parent

    async def _handle(self, event: StoredEvent) -> tuple[Calls, None]:
        assert self._processor is not None
        return await self._processor.process(event), None

    def _apology(self, event: StoredEvent) -> Calls:
        chat_id = chat_id_of(event.data)
        return render.notice(int(chat_id), texts.NOTICES["failed"]) if chat_id else []

    # ----- a call -------------------------------------------------------------------------------------------
    async def _send(self, out: Outgoing) -> Work:
        assert self._bot is not None
        chat = out.chat_ref
        async with self.limiter.slot(chat, group=str(out.call["chat_id"]).startswith("-")):
            await self._renew(chat)  # after the wait for a slot, which may have been a long flood pause
            async with self._http:
                outcome = await deliver(self._bot, out.call)
        if outcome.kind == "ok":
            return await self.runtime.db.run(store.sent_and_next, out=out, now=utcnow(), cipher=self.runtime.cipher)
        if outcome.kind == "flood":
            log.info("Telegram flood control: waiting %.1f s", outcome.seconds)
            self.limiter.pause(outcome.seconds)  # the same call goes next, once the pause is over
            await self.runtime.db.run(store.retry_outgoing, out=out, not_before=utcnow(), error=outcome.error)
            return out
        if outcome.kind == "rewrite" and outcome.call is not None:
            return await self._send_instead(out, outcome.call, error=outcome.error)
        if outcome.kind == "dead":
            log.warning("Telegram refused a message for good: %s", outcome.error)
            return await self._bury(out, error=outcome.error)
        return await self._retry_later(out, error=outcome.error, delay=self._backoff(out.attempts))
