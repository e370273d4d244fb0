"""Awareness broadcasts as durable jobs: one row per recipient, each sent **at most once**, resumable.

Units of work for ``Database.run``; keyword-only arguments. The life of a broadcast: ``draft`` or
``scheduled`` → ``sending`` (its recipients are written as ``broadcast_deliveries`` rows, a snapshot of the
audience) → ``done`` once no row is left to push; ``paused`` and ``cancelled`` on an admin's word.

At most once, even across a crash: a sender claims a row (committed) before it calls the platform and records
the outcome after. A claim whose sender died is never sent again — it becomes ``interrupted`` (the parent may
or may not have it; a second copy is worse than a visible "not sure"). On a rate-limited platform only the
holder of that platform's lease (``broadcast_leases``) claims rows, and every claim renews the lease in the
same transaction, so with several processes the platform's overall limit is kept by one sender; whoever takes
the lease over knows every claim of another owner is dead. Web chats and the HTTP API cannot be pushed to
without the parent: their rows wait for the next visit (:func:`take_for_pull`, presence pushes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage import audit

# Where a broadcast stands (its own module; part of this interface).
from storage.broadcast_progress import UNCERTAIN as UNCERTAIN
from storage.broadcast_progress import VISIT_CHANNELS as VISIT_CHANNELS
from storage.broadcast_progress import Progress as Progress
from storage.broadcast_progress import progress as progress
from storage.broadcast_progress import sent_to as sent_to
from storage.content_schema import broadcast_deliveries, broadcast_leases, broadcasts, subscriptions
from storage.crypto import Cipher
from storage.hot import Hot
from storage.notices_schema import chat_presence
from storage.subscriptions import Audience, audience_filter, chat_aad, mark_blocked

STATUSES = ("draft", "scheduled", "sending", "paused", "done", "cancelled")
STALE_PUSH = timedelta(minutes=5)
_B, _D, _L, _S = broadcasts.c, broadcast_deliveries.c, broadcast_leases.c, subscriptions.c


class BroadcastError(ValueError):
    """A change the broadcast's state does not allow (resume a finished one, an empty text…)."""


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: int
    title: str
    text_vi: str
    text_en: str | None
    audience: Audience
    status: str
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    total: int
    created_by: str
    created_at: datetime

    def text(self, locale: str) -> str:
        return self.text_en if locale == "en" and self.text_en else self.text_vi


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this sender holds: send ``text`` (in ``locale``) to ``chat_id`` on ``channel``, once."""

    id: int
    broadcast_id: int
    subscription_id: int
    channel: str
    chat_id: str
    locale: str
    text: str
    attempts: int


def _insert(conn: sa.Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def _aware(value: datetime | None, like: datetime) -> datetime | None:
    if value is not None and value.tzinfo is None:  # SQLite hands back naive UTC
        return value.replace(tzinfo=like.tzinfo)
    return value


def _broadcast(r: Any) -> Broadcast:
    m = r._mapping
    return Broadcast(id=m["id"], title=m["title"], text_vi=m["text_vi"], text_en=m["text_en"],
                     audience=Audience.from_json(m["audience"]), status=m["status"], scheduled_at=m["scheduled_at"],
                     started_at=m["started_at"], finished_at=m["finished_at"], total=m["total"],
                     created_by=m["created_by"], created_at=m["created_at"])


# ----- creating and steering ------------------------------------------------------------------------------
def create(conn: sa.Connection, *, title: str, text_vi: str, text_en: str | None, audience: Audience, actor: str,
           now: datetime, send_at: datetime | None = None) -> int:
    """Write a broadcast and start it now (its recipients are queued in this transaction), or schedule it."""
    text_vi, text_en = text_vi.strip(), (text_en or "").strip() or None
    if not text_vi:
        raise BroadcastError("the Vietnamese text is empty")
    if len(text_vi) > 3500 or (text_en and len(text_en) > 3500):
        raise BroadcastError("a warning is at most 3500 characters (one message on every platform)")
    if send_at is not None:
        send_at = send_at.astimezone(UTC)  # stored in UTC like every time here (SQLite keeps no offset)
    scheduled = send_at is not None and send_at > now
    broadcast_id = int(conn.execute(sa.insert(broadcasts).returning(_B.id), {
        "title": (title.strip() or text_vi.splitlines()[0])[:255], "text_vi": text_vi, "text_en": text_en,
        "audience": audience.to_json(), "status": "scheduled" if scheduled else "draft",
        "scheduled_at": send_at if scheduled else None, "created_by": actor, "created_at": now,
        "updated_at": now}).scalar_one())
    audit.record(conn, actor=actor, action="broadcast.create", subject=f"broadcast:{broadcast_id}", now=now,
                 detail=f"audience {audience.kind} {','.join(audience.values)}"[:250]
                        + (f"; scheduled {send_at.isoformat()}" if scheduled and send_at else ""))
    if not scheduled:
        start(conn, broadcast_id=broadcast_id, now=now)
    return broadcast_id


def start(conn: sa.Connection, *, broadcast_id: int, now: datetime) -> int:
    """Queue one delivery row per active recipient of the audience (a snapshot) and start sending.
    Returns how many were queued; 0 when the broadcast had already started (a second process, a retry)."""
    row = conn.execute(sa.select(_B.audience).where(_B.id == broadcast_id, _B.status.in_(("draft", "scheduled")))
                       .with_for_update()).first()
    if row is None:
        return 0
    audience = Audience.from_json(row.audience)
    recipients = (sa.select(sa.literal(broadcast_id), _S.id, _S.channel, _S.chat_ref, sa.literal("pending"),
                            sa.literal(0), sa.literal(now, type_=broadcasts.c.created_at.type))
                  .where(audience_filter(audience)))
    conn.execute(_insert(conn)(broadcast_deliveries).from_select(
        ["broadcast_id", "subscription_id", "channel", "recipient_ref", "status", "attempts", "next_attempt_at"],
        recipients).on_conflict_do_nothing(index_elements=["broadcast_id", "subscription_id"]))
    total = int(conn.execute(sa.select(sa.func.count()).where(_D.broadcast_id == broadcast_id)).scalar_one())
    conn.execute(sa.update(broadcasts).where(_B.id == broadcast_id).values(
        status="sending", started_at=now, total=total, updated_at=now))
    return total


def start_due(conn: sa.Connection, *, now: datetime) -> list[int]:
    """Start every scheduled broadcast whose time has come."""
    due = list(conn.execute(sa.select(_B.id).where(_B.status == "scheduled", _B.scheduled_at <= now)).scalars())
    return [b for b in due if start(conn, broadcast_id=b, now=now)]


_MOVES = {"pause": (("sending", "scheduled"), "paused"), "resume": (("paused",), "sending"),
          "cancel": (("draft", "scheduled", "sending", "paused"), "cancelled"),
          # An admin's explicit choice: those whose send a crash cut may get it twice rather than not at all.
          "resend_uncertain": (("sending", "paused", "done"), "sending")}


def steer(conn: sa.Connection, *, broadcast_id: int, action: str, actor: str, now: datetime) -> str:
    """Pause, resume or cancel; returns the new status. Cancelling drops every row not yet claimed."""
    if action not in _MOVES:
        raise BroadcastError(f"unknown action {action!r}")
    allowed, target = _MOVES[action]
    found = get(conn, broadcast_id=broadcast_id)
    if found is None:
        raise BroadcastError("no such broadcast")
    if found.status not in allowed:
        raise BroadcastError(f"a {found.status} broadcast cannot be {action}d")
    if action == "resume" and found.started_at is None:
        target = "scheduled"  # paused before its time came: it waits for it again
    values: dict[str, Any] = {"status": target, "updated_at": now}
    if action == "cancel":
        values["finished_at"] = now
        conn.execute(sa.update(broadcast_deliveries).where(_D.broadcast_id == broadcast_id, _D.status == "pending")
                     .values(status="cancelled", failure="cancelled"))
    if action == "resend_uncertain":
        again = conn.execute(sa.update(broadcast_deliveries).where(
            _D.broadcast_id == broadcast_id, _D.status == "failed", _D.failure.in_(UNCERTAIN)).values(
            status="pending", failure=None, next_attempt_at=now, claimed_by=None, claimed_at=None,
            attempts=_D.attempts + 1)).rowcount
        if not again:
            raise BroadcastError("nobody is uncertain")
        if found.status == "paused":
            values["status"] = "paused"  # they go out when it is resumed
    conn.execute(sa.update(broadcasts).where(_B.id == broadcast_id).values(**values))
    audit.record(conn, actor=actor, action=f"broadcast.{action}", subject=f"broadcast:{broadcast_id}", now=now)
    return target


def get(conn: sa.Connection, *, broadcast_id: int) -> Broadcast | None:
    row = conn.execute(sa.select(broadcasts).where(_B.id == broadcast_id)).first()
    return _broadcast(row) if row is not None else None


def recent(conn: sa.Connection, *, limit: int = 50) -> list[Broadcast]:
    return [_broadcast(r) for r in conn.execute(sa.select(broadcasts).order_by(_B.id.desc()).limit(limit))]


# ----- the sender's side ----------------------------------------------------------------------------------
def hold_lease(conn: sa.Connection, *, channel: str, owner: str, now: datetime, ttl: timedelta) -> tuple[bool, int]:
    """Take or renew the lease of ``channel`` for ``owner``. Returns (held, claims recovered): a new holder
    marks every claim of another owner ``interrupted`` — that owner's lease ran out, so it is gone."""
    current = conn.execute(sa.select(_L.owner, _L.expires_at).where(_L.channel == channel)
                           .with_for_update()).first()
    if current is not None and current.owner != owner and (_aware(current.expires_at, now) or now) > now:
        return False, 0
    if current is None:
        conn.execute(_insert(conn)(broadcast_leases).values(channel=channel, owner=owner, expires_at=now + ttl)
                     .on_conflict_do_nothing(index_elements=["channel"]))
        # Two processes may both have seen no row: the one whose insert landed holds it.
        if conn.execute(sa.select(_L.owner).where(_L.channel == channel)).scalar_one() != owner:
            return False, 0
    else:
        conn.execute(sa.update(broadcast_leases).where(_L.channel == channel)
                     .values(owner=owner, expires_at=now + ttl))
    recovered = 0
    if current is None or current.owner != owner:
        recovered = conn.execute(sa.update(broadcast_deliveries).where(
            _D.channel == channel, _D.status == "claimed", _D.claimed_by != owner).values(
            status="failed", failure="interrupted", detail="the sender stopped mid-send")).rowcount
    return True, recovered


