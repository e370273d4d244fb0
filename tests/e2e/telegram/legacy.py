"""The Telegram store as it was before 0015_telegram_channels (storage/telegram_store.py at d754e1a), kept for
the migration tests: it writes rows exactly as a deployment running the old code has them.

Only the writing side is here (storing updates with the polling offset, queueing calls, leasing a chat), with
the old tables on a metadata of their own so the application's schema never sees them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.crypto import Cipher
from storage.schema import UTCDateTime

OFFSET_KEY = "polling_offset"
_meta = sa.MetaData()

telegram_updates = sa.Table(
    "telegram_updates", _meta,
    sa.Column("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("chat_ref", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("processed_at", UTCDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
)
telegram_outgoing = sa.Table(
    "telegram_outgoing", _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("chat_ref", sa.String(64), nullable=False),
    sa.Column("update_id", sa.BigInteger, nullable=True),
    sa.Column("payload", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("not_before", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
telegram_chat_leases = sa.Table(
    "telegram_chat_leases", _meta,
    sa.Column("chat_ref", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(32), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)
telegram_state = sa.Table(
    "telegram_state", _meta,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
OLD_TABLES = (telegram_updates, telegram_outgoing, telegram_chat_leases, telegram_state)


@dataclass(frozen=True, slots=True)
class NewUpdate:
    update_id: int
    chat_ref: str
    data: dict[str, Any]


def _insert(conn: sa.Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def seal_old_update(cipher: Cipher, update_id: int, data: dict[str, Any]) -> str:
    return cipher.seal_json(data, aad=f"telegram_updates:{update_id}")


def enqueue_old(cipher: Cipher, chat_ref: str, call: dict[str, Any]) -> str:
    """A call sealed as the old queue sealed it."""
    return cipher.seal_json(call, aad=f"telegram_outgoing:{chat_ref}")


def store_updates(conn: sa.Connection, *, updates: Sequence[NewUpdate], now: datetime, cipher: Cipher,
                  offset: int | None = None) -> list[int]:
    fresh: list[int] = []
    for upd in updates:
        stmt = _insert(conn)(telegram_updates).values(
            update_id=upd.update_id, chat_ref=upd.chat_ref, payload=seal_old_update(cipher, upd.update_id, upd.data),
            received_at=now, next_attempt_at=now,
        ).on_conflict_do_nothing(index_elements=["update_id"])
        if conn.execute(stmt).rowcount == 1:
            fresh.append(upd.update_id)
    if offset is not None:
        stmt = _insert(conn)(telegram_state).values(key=OFFSET_KEY, value=str(offset), updated_at=now)
        conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": str(offset), "updated_at": now}))
    return fresh


def finish_update(conn: sa.Connection, *, update_id: int, chat_ref: str, calls: Iterable[dict[str, Any]],
                  now: datetime, cipher: Cipher) -> bool:
    """Mark processed and queue its calls (as the old worker did after the engine answered)."""
    u = telegram_updates.c
    done = conn.execute(sa.update(telegram_updates).where(u.update_id == update_id, u.processed_at.is_(None))
                        .values(processed_at=now, payload=None, last_error=None))
    if done.rowcount != 1:
        return False
    rows = [{"chat_ref": chat_ref, "update_id": update_id, "status": "pending", "attempts": 0, "not_before": now,
             "created_at": now, "payload": enqueue_old(cipher, chat_ref, call)} for call in calls]
    if rows:
        conn.execute(sa.insert(telegram_outgoing), rows)
    return True


def claim_chat(conn: sa.Connection, *, chat_ref: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    stmt = _insert(conn)(telegram_chat_leases).values(chat_ref=chat_ref, owner=owner, expires_at=now + ttl)
    return bool(conn.execute(stmt.on_conflict_do_nothing(index_elements=["chat_ref"])).rowcount == 1)
