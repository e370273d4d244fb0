"""Verify Hotline's signed webhook calls — for the police's receiving system (standard library only).

Every ``POST`` carries::

    Content-Type: application/json; charset=utf-8      (the body is a tip.v1 document)
    Idempotency-Key: TG-2026-000123                    (the tip reference: the same tip may arrive twice)
    X-Hotline-Timestamp: 1767225600                    (unix seconds when this attempt was signed)
    X-Hotline-Signature: sha256=<hex>                  (HMAC-SHA256(secret, timestamp + "." + raw body))

A receiver must, in this order:

1. verify the signature over the **raw** body bytes (before any JSON parsing) and the timestamp's
   freshness — :func:`verify` does both, in constant time;
2. store the tip keyed by ``Idempotency-Key``, ignoring a key it already has (Hotline delivers at least
   once: after a timeout or a crash the same tip is sent again);
3. answer ``2xx`` only once the tip is stored. ``4xx`` (except 408 and 429) tells Hotline the request is
   wrong and will never succeed: it stops and shows the error to its operators. Anything else is retried
   with growing delays.

Example (any framework; here Starlette)::

    from bot.intake.verify import InvalidSignature, verify

    async def tips(request):
        body = await request.body()
        try:
            verify(secret=SECRET, body=body, timestamp=request.headers.get("x-hotline-timestamp"),
                   signature=request.headers.get("x-hotline-signature"))
        except InvalidSignature as exc:
            return PlainTextResponse(str(exc), status_code=401)
        store_once(request.headers["idempotency-key"], json.loads(body))
        return Response(status_code=204)
"""

from __future__ import annotations

import hashlib
import hmac
import time

DEFAULT_TOLERANCE_SECONDS = 300


class InvalidSignature(Exception):
    """The request is not from Hotline, was altered, or is too old (a replay); answer 401."""


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Hotline-Signature`` value for ``body`` signed at ``timestamp`` (unix seconds, as text)."""
    digest = hmac.new(_key(secret), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(*, secret: str | bytes, body: bytes, timestamp: str | None, signature: str | None,
           now: float | None = None, tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> None:
    """Return if the request is authentic and fresh; raise :class:`InvalidSignature` saying why not.

    ``tolerance`` bounds clock skew and replays in both directions (default 5 minutes).
    """
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit():
        raise InvalidSignature("missing or malformed X-Hotline-Timestamp")
    if not signature or not signature.startswith("sha256="):
        raise InvalidSignature("missing or malformed X-Hotline-Signature")
    age = (time.time() if now is None else now) - int(timestamp)
    if abs(age) > tolerance:
        raise InvalidSignature(f"timestamp is {int(age)} s off (allowed ±{tolerance} s)")
    # compare_digest: the time taken must not reveal how many leading characters matched.
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode("utf-8", "replace")):
        raise InvalidSignature("signature does not match")
