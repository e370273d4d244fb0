"""Retention of the personal data awareness broadcasts hold (run by :func:`storage.retention.run_retention`).

- A subscription that ended — the parent said "dừng", or the platform said they blocked or unfollowed us —
  has no chat id any more, but its row still ties the chat's keyed hash to a school, a commune and a consent
  record. It is deleted ``subscription_days`` after it ended.
- A broadcast's delivery rows (one per recipient: the chat's keyed hash, the subscription, the platform's
  answer) are needed while it is sent, and a while after (the console's per-recipient outcome, "resend to the
  not sure"). ``recipient_days`` after the broadcast finished (done or cancelled) they are folded into
  ``broadcast_tallies`` — channel, outcome, the hour it was sent, how many: no recipient — and deleted. The
  console's progress and the monthly report add the tallies, so their figures stay the same.

Deleting a subscription would take its delivery rows with it (foreign-key cascade), changing the counts of
broadcasts it was in: those rows are folded first too (also when a parent asks to be forgotten).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage.content_schema import broadcast_deliveries, broadcast_tallies, broadcasts, subscriptions

SUBSCRIPTION_DAYS = 30  # the defaults of retention.subscription_days / retention.broadcast_recipient_days
RECIPIENT_DAYS = 30
ENDED = ("stopped", "blocked")
FINISHED = ("done", "cancelled")
# A row still open when its subscription goes is counted as what it would have become.
_SETTLED_AS = {"pending": ("failed", "stopped"), "claimed": ("failed", "interrupted")}
_CHUNK = 500  # ids per statement (SQLite's bound-parameter limit)
_B, _D, _S = broadcasts.c, broadcast_deliveries.c, subscriptions.c


def _hour(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.replace(minute=0, second=0, microsecond=0)


def fold(conn: sa.Connection, *, where: sa.ColumnElement[bool]) -> int:
    """Count the delivery rows matching ``where`` into ``broadcast_tallies`` and delete them; returns how many."""
    rows = conn.execute(sa.select(_D.id, _D.broadcast_id, _D.channel, _D.status, _D.failure, _D.sent_at)
                        .where(where).with_for_update()).all()
    if not rows:
        return 0
    counts: Counter[tuple[Any, ...]] = Counter()
    for r in rows:
        status, failure = _SETTLED_AS.get(r.status, (r.status, r.failure))
        counts[(r.broadcast_id, r.channel, status, failure, _hour(r.sent_at) if status == "sent" else None)] += 1
    conn.execute(sa.insert(broadcast_tallies), [
        {"broadcast_id": b, "channel": channel, "status": status, "failure": failure, "sent_hour": hour,
         "count": n} for (b, channel, status, failure, hour), n in counts.items()])
    ids = [r.id for r in rows]
    for i in range(0, len(ids), _CHUNK):
        conn.execute(sa.delete(broadcast_deliveries).where(_D.id.in_(ids[i:i + _CHUNK])))
    return len(rows)


def drop_finished_recipients(conn: sa.Connection, *, now: datetime, days: int = RECIPIENT_DAYS) -> int:
    """Fold the delivery rows of broadcasts finished more than ``days`` ago; returns how many rows went."""
    old = sa.select(_B.id).where(_B.status.in_(FINISHED), _B.finished_at < now - timedelta(days=days))
    return fold(conn, where=_D.broadcast_id.in_(old))


def delete_ended_subscriptions(conn: sa.Connection, *, now: datetime, days: int = SUBSCRIPTION_DAYS) -> int:
    """Delete subscriptions stopped or blocked more than ``days`` ago (their delivery rows folded first);
    returns how many. One renewed meanwhile is active again and stays."""
    ended = sa.select(_S.id).where(_S.status.in_(ENDED), _S.updated_at < now - timedelta(days=days))
    ids = list(conn.execute(ended.with_for_update()).scalars())
    deleted = 0
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        fold(conn, where=_D.subscription_id.in_(chunk))
        deleted += conn.execute(sa.delete(subscriptions).where(_S.id.in_(chunk), _S.status.in_(ENDED))).rowcount
    return deleted


def fold_for_subscriptions(conn: sa.Connection, *, ids: sa.Select[Any]) -> int:
    """Before subscriptions are deleted for another reason ("forget me"): keep their rows' counts."""
    return fold(conn, where=_D.subscription_id.in_(ids))
