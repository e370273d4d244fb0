"""``ZaloChannel``: the Zalo OA as a :class:`~bot.channels.base.Channel` — parse events, send messages.

One per process (``runtime.channels.get("zalo")``). It owns the HTTP client, the token manager and the pace,
so the running service (replies from the queue) and anything else writing to parents (an officer's question,
an outcome notice, a broadcast) share one token and one rate budget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.channels.base import Capabilities, DeliveryFailure, FailureReason
from bot.channels.zalo import render
from bot.channels.zalo.client import OAuthRefused, ZaloClient, ZaloUnavailable
from bot.channels.zalo.errors import meaning_of
from bot.channels.zalo.events import Follow, ToEngine, classify, event_id_of
from bot.channels.zalo.pacing import Pacer
from bot.channels.zalo.tokens import CHANNEL, NotAuthorised, TokenManager
from bot.settings import ZaloSettings
from handlers.messages import InboundMessage, OutboundMessage
from storage import channel_state as state
from storage.conversations import chat_ref
from storage.crypto import Cipher
from storage.db import Database
from storage.keys import ConversationKey

log = logging.getLogger(__name__)

MENU_PREFIX = "menu:"
# Reasons worth remembering against the parent (shown to officers on the tip); the rest are about us.
RECORDED = frozenset({FailureReason.BLOCKED, FailureReason.OUT_OF_WINDOW, FailureReason.INVALID_RECIPIENT})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one call: sent, to be sent again as ``call`` (numbered text), or failed for ``reason``."""

    kind: str  # ok | rewrite | fail
    reason: FailureReason | None = None
    error: str = ""
    retry_after: float | None = None
    call: render.Call | None = None
    auth: bool = False  # the failure is our token's (fixable by an admin), not the message's or the parent's


def menu_key(ref: str) -> str:
    return f"{MENU_PREFIX}{ref}"


