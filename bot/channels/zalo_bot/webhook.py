"""``POST /webhooks/zalo-bot``: check the secret token, journal the update durably, answer 200.

Zalo sends the ``secret_token`` given to ``setWebhook`` in ``X-Bot-Api-Secret-Token``; anything without it
(compared in constant time) gets 401 and is not read further — with no secret configured, everything does.
The 200 is our receipt, so it goes out only after the update is committed (power-cut safe); a re-sent update
(same message id) is answered 200 and not stored again. Processing happens later, in
:class:`~bot.channels.zalo_bot.service.ZaloBotService`. Updates we do not act on (group chats, other bots,
unknown events) are answered 200 and dropped.
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from bot import jsonbody
from bot.channels.zalo_bot.channel import ZaloBotChannel
from bot.channels.zalo_bot.events import Ignore, chat_id_of, classify, event_id_of, update_of
from bot.runtime import Runtime
from storage import channel_store as store

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/zalo-bot"
SECRET_HEADER = "X-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret


def _body_of(body: bytes) -> dict[str, Any] | None:
    try:
        raw = jsonbody.loads(body)  # depth-limited, no NaN, no lone surrogates
    except jsonbody.BodyError as exc:
        log.warning("zalo-bot webhook: unreadable body refused (%s)", exc)
        return None
    return raw if isinstance(raw, dict) else None


def make_router(runtime: Runtime, channel: ZaloBotChannel) -> APIRouter:
    """The webhook route; a running :class:`ZaloBotService` is woken through ``channel.notify``."""
    expected = runtime.settings.zalo_bot.secret_token.encode()
    router = APIRouter()

    @router.post(WEBHOOK_PATH, include_in_schema=False)
    async def zalo_bot_webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            return Response(status_code=401)
        body = await request.body()
        raw = _body_of(body)
        if raw is None:
            return Response(status_code=400)
        update = update_of(raw)
        parsed = classify(update)
        chat = chat_id_of(update)
        if isinstance(parsed, Ignore) or chat is None:
            log.debug("zalo-bot webhook: update ignored (%s)", parsed.reason if isinstance(parsed, Ignore) else "")
            return Response(status_code=200)
        ref = channel.chat_ref(chat)
        new = store.NewEvent(event_id=event_id_of(update, body), chat_ref=ref, data=update)
        fresh = await runtime.db.run_durable(store.store_events, channel=channel.name, events=[new],
                                             now=datetime.now(UTC), cipher=runtime.cipher)
        if fresh:
            channel.notify(ref)
        return Response(status_code=200)

    return router
