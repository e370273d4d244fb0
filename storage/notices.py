"""Outbound notices to parents (an officer's question, live hand-off messages and notices, the closing outcome)
and which web chats are open. Units of work for ``Database.run``; keyword-only arguments.

A notice is sent **at most once**: a worker claims it (committed) before sending, and records the outcome
after. A claim that outlives its lease — the process died between claiming and recording — is never sent
again: it is marked ``interrupted`` so an officer sees it and can ask again. Pending rows survive any crash
and are sent when a worker runs again. The recipient is not stored: the worker opens the tip's sealed
reporter when it sends, so a parent who asked to be forgotten is not written to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.crypto import Cipher
from storage.hot import Hot
from storage.notices_schema import chat_presence, notices
from storage.schema import tips
from storage.tips import reporter_aad

KINDS = ("question", "live", "handoff_on", "handoff_off", "outcome")
FAILURES = ("chat_closed", "blocked", "out_of_window", "invalid_recipient", "permanent", "gave_up", "interrupted",
            "timeout", "erased", "no_channel", "cancelled")
# A web chat counts as open while its connection was seen this recently (its process heartbeats every 30 s).
PRESENCE_TTL = timedelta(seconds=90)
PULL = "pull"  # presence owner of a chat that polls over HTTP: it takes its notices with its next request

_N, _P = notices.c, chat_presence.c


class NoticeError(Exception):
    """A notice that cannot be written (the tip has no reachable reporter, an unknown kind…)."""


@dataclass(frozen=True, slots=True)
class NoticeRow:
    id: int
    tip_id: int
    kind: str
    channel: str
    recipient_ref: str
    locale: str
    status: str
    failure: str | None
    detail: str | None
    attempts: int
    created_by: str
    created_at: datetime
    sent_at: datetime | None


_ROW_COLUMNS = tuple(_N[name] for name in NoticeRow.__slots__)


def _row(r: Any) -> NoticeRow:
    return NoticeRow(**{name: r._mapping[name] for name in NoticeRow.__slots__})


@dataclass(frozen=True, slots=True)
class Claimed:
    """A notice this worker holds: send ``body`` (OutboundMessage JSON) to ``chat_id`` on ``channel``."""

    id: int
    tip_id: int
    kind: str
    channel: str
    recipient_ref: str
    chat_id: str
    body: dict[str, Any]
    attempts: int


def _insert(conn: sa.Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def body_aad(tip_id: int, key: str) -> str:
    return f"notices.body:{tip_id}:{key}"


@dataclass(frozen=True, slots=True)
class Reporter:
    """Where a tip's reporter can be written to: their channel and chat (opened from the sealed column)."""

    channel: str
    chat_ref: str
    chat_id: str


def reporter_of(conn: sa.Connection, *, tip_id: int, cipher: Cipher) -> Reporter | None:
    """The tip's reporter, or None when they asked to be forgotten or retention erased them."""
    row = conn.execute(sa.select(tips.c.channel, tips.c.reporter_ref, tips.c.reporter)
                       .where(tips.c.id == tip_id)).first()
    if row is None or row.reporter is None:
        return None
    opened = cipher.open_json(row.reporter, aad=reporter_aad(tip_id))
    return Reporter(channel=row.channel, chat_ref=row.reporter_ref, chat_id=str(opened["chat_id"]))


def create(conn: sa.Connection, *, tip_id: int, key: str, kind: str, body: dict[str, Any], locale: str,
           created_by: str, now: datetime, cipher: Cipher) -> int:
    """Write one notice for the tip's reporter; returns its id (the existing one when ``key`` was used)."""
    if kind not in KINDS:
        raise NoticeError(f"unknown notice kind {kind!r}")
    reporter = reporter_of(conn, tip_id=tip_id, cipher=cipher)
    if reporter is None:
        raise NoticeError("no_reporter")
    stmt = _insert(conn)(notices).values(
        tip_id=tip_id, key=key[:64], kind=kind, channel=reporter.channel, recipient_ref=reporter.chat_ref,
        locale=locale, body=cipher.seal_json(body, aad=body_aad(tip_id, key[:64])), status="pending", attempts=0,
        next_attempt_at=now, created_by=created_by, created_at=now,
    ).on_conflict_do_nothing(index_elements=["tip_id", "key"])
    conn.execute(stmt)
    found: int = conn.execute(sa.select(_N.id).where(_N.tip_id == tip_id, _N.key == key[:64])).scalar_one()
    return found


def get(conn: sa.Connection, *, notice_id: int) -> NoticeRow | None:
    row = conn.execute(sa.select(*_ROW_COLUMNS).where(_N.id == notice_id)).first()
    return _row(row) if row is not None else None


def of_tip(conn: sa.Connection, *, tip_id: int) -> list[NoticeRow]:
    """Every notice of a tip, oldest first (the panel shows their delivery state)."""
    return [_row(r) for r in conn.execute(sa.select(*_ROW_COLUMNS).where(_N.tip_id == tip_id).order_by(_N.id))]


