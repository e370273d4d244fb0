"""The channel layer's durable work: inbound journal, outgoing queue, chat leases (units of work for ``Database.run``).

One implementation for every push channel, keyed by ``channel``. The contract a channel service builds on:

- :func:`store_events` inserts the events not seen before (dedupe on the platform's event id) — commit it,
  durably, *before* answering the platform;
- a chat's worker :func:`claim_and_next` leases the chat, then processes its events in arrival order and
  sends its calls in queue order (:func:`finish_and_next`, :func:`sent_and_next`); an event and the calls it
  produced are finished in one transaction, so each event is processed exactly once and nothing is lost
  between "answered" and "sent";
- whatever a crash interrupts stays pending and the next :func:`due_chats` sweep finds it again;
- a polling channel (Telegram's ``getUpdates``) stores a batch and the offset that skips it in one
  transaction (``store_events(..., offset=)``, :func:`get_offset`).

Payloads are sealed with the runtime's :class:`Cipher`; only keyed hashes of chats are stored in the clear.
Telegram and Zalo both run on this module; ``storage/migrations/versions/0015_telegram_channels.py`` moved
Telegram's rows here from its former tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.channel_schema import (
    channel_events,
    channel_leases,
    channel_outgoing,
    channel_recipients,
    channel_state,
)
from storage.channel_state import record_unreachable
from storage.crypto import Cipher
from storage.schema import UTCDateTime


@dataclass(frozen=True, slots=True)
class NewEvent:
    event_id: str
    chat_ref: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    channel: str
    event_id: str
    chat_ref: str
    data: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class Outgoing:
    id: int
    channel: str
    chat_ref: str
    call: dict[str, Any]
    attempts: int


Work = StoredEvent | Outgoing | None


def _insert(conn: sa.Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


OFFSET_KEY = "polling_offset"  # in channel_state, plain: the next update id a polling channel asks for

# Rows 0015_telegram_channels copied from Telegram's former tables keep the payload they were sealed with,
# bound to those tables' AAD; this marker (":" is never part of base64) says so. Such a row disappears once
# processed or sent, so no start-up conversion is needed. Only channel "telegram" honours it.
LEGACY_TELEGRAM = "tg0003:"


def _event_aad(channel: str, event_id: str) -> str:
    return f"channel_events:{channel}:{event_id}"


def _outgoing_aad(channel: str, chat_ref: str) -> str:
    return f"channel_outgoing:{channel}:{chat_ref}"


def _open_event(cipher: Cipher, channel: str, event_id: str, payload: str) -> Any:
    if channel == "telegram" and payload.startswith(LEGACY_TELEGRAM):
        return cipher.open_json(payload.removeprefix(LEGACY_TELEGRAM), aad=f"telegram_updates:{event_id}")
    return cipher.open_json(payload, aad=_event_aad(channel, event_id))


def _open_outgoing(cipher: Cipher, channel: str, chat_ref: str, payload: str) -> Any:
    if channel == "telegram" and payload.startswith(LEGACY_TELEGRAM):
        return cipher.open_json(payload.removeprefix(LEGACY_TELEGRAM), aad=f"telegram_outgoing:{chat_ref}")
    return cipher.open_json(payload, aad=_outgoing_aad(channel, chat_ref))


# Statements a chat worker runs for every event are built once (as in storage/conversations.py): building
# and cache-keying a Core statement costs more than running it on SQLite.
_E, _O, _L = channel_events.c, channel_outgoing.c, channel_leases.c
_NOW = sa.bindparam("now", type_=UTCDateTime)
_CH: sa.BindParameter[str] = sa.bindparam("ch", type_=sa.String)
_CHAT: sa.BindParameter[str] = sa.bindparam("chat", type_=sa.String)
_PENDING_EVENTS = _E.processed_at.is_(None)
_PENDING_OUT = _O.status == "pending"
# The chat's oldest pending item even if it is not due yet: a later one must not overtake it.
_HEAD_EVENT = (sa.select(_E.id, _E.event_id, _E.payload, _E.attempts, (_E.next_attempt_at <= _NOW).label("due"))
               .where(_E.channel == _CH, _PENDING_EVENTS, _E.chat_ref == _CHAT).order_by(_E.id).limit(1))
_HEAD_OUTGOING = (sa.select(_O.id, _O.payload, _O.attempts, (_O.not_before <= _NOW).label("due"))
                  .where(_O.channel == _CH, _PENDING_OUT, _O.chat_ref == _CHAT).order_by(_O.id).limit(1))
_FINISH = (sa.update(channel_events).where(_E.id == sa.bindparam("eid"), _PENDING_EVENTS)
           .values(processed_at=_NOW, payload=None, last_error=None))
_SENT = sa.delete(channel_outgoing).where(_O.id == sa.bindparam("oid"))
_RENEW = (sa.update(channel_leases)
          .where(_L.channel == _CH, _L.chat_ref == _CHAT,
                 sa.or_(_L.owner == sa.bindparam("holder"), _L.expires_at < _NOW))
          .values(owner=sa.bindparam("new_owner"), expires_at=sa.bindparam("until", type_=UTCDateTime)))
_RELEASE = sa.delete(channel_leases).where(_L.channel == _CH, _L.chat_ref == _CHAT,
                                           _L.owner == sa.bindparam("holder"))
# The parent wrote to us again: whatever stopped us reaching them before no longer holds.
_REACHABLE = sa.delete(channel_recipients).where(channel_recipients.c.channel == _CH,
                                                 channel_recipients.c.chat_ref == _CHAT)


# ----- inbound events ---------------------------------------------------------------------------------------
def store_events(conn: sa.Connection, *, channel: str, events: Sequence[NewEvent], now: datetime,
                 cipher: Cipher, offset: int | None = None) -> list[str]:
    """Insert the events not seen before; returns their event ids (a re-sent event is not stored again).

    With ``offset``, also advance the channel's polling offset: a stored batch and the offset that skips it
    commit together, so a crash in between fetches the batch again (and its events are recognised).
    """
    fresh: list[str] = []
    for ev in events:
        stmt = _insert(conn)(channel_events).values(
            channel=channel, event_id=ev.event_id, chat_ref=ev.chat_ref,
            payload=cipher.seal_json(ev.data, aad=_event_aad(channel, ev.event_id)),
            received_at=now, next_attempt_at=now,
        ).on_conflict_do_nothing(index_elements=["channel", "event_id"])
        if conn.execute(stmt).rowcount == 1:
            fresh.append(ev.event_id)
    if offset is not None:
        _advance_offset(conn, channel=channel, offset=offset, now=now)
    return fresh


def _advance_offset(conn: sa.Connection, *, channel: str, offset: int, now: datetime) -> None:
    current = get_offset(conn, channel=channel)
    if current is not None and current >= offset:
        return  # never backwards: that would fetch (and skip as duplicates) old updates again
    stmt = _insert(conn)(channel_state).values(channel=channel, key=OFFSET_KEY, value=str(offset), updated_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=["channel", "key"],
                                            set_={"value": str(offset), "updated_at": now}))


def get_offset(conn: sa.Connection, *, channel: str) -> int | None:
    """The next update id a polling channel asks for, or None before its first batch."""
    value = conn.execute(sa.select(channel_state.c.value).where(channel_state.c.channel == channel,
                                                                channel_state.c.key == OFFSET_KEY)).scalar()
    return int(value) if value is not None else None


def due_chats(conn: sa.Connection, *, channel: str, now: datetime, limit: int = 500) -> list[str]:
    """Chats with an event to process or a call to make now."""
    e = sa.select(_E.chat_ref).where(_E.channel == channel, _PENDING_EVENTS, _E.next_attempt_at <= now)
    o = sa.select(_O.chat_ref).where(_O.channel == channel, _PENDING_OUT, _O.not_before <= now)
    return list(conn.execute(sa.union(e, o).limit(limit)).scalars().all())


def _head_event(conn: sa.Connection, channel: str, chat_ref: str, now: datetime) -> Any:
    row = conn.execute(_HEAD_EVENT, {"ch": channel, "chat": chat_ref, "now": now}).first()
    return row if row is not None and row.due else None


def _head_outgoing(conn: sa.Connection, channel: str, chat_ref: str, now: datetime) -> Any:
    row = conn.execute(_HEAD_OUTGOING, {"ch": channel, "chat": chat_ref, "now": now}).first()
    return row if row is not None and row.due else None


def next_event(conn: sa.Connection, *, channel: str, chat_ref: str, now: datetime,
               cipher: Cipher) -> StoredEvent | None:
    """The chat's oldest unprocessed event if it is due (None while it waits for a retry)."""
    row = _head_event(conn, channel, chat_ref, now)
    if row is None:
        return None
    data = _open_event(cipher, channel, row.event_id, row.payload)
    return StoredEvent(id=row.id, channel=channel, event_id=row.event_id, chat_ref=chat_ref, data=dict(data),
                       attempts=row.attempts)


