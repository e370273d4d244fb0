"""``ZaloBotChannel``: the Zalo Bot Platform as a :class:`~bot.channels.base.Channel` — parse updates, send messages.

One per process (``runtime.channels.get("zalo_bot")``). It owns the HTTP client and the pace, so the running
service (replies from the queue) and anything else writing to parents (an officer's question, an outcome
notice, a broadcast) share one rate budget. Zalo's error codes are read by meaning (its error-code page):
401 the token is wrong or was reset (an admin must fix it: kept and retried a while), 429 over quota (pause),
403 — which Zalo documents as its own internal error — and 408 try again, 404 no such chat, 400 a message
Zalo will never take.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bot.channels.base import Capabilities, DeliveryFailure, FailureReason
from bot.channels.zalo.pacing import Pacer
from bot.channels.zalo_bot import render
from bot.channels.zalo_bot.client import Reply, ZaloBotClient, ZaloBotUnavailable
from bot.channels.zalo_bot.events import ToEngine, classify, event_id_of, update_of
from bot.settings import ZaloBotSettings
from handlers.messages import InboundMessage, OutboundMessage
from storage import channel_state as state
from storage.conversations import chat_ref
from storage.crypto import Cipher
from storage.db import Database
from storage.keys import ConversationKey

log = logging.getLogger(__name__)

CHANNEL = "zalo_bot"
MENU_PREFIX = "menu:"
RATE_PAUSE = 10.0  # seconds all sends wait after a 429 (Zalo names no wait)
# Reasons worth remembering against the parent (shown to officers on the tip); the rest are about us.
RECORDED = frozenset({FailureReason.BLOCKED, FailureReason.INVALID_RECIPIENT})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one call: sent, or failed for ``reason``."""

    kind: str  # ok | fail
    reason: FailureReason | None = None
    error: str = ""
    retry_after: float | None = None
    auth: bool = False  # our token's fault (an admin fixes it), not the message's or the parent's


def failure_of(reply: Reply) -> Outcome:
    code, error = reply.error_code, reply.error
    if code == 401:
        return Outcome("fail", FailureReason.PERMANENT, f"the bot token was refused ({error})", auth=True)
    if code == 429:
        return Outcome("fail", FailureReason.RATE_LIMITED, error, retry_after=RATE_PAUSE)
    if code in (403, 408):
        return Outcome("fail", FailureReason.TRANSIENT, error)
    if "block" in reply.description.lower():
        return Outcome("fail", FailureReason.BLOCKED, error)
    if code == 404:
        return Outcome("fail", FailureReason.INVALID_RECIPIENT, error)
    return Outcome("fail", FailureReason.PERMANENT, error)


def menu_key(ref: str) -> str:
    return f"{MENU_PREFIX}{ref}"


def remember_menu(conn: sa.Connection, *, ref: str, call: render.Call, now: datetime, cipher: Cipher) -> None:
    """After a call went out: a numbered list is what a typed number means from now on; any other message
    ends it (the last message the parent saw is what they answer — a "2" to a later question is a 2)."""
    if call["kind"] == "numbered":
        state.put_sealed(conn, channel=CHANNEL, key=menu_key(ref), now=now, cipher=cipher,
                         value=[bid for bid, _ in call["buttons"]])
    else:
        state.delete_state(conn, channel=CHANNEL, key=menu_key(ref))