def _open_body(cipher: Cipher, tip_id: int, key: str, sealed: str | None) -> dict[str, Any]:
    return dict(cipher.open_json(sealed, aad=body_aad(tip_id, key))) if sealed else {}


def claim(conn: sa.Connection, *, owner: str, now: datetime, channels: Sequence[str],
          presence_channels: Sequence[str] = (), limit: int = 20, cipher: Cipher) -> list[Claimed]:
    """Claim due notices this worker can deliver: of ``channels``, and for ``presence_channels`` only those
    whose chat is connected to this very process (``owner``). A notice whose reporter is gone fails here."""
    if not channels:
        return []
    reachable = sa.or_(
        _N.channel.not_in(list(presence_channels) or [""]),
        sa.exists().where(_P.channel == _N.channel, _P.chat_ref == _N.recipient_ref, _P.owner == owner),
    )
    ids = list(conn.execute(
        sa.select(_N.id).where(_N.status == "pending", _N.next_attempt_at <= now, _N.channel.in_(list(channels)),
                               reachable)
        .order_by(_N.next_attempt_at, _N.id).limit(limit)
        .with_for_update(skip_locked=True)).scalars())  # PostgreSQL; SQLite holds its write lock already
    out: list[Claimed] = []
    for notice_id in ids:
        row = conn.execute(sa.select(_N.id, _N.tip_id, _N.key, _N.kind, _N.channel, _N.recipient_ref, _N.body,
                                     _N.attempts).where(_N.id == notice_id)).one()
        reporter = reporter_of(conn, tip_id=row.tip_id, cipher=cipher)
        if reporter is None or reporter.chat_ref != row.recipient_ref:
            _finish(conn, notice_id=notice_id, status="failed", failure="erased", detail=None, now=now)
            continue
        conn.execute(sa.update(notices).where(_N.id == notice_id).values(status="claimed", claimed_by=owner,
                                                                         claimed_at=now))
        out.append(Claimed(id=row.id, tip_id=row.tip_id, kind=row.kind, channel=row.channel,
                           recipient_ref=row.recipient_ref, chat_id=reporter.chat_id,
                           body=_open_body(cipher, row.tip_id, row.key, row.body), attempts=row.attempts))
    return out


def _finish(conn: sa.Connection, *, notice_id: int, status: str, failure: str | None, detail: str | None,
            now: datetime, owner: str | None = None) -> bool:
    where = [_N.id == notice_id]
    if owner is not None:  # only the worker holding the claim records its outcome
        where += [_N.status == "claimed", _N.claimed_by == owner]
    values: dict[str, Any] = {"status": status, "failure": failure, "detail": (detail or None) and detail[:255],
                              "body": None}
    if status == "sent":
        values["sent_at"] = now
    return bool(conn.execute(sa.update(notices).where(*where).values(**values)).rowcount)


def mark_sent(conn: sa.Connection, *, notice_id: int, owner: str, now: datetime) -> bool:
    """The channel took the notice. False when this worker no longer held it (its claim was recovered)."""
    return _finish(conn, notice_id=notice_id, status="sent", failure=None, detail=None, now=now, owner=owner)


def mark_failed(conn: sa.Connection, *, notice_id: int, owner: str, failure: str, detail: str | None,
                now: datetime) -> bool:
    """The notice will not be delivered; ``failure`` says why, by meaning (see ``FAILURES``)."""
    return _finish(conn, notice_id=notice_id, status="failed", failure=failure, detail=detail, now=now, owner=owner)


def retry_later(conn: sa.Connection, *, notice_id: int, owner: str, at: datetime, detail: str | None,
                max_attempts: int, now: datetime) -> bool:
    """A failure retrying may fix: pending again from ``at``, or ``gave_up`` after ``max_attempts``.

    Returns True when it will be tried again."""
    row = conn.execute(sa.select(_N.attempts).where(_N.id == notice_id, _N.status == "claimed",
                                                    _N.claimed_by == owner)).first()
    if row is None:
        return False
    if row.attempts + 1 >= max_attempts:
        _finish(conn, notice_id=notice_id, status="failed", failure="gave_up", detail=detail, now=now)
        return False
    conn.execute(sa.update(notices).where(_N.id == notice_id).values(
        status="pending", attempts=row.attempts + 1, next_attempt_at=at, claimed_by=None, claimed_at=None,
        detail=(detail or None) and detail[:255]))
    return True


def release(conn: sa.Connection, *, notice_id: int, owner: str, at: datetime) -> None:
    """Give a claim back untried (this process cannot reach that chat after all)."""
    conn.execute(sa.update(notices).where(_N.id == notice_id, _N.status == "claimed", _N.claimed_by == owner)
                 .values(status="pending", next_attempt_at=at, claimed_by=None, claimed_at=None))


def recover_interrupted(conn: sa.Connection, *, before: datetime, now: datetime) -> list[NoticeRow]:
    """Claims older than ``before`` (their worker died mid-send): marked ``interrupted``, never sent again —
    the parent may or may not have it, and a second copy is worse than a visible "not sure"."""
    stale = [_row(r) for r in conn.execute(sa.select(*_ROW_COLUMNS).where(_N.status == "claimed",
                                                                           _N.claimed_at < before))]
    for row in stale:
        _finish(conn, notice_id=row.id, status="failed", failure="interrupted", detail=None, now=now)
    return stale


