"""The Zalo webhook signature: ``X-ZEvent-Signature: mac=<hex>`` where
``mac = sha256(app_id + raw body + timestamp + OA secret key)``.

``timestamp`` is the event's own ``timestamp`` field (milliseconds since the epoch, as Zalo sends it, a
string or a number) and the body is hashed exactly as received. The OA secret key is the one shown when the
app is linked to the Official Account, not the app's secret. Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any, Literal

HEADER = "X-ZEvent-Signature"
FUTURE_SKEW_MS = 5 * 60 * 1000  # a sender's clock may run this far ahead of ours


def mac(app_id: str, body: bytes, timestamp: str, secret_key: str) -> str:
    """The hex digest Zalo puts after ``mac=``."""
    return hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret_key.encode()).hexdigest()


def header_value(app_id: str, body: bytes, timestamp: str, secret_key: str) -> str:
    return f"mac={mac(app_id, body, timestamp, secret_key)}"


def timestamp_of(event: dict[str, Any]) -> str | None:
    """The event's timestamp as it appears in the JSON (the digits are what Zalo signed)."""
    value = event.get("timestamp")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:
        return value
    return None


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    problem: Literal["", "missing", "bad", "stale", "future", "no_timestamp"] = ""


def verify(header: str, *, event: dict[str, Any], body: bytes, app_id: str, secret_key: str, max_age_seconds: int,
           now_ms: int | None = None) -> Verdict:
    """Check the signature in constant time, then that the event is fresh (a replay guard)."""
    given = header.strip()
    if given.lower().startswith("mac="):
        given = given[4:].strip()
    if not given:
        return Verdict(False, "missing")
    stamp = timestamp_of(event)
    if stamp is None:
        return Verdict(False, "no_timestamp")
    expected = mac(app_id, body, stamp, secret_key)
    if not hmac.compare_digest(given.lower().encode(), expected.encode()):
        return Verdict(False, "bad")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    sent = int(stamp)
    if sent > now + FUTURE_SKEW_MS:
        return Verdict(False, "future")
    if now - sent > max_age_seconds * 1000:
        return Verdict(False, "stale")
    return Verdict(True)
