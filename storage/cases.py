"""Opening a tip's case: its plain facets, tags and search terms, decided once when the tip is filed.

Called inside the transaction that files the tip (:func:`storage.tips.create_tip`), so a tip never exists
without its case. Facets are codes from the report (pretext, what was asked, verdict…) — nothing that
identifies anyone. Search terms are keyed hashes (``Cipher.blind_index``) of the words of the message text
and of the indicators, so the queue can search a million tips without decrypting one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage.alerts import AlertRules, on_tip
from storage.alerts_tally import tally
from storage.crypto import Cipher
from storage.schema import tips
from storage.units import route_tip
from storage.workflow_schema import seconds_between, tip_cases, tip_tags, tip_terms

SEARCH_PURPOSE = "search"
MAX_WORD_TERMS = 300  # a pasted essay does not need every word indexed; scam texts are short
_VERDICT_RANK = {"scam": 3, "suspicious": 2, "no_red_flags": 1}
_HARM_NOW = frozenset({"otp", "password", "card"})
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class CaseTargets:
    """Minutes to the first officer action by priority (2: harm now, 1: urgent); 0 means no target."""

    harm_minutes: int = 15
    urgent_minutes: int = 60
    # Campaign alerts counted as the tip is filed (storage.alerts); settings ``alerts``.
    alerts: AlertRules = field(default_factory=AlertRules)


def fold(text: str) -> str:
    """Lower case without diacritics (đ → d): how parents type and how officers search."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def word_terms(text: str) -> list[str]:
    """The searchable words of a text, as terms (``w:<folded word>``), in order, without repeats."""
    words = dict.fromkeys(w for w in _WORD.findall(fold(text)) if len(w) >= 2)
    return [f"w:{w}" for w in list(words)[:MAX_WORD_TERMS]]


def indicator_terms(indicators: Iterable[tuple[str, str]]) -> list[str]:
    """Terms for what a tip names: ``phone:+84…``, ``domain:example.com``, ``bank_account:0123…``."""
    return [f"{kind}:{value}" for kind, value in indicators]


def hashed(cipher: Cipher, terms: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(cipher.blind_index(t, purpose=SEARCH_PURPOSE) for t in terms))


def _code(value: Any, limit: int = 32) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def verdict_of(slots: Mapping[str, Any]) -> str | None:
    """The strongest verdict of the checks the parent ran during the report."""
    found = [c.get("verdict") for c in (slots.get("link_check"), slots.get("call_check")) if isinstance(c, Mapping)]
    ranked = [v for v in found if isinstance(v, str) and v in _VERDICT_RANK]
    return max(ranked, key=_VERDICT_RANK.__getitem__) if ranked else None


def _codes(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    return [i[:32] for i in dict.fromkeys(items) if isinstance(i, str) and i and i != "nothing"]


def priority_of(slots: Mapping[str, Any], urgent: bool) -> int:
    """2 when money is moving or a secret was just handed over, 1 when urgent for another reason, else 0."""
    if slots.get("money_lost") == "yes" or _HARM_NOW & set(_codes(slots.get("shared"))):
        return 2
    return 1 if urgent else 0


def open_case(conn: sa.Connection, *, tip_id: int, reference: str, kind: str, channel: str, urgent: bool,
              slots: Mapping[str, Any], indicators: Iterable[tuple[str, str]], cipher: Cipher, now: datetime,
              targets: CaseTargets) -> None:
    """Write the case, tags and search terms of a tip being filed (same transaction)."""
    priority = priority_of(slots, urgent)
    minutes = {2: targets.harm_minutes, 1: targets.urgent_minutes}.get(priority, 0)
    commune = slots.get("commune")
    routing = route_tip(conn, tip_id=tip_id, commune_text=commune if isinstance(commune, str) else None, now=now)
    amount = slots.get("amount")
    conn.execute(sa.insert(tip_cases), {
        "tip_id": tip_id, "reference": reference, "kind": kind, "status": "new", "is_open": True,
        "priority": priority, "urgent": urgent, "unit_id": routing.unit_id, "commune_code": routing.commune_code,
        "pretext": _code(slots.get("pretext")), "verdict": verdict_of(slots), "channel": channel,
        "contact_channel": _code(slots.get("contact_channel"), 16),
        "money_lost": {"yes": True, "no": False}.get(str(slots.get("money_lost"))),
        "amount_vnd": amount if isinstance(amount, int) and 0 <= amount < 2**62 else None,
        "first_action_due": now + timedelta(minutes=minutes) if minutes else None,
        "created_at": now, "updated_at": now, "reply_received": False,
        "handoff_state": "requested" if kind == "handoff" else None,
    })
    tags = [{"facet": facet, "value": value, "tip_id": tip_id}
            for facet in ("asked", "shared") for value in _codes(slots.get(facet))]
    if tags:
        conn.execute(sa.insert(tip_tags), tags)
    text = slots.get("message_text")
    terms = indicator_terms(indicators) + (word_terms(text) if isinstance(text, str) else [])
    if terms:
        conn.execute(sa.insert(tip_terms), [{"term": t, "tip_id": tip_id} for t in hashed(cipher, terms)])
    # Same transaction: a tip is counted towards its campaigns exactly when it exists.
    on_tip(conn, tip_id=tip_id, indicators=indicators, pretext=_code(slots.get("pretext")),
           commune_code=routing.commune_code, now=now, rules=targets.alerts, cipher=cipher)
    tally(conn, tip_id=tip_id)  # the dashboard's daily counts


def forget_terms(conn: sa.Connection, *, tip_id: int) -> None:
    """Drop the words of a tip's message from the search index (retention, "forget me")."""
    conn.execute(sa.delete(tip_terms).where(tip_terms.c.tip_id == tip_id))


def backfill_cases(conn: sa.Connection, *, cipher: Cipher, now: datetime, targets: CaseTargets,
                   batch: int = 500) -> int:
    """Open cases for tips filed before the workflow existed (idempotent; run at start-up)."""
    from storage.indicators import of_tip
    from storage.tips import open_data

    missing = conn.execute(
        sa.select(tips.c.id, tips.c.reference, tips.c.channel, tips.c.urgent, tips.c.data, tips.c.created_at,
                  tips.c.status)
        .where(tips.c.reference.is_not(None), ~sa.exists().where(tip_cases.c.tip_id == tips.c.id))
        .order_by(tips.c.id).limit(batch)).all()
    for row in missing:
        slots = dict(open_data(cipher, row.id, row.data).get("slots") or {})
        found = of_tip(conn, cipher=cipher, tip_id=row.id)  # sealed first: bot/runtime.py runs seal_legacy before
        open_case(conn, tip_id=row.id, reference=row.reference, kind="report", channel=row.channel,
                  urgent=bool(row.urgent), slots=slots, indicators=found, cipher=cipher,
                  now=row.created_at, targets=targets)
        if row.status == "closed":
            conn.execute(sa.update(tip_cases).where(tip_cases.c.tip_id == row.id).values(
                status="closed", is_open=False, closed_at=now, close_seconds=seconds_between(row.created_at, now)))
    return len(missing)