def finish_event(conn: sa.Connection, *, event: StoredEvent, calls: Iterable[dict[str, Any]], now: datetime,
                 cipher: Cipher, unreachable: tuple[str, str] | None = None) -> bool:
    """Mark the event processed and queue its calls, once: False if it was already processed.

    The parent acted, so a note that they could not be reached is dropped — unless the event itself says
    they cannot be (``unreachable``: status and detail, e.g. an unfollow).
    """
    if conn.execute(_FINISH, {"eid": event.id, "now": now}).rowcount != 1:
        return False
    if unreachable is None:
        conn.execute(_REACHABLE, {"ch": event.channel, "chat": event.chat_ref})
    else:
        record_unreachable(conn, channel=event.channel, chat_ref=event.chat_ref, status=unreachable[0],
                           detail=unreachable[1], now=now)
    enqueue(conn, channel=event.channel, chat_ref=event.chat_ref, calls=calls, now=now, cipher=cipher,
            event_id=event.event_id)
    return True


def fail_event(conn: sa.Connection, *, event_pk: int, error: str, retry_at: datetime) -> None:
    conn.execute(sa.update(channel_events).where(_E.id == event_pk)
                 .values(attempts=_E.attempts + 1, next_attempt_at=retry_at, last_error=error[:500]))


