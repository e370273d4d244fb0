"""The supervisors' dashboard figures: counts over the plain facets of ``tip_cases``, never a decrypted report.

Every figure is a ``GROUP BY`` over one period (filing time in ``[since, until)``), within what the viewer may
see (an officer: their unit; a supervisor: the province, or one unit when filtered). Days are the province's
calendar days (UTC+7, no daylight saving). Only the few top numbers / domains / accounts are opened from their
sealed form, one value each. :func:`dashboard` returns plain JSON-able data; pages, exports and the monthly
report all read it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import sqlalchemy as sa

from storage.alerts_schema import stats_daily
from storage.alerts_tally import LOCAL_OFFSET
from storage.crypto import Cipher
from storage.indicators import open_value
from storage.intake_schema import police_units, unit_communes
from storage.notices_schema import notices, tip_messages
from storage.schema import tip_indicators
from storage.workflow import OUTCOMES, Viewer, visible
from storage.workflow_schema import tip_cases

# Minutes: under 15, under 1 hour, 4 hours, 1 day, 3 days, and longer.
BUCKETS = (15, 60, 240, 1440, 4320)
BUCKET_LABELS = ("<15m", "15m-1h", "1h-4h", "4h-1d", "1d-3d", ">3d")
TOP = 10
_c = tip_cases.c


@dataclass(frozen=True, slots=True)
class Period:
    """Tips filed in ``[since, until)`` (UTC instants), optionally of one unit (supervisors)."""

    since: datetime
    until: datetime
    unit_id: str | None = None

    @classmethod
    def local_days(cls, first: date, last: date, unit_id: str | None = None) -> Period:
        """From the first to the last local calendar day, both included."""
        start = datetime(first.year, first.month, first.day, tzinfo=UTC) - LOCAL_OFFSET
        end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1) - LOCAL_OFFSET
        return cls(start, end, unit_id)

    @property
    def first_day(self) -> date:
        return (self.since + LOCAL_OFFSET).date()

    @property
    def last_day(self) -> date:
        return (self.until + LOCAL_OFFSET - timedelta(microseconds=1)).date()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _scope(viewer: Viewer, period: Period, column: Any = None) -> list[sa.ColumnElement[bool]]:
    when = _c.created_at if column is None else column
    where = [visible(viewer), when >= period.since, when < period.until]
    if period.unit_id:
        where.append(_c.unit_id == period.unit_id)
    return where


def _local_day(conn: sa.Connection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("Asia/Ho_Chi_Minh", column), "YYYY-MM-DD")
    return sa.func.date(column, "+7 hours")


def _int(value: Any) -> int:
    return int(value or 0)


FACETS = ("pretext", "commune_code", "unit_id", "channel")
_d = stats_daily.c
def rebuild_daily(conn: sa.Connection) -> int:
    """Recount every day from the tips (what migration 0017 does; for data loaded around ``create_tip``)."""
    conn.execute(sa.delete(stats_daily))
    day = _local_day(conn, _c.created_at)
    lost = _c.money_lost.is_(True)
    dims = [day, sa.func.coalesce(_c.unit_id, ""), sa.func.coalesce(_c.commune_code, ""),
            sa.func.coalesce(_c.pretext, ""), _c.channel, _c.kind]
    conn.execute(sa.insert(stats_daily).from_select(
        ["day", "unit_id", "commune_code", "pretext", "channel", "kind", "tips", "urgent", "harm_now",
         "money_lost_tips", "money_lost_vnd"],
        sa.select(*dims, sa.func.count(), sa.func.sum(sa.case((_c.urgent.is_(True), 1), else_=0)),
                  sa.func.sum(sa.case((_c.priority >= 2, 1), else_=0)), sa.func.sum(sa.case((lost, 1), else_=0)),
                  sa.func.sum(sa.case((lost, sa.func.coalesce(_c.amount_vnd, 0)), else_=0))).group_by(*dims)))
    return int(conn.execute(sa.select(sa.func.count()).select_from(stats_daily)).scalar() or 0)


def cube(conn: sa.Connection, *, viewer: Viewer, period: Period) -> Sequence[Any]:
    """The period's daily counts per (day, pretext, commune, unit, channel) with their urgent, harm-now,
    money-lost and agency sums, from ``stats_daily`` (whole local days): every per-day and per-facet figure is
    added up from these few thousand groups, not from the tips."""
    if not viewer.reads_tips or (not viewer.whole_province and viewer.unit_id is None):
        return []
    where = [_d.day >= period.first_day.isoformat(), _d.day <= period.last_day.isoformat()]
    unit = period.unit_id if viewer.whole_province else viewer.unit_id
    if unit:
        where.append(_d.unit_id == unit)
    columns = [sa.func.nullif(_d[f], "") for f in FACETS]
    return conn.execute(
        sa.select(_d.day, *columns, sa.func.sum(_d.tips), sa.func.sum(_d.urgent), sa.func.sum(_d.harm_now),
                  sa.func.sum(_d.money_lost_tips), sa.func.sum(_d.money_lost_vnd),
                  sa.func.sum(sa.case((_d.kind == "agency", _d.tips), else_=0)))
        .where(*where).group_by(_d.day, *[_d[f] for f in FACETS])).all()


_SUMS = ("tips", "urgent", "harm_now", "money_lost_tips", "money_lost_vnd", "agency")


def per_day(groups: Sequence[Any], period: Period) -> list[dict[str, Any]]:
    """Every local day of the period (zeros included): tips, urgent, money lost (tips and đồng), agencies'."""
    found: dict[str, list[int]] = {}
    width = len(FACETS) + 1
    for g in groups:
        sums = found.setdefault(str(g[0]), [0] * len(_SUMS))
        for i in range(len(_SUMS)):
            sums[i] += _int(g[width + i])
    out = []
    current = period.first_day
    while current <= period.last_day:
        sums = found.get(current.isoformat(), [0] * len(_SUMS))
        out.append({"day": current.isoformat(), **dict(zip(_SUMS, sums, strict=True))})
        current += timedelta(days=1)
    return out


