"""The dashboard's daily counts, kept as tips are filed: :func:`tally` runs in the transaction that files a tip
(:func:`storage.cases.open_case`), next to the campaign-alert counting. Read by :mod:`storage.stats`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from storage.alerts_schema import stats_daily
from storage.workflow_schema import tip_cases

LOCAL_OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh: one zone, no DST
_c = tip_cases.c
_d = stats_daily.c


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_TALLY_OF = sa.select(_c.created_at, _c.unit_id, _c.commune_code, _c.pretext, _c.channel, _c.kind, _c.urgent,
                      _c.priority, _c.money_lost, _c.amount_vnd).where(_c.tip_id == sa.bindparam("tip_id"))


_KEYS = ("day", "unit_id", "commune_code", "pretext", "channel", "kind")  # the row's primary key
_COUNTS = ("tips", "urgent", "harm_now", "money_lost_tips", "money_lost_vnd")
_UPSERTS: dict[str, sa.Insert] = {}


def _upsert(dialect: str) -> sa.Insert:
    """This dialect's INSERT … ON CONFLICT adding to the day's row, built on first use: constructing it cost more
    than running it (0.7 of the 2.5 ms a tip took to file, bench/bench_intake.py), and the PostgreSQL dialect is
    not imported on SQLite."""
    if dialect not in _UPSERTS:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        ins = insert(stats_daily).values({k: sa.bindparam(k) for k in (*_KEYS, *_COUNTS)})
        _UPSERTS[dialect] = ins.on_conflict_do_update(index_elements=list(_KEYS),
                                                      set_={k: _d[k] + ins.excluded[k] for k in _COUNTS})
    return _UPSERTS[dialect]


def tally(conn: sa.Connection, *, tip_id: int) -> None:
    """Count a tip being filed into its day's row (same transaction as the tip: the counts never miss one)."""
    case = conn.execute(_TALLY_OF, {"tip_id": tip_id}).one()
    lost = bool(case.money_lost)
    values = {"day": (_utc(case.created_at) + LOCAL_OFFSET).date().isoformat(), "unit_id": case.unit_id or "",
              "commune_code": case.commune_code or "", "pretext": case.pretext or "", "channel": case.channel,
              "kind": case.kind, "tips": 1, "urgent": int(bool(case.urgent)), "harm_now": int(case.priority >= 2),
              "money_lost_tips": int(lost), "money_lost_vnd": (case.amount_vnd or 0) if lost else 0}
    conn.execute(_upsert(conn.dialect.name), values)
