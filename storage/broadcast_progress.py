"""Where a broadcast stands: counts by outcome and channel, the rate of the last minute, the ETA (the console's
progress bar, ``hotline broadcast status``). Re-exported by :mod:`storage.broadcasts`.

Counts are of the delivery rows still held plus the ``broadcast_tallies`` retention folded them into
(storage/broadcast_retention.py), so a finished broadcast shows the same figures after its rows are gone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage.content_schema import broadcast_deliveries, broadcast_tallies

# Channels whose parents are reached on their next visit (an open page, their next request), not by a push.
VISIT_CHANNELS = ("web", "api")
UNCERTAIN = ("interrupted", "timeout")  # may or may not have arrived: never sent again
_D, _T = broadcast_deliveries.c, broadcast_tallies.c


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a broadcast stands. ``remaining`` excludes parents reached on their next visit (``waiting``)."""

    total: int
    sent: int
    failed: int
    blocked: int
    uncertain: int
    cancelled: int
    remaining: int
    waiting: int
    per_minute: float  # sent in the last minute
    by_channel: dict[str, dict[str, int]]

    @property
    def settled(self) -> int:
        return self.sent + self.failed + self.blocked + self.uncertain + self.cancelled

    @property
    def percent(self) -> int:
        """Share of the recipients a sender can push to that are settled."""
        pushable = self.total - self.waiting
        return 100 if pushable <= 0 else min(100, int(100 * (pushable - self.remaining) / pushable))

    @property
    def eta_seconds(self) -> float | None:
        if self.remaining == 0:
            return 0.0
        return None if self.per_minute <= 0 else self.remaining / (self.per_minute / 60.0)

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "sent": self.sent, "failed": self.failed, "blocked": self.blocked,
                "uncertain": self.uncertain, "cancelled": self.cancelled, "remaining": self.remaining,
                "waiting": self.waiting, "percent": self.percent, "per_minute": round(self.per_minute, 1),
                "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds),
                "by_channel": self.by_channel}


def progress(conn: sa.Connection, *, broadcast_id: int, now: datetime) -> Progress:
    counts: dict[str, int] = dict.fromkeys(("sent", "failed", "blocked", "uncertain", "cancelled", "remaining",
                                            "waiting"), 0)
    by_channel: dict[str, dict[str, int]] = {}
    rows = [*conn.execute(sa.select(_D.channel, _D.status, _D.failure, sa.func.count())
                          .where(_D.broadcast_id == broadcast_id).group_by(_D.channel, _D.status, _D.failure)),
            *conn.execute(sa.select(_T.channel, _T.status, _T.failure, sa.func.sum(_T.count))
                          .where(_T.broadcast_id == broadcast_id).group_by(_T.channel, _T.status, _T.failure))]
    for channel, status, failure, n in rows:
        if status in ("pending", "claimed"):
            bucket = "waiting" if status == "pending" and channel in VISIT_CHANNELS else "remaining"
        elif status == "failed":
            bucket = "blocked" if failure == "blocked" else "uncertain" if failure in UNCERTAIN else "failed"
        else:
            bucket = status  # sent | cancelled
        counts[bucket] += int(n)
        by_channel.setdefault(channel, {}).setdefault(bucket, 0)
        by_channel[channel][bucket] += int(n)
    total = sum(int(n) for *_key, n in rows)
    recent_sent = int(conn.execute(sa.select(sa.func.count()).where(
        _D.broadcast_id == broadcast_id, _D.status == "sent", _D.sent_at >= now - timedelta(seconds=60),
        _D.claimed_by != "pull")).scalar_one())
    return Progress(total=total, per_minute=float(recent_sent), by_channel=by_channel, **counts)


def sent_to(conn: sa.Connection, *, broadcast_id: int) -> list[tuple[int, str, str | None]]:
    """(subscription id, status, failure) of every recipient: what tests and the CLI check after a crash."""
    return [(r.subscription_id, r.status, r.failure) for r in conn.execute(
        sa.select(_D.subscription_id, _D.status, _D.failure).where(_D.broadcast_id == broadcast_id)
        .order_by(_D.subscription_id))]


def sent_between(conn: sa.Connection, *, since: datetime, until: datetime) -> int:
    """Warnings that reached a parent in [since, until) — the monthly report. Folded rows count by the hour
    they were sent, so a period bounded by whole hours (local days in Vietnam are) is counted exactly."""
    held = conn.execute(sa.select(sa.func.count()).select_from(broadcast_deliveries).where(
        _D.status == "sent", _D.sent_at >= since, _D.sent_at < until)).scalar()
    folded = conn.execute(sa.select(sa.func.sum(_T.count)).where(
        _T.status == "sent", _T.sent_hour >= since, _T.sent_hour < until)).scalar()
    return int(held or 0) + int(folded or 0)
