"""What keeps the web chat's pages and endpoints honest: headers, origins, the anonymous session cookie.

The visitor is identified by nothing but a random session id in an HttpOnly cookie; it doubles as the
conversation's chat id, so losing the cookie starts a new, unlinked conversation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from starlette.responses import Response

from bot.settings import Settings

log = logging.getLogger(__name__)

COOKIE_NAME = "hotline_chat"
COOKIE_PATH = "/chat"  # every request that needs the session lives under /chat; the start page does not
_SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{24}$")
_ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?$")

BASE_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The chat never needs the camera, microphone or location (a screenshot comes from the file picker).
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def clean_origins(origins: Iterable[str]) -> tuple[str, ...]:
    """Configured embedding origins that are well-formed ``scheme://host[:port]``; others are dropped loudly."""
    good: list[str] = []
    for origin in origins:
        value = origin.strip().rstrip("/")
        if _ORIGIN_RE.match(value):
            good.append(value.lower())
        else:
            # Goes into a CSP header: anything but a plain origin could widen or break the policy.
            log.warning("webchat.allowed_origins: ignoring %r (expected https://host[:port])", origin)
    return tuple(dict.fromkeys(good))


def csp(*, frame_ancestors: Iterable[str] = ("'none'",)) -> str:
    """A policy with no inline script or style and nothing from another origin."""
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        # 'self' covers ws:/wss: to the same host in CSP 3 (Chromium, Firefox, Safari all implement it).
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-src 'none'",
        f"frame-ancestors {' '.join(frame_ancestors)}",
    ))


def page_headers(*, embeddable_by: tuple[str, ...] | None = None) -> dict[str, str]:
    """Headers for an HTML page; ``embeddable_by`` lists the origins allowed to frame it (None: nobody)."""
    headers = dict(BASE_HEADERS)
    if embeddable_by is None:
        headers["Content-Security-Policy"] = csp()
        headers["X-Frame-Options"] = "DENY"  # for browsers that predate frame-ancestors
    else:
        headers["Content-Security-Policy"] = csp(frame_ancestors=("'self'", *embeddable_by))
    headers["Cache-Control"] = "no-cache"
    return headers


def api_headers() -> dict[str, str]:
    # Replies can quote what a parent typed: never cache them anywhere.
    return {**BASE_HEADERS, "Cache-Control": "no-store"}


def origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """Same origin as the request's host, or a configured embedding origin.

    A missing Origin passes: browsers always send it on WebSocket handshakes and on POSTs, so only
    non-browser clients omit it, and those cannot ride a visitor's cookie (the attack this check stops).
    """
    if origin is None:
        return True
    if origin.lower().rstrip("/") in allowed:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc or host is None:
        return False
    # Behind a TLS-terminating proxy the scheme we see differs from the browser's; host:port is what matters.
    return parts.netloc.lower() == host.lower()


class Sessions:
    """Session ids only this server can issue: 144 random bits and an HMAC over them.

    A cookie value we never issued is refused (session fixation: a planted, made-up id used to be kept), and
    the web chat issues a fresh id whenever a conversation starts (bot/webchat/api.py), so an id planted in
    a visitor's browser never becomes the id of their conversation.
    """

    def __init__(self, key: bytes) -> None:
        self._key = hmac.new(key, b"hotline webchat session v1", hashlib.sha256).digest()

    def _mac(self, raw: str) -> str:
        digest = hmac.new(self._key, raw.encode(), hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(digest).decode()

    def new(self) -> str:
        raw = secrets.token_urlsafe(18)  # 24 characters
        return f"{raw}.{self._mac(raw)}"

    def verify(self, value: str | None) -> str | None:
        if value is None or not _SESSION_RE.match(value):
            return None
        raw, mac = value.split(".", 1)
        return value if hmac.compare_digest(mac, self._mac(raw)) else None

    def of(self, cookies: Mapping[str, str]) -> str | None:
        """The visitor's session id from the cookie, if we issued it."""
        return self.verify(cookies.get(COOKIE_NAME))


def session_cookie(session_id: str, settings: Settings) -> str:
    """The ``Set-Cookie`` value for the session.

    Over HTTPS (``cookie_secure``) the cookie is ``SameSite=None; Secure; Partitioned``: the chat then also
    works inside a school website's iframe, where a Lax cookie is never sent, and the partition gives each
    embedding site its own conversation. Cross-site use is then guarded by the Origin checks instead.
    Written by hand because Starlette only emits ``Partitioned`` on Python 3.14+.
    """
    parts = [f"{COOKIE_NAME}={session_id}", f"Max-Age={settings.retention.conversation_days * 86400}",
             f"Path={COOKIE_PATH}", "HttpOnly"]
    parts += ["Secure", "SameSite=None", "Partitioned"] if settings.webchat.cookie_secure else ["SameSite=Lax"]
    return "; ".join(parts)


def set_session_cookie(response: Response, session_id: str, settings: Settings) -> None:
    response.headers.append("set-cookie", session_cookie(session_id, settings))
