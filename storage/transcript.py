"""A tip's transcript after filing (police ↔ parent, sealed) and the thread it has open with its reporter.

Units of work for ``Database.run``. The thread is what the engine looks up on every message of a chat (one
index lookup by the chat's keyed hash): a question whose answer is awaited, or a live hand-off to an officer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage.crypto import Cipher
from storage.hot import Hot
from storage.keys import Attachment
from storage.notices_schema import notices, tip_messages, tip_threads
from storage.schema import tip_attachments

SENDERS = ("parent", "police", "bot")
_M, _T, _N = tip_messages.c, tip_threads.c, notices.c


def _aad(tip_id: int) -> str:
    return f"tip_messages.body:{tip_id}"


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@dataclass(frozen=True, slots=True)
class Message:
    """One line of the transcript, opened; ``delivery`` is its notice's status for police and bot lines."""

    id: int
    at: datetime
    sender: str
    kind: str
    actor: str
    text: str
    attachment_id: int | None
    notice_id: int | None
    delivery: str | None  # pending | claimed | sent | failed | cancelled (None: not sent as a notice)
    failure: str | None


def record(conn: sa.Connection, *, tip_id: int, sender: str, kind: str, actor: str, text: str | None,
           now: datetime, cipher: Cipher, attachment_id: int | None = None, notice_id: int | None = None) -> int:
    """Append a line (``text`` sealed)."""
    if sender not in SENDERS:
        raise ValueError(f"unknown sender {sender!r}")
    body = cipher.seal_text(text, aad=_aad(tip_id)) if text else None
    new_id: int = conn.execute(sa.insert(tip_messages).returning(_M.id), {
        "tip_id": tip_id, "at": now, "sender": sender, "kind": kind, "actor": actor, "body": body,
        "attachment_id": attachment_id, "notice_id": notice_id}).scalar_one()
    return new_id


def messages(conn: sa.Connection, *, tip_id: int, cipher: Cipher, limit: int = 500) -> list[Message]:
    """The newest ``limit`` lines, oldest first, with their delivery state."""
    rows = conn.execute(
        sa.select(_M.id, _M.at, _M.sender, _M.kind, _M.actor, _M.body, _M.attachment_id, _M.notice_id,
                  _N.status, _N.failure)
        .select_from(tip_messages.outerjoin(notices, _N.id == _M.notice_id))
        .where(_M.tip_id == tip_id).order_by(_M.id.desc()).limit(limit)).all()
    return [Message(id=r.id, at=r.at, sender=r.sender, kind=r.kind, actor=r.actor,
                    text=cipher.open_text(r.body, aad=_aad(tip_id)) if r.body else "",
                    attachment_id=r.attachment_id, notice_id=r.notice_id,
                    # A parent's answer names the question it answers; only outgoing lines have a delivery.
                    delivery=r.status if r.sender != "parent" else None,
                    failure=r.failure if r.sender != "parent" else None)
            for r in reversed(rows)]


def version(conn: sa.Connection, *, tip_id: int) -> str:
    """Changes whenever the panel would show something new: a line, a delivery state, the thread."""
    last = conn.execute(sa.select(sa.func.max(_M.id)).where(_M.tip_id == tip_id)).scalar() or 0
    states = conn.execute(sa.select(_N.id, _N.status).where(_N.tip_id == tip_id).order_by(_N.id.desc())
                          .limit(20)).all()
    thread = conn.execute(sa.select(_T.mode, _T.officer_id, _T.expires_at).where(_T.tip_id == tip_id)).first()
    raw = f"{last}:{','.join(f'{i}{s[0]}' for i, s in states)}:{tuple(thread) if thread else ''}"
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def attach(conn: sa.Connection, *, tip_id: int, attachment: Attachment) -> int:
    """Add a file the parent sent (already stored sealed by the channel) to the tip's attachments."""
    new_id: int = conn.execute(sa.insert(tip_attachments).returning(tip_attachments.c.id), {
        "tip_id": tip_id, "kind": attachment.kind, "mime_type": attachment.mime_type, "size": attachment.size,
        "sha256": attachment.sha256, "path": attachment.path, "file_name": attachment.file_name}).scalar_one()
    return new_id


# ----- threads ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Thread:
    tip_id: int
    chat_ref: str
    channel: str
    mode: str  # question | live
    notice_id: int | None
    officer_id: int | None
    opened_at: datetime
    last_activity_at: datetime
    expires_at: datetime | None
    delivered: bool  # question: its notice reached the parent (only then does their next message answer it)

    def expired(self, now: datetime) -> bool:
        expires = _utc(self.expires_at)
        return expires is not None and now >= expires


_THREAD_COLUMNS = (_T.tip_id, _T.chat_ref, _T.channel, _T.mode, _T.notice_id, _T.officer_id, _T.opened_at,
                   _T.last_activity_at, _T.expires_at, (sa.func.coalesce(_N.status, "") == "sent").label("delivered"))