def due_channels(conn: sa.Connection, *, now: datetime) -> set[str]:
    """Channels with a row to send now (a cheap read: no sender wakes up when nothing is going out)."""
    return set(conn.execute(sa.select(_D.channel).distinct().join(broadcasts, _B.id == _D.broadcast_id).where(
        _B.status == "sending", _D.status == "pending", _D.next_attempt_at <= now)).scalars())


def release_lease(conn: sa.Connection, *, channel: str, owner: str) -> None:
    """A clean stop: another process may take the platform over at once."""
    conn.execute(sa.delete(broadcast_leases).where(_L.channel == channel, _L.owner == owner))


def _due(channel: str, now: datetime) -> sa.Select[Any]:
    return (sa.select(_D.id, _D.broadcast_id, _D.subscription_id, _D.attempts)
            .join(broadcasts, _B.id == _D.broadcast_id)
            .where(_D.channel == channel, _D.status == "pending", _D.next_attempt_at <= now, _B.status == "sending")
            .order_by(_D.broadcast_id, _D.id))


def _claim_rows(conn: sa.Connection, rows: Sequence[Any], *, owner: str, now: datetime,
                cipher: Cipher) -> list[Claimed]:
    out: list[Claimed] = []
    texts: dict[int, tuple[str, str | None]] = {}
    for row in rows:
        sub = conn.execute(sa.select(_S.channel, _S.chat_ref, _S.chat, _S.status, _S.locale)
                           .where(_S.id == row.subscription_id)).first()
        if sub is None or sub.chat is None or sub.status != "active":
            # Stopped (or blocked) after the broadcast was queued: their "dừng" wins.
            conn.execute(sa.update(broadcast_deliveries).where(_D.id == row.id).values(status="failed",
                                                                                       failure="stopped"))
            continue
        if row.broadcast_id not in texts:
            b = conn.execute(sa.select(_B.text_vi, _B.text_en).where(_B.id == row.broadcast_id)).one()
            texts[row.broadcast_id] = (b.text_vi, b.text_en)
        vi, en = texts[row.broadcast_id]
        chat_id = str(cipher.open_json(sub.chat, aad=chat_aad(sub.channel, sub.chat_ref))["chat_id"])
        conn.execute(sa.update(broadcast_deliveries).where(_D.id == row.id).values(
            status="claimed", claimed_by=owner, claimed_at=now))
        out.append(Claimed(id=row.id, broadcast_id=row.broadcast_id, subscription_id=row.subscription_id,
                           channel=sub.channel, chat_id=chat_id, locale=sub.locale,
                           text=en if sub.locale == "en" and en else vi, attempts=row.attempts))
    return out


