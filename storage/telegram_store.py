"""Tip-card actions in the officers' Telegram group: synchronous units of work for ``Database.run``.

The Telegram channel's updates, outgoing calls, chat leases and polling offset are the shared channel layer's
(``storage/channel_store.py`` with channel "telegram"); only the tip cards' record is Telegram's own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.telegram_schema import telegram_tip_actions


def _insert(conn: sa.Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


# ----- tip-card actions -------------------------------------------------------------------------------------
def record_tip_action(
    conn: sa.Connection, *, reference: str, action: str, now: datetime, officer_id: str = "",
    officer_name: str | None = None, chat_id: str | None = None, message_id: int | None = None,
) -> bool:
    """Record an action once per (reference, action, officer); False when it was already recorded."""
    stmt = _insert(conn)(telegram_tip_actions).values(
        reference=reference, action=action, officer_id=officer_id, officer_name=officer_name, chat_id=chat_id,
        message_id=message_id, created_at=now,
    ).on_conflict_do_nothing(index_elements=["reference", "action", "officer_id"])
    return bool(conn.execute(stmt).rowcount == 1)


def assign_tip(
    conn: sa.Connection, *, reference: str, officer_id: str, now: datetime, officer_name: str | None = None,
    chat_id: str | None = None, message_id: int | None = None,
) -> bool:
    """Make ``officer_id`` the tip's assignee (the latest "assign" wins); False if they already are."""
    t = telegram_tip_actions
    latest = conn.execute(
        sa.select(t.c.officer_id).where(t.c.reference == reference, t.c.action == "assign")
        .order_by(t.c.id.desc()).limit(1)
    ).scalar()
    if latest == officer_id:
        return False
    conn.execute(sa.delete(t).where(t.c.reference == reference, t.c.action == "assign", t.c.officer_id == officer_id))
    return record_tip_action(conn, reference=reference, action="assign", now=now, officer_id=officer_id,
                             officer_name=officer_name, chat_id=chat_id, message_id=message_id)


def tip_actions(conn: sa.Connection, *, reference: str) -> list[dict[str, Any]]:
    """Every action on one tip, oldest first."""
    t = telegram_tip_actions
    rows = conn.execute(sa.select(t.c.action, t.c.officer_id, t.c.officer_name, t.c.chat_id, t.c.message_id,
                                  t.c.created_at).where(t.c.reference == reference).order_by(t.c.id))
    return [dict(r) for r in rows.mappings()]