def by_facet(groups: Sequence[Any], facet: str) -> list[dict[str, Any]]:
    """Tips per value of one facet (pretext, commune_code, unit_id, channel, outcome), most first."""
    index = FACETS.index(facet) + 1
    counts: dict[Any, int] = {}
    for g in groups:
        counts[g[index]] = counts.get(g[index], 0) + _int(g[len(FACETS) + 1])
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], "" if kv[0] is None else str(kv[0])))
    return [{"code": code, "tips": n} for code, n in ranked]


def per_week(days: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """ISO weeks (Monday first) of :func:`per_day`'s rows; a week cut by the period counts its days inside."""
    weeks: dict[str, dict[str, Any]] = {}
    for row in days:
        day = date.fromisoformat(row["day"])
        year, week, _ = day.isocalendar()
        key = f"{year}-W{week:02d}"
        entry = weeks.setdefault(key, {"week": key, "start": (day - timedelta(days=day.weekday())).isoformat(),
                                       "tips": 0, "urgent": 0, "money_lost_tips": 0, "money_lost_vnd": 0})
        for name in ("tips", "urgent", "money_lost_tips", "money_lost_vnd"):
            entry[name] += row[name]
    return list(weeks.values())


_SECONDS = {"first_action_at": _c.first_action_seconds, "closed_at": _c.close_seconds}


def _span_sums(end: str) -> list[Any]:
    """How long the period's tips took to ``end``: how many wait, how many took under each of :data:`BUCKETS`
    (cumulative counts of the stored seconds: a bucket is the difference of two), how many are done and their
    summed minutes."""
    seconds = _SECONDS[end]  # NULL while not yet: the comparisons below are then false
    return [sa.func.sum(sa.case((seconds.is_(None), 1), else_=0)),
            *[sa.func.sum(sa.case((seconds < limit * 60, 1), else_=0)) for limit in BUCKETS],
            sa.func.count(seconds), sa.func.sum(seconds) / 60.0]


def _span(part: Sequence[Any]) -> _Span:
    below = [_int(n) for n in part[1:1 + len(BUCKETS)]]
    done = _int(part[1 + len(BUCKETS)])
    counts = [below[0], *[b - a for a, b in pairwise(below)], done - below[-1]]
    return _Span(counts=counts, waiting=_int(part[0]), minutes=float(part[-1] or 0))


def handling(conn: sa.Connection, *, viewer: Viewer, period: Period) -> dict[str, Any]:
    """How the period's tips were handled, in one pass over ``ix_tip_cases_dashboard`` with no sorting (every
    figure is a conditional sum of one row): outcomes, time to first action and to close (histograms in
    :data:`BUCKETS`, mean, median bucket, how many wait), and the urgent tips' first-action targets met, missed
    (late, or waiting past the target) or still in time."""
    now = datetime.now(UTC)
    sums: list[Any] = []
    for end in ("first_action_at", "closed_at"):
        sums += _span_sums(end)
    codes = [*OUTCOMES, None]
    sums += [sa.func.sum(sa.case((_c.outcome.is_(None) if code is None else _c.outcome == code, 1), else_=0))
             for code in codes]
    met = sa.and_(_c.first_action_at.is_not(None), _c.first_action_at <= _c.first_action_due)
    pending = sa.and_(_c.first_action_at.is_(None), _c.first_action_due > now)
    has_target = _c.first_action_due.is_not(None)
    sums += [sa.func.sum(sa.case((sa.and_(has_target, met), 1), else_=0)),
             sa.func.sum(sa.case((sa.and_(has_target, ~met, ~pending), 1), else_=0)),
             sa.func.sum(sa.case((sa.and_(has_target, pending), 1), else_=0)), sa.func.count()]
    row = list(conn.execute(sa.select(*sums).where(*_scope(viewer, period))).one())
    width = len(BUCKETS) + 3
    spans = {name: _span(row[k * width:(k + 1) * width]).result()
             for k, name in enumerate(("first_action", "time_to_close"))}
    outcome_counts = [_int(n) for n in row[2 * width:2 * width + len(codes)]]
    met_n, missed_n, pending_n, total = (_int(n) for n in row[2 * width + len(codes):])
    known = sum(outcome_counts)
    found: dict[str | None, int] = {code: n for code, n in zip(codes, outcome_counts, strict=True) if n}
    if total - known:  # an outcome code this version does not know
        found["other"] = total - known
    ranked = sorted(found.items(), key=lambda kv: (-kv[1], "" if kv[0] is None else str(kv[0])))
    return {"by_outcome": [{"code": code, "tips": n} for code, n in ranked],
            "first_action_targets": {"met": met_n, "missed": missed_n, "pending": pending_n},
            **spans}


@dataclass
class _Span:
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKET_LABELS))
    waiting: int = 0
    minutes: float = 0.0

    def add(self, index: int, n: int, summed: Any) -> None:
        if index < 0:
            self.waiting += n
            return
        self.counts[index] += n
        self.minutes += float(summed or 0)

    def result(self) -> dict[str, Any]:
        done = sum(self.counts)
        median = None
        running = 0
        for label, n in zip(BUCKET_LABELS, self.counts, strict=True):
            running += n
            if done and running * 2 >= done:
                median = label
                break
        return {"count": done, "waiting": self.waiting, "mean_minutes": round(self.minutes / done, 1) if done else None,
                "median_bucket": median,
                "buckets": [{"bucket": b, "tips": n} for b, n in zip(BUCKET_LABELS, self.counts, strict=True)]}