class ZaloChannel:
    """The Zalo Official Account channel (customer-service messages through the OA Open API v3)."""

    name = CHANNEL
    capabilities = Capabilities(buttons=True, images=True, clickable_links=True, max_text=render.MAX_TEXT, push=True)

    def __init__(self, settings: ZaloSettings, db: Database, cipher: Cipher, *, client: ZaloClient | None = None,
                 pacer: Pacer | None = None, max_pause: float | None = None) -> None:
        self.settings = settings
        # Caps the waits Zalo's errors call for (a minute after -32, ten after -211); tests shorten them.
        self.max_pause = max_pause
        self.db = db
        self.cipher = cipher
        self.client = client or ZaloClient(settings)
        self.tokens = TokenManager(db, cipher, self.client)
        self.pacer = pacer or Pacer(settings.messages_per_second)
        # Set by the running service: called with a chat ref when the webhook stored new work for it.
        self.on_stored: Callable[[str], None] | None = None

    def chat_ref(self, user_id: str) -> str:
        return chat_ref(self.cipher, ConversationKey(CHANNEL, user_id))

    def notify(self, ref: str) -> None:
        if self.on_stored is not None:
            self.on_stored(ref)

    async def aclose(self) -> None:
        await self.client.aclose()

    # ----- Channel: parse -------------------------------------------------------------------------------------
    def parse(self, payload: Mapping[str, Any]) -> Sequence[InboundMessage]:
        """The neutral message in one webhook event (media still to fetch are listed in ``extras["media"]``)."""
        event = dict(payload)
        parsed = classify(event)
        message_id = event_id_of(event)
        if isinstance(parsed, Follow):
            return [InboundMessage(channel=CHANNEL, chat_id=parsed.user_id, user_id=parsed.user_id,
                                   message_id=message_id, text="/start",
                                   received_at=parsed.received_at or datetime.now(UTC))]
        if not isinstance(parsed, ToEngine):
            return []
        extras: dict[str, Any] = {"media": [m.url for m in parsed.media]} if parsed.media else {}
        return [InboundMessage(channel=CHANNEL, chat_id=parsed.user_id, user_id=parsed.user_id, message_id=message_id,
                               text=parsed.text, payload=parsed.payload, extras=extras,
                               received_at=parsed.received_at or datetime.now(UTC))]

    # ----- sending one call -----------------------------------------------------------------------------------
    async def _post(self, call: render.Call) -> tuple[int, str, str]:
        """(Zalo's code, its message, the token used); raises ZaloUnavailable / NotAuthorised."""
        async with self.pacer.slot():
            token = await self.tokens.access_token()
            reply = await self.client.send_message(token, render.body_of(call))
        return reply.code, reply.message, token

    async def deliver(self, call: render.Call) -> Outcome:
        """Make one call; on an invalid/expired token refresh it and try once more."""
        try:
            code, message, token = await self._post(call)
            if meaning_of(code).kind == "token":
                log.info("Zalo says the access token is invalid or expired (%d); refreshing", code)
                await self.tokens.refresh(token)
                code, message, _ = await self._post(call)
        except ZaloUnavailable as exc:
            return Outcome("fail", FailureReason.TRANSIENT, str(exc))
        except (NotAuthorised, OAuthRefused) as exc:
            return Outcome("fail", FailureReason.PERMANENT, f"not authorised: {exc}", auth=True)
        meaning = meaning_of(code)
        error = f"Zalo {code}: {message}".strip()
        if meaning.kind == "ok":
            return Outcome("ok")
        if meaning.kind == "token":
            log.error("Zalo refused a freshly refreshed access token (%s)", error)
            return Outcome("fail", FailureReason.PERMANENT, error, auth=True)
        if meaning.kind == "rewrite" and call["kind"] == "buttons":
            return Outcome("rewrite", error=error, call=render.as_numbered(call))
        wait = meaning.retry_after
        if wait is not None and self.max_pause is not None:
            wait = min(wait, self.max_pause)
        if meaning.reason is FailureReason.RATE_LIMITED and wait:
            self.pacer.pause(wait)
        return Outcome("fail", meaning.reason, error, retry_after=wait)

    async def remember_menu(self, ref: str, call: render.Call) -> None:
        """After a numbered list went out, keep which id each number means (a typed "2" is the second)."""
        if call["kind"] == "numbered":
            await self.db.run(state.put_sealed, channel=CHANNEL, key=menu_key(ref), now=datetime.now(UTC),
                              cipher=self.cipher, value=[bid for bid, _ in call["buttons"]])
        elif call["kind"] == "buttons":
            await self.db.run(state.delete_state, channel=CHANNEL, key=menu_key(ref))

    # ----- Channel: send --------------------------------------------------------------------------------------
    async def send(self, chat_id: str, messages: Sequence[OutboundMessage]) -> None:
        """Deliver ``messages`` to Zalo user ``chat_id`` now, in order, or raise :class:`DeliveryFailure`.

        A parent who unfollowed, is outside Zalo's interaction window or does not exist is recorded (officers
        see it on the tip) and the failure says so by meaning; callers decide whether to try again — except
        when a later part of a long message failed: trying again would send the first parts twice, so it is
        reported as permanent (as the Telegram channel does).
        """
        calls = render.render(messages, chat_id, max_buttons=self.settings.max_buttons)
        for i, call in enumerate(calls):
            try:
                await self._send_call(chat_id, call)
            except DeliveryFailure as exc:
                if i and exc.reason.retryable:
                    raise DeliveryFailure(FailureReason.PERMANENT, f"only {i} of {len(calls)} parts sent: {exc}"
                                          ) from exc
                raise

    async def send_image(self, chat_id: str, url: str, caption: str | None = None) -> None:
        """An image (by URL) with an optional caption — e.g. an awareness poster in a broadcast."""
        call: render.Call = {"kind": "image", "to": chat_id, "url": url}
        if caption:
            call["text"] = caption[: render.MAX_TEXT]
        await self._send_call(chat_id, call)

    async def _send_call(self, chat_id: str, call: render.Call) -> None:
        outcome = await self.deliver(call)
        if outcome.kind == "rewrite" and outcome.call is not None:
            call = outcome.call
            outcome = await self.deliver(call)
        if outcome.kind == "ok":
            await self.remember_menu(self.chat_ref(chat_id), call)
            return
        reason = outcome.reason or FailureReason.PERMANENT
        if reason in RECORDED:
            await self.db.run(state.record_unreachable, channel=CHANNEL, chat_ref=self.chat_ref(chat_id),
                              status=reason.value, detail=outcome.error, now=datetime.now(UTC))
        raise DeliveryFailure(reason, outcome.error, retry_after=outcome.retry_after)

    async def is_follower(self, chat_id: str) -> bool | None:
        """Whether the user follows the OA (Zalo's user detail), or None when Zalo cannot say now."""
        try:
            reply = await self.client.user_detail(await self.tokens.access_token(), chat_id)
        except (ZaloUnavailable, NotAuthorised):
            return None
        if reply.code != 0:
            return False if reply.code in (-213, -201) else None
        value = reply.data.get("user_is_follower")
        return bool(value) if isinstance(value, bool) else None
