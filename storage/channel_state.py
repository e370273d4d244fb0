"""Per-channel state (OAuth tokens, PKCE verifiers, numbered menus) and who could not be reached, and why.

Units of work for ``Database.run``. Secrets and anything that describes a person are sealed here with the
runtime's :class:`Cipher`, bound to their channel and key.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.channel_schema import channel_recipients, channel_state
from storage.crypto import Cipher
from storage.schema import tips

TOKENS_KEY = "oauth_tokens"
_S, _R = channel_state.c, channel_recipients.c


def _insert(conn: sa.Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def _aad(channel: str, key: str) -> str:
    return f"channel_state:{channel}:{key}"


# ----- plain and sealed values ------------------------------------------------------------------------------
def put_sealed(conn: sa.Connection, *, channel: str, key: str, value: Any, now: datetime, cipher: Cipher) -> None:
    sealed = cipher.seal_json(value, aad=_aad(channel, key))
    stmt = _insert(conn)(channel_state).values(channel=channel, key=key, value=sealed, updated_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=["channel", "key"],
                                            set_={"value": sealed, "updated_at": now}))


def get_sealed(conn: sa.Connection, *, channel: str, key: str, cipher: Cipher, lock: bool = False) -> Any:
    """The value stored under ``key``, opened (None when there is none). ``lock`` holds the row until commit."""
    query = sa.select(_S.value).where(_S.channel == channel, _S.key == key)
    value = conn.execute(query.with_for_update() if lock else query).scalar()
    return None if value is None else cipher.open_json(value, aad=_aad(channel, key))


def delete_state(conn: sa.Connection, *, channel: str, key: str) -> None:
    conn.execute(sa.delete(channel_state).where(_S.channel == channel, _S.key == key))


def prune_state(conn: sa.Connection, *, channel: str, prefix: str, before: datetime) -> int:
    """Forget values under keys starting with ``prefix`` last written before ``before`` (old menus, verifiers)."""
    return conn.execute(sa.delete(channel_state).where(
        _S.channel == channel, _S.key.startswith(prefix, autoescape=True), _S.updated_at < before)).rowcount


# ----- OAuth tokens -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OAuthTokens:
    """The access/refresh pair a channel calls its platform with. ``generation`` counts rotations."""

    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    generation: int = 0
    # Set when a refresh was refused for good: the access token still works until it expires, then an admin
    # must authorise again (``hotline zalo auth-url``).
    reauth_reason: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["access_expires_at"] = self.access_expires_at.isoformat()
        data["refresh_expires_at"] = self.refresh_expires_at.isoformat() if self.refresh_expires_at else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OAuthTokens:
        refresh_at = data.get("refresh_expires_at")
        return cls(access_token=str(data["access_token"]), refresh_token=str(data["refresh_token"]),
                   access_expires_at=datetime.fromisoformat(data["access_expires_at"]),
                   refresh_expires_at=datetime.fromisoformat(refresh_at) if refresh_at else None,
                   generation=int(data.get("generation", 0)), reauth_reason=str(data.get("reauth_reason", "")))


def load_tokens(conn: sa.Connection, *, channel: str, cipher: Cipher, lock: bool = False) -> OAuthTokens | None:
    data = get_sealed(conn, channel=channel, key=TOKENS_KEY, cipher=cipher, lock=lock)
    return None if data is None else OAuthTokens.from_json(data)


def save_tokens(conn: sa.Connection, *, channel: str, tokens: OAuthTokens, now: datetime, cipher: Cipher,
                expected_generation: int | None = None) -> bool:
    """Store ``tokens`` (the whole pair in one row, so it changes atomically). With ``expected_generation``,
    only if the stored pair is still that generation (another process may have rotated it meanwhile)."""
    if expected_generation is not None:
        current = load_tokens(conn, channel=channel, cipher=cipher, lock=True)
        if current is not None and current.generation != expected_generation:
            return False
    put_sealed(conn, channel=channel, key=TOKENS_KEY, value=tokens.to_json(), now=now, cipher=cipher)
    return True


def mark_reauth(conn: sa.Connection, *, channel: str, generation: int, reason: str, now: datetime,
                cipher: Cipher) -> None:
    """Note on the stored pair (if it is still ``generation``) that its refresh token was refused."""
    current = load_tokens(conn, channel=channel, cipher=cipher, lock=True)
    if current is not None and current.generation == generation:
        save_tokens(conn, channel=channel, tokens=replace(current, reauth_reason=reason[:300]), now=now,
                    cipher=cipher)


# ----- reachability -----------------------------------------------------------------------------------------
def record_unreachable(conn: sa.Connection, *, channel: str, chat_ref: str, status: str, detail: str,
                       now: datetime) -> None:
    """Remember that a parent cannot be messaged now (``status`` is a FailureReason value) and why."""
    values = {"status": status, "detail": detail[:255], "updated_at": now}
    stmt = _insert(conn)(channel_recipients).values(channel=channel, chat_ref=chat_ref, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["channel", "chat_ref"], set_=values))


def reachability(conn: sa.Connection, *, channel: str, chat_ref: str) -> dict[str, Any] | None:
    """Why the chat cannot be messaged ({status, detail, updated_at}), or None when nothing stands in the way."""
    row = conn.execute(sa.select(_R.status, _R.detail, _R.updated_at)
                       .where(_R.channel == channel, _R.chat_ref == chat_ref)).mappings().first()
    return dict(row) if row is not None else None


def tip_reachability(conn: sa.Connection, *, reference: str) -> dict[str, Any] | None:
    """For a tip's page: whether its reporter can be reached on their channel ({channel, status, detail,
    updated_at}), or None when nothing is known against it. Joins on the keyed chat hash only."""
    row = conn.execute(
        sa.select(tips.c.channel, _R.status, _R.detail, _R.updated_at)
        .join(channel_recipients, sa.and_(_R.channel == tips.c.channel, _R.chat_ref == tips.c.reporter_ref))
        .where(tips.c.reference == reference)).mappings().first()
    return dict(row) if row is not None else None


def unreachable_count(conn: sa.Connection, *, channel: str) -> dict[str, int]:
    rows = conn.execute(sa.select(_R.status, sa.func.count()).where(_R.channel == channel).group_by(_R.status))
    return {str(status): int(count) for status, count in rows}
