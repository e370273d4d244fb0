"""Parents subscribed to scam warnings for their school and/or commune: units of work for ``Database.run``.

A subscription is one chat (keyed hash, chat id sealed) with what it asked for and the consent it gave (when,
and which wording). "dừng" stops it; a platform saying the parent blocked the bot marks it ``blocked`` so the
next broadcast skips it; "forget me" deletes it. Audiences are plain indexed facets (school id, commune code
or folded name), counted without opening anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage import audit
from storage.content_schema import subscriptions
from storage.crypto import Cipher

WORDING = "subscribe.v1"  # handlers/flows/subscribe.yaml's consent text; bump it when that text changes
STATUSES = ("active", "stopped", "blocked")
AUDIENCES = ("all", "schools", "communes")
_S = subscriptions.c


class AudienceError(ValueError):
    """An audience the broadcast cannot be sent to (unknown kind, no values)."""


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a broadcast goes to: every active subscriber, or those of some schools / some communes."""

    kind: str = "all"
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in AUDIENCES:
            raise AudienceError(f"audience must be one of {', '.join(AUDIENCES)}")
        if self.kind != "all" and not self.values:
            raise AudienceError(f"name at least one of the {self.kind}")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "values": list(self.values)}

    @classmethod
    def from_json(cls, data: Any) -> Audience:
        data = data if isinstance(data, dict) else {}
        return cls(str(data.get("kind", "all")), tuple(str(v) for v in data.get("values") or ()))


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    channel: str
    chat_ref: str
    locale: str
    school_id: str | None
    school_name: str | None
    commune_code: str | None
    commune_key: str | None
    commune_name: str | None
    status: str
    consent_at: datetime


def chat_aad(channel: str, ref: str) -> str:
    return f"subscriptions.chat:{channel}:{ref}"


def _insert(conn: sa.Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


_COLUMNS = (_S.id, _S.channel, _S.chat_ref, _S.locale, _S.school_id, _S.school_name, _S.commune_code,
            _S.commune_key, _S.commune_name, _S.status, _S.consent_at)


def _row(r: Any) -> Subscription:
    return Subscription(**{c.name: r._mapping[c.name] for c in _COLUMNS})


def subscribe(conn: sa.Connection, *, channel: str, ref: str, chat_id: str, locale: str, school_id: str | None,
              school_name: str | None, commune_code: str | None, commune_key: str | None,
              commune_name: str | None, now: datetime, cipher: Cipher, wording: str = WORDING) -> Subscription:
    """Start (or renew, with new choices) the chat's subscription, recording the consent given now."""
    values = {"chat": cipher.seal_json({"chat_id": chat_id}, aad=chat_aad(channel, ref)), "locale": locale,
              "school_id": school_id, "school_name": school_name and school_name[:255],
              "commune_code": commune_code, "commune_key": commune_key and commune_key[:128],
              "commune_name": commune_name and commune_name[:128], "status": "active", "consent_at": now,
              "consent_wording": wording, "updated_at": now}
    stmt = _insert(conn)(subscriptions).values(channel=channel, chat_ref=ref, created_at=now, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["channel", "chat_ref"], set_=values))
    audit.record(conn, actor="parent", action="subscription.start", subject=ref, now=now,
                 detail=f"{channel}: school {school_id or '-'}, commune {commune_code or commune_key or '-'}, "
                        f"consent {wording}")
    found = of_chat(conn, channel=channel, ref=ref)
    assert found is not None
    return found


def of_chat(conn: sa.Connection, *, channel: str, ref: str) -> Subscription | None:
    row = conn.execute(sa.select(*_COLUMNS).where(_S.channel == channel, _S.chat_ref == ref)).first()
    return _row(row) if row is not None else None


def stop(conn: sa.Connection, *, channel: str, ref: str, now: datetime, actor: str = "parent") -> bool:
    """The parent said "dừng": no more warnings, the chat id is dropped. False when nothing was active."""
    done = conn.execute(sa.update(subscriptions).where(_S.channel == channel, _S.chat_ref == ref,
                                                       _S.status == "active")
                        .values(status="stopped", chat=None, updated_at=now)).rowcount
    if done:
        audit.record(conn, actor=actor, action="subscription.stop", subject=ref, now=now, detail=channel)
    return bool(done)


