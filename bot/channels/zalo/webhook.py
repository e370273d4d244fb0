"""``POST /webhooks/zalo``: verify Zalo's signature, journal the event durably, answer 200 — within 2 seconds.

Zalo counts a webhook as failed when it does not get a 200 within 2 seconds and sends the event again (for
about two hours, then disables the webhook), so the 200 is our receipt: it goes out only after the event is
committed (power-cut safe), and nothing slower than one database write happens before it. A re-sent event
(same message id) is answered 200 and not stored again. Processing happens later, in
:class:`~bot.channels.zalo.service.ZaloService`. Events we do not act on (delivery and seen receipts, the
OA's own messages, unknown names) are answered 200 and dropped.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from bot import jsonbody
from bot.channels.zalo import signature
from bot.channels.zalo.channel import ZaloChannel
from bot.channels.zalo.events import Ignore, classify, event_id_of, user_id_of
from bot.runtime import Runtime
from storage import channel_store as store

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/zalo"


def _event_of(body: bytes) -> dict[str, Any] | None:
    try:
        raw = jsonbody.loads(body)  # depth-limited, no NaN, no lone surrogates
    except jsonbody.BodyError as exc:
        log.warning("zalo webhook: unreadable body refused (%s)", exc)
        return None
    return raw if isinstance(raw, dict) else None


def make_router(runtime: Runtime, channel: ZaloChannel) -> APIRouter:
    """The webhook route; a running :class:`ZaloService` is woken through ``channel.notify``."""
    settings = runtime.settings.zalo
    router = APIRouter()

    @router.post(WEBHOOK_PATH, include_in_schema=False)
    async def zalo_webhook(request: Request) -> Response:
        body = await request.body()
        event = _event_of(body)
        if event is None:
            return Response(status_code=400)
        verdict = signature.verify(request.headers.get(signature.HEADER, ""), event=event, body=body,
                                   app_id=settings.app_id, secret_key=settings.secret_key,
                                   max_age_seconds=settings.signature_max_age_seconds)
        if not verdict.ok:
            # Nothing about the request is trusted, so nothing of it is logged but the reason.
            log.warning("zalo webhook: request refused (signature %s)", verdict.problem)
            return Response(status_code=401)
        parsed = classify(event)
        event_id = event_id_of(event)
        user = user_id_of(event)
        if isinstance(parsed, Ignore) or event_id is None or user is None:
            log.debug("zalo webhook: event ignored (%s)", parsed.reason if isinstance(parsed, Ignore) else "no id")
            return Response(status_code=200)
        ref = channel.chat_ref(user)
        fresh = await runtime.db.run_durable(store.store_events, channel=channel.name, now=datetime.now(UTC),
                                             cipher=runtime.cipher,
                                             events=[store.NewEvent(event_id=event_id, chat_ref=ref, data=event)])
        if fresh:
            channel.notify(ref)
        return Response(status_code=200)

    return router
