"""Webhook mode: ``POST /telegram/webhook`` stores the update durably, then answers 200.

Telegram re-sends an update until it gets a 2xx, so the 200 is our receipt: it goes out only after the
update is committed (power-cut safe). A re-sent update is answered 200 and ignored. Processing happens
later, in :class:`~bot.channels.telegram.service.TelegramService`.
"""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response

from bot import jsonbody
from bot.channels.telegram import shape
from bot.channels.telegram.api import CHANNEL, utcnow
from bot.runtime import Runtime
from storage import channel_store as store
from storage.conversations import chat_ref
from storage.keys import ConversationKey

if TYPE_CHECKING:
    from bot.channels.telegram.service import TelegramService

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret


def _update_of(body: bytes) -> dict[str, Any] | None:
    try:
        raw = jsonbody.loads(body)  # depth-limited, no NaN, no lone surrogates
    except jsonbody.BodyError as exc:
        log.warning("telegram webhook: unreadable body refused (%s)", exc)
        return None
    if not isinstance(raw, dict):
        log.warning("telegram webhook: body is not a JSON object; refused")
        return None
    return raw


def make_router(runtime: Runtime, *, service: TelegramService | None = None) -> APIRouter:
    """The webhook route. Pass the running ``service`` to have it woken at once (else it finds the update
    on its next sweep, within ``sweep_interval``)."""
    expected = runtime.settings.telegram.secret_token.encode()
    router = APIRouter()

    @router.post(WEBHOOK_PATH, include_in_schema=False)
    async def telegram_webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        # No secret configured means no way to tell Telegram from anyone else: refuse everything.
        if not expected or not hmac.compare_digest(given, expected):
            return Response(status_code=401)
        raw = _update_of(await request.body())
        if raw is None:
            return Response(status_code=400)
        problem = shape.update_id_problem(raw)
        if problem is not None:  # cannot be stored under its id; resending would not help: ignore it
            log.warning("telegram webhook: update ignored (%s)", problem)
            return Response(status_code=200)
        problem = shape.shape_problem(raw)
        if problem is not None:  # stored (the receipt stays honest); the processor sets it aside, no retry
            log.warning("telegram webhook: update %d is malformed (%s); stored and ignored", raw["update_id"],
                        problem)
        update = store.NewEvent(event_id=str(raw["update_id"]), data=raw, chat_ref=chat_ref(
            runtime.cipher, ConversationKey(CHANNEL, shape.safe_chat_id(raw))))
        fresh = await runtime.db.run_durable(store.store_events, channel=CHANNEL, events=[update], now=utcnow(),
                                             cipher=runtime.cipher)
        if service is not None and fresh:
            service.wake(update.chat_ref)
        return Response(status_code=200)

    return router
