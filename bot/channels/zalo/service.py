"""The running Zalo channel: processes journaled webhook events and sends the queued replies, paced.

Work lives in the database, not in memory (channel "zalo"); the sweep, the per-chat workers and their leases
are :class:`~bot.channels.service_base.ChannelService`'s. What is the Zalo OA's: the webhook wakes the service
through ``channel.on_stored``, a sent numbered menu is remembered (what a typed number means next), a buttons
message Zalo refuses goes again as numbered text, a failure is read by its reason (a refusal about the parent
is recorded against the chat), and the hourly sweep also keeps the OA's token alive.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.channels.service_base import Calls, ChannelService, utcnow
from bot.channels.zalo import render, texts
from bot.channels.zalo.channel import MENU_PREFIX, RECORDED, ZaloChannel, menu_key
from bot.channels.zalo.events import user_id_of
from bot.channels.zalo.processor import EventProcessor
from bot.channels.zalo.tokens import CHANNEL, NotAuthorised
from bot.runtime import Runtime
from storage import channel_state as state
from storage import channel_store as store
from storage.channel_store import Outgoing, StoredEvent, Work
from storage.crypto import Cipher

log = logging.getLogger(__name__)

KEEP_MENUS = timedelta(days=7)


def _sent(conn: sa.Connection, *, out: Outgoing, call: render.Call, now: datetime, cipher: Cipher) -> Work:
    """The call went out: drop it, remember a numbered menu (or forget one a buttons prompt replaced)."""
    if call["kind"] == "numbered":
        state.put_sealed(conn, channel=CHANNEL, key=menu_key(out.chat_ref), now=now, cipher=cipher,
                         value=[bid for bid, _ in call["buttons"]])
    elif call["kind"] == "buttons":
        state.delete_state(conn, channel=CHANNEL, key=menu_key(out.chat_ref))
    return store.sent_and_next(conn, out=out, now=now, cipher=cipher)


class ZaloService(ChannelService):
    """Runs the Zalo channel inside ``hotline serve`` until ``stop`` is set.

    The keyword arguments exist for tests and benchmarks.
    """

    channel_name = CHANNEL
    label = "Zalo"
    recorded = RECORDED

    def __init__(self, runtime: Runtime, channel: ZaloChannel, *, sweep_interval: float = 0.25,
                 max_chats: int = 256, stop_grace: float = 5.0, retry_base: float = 2.0) -> None:
        super().__init__(runtime, sweep_interval=sweep_interval, max_chats=max_chats, stop_grace=stop_grace,
                         retry_base=retry_base)
        self.channel = channel
        self.processor = EventProcessor(runtime, channel)

    async def run(self, stop: asyncio.Event) -> None:
        """Process and send until ``stop`` is set; then finish in-flight work briefly."""
        await self._work_until(stop, woken_by=self.channel)

    def _prune(self, conn: sa.Connection, *, now: datetime) -> int:
        return (super()._prune(conn, now=now)
                + state.prune_state(conn, channel=CHANNEL, prefix=MENU_PREFIX, before=now - KEEP_MENUS))

    async def _hourly(self) -> None:
        """Refresh a token close to expiry even when nobody writes: each refresh also renews the refresh
        token's three months, so a quiet OA does not lose its authorisation."""
        try:
            await self.channel.tokens.access_token()
        except NotAuthorised as exc:
            log.info("Zalo OA not usable yet: %s", exc)

    async def _handle(self, event: StoredEvent) -> tuple[Calls, tuple[str, str] | None]:
        result = await self.processor.process(event)
        return result.calls, result.unreachable

    def _apology(self, event: StoredEvent) -> Calls:
        user = user_id_of(event.data)
        return render.notice(user, texts.NOTICES["failed"]) if user else []

    async def _send(self, out: Outgoing) -> Work:
        await self._renew(out.chat_ref)
        outcome = await self.channel.deliver(out.call)
        if outcome.kind == "ok":
            return await self.runtime.db.run(_sent, out=out, call=out.call, now=utcnow(), cipher=self.runtime.cipher)
        if outcome.kind == "rewrite" and outcome.call is not None:
            log.info("Zalo refused a buttons message (%s); sending it as numbered text", outcome.error)
            return await self._send_instead(out, outcome.call, error=outcome.error)
        return await self._failed(out, outcome)