def mark_blocked(conn: sa.Connection, *, subscription_id: int, now: datetime) -> None:
    """The platform says the parent blocked the bot: skipped by every later broadcast."""
    conn.execute(sa.update(subscriptions).where(_S.id == subscription_id)
                 .values(status="blocked", chat=None, updated_at=now))


def forget(conn: sa.Connection, *, ref: str) -> int:
    """"Forget me": the chat's subscriptions go, with their delivery rows — counted first into the broadcasts'
    tallies, so the console and the monthly report keep their figures without keeping the parent."""
    from storage.broadcast_retention import fold_for_subscriptions  # it reads this module's table, not its code

    fold_for_subscriptions(conn, ids=sa.select(_S.id).where(_S.chat_ref == ref))
    return conn.execute(sa.delete(subscriptions).where(_S.chat_ref == ref)).rowcount


def chat_id_of(conn: sa.Connection, *, subscription_id: int, cipher: Cipher) -> str | None:
    """The chat to send to, or None once the subscription stopped (its chat id was dropped)."""
    row = conn.execute(sa.select(_S.channel, _S.chat_ref, _S.chat, _S.status)
                       .where(_S.id == subscription_id)).first()
    if row is None or row.chat is None or row.status != "active":
        return None
    return str(cipher.open_json(row.chat, aad=chat_aad(row.channel, row.chat_ref))["chat_id"])


def audience_filter(audience: Audience) -> sa.ColumnElement[bool]:
    """The active subscriptions an audience names (schools by id; communes by code or folded name)."""
    active = _S.status == "active"
    if audience.kind == "schools":
        return sa.and_(active, _S.school_id.in_(list(audience.values)))
    if audience.kind == "communes":
        values = list(audience.values)
        return sa.and_(active, sa.or_(_S.commune_code.in_(values), _S.commune_key.in_(values)))
    return active


def count_audience(conn: sa.Connection, *, audience: Audience) -> dict[str, int]:
    """Active recipients per channel."""
    rows = conn.execute(sa.select(_S.channel, sa.func.count()).where(audience_filter(audience))
                        .group_by(_S.channel).order_by(_S.channel))
    return {channel: int(n) for channel, n in rows}


def summary(conn: sa.Connection) -> dict[str, Any]:
    """Subscribers by status, and the schools and communes with the most active ones (the compose page)."""
    by_status = {s: int(n) for s, n in conn.execute(sa.select(_S.status, sa.func.count()).group_by(_S.status))}
    schools = [(sid, name, int(n)) for sid, name, n in conn.execute(
        sa.select(_S.school_id, sa.func.max(_S.school_name), sa.func.count())
        .where(_S.status == "active", _S.school_id.is_not(None)).group_by(_S.school_id)
        .order_by(sa.func.count().desc()).limit(50))]
    communes = [(key, name, int(n)) for key, name, n in conn.execute(
        sa.select(sa.func.coalesce(_S.commune_code, _S.commune_key), sa.func.max(_S.commune_name), sa.func.count())
        .where(_S.status == "active", sa.or_(_S.commune_code.is_not(None), _S.commune_key.is_not(None)))
        .group_by(sa.func.coalesce(_S.commune_code, _S.commune_key))
        .order_by(sa.func.count().desc()).limit(50))]
    return {"by_status": by_status, "schools": schools, "communes": communes}


def add_many(conn: sa.Connection, *, rows: Sequence[dict[str, Any]], now: datetime, cipher: Cipher) -> int:
    """Bulk subscriptions (tests and benchmarks): dicts with channel, ref, chat_id and optional facets."""
    values = [{"channel": r["channel"], "chat_ref": r["ref"],
               "chat": cipher.seal_json({"chat_id": r["chat_id"]}, aad=chat_aad(r["channel"], r["ref"])),
               "locale": r.get("locale", "vi"), "school_id": r.get("school_id"), "school_name": r.get("school_name"),
               "commune_code": r.get("commune_code"), "commune_key": r.get("commune_key"),
               "commune_name": r.get("commune_name"), "status": "active", "consent_at": now,
               "consent_wording": WORDING, "created_at": now, "updated_at": now} for r in rows]
    if values:
        conn.execute(sa.insert(subscriptions), values)
    return len(values)