def top_named(conn: sa.Connection, *, viewer: Viewer, period: Period, cipher: Cipher, kind: str,
              limit: int = TOP) -> list[dict[str, Any]]:
    """The numbers / domains / accounts named by the most tips of the period (dismissed reports left out).

    Counted on the blind index: province-wide inside ``ix_tip_indicators_kind_created`` alone (no row read),
    for one unit joined to the cases; distinct reporters then for the few top keys only, and one sealed value
    opened per row shown."""
    t = tip_indicators.c
    n = sa.func.count()  # = distinct tips: a tip names each (kind, value) once (create_tip drops repeats)
    where = [t.kind == kind, t.created_at >= period.since, t.created_at < period.until, t.value_key.is_not(None),
             t.dismissed.is_(False)]
    query = sa.select(t.value_key, n, sa.func.max(t.id)).where(*where)
    if not (viewer.whole_province and not period.unit_id):
        # An indicator row is written with its tip (create_tip: one instant for both), so the case's own filing
        # time bounds the join too — loosely, a day either side, so it can never drop a row; without it
        # PostgreSQL read every case of the unit since the beginning (300 ms with 1M tips, now 80).
        slack = timedelta(days=1)
        query = query.select_from(tip_indicators.join(tip_cases, _c.tip_id == t.tip_id)).where(
            *_scope(viewer, period, t.created_at), _c.created_at >= period.since - slack,
            _c.created_at < period.until + slack)
    if conn.dialect.name == "postgresql":
        # A month of a province is ~90,000 distinct keys: grouped in memory instead of an external sort on disk
        # (PostgreSQL's default 4 MB; this transaction only).
        conn.execute(sa.text("SET LOCAL work_mem = '32MB'"))
    rows = conn.execute(query.group_by(t.value_key).order_by(n.desc(), t.value_key).limit(limit)).all()
    if not rows:
        return []
    sealed = {r.id: r for r in conn.execute(sa.select(t.id, t.tip_id, t.value_sealed)
                                            .where(t.id.in_([r[2] for r in rows])))}
    distinct = sa.select(sa.func.count(sa.distinct(sa.func.coalesce(t.origin_key, t.reporter_key)))).where(
        *where, t.value_key == sa.bindparam("key"))
    out = []
    for key, tips_n, row_id in rows:
        found = sealed[row_id]
        out.append({"value": open_value(cipher, tip_id=found.tip_id, kind=kind, sealed=found.value_sealed),
                    "tips": int(tips_n), "reporters": int(conn.execute(distinct, {"key": key}).scalar() or 0)})
    return out