def claim_next(conn: sa.Connection, *, channel: str, owner: str, now: datetime, ttl: timedelta,
               cipher: Cipher) -> Claimed | bool | None:
    """The next due delivery of ``channel``, claimed; None when nothing is due; False when ``owner`` does not
    hold the platform's lease (another process sends there now). The lease is renewed in this transaction."""
    held, _recovered = hold_lease(conn, channel=channel, owner=owner, now=now, ttl=ttl)
    if not held:
        return False
    for _ in range(50):  # skip past recipients who stopped meanwhile
        row = conn.execute(_due(channel, now).limit(1).with_for_update(skip_locked=True, of=broadcast_deliveries)
                           ).first()
        if row is None:
            return None
        claimed = _claim_rows(conn, [row], owner=owner, now=now, cipher=cipher)
        if claimed:
            return claimed[0]
    return None


def claim_present(conn: sa.Connection, *, channel: str, owner: str, now: datetime, cipher: Cipher,
                  limit: int = 20) -> list[Claimed]:
    """Deliveries of a presence channel (the web chat) whose chat is open on this very process (``owner``)."""
    here = sa.exists().where(chat_presence.c.channel == _D.channel, chat_presence.c.chat_ref == _D.recipient_ref,
                             chat_presence.c.owner == owner)
    rows = conn.execute(_due(channel, now).where(here).limit(limit)
                        .with_for_update(skip_locked=True, of=broadcast_deliveries)).all()
    return _claim_rows(conn, rows, owner=owner, now=now, cipher=cipher)


