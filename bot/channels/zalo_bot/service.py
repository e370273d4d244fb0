"""The running Zalo Bot channel: processes journaled webhook updates and sends the queued replies, paced.

Work lives on the shared channel layer (channel "zalo_bot"), exactly as for Telegram and the Zalo OA: the
sweep, the per-chat workers and their leases are :class:`~bot.channels.service_base.ChannelService`'s; an
update and the calls it produced are finished in one transaction. What is the Zalo Bot's: the webhook wakes
the service through ``channel.on_stored``, what a sent call leaves behind is remembered (a numbered menu, see
``remember_menu``), and a failure is read by its reason (a refusal about the parent is recorded against the chat).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.channels.service_base import Calls, ChannelService, utcnow
from bot.channels.zalo_bot import render, texts
from bot.channels.zalo_bot.channel import CHANNEL, MENU_PREFIX, RECORDED, ZaloBotChannel, remember_menu
from bot.channels.zalo_bot.events import chat_id_of
from bot.channels.zalo_bot.processor import UpdateProcessor
from bot.runtime import Runtime
from storage import channel_state as state
from storage import channel_store as store
from storage.channel_store import Outgoing, StoredEvent, Work
from storage.crypto import Cipher

KEEP_MENUS = timedelta(days=7)


def _sent(conn: sa.Connection, *, out: Outgoing, now: datetime, cipher: Cipher) -> Work:
    remember_menu(conn, ref=out.chat_ref, call=out.call, now=now, cipher=cipher)
    return store.sent_and_next(conn, out=out, now=now, cipher=cipher)


class ZaloBotService(ChannelService):
    """Runs the Zalo Bot channel inside ``hotline serve`` until ``stop`` is set (keyword arguments: tests)."""

    channel_name = CHANNEL
    label = "Zalo Bot"
    event_noun = "update"
    recorded = RECORDED

    def __init__(self, runtime: Runtime, channel: ZaloBotChannel, *, sweep_interval: float = 0.25,
                 max_chats: int = 256, stop_grace: float = 5.0, retry_base: float = 2.0) -> None:
        super().__init__(runtime, sweep_interval=sweep_interval, max_chats=max_chats, stop_grace=stop_grace,
                         retry_base=retry_base)
        self.channel = channel
        self.processor = UpdateProcessor(runtime, channel)

    async def run(self, stop: asyncio.Event) -> None:
        """Process and send until ``stop`` is set; then finish in-flight work briefly."""
        await self._work_until(stop, woken_by=self.channel)

    def _prune(self, conn: sa.Connection, *, now: datetime) -> int:
        return (super()._prune(conn, now=now)
                + state.prune_state(conn, channel=CHANNEL, prefix=MENU_PREFIX, before=now - KEEP_MENUS))

    async def _handle(self, event: StoredEvent) -> tuple[Calls, None]:
        return await self.processor.process(event), None

    def _apology(self, event: StoredEvent) -> Calls:
        chat_id = chat_id_of(event.data)
        return render.notice(chat_id, texts.NOTICES["failed"]) if chat_id else []

    async def _send(self, out: Outgoing) -> Work:
        await self._renew(out.chat_ref)
        outcome = await self.channel.deliver(out.call)
        if outcome.kind == "ok":
            return await self.runtime.db.run(_sent, out=out, now=utcnow(), cipher=self.runtime.cipher)
        return await self._failed(out, outcome)
