"""Repository for the Telegram channel's tables: synchronous units of work for ``Database.run``.

Updates and outgoing calls are sealed with the runtime's :class:`Cipher` (they carry what parents wrote and
their chat ids); only keyed hashes of chats are stored in the clear.
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
from storage.telegram_schema import (
    telegram_chat_leases,
    telegram_outgoing,
    telegram_state,
    telegram_tip_actions,
    telegram_updates,
)

OFFSET_KEY = "polling_offset"


@dataclass(frozen=True, slots=True)
class NewUpdate:
    update_id: int
    chat_ref: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredUpdate:
    update_id: int
    chat_ref: str
    data: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class Outgoing:
    id: int
    chat_ref: str
    call: dict[str, Any]
    attempts: int


def _insert(conn: sa.Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def _update_aad(update_id: int) -> str:
    return f"telegram_updates:{update_id}"


def _outgoing_aad(chat_ref: str) -> str:
    return f"telegram_outgoing:{chat_ref}"


# ----- inbound updates --------------------------------------------------------------------------------------
def store_updates(
    conn: sa.Connection, *, updates: Sequence[NewUpdate], now: datetime, cipher: Cipher, offset: int | None = None
) -> list[int]:
    """Insert the updates not seen before (returns their ids); with ``offset``, advance the polling offset.

    Both happen in the caller's transaction, so a stored batch and the offset that skips it commit together.
    """
    fresh: list[int] = []
    for upd in updates:
        stmt = _insert(conn)(telegram_updates).values(
            update_id=upd.update_id, chat_ref=upd.chat_ref,
            payload=cipher.seal_json(upd.data, aad=_update_aad(upd.update_id)),
            received_at=now, next_attempt_at=now,
        ).on_conflict_do_nothing(index_elements=["update_id"])
        if conn.execute(stmt).rowcount == 1:
            fresh.append(upd.update_id)
    if offset is not None:
        _advance_offset(conn, offset=offset, now=now)
    return fresh


def _advance_offset(conn: sa.Connection, *, offset: int, now: datetime) -> None:
    current = get_offset(conn)
    if current is not None and current >= offset:
        return  # never move backwards: that would fetch (and skip as duplicates) old updates again
    stmt = _insert(conn)(telegram_state).values(key=OFFSET_KEY, value=str(offset), updated_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                            set_={"value": str(offset), "updated_at": now}))


def get_offset(conn: sa.Connection) -> int | None:
    """The next update id long polling should ask for, or None before the first batch."""
    value = conn.execute(sa.select(telegram_state.c.value).where(telegram_state.c.key == OFFSET_KEY)).scalar()
    return int(value) if value is not None else None


_PENDING_UPDATES = telegram_updates.c.processed_at.is_(None)
_PENDING_OUT = telegram_outgoing.c.status == "pending"

# Statements a chat worker runs for every update are built once (as in storage/conversations.py): building
# and cache-keying a Core statement costs more than running it on SQLite.
_U, _O, _L = telegram_updates.c, telegram_outgoing.c, telegram_chat_leases.c
_NOW = sa.bindparam("now", type_=UTCDateTime)
_CHAT: sa.BindParameter[str] = sa.bindparam("chat", type_=sa.String)
# The oldest pending item of the chat even if it is not due yet: a later one must not overtake it.
_HEAD_UPDATE = (sa.select(_U.update_id, _U.payload, _U.attempts, (_U.next_attempt_at <= _NOW).label("due"))
                .where(_PENDING_UPDATES, _U.chat_ref == _CHAT).order_by(_U.update_id).limit(1))
_HEAD_OUTGOING = (sa.select(_O.id, _O.payload, _O.attempts, (_O.not_before <= _NOW).label("due"))
                  .where(_PENDING_OUT, _O.chat_ref == _CHAT).order_by(_O.id).limit(1))
_FINISH = (sa.update(telegram_updates).where(_U.update_id == sa.bindparam("uid"), _PENDING_UPDATES)
           .values(processed_at=_NOW, payload=None, last_error=None))
_SENT = sa.delete(telegram_outgoing).where(_O.id == sa.bindparam("oid"))
_RENEW = (sa.update(telegram_chat_leases)
          .where(_L.chat_ref == _CHAT, sa.or_(_L.owner == sa.bindparam("holder"), _L.expires_at < _NOW))
          .values(owner=sa.bindparam("new_owner"), expires_at=sa.bindparam("until", type_=UTCDateTime)))
_RELEASE = sa.delete(telegram_chat_leases).where(_L.chat_ref == _CHAT, _L.owner == sa.bindparam("holder"))


def due_chats(conn: sa.Connection, *, now: datetime, limit: int = 500) -> list[str]:
    """Chats with an update to process or a message to send now."""
    u = sa.select(telegram_updates.c.chat_ref).where(_PENDING_UPDATES, telegram_updates.c.next_attempt_at <= now)
    o = sa.select(telegram_outgoing.c.chat_ref).where(_PENDING_OUT, telegram_outgoing.c.not_before <= now)
    rows = conn.execute(sa.union(u, o).limit(limit)).scalars().all()
    return list(rows)


def chat_has_due_work(conn: sa.Connection, *, chat_ref: str, now: datetime) -> bool:
    return _head_update(conn, chat_ref, now) is not None or _head_outgoing(conn, chat_ref, now) is not None


def _head_update(conn: sa.Connection, chat_ref: str, now: datetime) -> Any:
    row = conn.execute(_HEAD_UPDATE, {"chat": chat_ref, "now": now}).first()
    return row if row is not None and row.due else None


def next_update(conn: sa.Connection, *, chat_ref: str, now: datetime, cipher: Cipher) -> StoredUpdate | None:
    """The chat's oldest unprocessed update if it is due (None while it waits for a retry)."""
    row = _head_update(conn, chat_ref, now)
    if row is None:
        return None
    data = cipher.open_json(row.payload, aad=_update_aad(row.update_id))
    return StoredUpdate(update_id=row.update_id, chat_ref=chat_ref, data=dict(data), attempts=row.attempts)


