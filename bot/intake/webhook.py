"""The signed webhook sink: ``POST`` tip.v1 to the police's own system (see :mod:`bot.intake.verify`)."""

from __future__ import annotations

import ipaddress
import logging
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from bot.intake.http1 import Http1Pool, HttpError, Response
from bot.intake.model import SCHEMA_ID, encode
from bot.intake.sinks import PermanentError, RetryableError
from bot.intake.verify import sign

log = logging.getLogger(__name__)

KEEP_RESPONSE_CHARS = 2000  # of a rejected request's response body, kept on the dead outbox row


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _retry_after(response: Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


class WebhookSink:
    """2xx = delivered; 4xx other than 408/429 = permanent (response kept); anything else is retried."""

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0, max_connections: int = 16,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        if not url.startswith("https://") and not _loopback(url):
            log.warning("intake.webhook.url is not HTTPS: tips would cross the network unencrypted")
        self.url = url
        self._secret = secret.encode()
        # Kept-alive connections: one TLS handshake serves many tips.
        self._pool = Http1Pool(url, timeout=timeout, max_connections=max_connections, ssl_context=ssl_context,
                               headers={"user-agent": "Hotline-Intake/1", "x-hotline-schema": SCHEMA_ID,
                                        "content-type": "application/json; charset=utf-8"})

    async def deliver(self, tip: dict[str, Any], *, key: str) -> None:
        body = encode(tip)
        timestamp = str(int(time.time()))  # signed per attempt, so a retry is never "stale"
        headers = {"idempotency-key": key, "x-hotline-timestamp": timestamp,
                   "x-hotline-signature": sign(self._secret, timestamp, body)}
        try:
            response = await self._pool.post(body, headers)
        except HttpError as exc:
            raise RetryableError("webhook unreachable", detail=str(exc) or None) from exc
        status = response.status
        if 200 <= status < 300:
            return
        detail = response.text[:KEEP_RESPONSE_CHARS] or None
        if 400 <= status < 500 and status not in (408, 429):
            raise PermanentError(f"webhook rejected the tip: HTTP {status}", detail=detail)
        raise RetryableError(f"webhook answered HTTP {status}", detail=detail, retry_after=_retry_after(response))

    async def aclose(self) -> None:
        await self._pool.aclose()
