"""The OA's access token: kept sealed in the database, refreshed by one process at a time, persisted before use.

Zalo's OA access token lives 25 hours (``expires_in`` 90000) and its refresh token three months; a refresh
token works **once** — every refresh returns a new pair and the old refresh token is dead (Zalo's OAuth v4
documentation, "Refresh token chỉ được sử dụng 1 lần"). So:

- the pair is one sealed row (:func:`storage.channel_state.save_tokens`), written in one durable commit;
  a new access token is used only after that commit, never before;
- one process refreshes at a time: a lease row in ``channel_leases`` (``TOKEN_LEASE``) is the lock, and a
  process that finds the pair already rotated by another simply uses it;
- we refresh early (``margin`` before expiry), so that if a process dies between Zalo's answer and our commit
  — the one window no ordering can close — the previous access token, which Zalo leaves valid until its own
  expiry, keeps the channel working while the failed refresh is recorded (``reauth_reason``) for an admin
  to re-authorise (``hotline zalo auth-url``);
- an access token Zalo calls invalid or expired (-216/-220) triggers a refresh, once, by whoever met it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.channels.zalo.client import OAuthRefused, TokenPair, ZaloClient, ZaloUnavailable
from storage import channel_state as state
from storage import channel_store as store
from storage.channel_state import OAuthTokens
from storage.crypto import Cipher
from storage.db import Database

log = logging.getLogger(__name__)

CHANNEL = "zalo"
TOKEN_LEASE = "!oauth-refresh"  # noqa: S105 - a lease name no chat can have (chat refs are hex digests)
PKCE_KEY = "pkce"
MARGIN = timedelta(hours=6)  # refresh when less than this remains of the access token's 25 hours
LEASE_TTL = timedelta(seconds=30)  # longer than a refresh call can take (the client times out at 15 s)
CACHE_SECONDS = 30.0  # how long a process trusts its copy of the pair (a rotation elsewhere shows up then)
CODE_MAX_AGE = timedelta(minutes=10)  # Zalo's authorisation codes live 10 minutes


class NotAuthorised(Exception):
    """No usable token: the OA was never authorised, or its refresh token was refused and the access expired."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def tokens_from(pair: TokenPair, *, now: datetime, generation: int) -> OAuthTokens:
    refresh_life = timedelta(seconds=pair.refresh_expires_in) if pair.refresh_expires_in else timedelta(days=90)
    return OAuthTokens(access_token=pair.access_token, refresh_token=pair.refresh_token,
                       access_expires_at=now + timedelta(seconds=pair.expires_in),
                       refresh_expires_at=now + refresh_life, generation=generation)