def followups(conn: sa.Connection, *, viewer: Viewer, period: Period) -> dict[str, Any]:
    """Officers' questions to parents sent in the period, and how many of the tips asked were answered."""
    n = notices.c
    asked = (sa.select(n.tip_id).select_from(notices.join(tip_cases, _c.tip_id == n.tip_id))
             .where(n.kind == "question", *_scope(viewer, period, n.created_at)))
    sent = conn.execute(sa.select(sa.func.count()).select_from(notices.join(tip_cases, _c.tip_id == n.tip_id))
                        .where(n.kind == "question", n.status == "sent",
                               *_scope(viewer, period, n.created_at))).scalar()
    tips_asked = conn.execute(sa.select(sa.func.count(sa.distinct(asked.subquery().c.tip_id)))).scalar()
    m = tip_messages.c
    answered = conn.execute(
        sa.select(sa.func.count(sa.distinct(m.tip_id)))
        .where(m.kind == "answer", m.tip_id.in_(asked), m.at >= period.since)).scalar()
    asked_n = _int(tips_asked)
    return {"questions_sent": _int(sent), "tips_asked": asked_n, "tips_answered": _int(answered),
            "answer_rate": round(_int(answered) / asked_n, 3) if asked_n else None}


def communes_compare(conn: sa.Connection, *, viewer: Viewer, period: Period, limit: int = 50) -> list[dict[str, Any]]:
    """Where reports concentrate: the 7 days ending with the period against the 7 days before, ranked."""
    mid = period.until - timedelta(days=7)
    window = Period(period.until - timedelta(days=14), period.until, period.unit_id)
    recent = sa.func.sum(sa.case((_c.created_at >= mid, 1), else_=0))
    before = sa.func.sum(sa.case((_c.created_at < mid, 1), else_=0))
    rows = conn.execute(sa.select(_c.commune_code, recent, before).where(*_scope(viewer, window))
                        .group_by(_c.commune_code).order_by(recent.desc(), _c.commune_code).limit(limit)).all()
    return [{"code": r[0], "this_week": _int(r[1]), "last_week": _int(r[2]), "change": _int(r[1]) - _int(r[2])}
            for r in rows]


