"""Telegram as a :class:`~bot.channels.base.Channel`: what writes to a parent outside a reply (an officer's
question, a live hand-off, an outcome notice) sends through here, paced with the chat's replies.

Replies to updates keep going through the service's durable queue (``channel_outgoing``); this is the
push side, used by :mod:`bot.delivery` from its own durable rows. A Bot API refusal is reported by meaning:
the parent blocked the bot, the chat does not exist, slow down, try later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.channels.base import Capabilities, DeliveryFailure, FailureReason
from bot.channels.telegram import render
from bot.channels.telegram.api import CHANNEL
from bot.channels.telegram.delivery import Outcome
from bot.channels.telegram.parse import ParseContext, ToEngine, parse_update
from bot.channels.telegram.service import TelegramService
from handlers.messages import ConversationKey, InboundMessage, OutboundMessage
from storage.conversations import chat_ref

_BLOCKED = ("blocked", "deactivated", "kicked", "not a member", "can't initiate", "cannot initiate")
_NO_CHAT = ("chat not found", "user not found", "peer_id_invalid", "chat_id is empty")


def failure_of(outcome: Outcome) -> DeliveryFailure:
    """A Bot API outcome other than "ok", as the channel contract's failure."""
    error = outcome.error.lower()
    if outcome.kind == "flood":
        return DeliveryFailure(FailureReason.RATE_LIMITED, outcome.error, retry_after=outcome.seconds)
    if outcome.kind == "retry":
        return DeliveryFailure(FailureReason.TRANSIENT, outcome.error)
    if any(word in error for word in _BLOCKED):
        return DeliveryFailure(FailureReason.BLOCKED, outcome.error)
    if any(word in error for word in _NO_CHAT):
        return DeliveryFailure(FailureReason.INVALID_RECIPIENT, outcome.error)
    return DeliveryFailure(FailureReason.PERMANENT, outcome.error)


class TelegramChannel:
    """``Channel`` over a running :class:`TelegramService` (register it in ``runtime.channels``)."""

    name = CHANNEL
    capabilities = Capabilities(buttons=True, images=True, clickable_links=True, max_text=render.MAX_TEXT, push=True)

    def __init__(self, service: TelegramService) -> None:
        self.service = service

    def parse(self, payload: Mapping[str, Any]) -> Sequence[InboundMessage]:
        """The parent's message in an update (files are fetched by the service's own processor)."""
        settings = self.service.settings
        parsed = parse_update(dict(payload), ParseContext(officers_chat_id=settings.officers_chat_id,
                                                          officer_ids=frozenset(settings.officer_ids)))
        if not isinstance(parsed, ToEngine):
            return ()
        return (InboundMessage(channel=CHANNEL, chat_id=str(parsed.chat_id), user_id=str(parsed.user_id),
                               text=parsed.text, payload=parsed.payload, extras=dict(parsed.extras)),)

    async def send(self, chat_id: str, messages: Sequence[OutboundMessage]) -> None:
        target: int | str = int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id
        chat = chat_ref(self.service.runtime.cipher, ConversationKey(CHANNEL, chat_id))
        calls = render.render(list(messages), target)
        for i, call in enumerate(calls):
            outcome = await self.service.push(call, chat=chat)
            if outcome.kind == "rewrite" and outcome.call is not None:  # a group moved: same chat, new id
                outcome = await self.service.push(outcome.call, chat=chat)
            if outcome.kind != "ok":
                if i:  # part of a long message went: say so rather than send that part twice on a retry
                    raise DeliveryFailure(FailureReason.PERMANENT, f"only {i} of {len(calls)} parts sent: "
                                          + outcome.error)
                raise failure_of(outcome)
