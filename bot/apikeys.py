"""Who may use ``POST /api/v1/messages``: a client with an API key, or — while none exists — loopback only.

Without this, anyone who knew or guessed a ``user_id`` read that parent's draft. With keys configured
(``hotline apikeys add``) every request needs ``Authorization: Bearer hk_…`` and may only speak for user ids
under its key's prefix. With none, only a client on this machine is served (a request that came through a
proxy is not on this machine, whatever address the proxy connects from). Keys are re-read every few seconds,
so an added or revoked key takes effect without a restart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from starlette.requests import Request

from bot.clientaddr import client_addr_of, is_loopback
from storage.apikeys import ApiKey, active_keys, split_token
from storage.db import Database

REFRESH_SECONDS = 3.0
_PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


@dataclass(frozen=True, slots=True)
class Denied:
    status: int
    message: str


class ApiKeyGate:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._keys: dict[str, ApiKey] = {}
        self._loaded_at = float("-inf")

    async def keys(self) -> dict[str, ApiKey]:
        if time.monotonic() - self._loaded_at >= REFRESH_SECONDS:
            self._keys = await self.db.run(active_keys)
            self._loaded_at = time.monotonic()
        return self._keys

    async def authenticate(self, request: Request) -> Denied | ApiKey | None:
        """Denied, the caller's key, or None (no keys configured and the caller is on this machine)."""
        keys = await self.keys()
        given = _bearer(request)
        if not keys:
            if given is not None:
                return Denied(401, "unknown API key (none is configured on this server)")
            if is_loopback(client_addr_of(request.scope)) and not any(h in request.headers for h in _PROXY_HEADERS):
                return None
            return Denied(401, "this API needs an API key (`hotline apikeys add`); without one it answers "
                               "only clients on the server itself")
        if given is None:
            return Denied(401, "send the API key as 'Authorization: Bearer <key>'")
        parts = split_token(given)
        key = keys.get(parts[0]) if parts else None
        if parts is None or key is None or not key.matches(parts[1]):
            return Denied(401, "unknown or revoked API key")
        return key


def out_of_scope(key: ApiKey | None, user_id: str) -> Denied | None:
    if key is not None and not user_id.startswith(key.user_prefix):
        return Denied(403, f"this key may only send for user ids starting with {key.user_prefix!r}")
    return None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return request.headers.get("x-api-key")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else header.strip()