def names(conn: sa.Connection) -> dict[str, dict[str, str]]:
    """Commune and unit names for the codes on the page (places and police units, nobody's data)."""
    return {"communes": {r.commune_code: r.commune_name for r in conn.execute(
                sa.select(unit_communes.c.commune_code, unit_communes.c.commune_name))},
            "units": {r.id: r.name for r in conn.execute(sa.select(police_units.c.id, police_units.c.name))}}


def _overview(conn: sa.Connection, *, viewer: Viewer, period: Period) -> dict[str, Any]:
    """The daily cube's figures and the week-on-week communes, with their names."""
    groups = cube(conn, viewer=viewer, period=period)
    days = per_day(groups, period)
    tips_n = sum(d["tips"] for d in days)
    urgent = sum(d["urgent"] for d in days)
    known = names(conn)
    communes = by_facet(groups, "commune_code")
    units = by_facet(groups, "unit_id")
    for row in communes:
        row["name"] = known["communes"].get(row["code"] or "", "")
    for row in units:
        row["name"] = known["units"].get(row["code"] or "", "")
    compare = communes_compare(conn, viewer=viewer, period=period)
    for row in compare:
        row["name"] = known["communes"].get(row["code"] or "", "")
    return {
        "period": {"from": period.first_day.isoformat(), "to": period.last_day.isoformat(), "unit": period.unit_id,
                   "scope": "province" if viewer.whole_province and not period.unit_id else "unit"},
        "totals": {"tips": tips_n, "urgent": urgent, "urgent_share": round(urgent / tips_n, 3) if tips_n else None,
                   "harm_now": sum(d["harm_now"] for d in days),
                   "money_lost_tips": sum(d["money_lost_tips"] for d in days),
                   "money_lost_vnd": sum(d["money_lost_vnd"] for d in days),
                   "agency": sum(d["agency"] for d in days)},
        "per_day": days,
        "per_week": per_week(days),
        "by_pretext": by_facet(groups, "pretext"),
        "by_commune": communes,
        "by_unit": units,
        "by_channel": by_facet(groups, "channel"),
        "communes_week": compare,
    }


TOP_KINDS = ("phone", "domain", "bank_account")


def _assemble(overview: dict[str, Any], handled: dict[str, Any], top: dict[str, Any],
              follow: dict[str, Any]) -> dict[str, Any]:
    compare = overview.pop("communes_week")
    return {**overview, **handled, "top": top, "followups": follow, "communes_week": compare}


def dashboard(conn: sa.Connection, *, viewer: Viewer, period: Period, cipher: Cipher) -> dict[str, Any]:
    """Everything the dashboard shows, as JSON-able data (codes; the page and exports add words)."""
    return _assemble(_overview(conn, viewer=viewer, period=period), handling(conn, viewer=viewer, period=period),
                     {kind: top_named(conn, viewer=viewer, period=period, cipher=cipher, kind=kind)
                      for kind in TOP_KINDS},
                     followups(conn, viewer=viewer, period=period))


async def dashboard_concurrently(read: Callable[..., Awaitable[Any]], *, viewer: Viewer, period: Period,
                                 cipher: Cipher) -> dict[str, Any]:
    """:func:`dashboard`, its independent parts read at once (``read`` is :meth:`storage.db.Database.read`):
    the handling pass and the top numbers, each a scan of a month of a province, then take two cores, not one
    after the other on the writer thread."""
    overview, handled, follow, *tops = await asyncio.gather(
        read(_overview, viewer=viewer, period=period), read(handling, viewer=viewer, period=period),
        read(followups, viewer=viewer, period=period),
        *[read(top_named, viewer=viewer, period=period, cipher=cipher, kind=kind) for kind in TOP_KINDS])
    return _assemble(overview, handled, dict(zip(TOP_KINDS, tops, strict=True)), follow)