def finish_update(
    conn: sa.Connection, *, update_id: int, chat_ref: str, calls: Iterable[dict[str, Any]], now: datetime,
    cipher: Cipher,
) -> bool:
    """Mark the update processed and queue its calls, once: False if it was already processed."""
    if conn.execute(_FINISH, {"uid": update_id, "now": now}).rowcount != 1:
        return False
    enqueue(conn, chat_ref=chat_ref, calls=calls, now=now, cipher=cipher, update_id=update_id)
    return True


def fail_update(conn: sa.Connection, *, update_id: int, error: str, retry_at: datetime) -> None:
    conn.execute(
        sa.update(telegram_updates).where(telegram_updates.c.update_id == update_id)
        .values(attempts=telegram_updates.c.attempts + 1, next_attempt_at=retry_at, last_error=error[:500])
    )


def prune(conn: sa.Connection, *, before: datetime) -> int:
    """Forget processed updates (kept a while to catch re-sends) and refused calls from before ``before``."""
    updates = conn.execute(
        sa.delete(telegram_updates).where(telegram_updates.c.processed_at.is_not(None),
                                          telegram_updates.c.received_at < before)
    )
    dead = conn.execute(sa.delete(telegram_outgoing).where(telegram_outgoing.c.status == "dead",
                                                           telegram_outgoing.c.created_at < before))
    return updates.rowcount + dead.rowcount


def pending_counts(conn: sa.Connection) -> dict[str, int]:
    """Unprocessed updates, queued calls and dead calls (health checks, tests, ``telegram info``)."""
    count = sa.func.count()
    return {
        "updates": conn.execute(sa.select(count).select_from(telegram_updates).where(_PENDING_UPDATES)).scalar_one(),
        "outgoing": conn.execute(sa.select(count).select_from(telegram_outgoing).where(_PENDING_OUT)).scalar_one(),
        "dead": conn.execute(sa.select(count).select_from(telegram_outgoing)
                             .where(telegram_outgoing.c.status == "dead")).scalar_one(),
    }


# ----- outgoing calls ---------------------------------------------------------------------------------------
def enqueue(
    conn: sa.Connection, *, chat_ref: str, calls: Iterable[dict[str, Any]], now: datetime, cipher: Cipher,
    update_id: int | None = None,
) -> int:
    rows = [{"chat_ref": chat_ref, "update_id": update_id, "status": "pending", "attempts": 0, "not_before": now,
             "created_at": now, "payload": cipher.seal_json(call, aad=_outgoing_aad(chat_ref))} for call in calls]
    if rows:
        conn.execute(sa.insert(telegram_outgoing), rows)
    return len(rows)


def _head_outgoing(conn: sa.Connection, chat_ref: str, now: datetime) -> Any:
    row = conn.execute(_HEAD_OUTGOING, {"chat": chat_ref, "now": now}).first()
    return row if row is not None and row.due else None