class TokenManager:
    """Hands out the current access token and refreshes it; share one per process."""

    def __init__(self, db: Database, cipher: Cipher, client: ZaloClient, *, margin: timedelta = MARGIN,
                 clock: Callable[[], datetime] = utcnow, owner: str | None = None) -> None:
        self.db = db
        self.cipher = cipher
        self.client = client
        self.margin = margin
        self.clock = clock
        self.owner = owner or secrets.token_hex(8)
        self._lock = asyncio.Lock()
        self._cached: OAuthTokens | None = None
        self._cached_at = 0.0

    async def _load(self) -> OAuthTokens | None:
        tokens = await self.db.run(state.load_tokens, channel=CHANNEL, cipher=self.cipher)
        self._cached, self._cached_at = tokens, time.monotonic()
        return tokens

    async def current(self) -> OAuthTokens | None:
        if self._cached is not None and time.monotonic() - self._cached_at < CACHE_SECONDS:
            return self._cached
        return await self._load()

    async def access_token(self) -> str:
        """A token to call Zalo with now; refreshes first when the current one is close to expiry."""
        tokens = await self.current()
        if tokens is None:
            raise NotAuthorised("the Zalo OA is not authorised yet: run `hotline zalo auth-url`")
        now = self.clock()
        expires = _aware(tokens.access_expires_at)
        if expires - now > self.margin or tokens.reauth_reason:
            if expires <= now:
                raise NotAuthorised(f"the Zalo access token expired ({tokens.reauth_reason or 'not refreshed'}); "
                                    "run `hotline zalo auth-url` again")
            return tokens.access_token
        try:
            # Early, so no waiting: if another process holds the refresh lock, this token still serves.
            return (await self.refresh(tokens.access_token, wait=False)).access_token
        except (OAuthRefused, ZaloUnavailable) as exc:
            if expires > now:  # the old one still works: keep serving, the failure is logged and recorded
                log.warning("Zalo token refresh failed (%s); using the current token until it expires", exc)
                return tokens.access_token
            raise NotAuthorised(str(exc)) from exc

    async def refresh(self, stale: str, *, wait: bool = True) -> OAuthTokens:
        """Replace the pair whose access token is ``stale`` (unless someone already did) and return the new one.

        Another process refreshing holds the lock: ``wait`` for it (the stale token is useless), or not (it still
        works) — then :class:`ZaloUnavailable` at once.
        """
        if not wait and self._lock.locked():
            raise ZaloUnavailable("a token refresh is already under way here")
        async with self._lock:
            deadline = time.monotonic() + LEASE_TTL.total_seconds() + 5
            while True:
                tokens = await self._load()
                if tokens is None:
                    raise NotAuthorised("the Zalo OA is not authorised yet: run `hotline zalo auth-url`")
                if tokens.access_token != stale:
                    return tokens  # rotated meanwhile (here or by another process)
                if tokens.reauth_reason:
                    raise OAuthRefused(0, tokens.reauth_reason)
                if await self.db.run(store.claim, channel=CHANNEL, chat_ref=TOKEN_LEASE, owner=self.owner,
                                     now=self.clock(), ttl=LEASE_TTL):
                    break
                if not wait or time.monotonic() > deadline:
                    raise ZaloUnavailable("another process holds the token refresh lock")
                await asyncio.sleep(0.2)
            try:
                return await self._rotate(stale)
            finally:
                await self.db.run(store.release, channel=CHANNEL, chat_ref=TOKEN_LEASE, owner=self.owner)

    async def _rotate(self, stale: str) -> OAuthTokens:
        tokens = await self._load()  # again, under the lock: another process may have just finished
        if tokens is None:
            raise NotAuthorised("the Zalo tokens disappeared")
        if tokens.access_token != stale:
            return tokens
        try:
            pair = await self.client.refresh(tokens.refresh_token)
        except OAuthRefused as exc:
            log.error("Zalo refused the refresh token (%s): an OA admin must authorise again "
                      "(`hotline zalo auth-url`)", exc)
            await self.db.run(state.mark_reauth, channel=CHANNEL, generation=tokens.generation, reason=str(exc),
                              now=self.clock(), cipher=self.cipher)
            self._cached = None
            raise
        new = tokens_from(pair, now=self.clock(), generation=tokens.generation + 1)
        # Durable before use: the old refresh token is already dead at Zalo.
        saved = await self.db.run_durable(state.save_tokens, channel=CHANNEL, tokens=new, now=self.clock(),
                                          cipher=self.cipher, expected_generation=tokens.generation)
        if not saved:
            log.warning("the Zalo token pair changed while refreshing; using the stored one")
            current = await self._load()
            if current is None:
                raise NotAuthorised("the Zalo tokens disappeared")
            return current
        log.info("Zalo access token refreshed (generation %d)", new.generation)
        self._cached, self._cached_at = new, time.monotonic()
        return new

    async def install(self, pair: TokenPair) -> OAuthTokens:
        """Store a pair from a fresh authorisation (replacing whatever was there, including a reauth mark)."""
        old = await self._load()
        new = tokens_from(pair, now=self.clock(), generation=(old.generation + 1) if old else 1)
        await self.db.run_durable(state.save_tokens, channel=CHANNEL, tokens=new, now=self.clock(),
                                  cipher=self.cipher)
        self._cached, self._cached_at = new, time.monotonic()
        return new


# ----- the first authorisation: OAuth v4 with PKCE -------------------------------------------------------------
def new_verifier() -> str:
    """A PKCE code verifier: 43 characters of A–Z, a–z, 0–9 (what Zalo's documentation asks for)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(43))


def challenge_of(verifier: str) -> str:
    """``base64url(sha256(verifier))`` without padding (S256)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


async def start_authorisation(db: Database, cipher: Cipher, client: ZaloClient) -> str:
    """The URL an OA admin opens to grant us access; the verifier waits (sealed) for :func:`finish_authorisation`."""
    verifier, pkce_state = new_verifier(), secrets.token_urlsafe(16)
    await db.run(state.put_sealed, channel=CHANNEL, key=PKCE_KEY, now=utcnow(), cipher=cipher,
                 value={"verifier": verifier, "state": pkce_state, "created_at": utcnow().isoformat()})
    return client.permission_url(code_challenge=challenge_of(verifier), state=pkce_state)


async def finish_authorisation(db: Database, cipher: Cipher, client: ZaloClient, code: str, *,
                               state_param: str | None = None) -> OAuthTokens:
    """Exchange the code from the callback for the first pair and store it."""
    pending = await db.run(state.get_sealed, channel=CHANNEL, key=PKCE_KEY, cipher=cipher)
    if not pending:
        raise NotAuthorised("no authorisation in progress: run `hotline zalo auth-url` first")
    if state_param is not None and state_param != pending["state"]:
        raise NotAuthorised("the state in the callback does not match the last `hotline zalo auth-url`")
    if utcnow() - datetime.fromisoformat(pending["created_at"]) > CODE_MAX_AGE:
        raise NotAuthorised("the authorisation link is older than 10 minutes: run `hotline zalo auth-url` again")
    pair = await client.exchange_code(code, pending["verifier"])
    tokens = await TokenManager(db, cipher, client).install(pair)
    await db.run(state.delete_state, channel=CHANNEL, key=PKCE_KEY)
    return tokens