# ----- outgoing calls ---------------------------------------------------------------------------------------
def enqueue(conn: sa.Connection, *, channel: str, chat_ref: str, calls: Iterable[dict[str, Any]], now: datetime,
            cipher: Cipher, event_id: str | None = None) -> int:
    aad = _outgoing_aad(channel, chat_ref)
    rows = [{"channel": channel, "chat_ref": chat_ref, "event_id": event_id, "status": "pending", "attempts": 0,
             "not_before": now, "created_at": now, "payload": cipher.seal_json(call, aad=aad)} for call in calls]
    if rows:
        conn.execute(sa.insert(channel_outgoing), rows)
    return len(rows)


def next_outgoing(conn: sa.Connection, *, channel: str, chat_ref: str, now: datetime,
                  cipher: Cipher) -> Outgoing | None:
    """The chat's oldest queued call if it is due; a call waiting for a retry holds back the later ones."""
    row = _head_outgoing(conn, channel, chat_ref, now)
    if row is None:
        return None
    call = _open_outgoing(cipher, channel, chat_ref, row.payload)
    return Outgoing(id=row.id, channel=channel, chat_ref=chat_ref, call=dict(call), attempts=row.attempts)


def retry_outgoing(conn: sa.Connection, *, out: Outgoing, not_before: datetime, error: str,
                   call: dict[str, Any] | None = None, cipher: Cipher | None = None) -> None:
    """Try again later (optionally as a different call, e.g. buttons the platform refused as numbered text)."""
    values: dict[str, Any] = {"attempts": _O.attempts + 1, "not_before": not_before, "last_error": error[:500]}
    if call is not None and cipher is not None:
        values["payload"] = cipher.seal_json(call, aad=_outgoing_aad(out.channel, out.chat_ref))
    conn.execute(sa.update(channel_outgoing).where(_O.id == out.id).values(**values))


def bury_outgoing(conn: sa.Connection, *, outgoing_id: int, error: str) -> None:
    """The platform refused the call for good: keep the reason, drop the content."""
    conn.execute(sa.update(channel_outgoing).where(_O.id == outgoing_id)
                 .values(status="dead", payload=None, last_error=error[:500], attempts=_O.attempts + 1))


