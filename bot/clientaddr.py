"""Who is on the other end: the client's address (through trusted proxies only) and limits per address.

Per-chat limits alone were bypassed by changing identity (500 ``user_id`` values, 500 cookie-less web-chat
sessions, all answered). The address is the one thing a client cannot change per request, so requests and
new web-chat sessions are also counted per address. ``X-Forwarded-For`` is believed only when the peer is
one of ``server.trusted_proxies``; otherwise anyone could claim any address.

Limits are generous on purpose: many parents share one address (mobile carrier NAT, a school's network).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from bot.errors import error_bytes

SCOPE_KEY = "hotline.client_addr"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Routes that reach the engine or the checker, counted per address (the start page and assets are not).
# Telegram's webhook is not: its calls come from a few Telegram addresses carrying everyone's messages.
LIMITED_PREFIXES = ("/api/v1/messages", "/api/v1/check", "/api/v1/nlu/", "/chat/api/", "/chat/ws")


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def resolve(scope: Scope, trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer, or — when the peer is a trusted proxy — the last untrusted hop."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    peer_ip = _ip(peer)
    if peer_ip is None or not any(peer_ip in net for net in trusted):
        return peer
    header = b",".join(v for k, v in scope.get("headers") or [] if k.lower() == b"x-forwarded-for")
    hops = [h.strip() for h in header.decode("latin-1").split(",") if h.strip()]
    for hop in reversed(hops):  # right to left: each trusted proxy appended the address it saw
        ip = _ip(hop)
        if ip is None:
            return peer  # garbage in the header: fall back to what we know
        if not any(ip in net for net in trusted):
            return str(ip)
    return peer


def client_addr_of(scope: Scope) -> str:
    """The address :class:`AddressLimit` resolved for this request (the peer if it did not run)."""
    addr = scope.get(SCOPE_KEY)
    if isinstance(addr, str):
        return addr
    client = scope.get("client")
    return client[0] if client else "unknown"


def is_loopback(addr: str) -> bool:
    ip = _ip(addr)
    return ip is not None and ip.is_loopback


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class Buckets:
    """Token buckets by key with bounded memory (full buckets carry no information and are dropped)."""

    def __init__(self, *, burst: int, per_second: float, clock: Callable[[], float] = time.monotonic,
                 max_tracked: int = 50_000) -> None:
        self.burst, self.rate, self.clock, self.max_tracked = float(burst), per_second, clock, max_tracked
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> bool:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_tracked:
                full_after = self.burst / self.rate if self.rate else 0.0
                for k in [k for k, b in self._buckets.items() if now - b.updated >= full_after]:
                    del self._buckets[k]
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True


class AddressLimits:
    """Requests per address, and new web-chat sessions per address."""

    def __init__(self, *, burst: int, per_minute: int, sessions_burst: int, sessions_per_hour: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.requests = Buckets(burst=burst, per_second=per_minute / 60.0, clock=clock)
        self.sessions = Buckets(burst=sessions_burst, per_second=sessions_per_hour / 3600.0, clock=clock)

    def allow_request(self, addr: str) -> bool:
        return self.requests.take(addr)

    def allow_new_session(self, addr: str) -> bool:
        return self.sessions.take(addr)


def limits_of(scope: Scope) -> AddressLimits | None:
    app = scope.get("app")
    state = getattr(app, "state", None)
    limits = getattr(state, "address_limits", None)
    return limits if isinstance(limits, AddressLimits) else None


class AddressLimit:
    """Resolves the client address for every request and refuses (429) those over their address's rate."""

    def __init__(self, app: ASGIApp, *, trusted: tuple[Network, ...], limits: AddressLimits) -> None:
        self.app, self.trusted, self.limits = app, trusted, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        addr = resolve(scope, self.trusted)
        scope[SCOPE_KEY] = addr
        path = scope.get("path", "")
        limited = path.startswith(LIMITED_PREFIXES) and (scope["type"] == "websocket" or scope.get("method") == "POST")
        if limited and not self.limits.allow_request(addr):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1013, "reason": "too many requests"})
                return
            body = error_bytes("too many requests from your address; wait a minute", 429)
            await send({"type": "http.response.start", "status": 429, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"60"), (b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