def _thread(row: Any) -> Thread:
    m = row._mapping
    return Thread(tip_id=m["tip_id"], chat_ref=m["chat_ref"], channel=m["channel"], mode=m["mode"],
                  notice_id=m["notice_id"], officer_id=m["officer_id"], opened_at=m["opened_at"],
                  last_activity_at=m["last_activity_at"], expires_at=m["expires_at"], delivered=bool(m["delivered"]))


def _threads() -> sa.Select[Any]:
    return sa.select(*_THREAD_COLUMNS).select_from(tip_threads.outerjoin(notices, _N.id == _T.notice_id))


def thread_of_tip(conn: sa.Connection, *, tip_id: int, lock: bool = False) -> Thread | None:
    query = _threads().where(_T.tip_id == tip_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update(of=tip_threads)
    row = conn.execute(query).first()
    return _thread(row) if row is not None else None


# Asked on every message of every chat (almost always finding nothing): built once, since constructing and
# cache-keying a Core statement costs more than SQLite running it (bench/bench_chat.py profile).
_ACTIVE_QUERY = (_threads().where(_T.chat_ref == sa.bindparam("chat_ref"))
                 .order_by((_T.mode == "live").desc(), _T.opened_at.desc()).limit(1))
_ACTIVE = Hot(_ACTIVE_QUERY)
_ACTIVE_LOCKED = Hot(_ACTIVE_QUERY.with_for_update(of=tip_threads))  # PostgreSQL: against a concurrent hand-back


def active_thread(conn: sa.Connection, *, chat_ref: str) -> Thread | None:
    """The thread a message of this chat belongs to: a live hand-off first, else the newest question."""
    query = _ACTIVE_LOCKED if conn.dialect.name == "postgresql" else _ACTIVE
    row = query.first(conn, {"chat_ref": chat_ref})
    return _thread(row) if row is not None else None


def open_thread(conn: sa.Connection, *, tip_id: int, chat_ref: str, channel: str, mode: str, now: datetime,
                notice_id: int | None = None, officer_id: int | None = None,
                expires_at: datetime | None = None) -> None:
    """Start (or replace) the tip's thread."""
    conn.execute(sa.delete(tip_threads).where(_T.tip_id == tip_id))
    conn.execute(sa.insert(tip_threads), {"tip_id": tip_id, "chat_ref": chat_ref, "channel": channel, "mode": mode,
                                          "notice_id": notice_id, "officer_id": officer_id, "opened_at": now,
                                          "last_activity_at": now, "expires_at": expires_at})


def touch(conn: sa.Connection, *, tip_id: int, now: datetime, expires_at: datetime | None) -> None:
    conn.execute(sa.update(tip_threads).where(_T.tip_id == tip_id).values(last_activity_at=now,
                                                                          expires_at=expires_at))


def close(conn: sa.Connection, *, tip_id: int) -> bool:
    return bool(conn.execute(sa.delete(tip_threads).where(_T.tip_id == tip_id)).rowcount)


def question_delivered(conn: sa.Connection, *, notice_id: int, now: datetime, window: timedelta) -> None:
    """The question reached the parent: their messages from now until ``now + window`` may answer it."""
    conn.execute(sa.update(tip_threads).where(_T.notice_id == notice_id, _T.mode == "question")
                 .values(last_activity_at=now, expires_at=now + window))


def close_question(conn: sa.Connection, *, notice_id: int) -> bool:
    """The question could not be delivered: nothing awaits an answer to it."""
    return bool(conn.execute(sa.delete(tip_threads).where(_T.notice_id == notice_id, _T.mode == "question"))
                .rowcount)


def due_threads(conn: sa.Connection, *, mode: str, now: datetime, limit: int = 100) -> list[Thread]:
    """Threads of ``mode`` past their expiry (idle live chats go back to the bot; old questions lapse)."""
    rows = conn.execute(_threads().where(_T.mode == mode, _T.expires_at.is_not(None), _T.expires_at <= now)
                        .order_by(_T.expires_at).limit(limit)).all()
    return [_thread(r) for r in rows]


def forget_chat(conn: sa.Connection, *, chat_ref: str) -> list[int]:
    """A parent asked to be forgotten: their threads end. Returns the tips whose thread ended."""
    tip_ids = list(conn.execute(sa.select(_T.tip_id).where(_T.chat_ref == chat_ref)).scalars())
    conn.execute(sa.delete(tip_threads).where(_T.chat_ref == chat_ref))
    return tip_ids


def forget_tip(conn: sa.Connection, *, tip_id: int) -> int:
    """Retention: the transcript and any thread of the tip go (they hold the parent's own words)."""
    conn.execute(sa.delete(tip_threads).where(_T.tip_id == tip_id))
    return conn.execute(sa.delete(tip_messages).where(_M.tip_id == tip_id)).rowcount
