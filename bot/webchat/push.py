"""The web chat as a push channel: messages from the police reach a chat while its page is connected.

A web chat's only address is its anonymous session, so it can be written to only while its page holds a
WebSocket. This process keeps its open connections in memory (they cannot be anywhere else) and records
them in ``chat_presence`` with its own owner id, so that with several processes the one holding a chat's
socket is the one whose delivery worker pushes to it, and the console of any process can tell whether the
chat is open. A page that talks over plain HTTP instead gets its notices with its next request.

Frames pushed to the page: ``{"type": "notice", "messages": [OutboundMessage.to_json(), ...]}``.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bot.channels.base import Capabilities, DeliveryFailure, FailureReason
from bot.webchat.protocol import CHANNEL
from handlers.messages import ConversationKey, InboundMessage, OutboundMessage
from storage import notices
from storage.conversations import chat_ref
from storage.crypto import Cipher
from storage.db import Database

log = logging.getLogger(__name__)

Sender = Callable[[dict[str, Any]], Awaitable[None]]


def notice_frame(messages: Sequence[OutboundMessage]) -> dict[str, Any]:
    return {"type": "notice", "messages": [m.to_json() for m in messages]}


class WebChatChannel:
    """``Channel`` for the web chat (``name`` "web"). ``presence_owner`` marks it as reachable only through
    the connections this process holds (see :mod:`bot.delivery`)."""

    name = CHANNEL
    capabilities = Capabilities(buttons=True, images=False, clickable_links=False, max_text=20_000, push=True)

    def __init__(self, db: Database, cipher: Cipher) -> None:
        self.db = db
        self.cipher = cipher
        self.presence_owner = secrets.token_hex(8)
        self._open: dict[str, dict[int, Sender]] = {}  # chat_ref → connection id → its send function
        self._ids = itertools.count(1)

    def ref(self, session: str) -> str:
        return chat_ref(self.cipher, ConversationKey(CHANNEL, session))

    def parse(self, payload: Mapping[str, Any]) -> Sequence[InboundMessage]:
        """Web chat frames are read by :mod:`bot.webchat.protocol`; nothing arrives through here."""
        return ()

    async def connected(self, session: str, send: Sender) -> int:
        """A page of ``session`` opened its socket; returns the id to hand to :meth:`disconnected`."""
        ref = self.ref(session)
        conn_id = next(self._ids)
        self._open.setdefault(ref, {})[conn_id] = send
        await self.db.run(notices.touch_presence, channel=CHANNEL, chat_ref=ref, owner=self.presence_owner,
                          now=datetime.now(UTC))
        return conn_id

    async def disconnected(self, session: str, conn_id: int) -> None:
        ref = self.ref(session)
        conns = self._open.get(ref, {})
        conns.pop(conn_id, None)
        if not conns:
            self._open.pop(ref, None)
            await self.db.run(notices.drop_presence, channel=CHANNEL, chat_ref=ref, owner=self.presence_owner)

    def seen_over_http_in(self, conn: sa.Connection, session: str) -> None:
        """A page without a socket sent a request: open for a while, and its notices wait for its next one
        (inside the caller's unit of work: the web chat's message transaction)."""
        ref = self.ref(session)
        if ref not in self._open:
            notices.touch_presence(conn, channel=CHANNEL, chat_ref=ref, owner=notices.PULL, now=datetime.now(UTC))

    async def seen_over_http(self, session: str) -> None:
        """:meth:`seen_over_http_in` in a transaction of its own."""
        await self.db.run(self.seen_over_http_in, session)

    def connected_refs(self) -> list[str]:
        return list(self._open)

    async def send(self, chat_id: str, messages: Sequence[OutboundMessage]) -> None:
        """Push to every open page of the chat; ``OUT_OF_WINDOW`` ("chat closed") when none takes it."""
        conns = list(self._open.get(self.ref(chat_id), {}).values())
        delivered = 0
        frame = notice_frame(messages)
        for send in conns:
            try:
                await send(frame)
                delivered += 1
            except Exception as exc:  # that page went away mid-send; another tab may still have it
                log.info("web chat push failed on one connection: %r", exc)
        if not delivered:
            raise DeliveryFailure(FailureReason.OUT_OF_WINDOW, "chat closed")


def web_channel(runtime_channels: Any, db: Database, cipher: Cipher) -> WebChatChannel:
    """This process's web chat channel, registered in ``runtime.channels`` on first use."""
    found = runtime_channels.get(CHANNEL)
    if isinstance(found, WebChatChannel):
        return found
    channel = WebChatChannel(db, cipher)
    runtime_channels.register(channel)
    return channel