# Asked with every message of a pull channel and almost always empty: built once (see storage/transcript.py).
_PULL = Hot(sa.select(_D.id, _D.broadcast_id, _B.text_vi, _B.text_en, _S.locale)
            .join(broadcasts, _B.id == _D.broadcast_id).join(subscriptions, _S.id == _D.subscription_id)
            .where(_D.recipient_ref == sa.bindparam("ref"), _D.channel == sa.bindparam("channel"),
                   _D.status == "pending", _B.status == "sending", _S.status == "active").order_by(_D.id))


def take_for_pull(conn: sa.Connection, *, channel: str, ref: str, now: datetime) -> list[tuple[str, str]]:
    """What is waiting for a chat that cannot be pushed to (the HTTP API, a web chat over plain HTTP), marked
    sent now: the response carrying it is its delivery. Returns (text, locale) in order."""
    rows = _PULL.rows(conn, {"ref": ref, "channel": channel})
    for r in rows:
        conn.execute(sa.update(broadcast_deliveries).where(_D.id == r.id, _D.status == "pending").values(
            status="sent", sent_at=now, claimed_by="pull", claimed_at=now))
    return [(r.text_en if r.locale == "en" and r.text_en else r.text_vi, r.locale) for r in rows]


def _settle(conn: sa.Connection, delivery_id: int, owner: str, **values: Any) -> bool:
    return bool(conn.execute(sa.update(broadcast_deliveries).where(
        _D.id == delivery_id, _D.status == "claimed", _D.claimed_by == owner).values(**values)).rowcount)