def fail_closed_chats(conn: sa.Connection, *, channel: str, created_before: datetime, now: datetime) -> list[NoticeRow]:
    """Pending notices of ``channel`` (web chat) older than ``created_before`` whose chat has no open
    connection anywhere: the anonymous chat is gone, so they never can be delivered (``chat_closed``)."""
    fresh = now - PRESENCE_TTL
    rows = [_row(r) for r in conn.execute(sa.select(*_ROW_COLUMNS).where(
        _N.status == "pending", _N.channel == channel, _N.created_at < created_before,
        ~sa.exists().where(_P.channel == _N.channel, _P.chat_ref == _N.recipient_ref, _P.seen_at >= fresh)))]
    for row in rows:
        _finish(conn, notice_id=row.id, status="failed", failure="chat_closed", detail=None, now=now)
    return rows


# Asked with every message of a pull channel and almost always empty: built once (see storage/transcript.py).
_PULL = Hot(sa.select(*_ROW_COLUMNS, _N.key, _N.body).where(
    _N.recipient_ref == sa.bindparam("chat_ref"), _N.status == "pending",
    _N.channel == sa.bindparam("channel")).order_by(_N.id))


def take_for_pull(conn: sa.Connection, *, channel: str, chat_ref: str, now: datetime,
                  cipher: Cipher) -> list[tuple[NoticeRow, dict[str, Any]]]:
    """The pending notices of one chat that cannot be pushed to (HTTP API, a web chat polling over HTTP),
    marked sent now: the response that carries them is their delivery. At most once — a crash after this
    commit loses them rather than repeating them."""
    rows = _PULL.rows(conn, {"chat_ref": chat_ref, "channel": channel})
    out = []
    for r in rows:
        out.append((_row(r), _open_body(cipher, r.tip_id, r.key, r.body)))
        conn.execute(sa.update(notices).where(_N.id == r.id).values(status="sent", sent_at=now, claimed_by=PULL,
                                                                    claimed_at=now, body=None))
    return out


def cancel_for_chat(conn: sa.Connection, *, chat_ref: str, now: datetime) -> int:
    """A parent asked to be forgotten: nothing still waiting is sent to them."""
    return conn.execute(sa.update(notices).where(_N.recipient_ref == chat_ref, _N.status == "pending")
                        .values(status="cancelled", failure="cancelled", body=None)).rowcount


def forget_tip(conn: sa.Connection, *, tip_id: int) -> int:
    """Retention: the tip's notices go (their texts may quote what the parent said)."""
    return conn.execute(sa.delete(notices).where(_N.tip_id == tip_id)).rowcount


# ----- open web chats ---------------------------------------------------------------------------------------
def touch_presence(conn: sa.Connection, *, channel: str, chat_ref: str, owner: str, now: datetime) -> None:
    """This chat is open now, connected to ``owner`` (a process's worker, or ``PULL``)."""
    stmt = _insert(conn)(chat_presence).values(channel=channel, chat_ref=chat_ref, owner=owner, seen_at=now)
    conn.execute(stmt.on_conflict_do_update(index_elements=["channel", "chat_ref"],
                                            set_={"owner": owner, "seen_at": now}))


def drop_presence(conn: sa.Connection, *, channel: str, chat_ref: str, owner: str) -> None:
    """The connection closed (only the owner's row: another tab in another process may hold it now)."""
    conn.execute(sa.delete(chat_presence).where(_P.channel == channel, _P.chat_ref == chat_ref, _P.owner == owner))


def heartbeat(conn: sa.Connection, *, owner: str, channel: str, chat_refs: Sequence[str], now: datetime) -> None:
    """Refresh every chat still connected to ``owner`` and drop its rows for chats that are not."""
    if chat_refs:
        conn.execute(sa.update(chat_presence).where(_P.owner == owner, _P.channel == channel,
                                                    _P.chat_ref.in_(list(chat_refs))).values(seen_at=now))
    conn.execute(sa.delete(chat_presence).where(_P.owner == owner, _P.channel == channel,
                                                _P.chat_ref.not_in(list(chat_refs) or [""])))
    # Rows of processes that died without saying goodbye.
    conn.execute(sa.delete(chat_presence).where(_P.seen_at < now - 4 * PRESENCE_TTL))


def is_open(conn: sa.Connection, *, channel: str, chat_ref: str, now: datetime) -> bool:
    """Whether this chat has an open connection (anywhere) right now."""
    seen = conn.execute(sa.select(_P.seen_at).where(_P.channel == channel, _P.chat_ref == chat_ref)).scalar()
    if seen is None:
        return False
    if seen.tzinfo is None:  # SQLite hands back naive UTC
        seen = seen.replace(tzinfo=now.tzinfo)
    return bool(seen >= now - PRESENCE_TTL)
