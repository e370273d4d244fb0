"""Campaign alerts, counted incrementally as tips are filed: once per campaign, whatever the number of processes.

A *campaign key* is what many tips of one wave share: a caller number, a link's domain, a bank account, or a
pretext in one commune ("cài Sổ liên lạc điện tử" in Xã Tân Lộc). :func:`on_tip` runs inside the transaction
that files a tip (:func:`storage.cases.open_case`) and, for each key of the tip, in key order:

1. upserts the key's row in ``alert_keys`` and locks it (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite has a
   single writer), so two processes filing tips of one key take turns and each sees the other's tips;
2. updates the key's sliding window: the newest distinct reporters (at most ``threshold``) seen within
   ``window_minutes`` — exact, and O(threshold) per tip: no rescan of earlier tips;
3. raises an alert when the window reaches the threshold and no campaign of that key is running, or adds the
   tip to the running one. A campaign runs until ``campaign_gap_hours`` pass without the window at the
   threshold; tips of the key meanwhile join it.

Tips may arrive out of time order (two processes, a retried transaction): a tip older than the newest one seen
checks the windows ending after it from the tips themselves, so the result is the same as in time order.
``alerts`` has a unique (kind, key, seq), and the counter row's lock decides ``seq``: one alert per campaign,
never one per process. Reporters count once each (one parent filing five times is one reporter); only a short
hash of their keyed chat hash is kept in the window.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage.alerts_schema import alert_keys, alert_tips, alerts
from storage.crypto import Cipher
from storage.indicators import key_of
from storage.schema import tip_indicators, tips
from storage.workflow_schema import tip_cases

KINDS = ("phone", "domain", "bank_account", "pretext_commune")
INDICATOR_KINDS = frozenset({"phone", "domain", "bank_account"})


@dataclass(frozen=True, slots=True)
class Rule:
    """Raise when ``threshold`` distinct reporters name the key within ``window_minutes``."""

    threshold: int = 5
    window_minutes: int = 60


@dataclass(frozen=True, slots=True)
class AlertRules:
    """The thresholds per kind of key (``alerts`` in config.yaml)."""

    phone: Rule = field(default_factory=Rule)
    domain: Rule = field(default_factory=Rule)
    bank_account: Rule = field(default_factory=Rule)
    pretext_commune: Rule = field(default_factory=Rule)
    campaign_gap_hours: int = 24
    enabled: bool = True

    def rule(self, kind: str) -> Rule:
        found: Rule = getattr(self, kind)
        return found

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> AlertRules:
        """From the settings section as a dict (``settings.alerts.model_dump()``)."""
        def rule(kind: str) -> Rule:
            found = values.get(kind)
            return Rule(**found) if isinstance(found, Mapping) else Rule()

        return cls(phone=rule("phone"), domain=rule("domain"), bank_account=rule("bank_account"),
                   pretext_commune=rule("pretext_commune"),
                   campaign_gap_hours=int(values.get("campaign_gap_hours", 24)),
                   enabled=bool(values.get("enabled", True)))


@dataclass(frozen=True, slots=True)
class Raised:
    """What :func:`on_tip` did for one key: the alert the tip joined, and whether it was raised just now."""

    alert_id: int
    kind: str
    key: str
    new: bool


def pretext_key(pretext: str, commune_code: str) -> str:
    return f"{pretext}@{commune_code}"


def campaign_keys(cipher: Cipher, indicators: Iterable[tuple[str, str]], pretext: str | None,
                  commune_code: str | None) -> list[tuple[str, str, str]]:
    """The tip's keys as (kind, key, value), sorted by key (the lock order: two tips naming the same keys can
    never deadlock). An indicator's key is its blind index (as in ``tip_indicators``), never the value."""
    keys = {(kind, key_of(cipher, kind, value), value) for kind, value in indicators
            if kind in INDICATOR_KINDS and value}
    if pretext and commune_code:
        code = pretext_key(pretext, commune_code)
        keys.add(("pretext_commune", code, code))
    return sorted(keys)


def value_aad(kind: str, key: str) -> str:
    return f"alerts.value:{kind}:{key}"


def shown_value(cipher: Cipher, *, kind: str, key: str, sealed: str | None) -> str:
    """What an alert is about, in words a supervisor reads: the opened number / domain / account, or the
    pretext@commune code itself."""
    if kind == "pretext_commune" or sealed is None:
        return key
    return cipher.open_text(sealed, aad=value_aad(kind, key))


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


