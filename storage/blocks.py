"""Temporary blocks of abusive chats, visible to officers and liftable by them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.schema import blocks

_ACTIVE = sa.select(blocks.c.expires_at).where(
    blocks.c.channel == sa.bindparam("channel"), blocks.c.chat_ref == sa.bindparam("ref"),
    blocks.c.expires_at > sa.bindparam("now"), blocks.c.lifted_by.is_(None),
)


def is_blocked(conn: sa.Connection, *, channel: str, chat_ref: str, now: datetime) -> bool:
    return conn.execute(_ACTIVE, {"channel": channel, "ref": chat_ref, "now": now}).first() is not None


def block(conn: sa.Connection, *, channel: str, chat_ref: str, reason: str, now: datetime,
          until: datetime) -> None:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(blocks).values(channel=channel, chat_ref=chat_ref, reason=reason, created_at=now,
                                 expires_at=until, lifted_by=None)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["channel", "chat_ref"],
        set_={"reason": reason, "created_at": now, "expires_at": until, "lifted_by": None},
    ))


def active(conn: sa.Connection, *, now: datetime) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(blocks).where(blocks.c.expires_at > now, blocks.c.lifted_by.is_(None))
                        .order_by(blocks.c.created_at.desc()))
    return [dict(r) for r in rows.mappings()]


def lift(conn: sa.Connection, *, channel: str, chat_ref: str, by: str) -> bool:
    result = conn.execute(sa.update(blocks).where(
        blocks.c.channel == channel, blocks.c.chat_ref == chat_ref, blocks.c.lifted_by.is_(None)
    ).values(lifted_by=by))
    return result.rowcount > 0


class BlockCache:
    """Which chats are blocked, re-read from the database every few seconds.

    Blocks are rare; asking the database on every message cost as much as loading the conversation. A block
    set by this process applies at once; one set or lifted elsewhere (an officer) within ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._blocked: dict[tuple[str, str], datetime] = {}
        self._loaded_at: float | None = None

    def is_blocked(self, conn: sa.Connection, *, channel: str, chat_ref: str, now: datetime, mono: float) -> bool:
        if self._loaded_at is None or mono - self._loaded_at >= self.ttl:
            self._blocked = {(r["channel"], r["chat_ref"]): r["expires_at"] for r in active(conn, now=now)}
            self._loaded_at = mono
        until = self._blocked.get((channel, chat_ref))
        if until is None:
            return False
        if until.tzinfo is None:  # SQLite hands back naive UTC
            until = until.replace(tzinfo=now.tzinfo)
        return until > now

    def add(self, channel: str, chat_ref: str, until: datetime) -> None:
        self._blocked[(channel, chat_ref)] = until