def next_outgoing(conn: sa.Connection, *, chat_ref: str, now: datetime, cipher: Cipher) -> Outgoing | None:
    """The chat's oldest queued call if it is due; a call waiting for a retry holds back the later ones."""
    row = _head_outgoing(conn, chat_ref, now)
    if row is None:
        return None
    call = cipher.open_json(row.payload, aad=_outgoing_aad(chat_ref))
    return Outgoing(id=row.id, chat_ref=chat_ref, call=dict(call), attempts=row.attempts)


def sent(conn: sa.Connection, *, outgoing_id: int) -> None:
    """Telegram accepted the call: nothing of it needs keeping."""
    conn.execute(_SENT, {"oid": outgoing_id})


def retry_outgoing(
    conn: sa.Connection, *, outgoing_id: int, not_before: datetime, error: str,
    call: dict[str, Any] | None = None, chat_ref: str = "", cipher: Cipher | None = None,
) -> None:
    """Try again later (optionally as a different call, e.g. a failed edit turned into a new message)."""
    values: dict[str, Any] = {"attempts": telegram_outgoing.c.attempts + 1, "not_before": not_before,
                              "last_error": error[:500]}
    if call is not None and cipher is not None:
        values["payload"] = cipher.seal_json(call, aad=_outgoing_aad(chat_ref))
    conn.execute(sa.update(telegram_outgoing).where(telegram_outgoing.c.id == outgoing_id).values(**values))


def bury_outgoing(conn: sa.Connection, *, outgoing_id: int, error: str) -> None:
    """Telegram refused the call for good (blocked by the user, chat gone): keep the reason, drop the content."""
    conn.execute(
        sa.update(telegram_outgoing).where(telegram_outgoing.c.id == outgoing_id)
        .values(status="dead", payload=None, last_error=error[:500], attempts=telegram_outgoing.c.attempts + 1)
    )


# ----- chat leases ------------------------------------------------------------------------------------------
def claim_chat(conn: sa.Connection, *, chat_ref: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take (or renew) the chat for ``owner`` unless another owner holds an unexpired lease."""
    params = {"chat": chat_ref, "holder": owner, "new_owner": owner, "now": now, "until": now + ttl}
    if conn.execute(_RENEW, params).rowcount == 1:
        return True
    stmt = _insert(conn)(telegram_chat_leases).values(chat_ref=chat_ref, owner=owner, expires_at=now + ttl)
    return bool(conn.execute(stmt.on_conflict_do_nothing(index_elements=["chat_ref"])).rowcount == 1)


def release_chat(conn: sa.Connection, *, chat_ref: str, owner: str) -> None:
    conn.execute(_RELEASE, {"chat": chat_ref, "holder": owner})


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


# ----- a chat worker's steps, one transaction each (fewer trips to the SQLite writer thread) -------------------
Work = StoredUpdate | Outgoing | None


def next_work(conn: sa.Connection, *, chat_ref: str, now: datetime, cipher: Cipher) -> Work:
    """What a chat's worker does next: process its oldest due update, else send its oldest due call."""
    return next_update(conn, chat_ref=chat_ref, now=now, cipher=cipher) or next_outgoing(
        conn, chat_ref=chat_ref, now=now, cipher=cipher)


def claim_and_next(
    conn: sa.Connection, *, chat_ref: str, owner: str, now: datetime, ttl: timedelta, cipher: Cipher
) -> tuple[bool, Work]:
    if not claim_chat(conn, chat_ref=chat_ref, owner=owner, now=now, ttl=ttl):
        return False, None
    return True, next_work(conn, chat_ref=chat_ref, now=now, cipher=cipher)


def finish_and_next(
    conn: sa.Connection, *, update_id: int, chat_ref: str, calls: Iterable[dict[str, Any]], now: datetime,
    cipher: Cipher,
) -> Work:
    finish_update(conn, update_id=update_id, chat_ref=chat_ref, calls=calls, now=now, cipher=cipher)
    return next_work(conn, chat_ref=chat_ref, now=now, cipher=cipher)


def sent_and_next(conn: sa.Connection, *, outgoing_id: int, chat_ref: str, now: datetime, cipher: Cipher) -> Work:
    sent(conn, outgoing_id=outgoing_id)
    return next_work(conn, chat_ref=chat_ref, now=now, cipher=cipher)


def release_if_idle(conn: sa.Connection, *, chat_ref: str, owner: str, now: datetime) -> bool:
    """Give the chat up unless work became due meanwhile (then keep it and return False)."""
    if chat_has_due_work(conn, chat_ref=chat_ref, now=now):
        return False
    release_chat(conn, chat_ref=chat_ref, owner=owner)
    return True