class ZaloBotChannel:
    """The Zalo Bot Platform channel (webhook updates in, ``sendMessage`` / ``sendPhoto`` out)."""

    name = CHANNEL
    capabilities = Capabilities(buttons=False, images=True, clickable_links=True, max_text=render.MAX_TEXT,
                                push=True)

    def __init__(self, settings: ZaloBotSettings, db: Database, cipher: Cipher, *,
                 client: ZaloBotClient | None = None, pacer: Pacer | None = None,
                 rate_pause: float = RATE_PAUSE) -> None:
        self.settings = settings
        self.rate_pause = rate_pause  # tests shorten it
        self.db = db
        self.cipher = cipher
        self.client = client or ZaloBotClient(settings)
        self.pacer = pacer or Pacer(settings.messages_per_second)
        # Set by the running service: called with a chat ref when the webhook stored new work for it.
        self.on_stored: Callable[[str], None] | None = None

    def chat_ref(self, chat_id: str) -> str:
        return chat_ref(self.cipher, ConversationKey(CHANNEL, chat_id))

    def notify(self, ref: str) -> None:
        if self.on_stored is not None:
            self.on_stored(ref)

    async def aclose(self) -> None:
        await self.client.aclose()

    # ----- Channel: parse -------------------------------------------------------------------------------------
    def parse(self, payload: Mapping[str, Any]) -> Sequence[InboundMessage]:
        """The neutral message in one webhook update (a photo still to fetch is in ``extras["media"]``)."""
        update = update_of(dict(payload))
        parsed = classify(update)
        if not isinstance(parsed, ToEngine):
            return []
        extras: dict[str, Any] = {"media": [parsed.photo_url]} if parsed.photo_url else {}
        message_id = event_id_of(update, b"") if isinstance(update.get("message"), dict) else None
        return [InboundMessage(channel=CHANNEL, chat_id=parsed.chat_id, user_id=parsed.chat_id,
                               message_id=message_id, text=parsed.text, extras=extras,
                               received_at=parsed.received_at or datetime.now(UTC))]

    # ----- sending one call -----------------------------------------------------------------------------------
    async def deliver(self, call: render.Call) -> Outcome:
        method, params = render.request_of(call)
        try:
            async with self.pacer.slot():
                reply = await self.client.call(method, params)
        except ZaloBotUnavailable as exc:
            return Outcome("fail", FailureReason.TRANSIENT, str(exc))
        if reply.ok:
            return Outcome("ok")
        outcome = failure_of(reply)
        if outcome.reason is FailureReason.RATE_LIMITED:
            outcome = replace(outcome, retry_after=self.rate_pause)
            self.pacer.pause(self.rate_pause)
        return outcome

    # ----- Channel: send --------------------------------------------------------------------------------------
    async def send(self, chat_id: str, messages: Sequence[OutboundMessage]) -> None:
        """Deliver ``messages`` to chat ``chat_id`` now, in order, or raise :class:`DeliveryFailure`. When a later
        part of a long message fails, trying again would send the first parts twice: that is permanent."""
        calls = render.render(messages, chat_id)
        for i, call in enumerate(calls):
            try:
                await self._send_call(chat_id, call)
            except DeliveryFailure as exc:
                if i and exc.reason.retryable:
                    raise DeliveryFailure(FailureReason.PERMANENT, f"only {i} of {len(calls)} parts sent: {exc}"
                                          ) from exc
                raise

    async def send_image(self, chat_id: str, url: str, caption: str | None = None) -> None:
        """An image (by public URL, as sendPhoto takes it) with an optional caption — e.g. an awareness poster."""
        call: render.Call = {"kind": "image", "to": chat_id, "url": url}
        if caption:
            call["text"] = caption[: render.MAX_TEXT]
        await self._send_call(chat_id, call)

    async def _send_call(self, chat_id: str, call: render.Call) -> None:
        outcome = await self.deliver(call)
        ref = self.chat_ref(chat_id)
        if outcome.kind == "ok":
            await self.db.run(remember_menu, ref=ref, call=call, now=datetime.now(UTC), cipher=self.cipher)
            return
        reason = outcome.reason or FailureReason.PERMANENT
        if reason in RECORDED:
            await self.db.run(state.record_unreachable, channel=CHANNEL, chat_ref=ref, status=reason.value,
                              detail=outcome.error, now=datetime.now(UTC))
        raise DeliveryFailure(reason, outcome.error, retry_after=outcome.retry_after)