def pending_counts(conn: sa.Connection, *, channel: str) -> dict[str, int]:
    """Unprocessed events, queued calls and dead calls (health, tests, ``hotline zalo info``, benchmarks)."""
    count = sa.func.count()
    return {
        "events": conn.execute(sa.select(count).select_from(channel_events)
                               .where(_E.channel == channel, _PENDING_EVENTS)).scalar_one(),
        "outgoing": conn.execute(sa.select(count).select_from(channel_outgoing)
                                 .where(_O.channel == channel, _PENDING_OUT)).scalar_one(),
        "dead": conn.execute(sa.select(count).select_from(channel_outgoing)
                             .where(_O.channel == channel, _O.status == "dead")).scalar_one(),
    }


def prune(conn: sa.Connection, *, channel: str, before: datetime) -> int:
    """Forget processed events (kept a while to recognise re-sends) and refused calls from before ``before``."""
    events = conn.execute(sa.delete(channel_events).where(_E.channel == channel, _E.processed_at.is_not(None),
                                                          _E.received_at < before))
    dead = conn.execute(sa.delete(channel_outgoing).where(_O.channel == channel, _O.status == "dead",
                                                          _O.created_at < before))
    return events.rowcount + dead.rowcount


# ----- leases -----------------------------------------------------------------------------------------------
def claim(conn: sa.Connection, *, channel: str, chat_ref: str, owner: str, now: datetime, ttl: timedelta) -> bool:
    """Take (or renew) the lease for ``owner`` unless another owner holds an unexpired one."""
    params = {"ch": channel, "chat": chat_ref, "holder": owner, "new_owner": owner, "now": now, "until": now + ttl}
    if conn.execute(_RENEW, params).rowcount == 1:
        return True
    stmt = _insert(conn)(channel_leases).values(channel=channel, chat_ref=chat_ref, owner=owner,
                                                expires_at=now + ttl)
    return bool(conn.execute(stmt.on_conflict_do_nothing(index_elements=["channel", "chat_ref"])).rowcount == 1)


def release(conn: sa.Connection, *, channel: str, chat_ref: str, owner: str) -> None:
    conn.execute(_RELEASE, {"ch": channel, "chat": chat_ref, "holder": owner})


# ----- a chat worker's steps, one transaction each (fewer trips to the SQLite writer thread) -------------------
def next_work(conn: sa.Connection, *, channel: str, chat_ref: str, now: datetime, cipher: Cipher) -> Work:
    """What a chat's worker does next: process its oldest due event, else send its oldest due call."""
    return next_event(conn, channel=channel, chat_ref=chat_ref, now=now, cipher=cipher) or next_outgoing(
        conn, channel=channel, chat_ref=chat_ref, now=now, cipher=cipher)


def claim_and_next(conn: sa.Connection, *, channel: str, chat_ref: str, owner: str, now: datetime, ttl: timedelta,
                   cipher: Cipher) -> tuple[bool, Work]:
    if not claim(conn, channel=channel, chat_ref=chat_ref, owner=owner, now=now, ttl=ttl):
        return False, None
    return True, next_work(conn, channel=channel, chat_ref=chat_ref, now=now, cipher=cipher)


def finish_and_next(conn: sa.Connection, *, event: StoredEvent, calls: Iterable[dict[str, Any]], now: datetime,
                    cipher: Cipher, unreachable: tuple[str, str] | None = None) -> Work:
    finish_event(conn, event=event, calls=calls, now=now, cipher=cipher, unreachable=unreachable)
    return next_work(conn, channel=event.channel, chat_ref=event.chat_ref, now=now, cipher=cipher)


def sent_and_next(conn: sa.Connection, *, out: Outgoing, now: datetime, cipher: Cipher) -> Work:
    conn.execute(_SENT, {"oid": out.id})
    return next_work(conn, channel=out.channel, chat_ref=out.chat_ref, now=now, cipher=cipher)


def release_if_idle(conn: sa.Connection, *, channel: str, chat_ref: str, owner: str, now: datetime) -> bool:
    """Give the chat up unless work became due meanwhile (then keep it and return False)."""
    if _head_event(conn, channel, chat_ref, now) is not None or _head_outgoing(conn, channel, chat_ref, now):
        return False
    release(conn, channel=channel, chat_ref=chat_ref, owner=owner)
    return True
