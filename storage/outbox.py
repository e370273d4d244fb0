"""The outbox as a work queue: claim due rows under a lease, record what delivery did, retry dead rows.

Row life: ``pending`` → (claimed) ``inflight`` → ``delivered`` | ``pending`` again (retry later) | ``dead``.

Claiming is safe with any number of forwarders, in one process or many:

- **PostgreSQL**: ``SELECT … FOR UPDATE SKIP LOCKED`` — concurrent claimers skip each other's rows instead
  of queueing behind them;
- **SQLite**: every unit of work begins ``IMMEDIATE`` (the database's single write lock), so a claim is
  serialised against every other writer, in this process or another.

A claim sets ``status = inflight``, bumps ``attempts`` and moves ``next_attempt_at`` to the lease expiry.
The delivery itself runs outside any transaction. A forwarder that dies mid-delivery leaves its rows
``inflight`` with a lease that runs out; any forwarder then claims them again (at-least-once: sinks
dedupe by the idempotency key). ``attempts`` doubles as the claim token: an outcome is recorded only if
the row is still ``inflight`` with the same count, so a forwarder whose lease expired cannot overwrite
the newer claim's result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage.schema import outbox

PENDING = "pending"
INFLIGHT = "inflight"
DELIVERED = "delivered"
DEAD = "dead"
STATUSES = (PENDING, INFLIGHT, DELIVERED, DEAD)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row this forwarder now holds until ``lease_until``; ``attempts`` counts this attempt."""

    id: int
    tip_id: int
    sink: str
    key: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed attempt. ``status``: delivered, pending (retry at ``next_attempt_at``) or dead."""

    id: int
    attempts: int
    status: str
    next_attempt_at: datetime
    error: str | None = None


def _due(status: str) -> sa.Select[tuple[int]]:
    # One status per query: the (status, next_attempt_at) index then yields rows in order, and the scan
    # stops at LIMIT instead of sorting every due row of a large backlog.
    return (
        sa.select(outbox.c.id)
        .where(outbox.c.status == status, outbox.c.next_attempt_at <= sa.bindparam("now"),
               outbox.c.sink.in_(sa.bindparam("sinks", expanding=True)))
        .order_by(outbox.c.next_attempt_at)
        .limit(sa.bindparam("limit"))
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite renders nothing (its write lock is held)
    )


_DUE_EXPIRED = _due(INFLIGHT)  # leases that ran out: their forwarder died or stalled
_DUE_PENDING = _due(PENDING)
_TAKE = (
    sa.update(outbox)
    .where(outbox.c.id.in_(sa.bindparam("ids", expanding=True)))
    .values(status=INFLIGHT, attempts=outbox.c.attempts + 1, next_attempt_at=sa.bindparam("lease_until"))
    .returning(outbox.c.id, outbox.c.tip_id, outbox.c.sink, outbox.c.idempotency_key, outbox.c.attempts)
)
_RECORD = (
    sa.update(outbox)
    .where(outbox.c.id == sa.bindparam("b_id"), outbox.c.attempts == sa.bindparam("b_attempts"),
           outbox.c.status == INFLIGHT)
    .values(status=sa.bindparam("b_status"), next_attempt_at=sa.bindparam("b_next"),
            # A delivery after failures keeps the last failure: "delivered on attempt 4, after: HTTP 503".
            last_error=sa.func.coalesce(sa.bindparam("b_error", type_=sa.Text), outbox.c.last_error),
            delivered_at=sa.bindparam("b_delivered"))
)


def claim_due(conn: sa.Connection, *, sinks: Sequence[str], now: datetime, lease_until: datetime,
              limit: int) -> list[Claimed]:
    """Claim up to ``limit`` due rows of the given sinks until ``lease_until``, oldest first."""
    if not sinks or limit <= 0:
        return []
    params: dict[str, Any] = {"now": now, "sinks": list(sinks), "limit": limit}
    ids = list(conn.execute(_DUE_EXPIRED, params).scalars())
    if len(ids) < limit:
        ids += conn.execute(_DUE_PENDING, {**params, "limit": limit - len(ids)}).scalars()
    if not ids:
        return []
    rows = conn.execute(_TAKE, {"ids": ids, "lease_until": lease_until}).all()
    return sorted((Claimed(r.id, r.tip_id, r.sink, r.idempotency_key, r.attempts) for r in rows),
                  key=lambda c: c.id)


def record_outcomes(conn: sa.Connection, *, outcomes: Sequence[Outcome], now: datetime) -> None:
    """Store each attempt's result; an outcome whose claim was since taken over is ignored."""
    if not outcomes:
        return
    conn.execute(_RECORD, [
        {"b_id": o.id, "b_attempts": o.attempts, "b_status": o.status, "b_next": o.next_attempt_at,
         "b_error": o.error, "b_delivered": now if o.status == DELIVERED else None}
        for o in outcomes
    ])


def list_rows(conn: sa.Connection, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Outbox rows, newest first (``hotline outbox list``, the console's dead-letter view)."""
    query = sa.select(
        outbox.c.id, outbox.c.idempotency_key.label("reference"), outbox.c.sink, outbox.c.status,
        outbox.c.attempts, outbox.c.next_attempt_at, outbox.c.last_error, outbox.c.created_at,
        outbox.c.delivered_at,
    ).order_by(outbox.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(outbox.c.status == status)
    return [dict(r) for r in conn.execute(query).mappings()]


def counts(conn: sa.Connection) -> dict[str, int]:
    """Rows per status."""
    result = conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status))
    return dict(result.all())


def retry(conn: sa.Connection, *, ids: Sequence[int] = (), all_dead: bool = False, now: datetime) -> int:
    """Put dead (or waiting) rows back in the queue now, with a fresh attempt budget. Returns rows changed.

    Delivered and in-flight rows are left alone: a delivered tip needs no retry, and an in-flight one is
    being delivered.
    """
    where = (outbox.c.status == DEAD) if all_dead else sa.and_(
        outbox.c.id.in_(list(ids)), outbox.c.status.in_((DEAD, PENDING)))
    result = conn.execute(sa.update(outbox).where(where).values(status=PENDING, attempts=0, next_attempt_at=now))
    return result.rowcount