def mark_sent(conn: sa.Connection, *, delivery_id: int, owner: str, now: datetime) -> bool:
    """The platform took it. False when this sender no longer held the claim (it was recovered as
    interrupted): it stays so — the row is never sent again either way."""
    return _settle(conn, delivery_id, owner, status="sent", sent_at=now)


def mark_failed(conn: sa.Connection, *, delivery_id: int, owner: str, failure: str, detail: str | None,
                now: datetime, subscription_id: int | None = None) -> bool:
    """Not delivered, for good (``failure`` by meaning). ``blocked`` also marks the subscription, so the next
    broadcast skips it."""
    done = _settle(conn, delivery_id, owner, status="failed", failure=failure, detail=(detail or None) and detail[:255])
    if done and failure == "blocked" and subscription_id is not None:
        mark_blocked(conn, subscription_id=subscription_id, now=now)
    return done


def retry_later(conn: sa.Connection, *, delivery_id: int, owner: str, at: datetime, detail: str | None,
                max_attempts: int) -> bool:
    """A failure retrying may fix (rate limit, network): pending again from ``at``, or ``gave_up``."""
    row = conn.execute(sa.select(_D.attempts).where(_D.id == delivery_id, _D.status == "claimed",
                                                    _D.claimed_by == owner)).first()
    if row is None:
        return False
    if row.attempts + 1 >= max_attempts:
        _settle(conn, delivery_id, owner, status="failed", failure="gave_up", detail=(detail or None) and detail[:255])
        return False
    _settle(conn, delivery_id, owner, status="pending", attempts=row.attempts + 1, next_attempt_at=at,
            claimed_by=None, claimed_at=None, detail=(detail or None) and detail[:255])
    return True


def release(conn: sa.Connection, *, delivery_id: int, owner: str) -> None:
    """Give a claim back untried (this process cannot reach that chat after all)."""
    _settle(conn, delivery_id, owner, status="pending", claimed_by=None, claimed_at=None)


def recover_stale(conn: sa.Connection, *, channels: Sequence[str], before: datetime) -> int:
    """Claims of lease-free channels (web chat pushes) older than ``before``: their process died mid-send."""
    if not channels:
        return 0
    return conn.execute(sa.update(broadcast_deliveries).where(
        _D.channel.in_(list(channels)), _D.status == "claimed", _D.claimed_at < before).values(
        status="failed", failure="interrupted", detail="the sender stopped mid-send")).rowcount


def housekeeping(conn: sa.Connection, *, now: datetime, visit_days: int) -> list[int]:
    """Start due broadcasts, give up on visits that never came, and mark finished broadcasts ``done``.
    Returns the ids that finished in this pass."""
    start_due(conn, now=now)
    # Web chat pushes need no lease; a claim older than any send may take is one whose process died.
    recover_stale(conn, channels=VISIT_CHANNELS, before=now - STALE_PUSH)
    old = sa.select(_B.id).where(_B.status == "sending", _B.started_at < now - timedelta(days=visit_days))
    conn.execute(sa.update(broadcast_deliveries).where(_D.status == "pending", _D.broadcast_id.in_(old))
                 .values(status="failed", failure="expired"))
    open_rows = sa.exists().where(_D.broadcast_id == _B.id, _D.status.in_(("pending", "claimed")),
                                  _D.channel.not_in(VISIT_CHANNELS))
    finished = list(conn.execute(sa.select(_B.id).where(_B.status == "sending", ~open_rows)).scalars())
    if finished:
        conn.execute(sa.update(broadcasts).where(_B.id.in_(finished)).values(status="done", finished_at=now,
                                                                             updated_at=now))
    return finished

