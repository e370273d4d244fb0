"""Webhook mode: ``POST /telegram/webhook`` stores the update durably, then answers 200.

Telegram re-sends an update until it gets a 2xx, so the 200 is our receipt: it goes out only after the
update is committed (power-cut safe). A re-sent update is answered 200 and ignored. Processing happens
later, in :class:`~bot.channels.telegram.service.TelegramService`.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response

from bot.channels.telegram.api import utcnow
from bot.channels.telegram.polling import new_updates
from bot.runtime import Runtime
from storage import telegram_store as store

if TYPE_CHECKING:
    from bot.channels.telegram.service import TelegramService

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret


def _update_of(body: bytes) -> dict[str, Any] | None:
    try:
        raw = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(raw, dict):
        return None
    update_id = raw.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
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
        [update] = new_updates(runtime, [raw])
        fresh = await runtime.db.run_durable(store.store_updates, updates=[update], now=utcnow(),
                                             cipher=runtime.cipher)
        if service is not None and fresh:
            service.wake(update.chat_ref)
        return Response(status_code=200)

    return router