@functools.cache
def _statements(dialect: str) -> dict[str, Any]:
    """Built once per dialect: on SQLite, building a statement costs more than running it (storage/tips.py)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    k = alert_keys.c
    upsert = insert(alert_keys).values(kind=sa.bindparam("kind"), key=sa.bindparam("key"), recent="[]", campaigns=0,
                                       updated_at=sa.bindparam("now"))
    # DO UPDATE rather than DO NOTHING: it takes the row lock (waiting for a concurrent filer of this key to
    # commit) and RETURNING gives its newest version, in one round trip on either database.
    lock = upsert.on_conflict_do_update(index_elements=["kind", "key"], set_={"updated_at": upsert.excluded.updated_at}
                                        ).returning(k.recent, k.campaigns, k.alert_id, k.alert_last_at)
    save = sa.update(alert_keys).where(k.kind == sa.bindparam("b_kind"), k.key == sa.bindparam("b_key")).values(
        recent=sa.bindparam("recent"), campaigns=sa.bindparam("campaigns"), alert_id=sa.bindparam("alert_id"),
        alert_last_at=sa.bindparam("alert_last_at"))
    join = insert(alert_tips).values(alert_id=sa.bindparam("alert_id"), tip_id=sa.bindparam("tip_id"),
                                     added_at=sa.bindparam("now")).on_conflict_do_nothing(
        index_elements=["alert_id", "tip_id"])
    a = alerts.c
    grow = sa.update(alerts).where(a.id == sa.bindparam("b_id")).values(
        tips=a.tips + 1, last_tip_at=sa.case((a.last_tip_at < sa.bindparam("now"), sa.bindparam("now")),
                                             else_=a.last_tip_at))
    return {"lock": lock, "save": save, "join": join, "grow": grow}


_REPORTER = sa.select(tips.c.reporter_ref).where(tips.c.id == sa.bindparam("tip_id"))


def utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def on_tip(conn: sa.Connection, *, tip_id: int, indicators: Iterable[tuple[str, str]], pretext: str | None,
           commune_code: str | None, now: datetime, rules: AlertRules, cipher: Cipher) -> list[Raised]:
    """Count a tip being filed towards its campaign keys (same transaction); the alerts it raised or joined."""
    if not rules.enabled:
        return []
    keys = campaign_keys(cipher, indicators, pretext, commune_code)
    if not keys:
        return []
    reporter = conn.execute(_REPORTER, {"tip_id": tip_id}).scalar_one()
    who = hashlib.sha256(str(reporter).encode()).hexdigest()[:16]
    gap = timedelta(hours=rules.campaign_gap_hours)
    out: list[Raised] = []
    for kind, key, value in keys:
        found = _count(conn, kind=kind, key=key, value=value, rule=rules.rule(kind), gap=gap, tip_id=tip_id, who=who,
                       now=now, cipher=cipher)
        if found is not None:
            out.append(found)
    return out


def _count(conn: sa.Connection, *, kind: str, key: str, value: str, rule: Rule, gap: timedelta, tip_id: int,
           who: str, now: datetime, cipher: Cipher) -> Raised | None:
    sql = _statements(conn.dialect.name)
    row = conn.execute(sql["lock"], {"kind": kind, "key": key, "now": now}).one()
    at = now.timestamp()
    since = at - rule.window_minutes * 60
    earlier = json.loads(row.recent)
    # In order (the usual case: tips arrive as they are filed) the window ending now is all that changes, and the
    # kept reporters decide it. A tip from before the newest one seen (another process filed a later one first)
    # also changes the windows ending after it: those are counted from the tips themselves, once.
    in_order = all(e[0] <= at for e in earlier)
    recent = [e for e in earlier if e[0] > since and e[1] != who]
    recent.append([at, who, tip_id])
    recent.sort(key=lambda e: e[0])
    recent = recent[-rule.threshold:]
    hot = len(recent) >= rule.threshold if in_order else _hot_around(conn, kind=kind, key=key, now=now, rule=rule)
    state = {"b_kind": kind, "b_key": key, "recent": json.dumps(recent), "campaigns": row.campaigns,
             "alert_id": row.alert_id, "alert_last_at": row.alert_last_at}
    result: Raised | None = None
    last = utc(row.alert_last_at) if row.alert_last_at is not None else None
    if (row.alert_id is not None and last is not None and abs(now - last) <= gap
            and now > _raised_at(conn, row.alert_id) - timedelta(minutes=rule.window_minutes)):
        # The campaign goes on: this tip joins its alert. Only a tip that finds the window at the threshold
        # ("hot") extends the campaign, so a steady trickle (one pretext reported daily in a commune) ends it,
        # and the next wave is a new alert.
        conn.execute(sql["join"], {"alert_id": row.alert_id, "tip_id": tip_id, "now": now})
        conn.execute(sql["grow"], {"b_id": row.alert_id, "now": now})
        if hot:
            state["alert_last_at"] = max(last, now)
        result = Raised(row.alert_id, kind, key, new=False)
    elif hot:
        members = _window_tips(conn, kind=kind, key=key, since=now - timedelta(minutes=rule.window_minutes),
                               until=now + gap)
        members.setdefault(tip_id, now)
        sealed = None if kind == "pretext_commune" else cipher.seal_text(value, aad=value_aad(kind, key))
        alert_id = _raise(conn, kind=kind, key=key, sealed=sealed, seq=row.campaigns + 1, rule=rule,
                          members=members, now=now)
        state.update(campaigns=row.campaigns + 1, alert_id=alert_id, alert_last_at=now)
        result = Raised(alert_id, kind, key, new=True)
    conn.execute(sql["save"], state)
    return result


def _raised_at(conn: sa.Connection, alert_id: int) -> datetime:
    """When the campaign was raised (the raising tip's time): a late-arriving tip from before its window is not
    part of it — it is counted as in-order tips would have been."""
    return utc(conn.execute(_STARTED, {"alert_id": alert_id}).scalar_one())


_STARTED = sa.select(alerts.c.raised_at).where(alerts.c.id == sa.bindparam("alert_id"))


def _hot_around(conn: sa.Connection, *, kind: str, key: str, now: datetime, rule: Rule) -> bool:
    """Does a window ending at or after ``now`` (and so holding the tip of ``now``) reach the threshold?"""
    width = timedelta(minutes=rule.window_minutes)
    if kind == "pretext_commune":
        pretext, _, commune = key.partition("@")
        c = tip_cases.c
        query = (sa.select(tips.c.reporter_ref, c.created_at).select_from(tip_cases.join(tips, tips.c.id == c.tip_id))
                 .where(c.commune_code == commune, c.pretext == pretext, c.created_at > now - width,
                        c.created_at < now + width))
    else:
        t = tip_indicators.c
        query = (sa.select(tips.c.reporter_ref, t.created_at)
                 .select_from(tip_indicators.join(tips, tips.c.id == t.tip_id))
                 .where(t.kind == kind, t.value_key == key, t.created_at > now - width, t.created_at < now + width))
    seen = sorted((utc(r.created_at), r.reporter_ref) for r in conn.execute(query))
    for end, _who in seen:
        if end >= now and len({w for at, w in seen if end - width < at <= end}) >= rule.threshold:
            return True
    return False


def _window_tips(conn: sa.Connection, *, kind: str, key: str, since: datetime, until: datetime
                 ) -> dict[int, datetime]:
    """The key's tips since the window opened (once, when an alert is raised: the campaign's first tips), up to
    the campaign's gap after it: a tip of a later moment that another process filed first belongs to it too, one
    from after the gap does not."""
    if kind == "pretext_commune":
        pretext, _, commune = key.partition("@")
        c = tip_cases.c
        query = sa.select(c.tip_id, c.created_at).where(c.commune_code == commune, c.created_at > since,
                                                         c.created_at <= until, c.pretext == pretext)
    else:
        t = tip_indicators.c
        query = sa.select(t.tip_id, t.created_at).where(t.kind == kind, t.value_key == key, t.created_at > since,
                                                        t.created_at <= until)
    return {int(r.tip_id): utc(r.created_at) for r in conn.execute(query)}


def _raise(conn: sa.Connection, *, kind: str, key: str, sealed: str | None, seq: int, rule: Rule,
           members: Mapping[int, datetime], now: datetime) -> int:
    pretext: str | None = None
    commune: str | None = None
    if kind == "pretext_commune":
        pretext, _, commune = key.partition("@")
    first = min(members.values())
    inserted = conn.execute(_insert(conn, alerts).values(
        kind=kind, key=key, value_sealed=sealed, seq=seq, pretext=pretext, commune_code=commune,
        threshold=rule.threshold, window_minutes=rule.window_minutes, first_tip_at=first,
        last_tip_at=max(now, *members.values()), raised_at=now, tips=len(members), status="open",
        post_status="pending", post_attempts=0,
    ).on_conflict_do_nothing(index_elements=["kind", "key", "seq"]).returning(alerts.c.id)).scalar()
    if inserted is None:  # cannot happen under the key's lock; the constraint is the last line of defence
        return int(conn.execute(sa.select(alerts.c.id).where(alerts.c.kind == kind, alerts.c.key == key,
                                                             alerts.c.seq == seq)).scalar_one())
    _attach(conn, alert_id=int(inserted), tip_ids=sorted(members), now=now)
    return int(inserted)


def _attach(conn: sa.Connection, *, alert_id: int, tip_ids: list[int], now: datetime) -> None:
    if tip_ids:
        conn.execute(_insert(conn, alert_tips).on_conflict_do_nothing(index_elements=["alert_id", "tip_id"]),
                     [{"alert_id": alert_id, "tip_id": t, "added_at": now} for t in tip_ids])


# ----- posting to the officers' Telegram group ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AlertSummary:
    """An alert as a card or a list row shows it: codes and counts, nothing about any parent."""

    id: int
    kind: str
    key: str
    value: str  # the number / domain / account (opened), or the pretext@commune code
    pretext: str | None
    commune_code: str | None
    tips: int
    threshold: int
    window_minutes: int
    first_tip_at: datetime
    last_tip_at: datetime
    raised_at: datetime
    status: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    post_status: str


SUMMARY_COLUMNS = (alerts.c.id, alerts.c.kind, alerts.c.key, alerts.c.value_sealed, alerts.c.pretext,
                   alerts.c.commune_code, alerts.c.tips, alerts.c.threshold, alerts.c.window_minutes,
                   alerts.c.first_tip_at, alerts.c.last_tip_at, alerts.c.raised_at, alerts.c.status,
                   alerts.c.acknowledged_by, alerts.c.acknowledged_at, alerts.c.post_status)


def summary_from(row: Any, cipher: Cipher) -> AlertSummary:
    return AlertSummary(
        id=row.id, kind=row.kind, key=row.key,
        value=shown_value(cipher, kind=row.kind, key=row.key, sealed=row.value_sealed), pretext=row.pretext,
        commune_code=row.commune_code, tips=row.tips,
        threshold=row.threshold, window_minutes=row.window_minutes, first_tip_at=utc(row.first_tip_at),
        last_tip_at=utc(row.last_tip_at), raised_at=utc(row.raised_at), status=row.status,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=utc(row.acknowledged_at) if row.acknowledged_at is not None else None,
        post_status=row.post_status)


def claim_posts(conn: sa.Connection, *, cipher: Cipher, now: datetime, lease_seconds: float = 120, limit: int = 10,
                max_age_hours: float = 24) -> list[AlertSummary]:
    """Alerts waiting for the officers' group, claimed for ``lease_seconds`` (another process takes over a
    claim that ran out: at least once). Alerts raised more than ``max_age_hours`` ago are marked skipped:
    a group that was configured later is not flooded with old news."""
    a = alerts.c
    conn.execute(sa.update(alerts).where(a.post_status == "pending", a.raised_at < now - timedelta(hours=max_age_hours))
                 .values(post_status="skipped"))
    stale = now - timedelta(seconds=lease_seconds)
    ids = [r.id for r in conn.execute(
        sa.select(a.id).where(a.post_status == "pending",
                              sa.or_(a.post_claimed_at.is_(None), a.post_claimed_at < stale))
        .order_by(a.id).limit(limit))]
    claimed = []
    for alert_id in ids:
        won = conn.execute(sa.update(alerts).where(
            a.id == alert_id, a.post_status == "pending",
            sa.or_(a.post_claimed_at.is_(None), a.post_claimed_at < stale)).values(
            post_claimed_at=now, post_attempts=a.post_attempts + 1)).rowcount
        if won:
            claimed.append(alert_id)
    if not claimed:
        return []
    rows = conn.execute(sa.select(*SUMMARY_COLUMNS).where(a.id.in_(claimed)).order_by(a.id))
    return [summary_from(r, cipher) for r in rows]


def posted(conn: sa.Connection, *, alert_id: int, now: datetime) -> None:
    conn.execute(sa.update(alerts).where(alerts.c.id == alert_id).values(post_status="posted", posted_at=now,
                                                                         post_error=None))


def post_failed(conn: sa.Connection, *, alert_id: int, error: str, permanent: bool, max_attempts: int = 8) -> None:
    """Keep the claim (the lease makes the next try wait) unless it is hopeless: then the post is dead."""
    a = alerts.c
    row = conn.execute(sa.select(a.post_attempts).where(a.id == alert_id)).first()
    dead = permanent or (row is not None and row.post_attempts >= max_attempts)
    conn.execute(sa.update(alerts).where(a.id == alert_id).values(
        post_error=error[:255], **({"post_status": "dead"} if dead else {})))
