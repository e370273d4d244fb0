"""What a tip shares with others and what is done about it: its cluster, blocklisting its indicators, and the
takedown referrals (telco, bank, registrar, platform) tracked per indicator.

Keyed by the indicator rather than the tip, so every tip of a cluster shows the same blocklist state and the
same referral tracker. Changes are audited and written to the source tip's history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from storage import audit, indicators
from storage.crypto import Cipher
from storage.reference import BlocklistEntry, add_to_blocklist
from storage.reference_schema import blocklist
from storage.schema import tip_indicators
from storage.workflow import Viewer, WorkflowError, record_event, require_case, visible
from storage.workflow_schema import referrals, tip_cases

BLOCKABLE = ("phone", "domain", "bank_account")
TARGETS = {"phone": ("telco", "platform"), "domain": ("registrar", "platform"), "bank_account": ("bank",)}
REFERRAL_STATUSES = ("requested", "acknowledged", "done", "refused")
SHOW_OTHERS = 20


@dataclass(frozen=True, slots=True)
class Sibling:
    reference: str
    created_at: datetime
    status: str


@dataclass(frozen=True, slots=True)
class Referral:
    id: int
    kind: str
    value: str
    target: str
    status: str
    requested_at: datetime
    updated_at: datetime
    note: str | None


@dataclass(frozen=True, slots=True)
class ClusterEntry:
    """One indicator of the tip with everything that names it."""

    kind: str
    value: str
    tips: int  # tips naming it, this one included (all units: a count identifies nobody)
    reporters: int
    first_seen: datetime
    last_seen: datetime
    blocked: bool
    others: list[Sibling] = field(default_factory=list)  # the ones the viewer may open, newest first
    referrals: list[Referral] = field(default_factory=list)


def _key(cipher: Cipher, kind: str, value: str) -> str:
    return cipher.blind_index(f"{kind}:{value}", purpose="referral")


def _ref_aad(kind: str) -> str:
    return f"referrals.indicator:{kind}"


def _note_aad(referral_id: int) -> str:
    return f"referrals.note:{referral_id}"


def cluster(conn: sa.Connection, *, viewer: Viewer, tip_id: int, cipher: Cipher) -> list[ClusterEntry]:
    """The tip's indicators with their counts, the other tips naming them and their referrals."""
    require_case(conn, viewer, tip_id)
    t = tip_indicators.c
    out: list[ClusterEntry] = []
    # Matched on the blind index; only this tip's own sealed values are opened, for the page.
    for named in indicators.named_by(conn, cipher=cipher, tip_ids=[tip_id]).get(tip_id, []):
        kind, value, key = named.kind, named.value, named.key
        tips_n, reporters, first, last = conn.execute(
            sa.select(sa.func.count(sa.distinct(t.tip_id)), sa.func.count(sa.distinct(t.reporter_key)),
                      sa.func.min(t.created_at), sa.func.max(t.created_at))
            .where(t.kind == kind, t.value_key == key)).one()
        others = [Sibling(r.reference, r.created_at, r.status) for r in conn.execute(
            sa.select(tip_cases.c.reference, tip_cases.c.created_at, tip_cases.c.status)
            .where(tip_cases.c.tip_id.in_(sa.select(t.tip_id).where(t.kind == kind, t.value_key == key)),
                   tip_cases.c.tip_id != tip_id, visible(viewer))
            .order_by(tip_cases.c.created_at.desc()).limit(SHOW_OTHERS))]
        blocked = conn.execute(sa.select(blocklist.c.kind).where(blocklist.c.kind == kind,
                                                                 blocklist.c.value == value)).first() is not None
        out.append(ClusterEntry(kind, value, int(tips_n), int(reporters), first, last, blocked, others,
                                _referrals_of(conn, cipher=cipher, kind=kind, value=value)))
    return out


def block_indicators(conn: sa.Connection, *, viewer: Viewer, tip_id: int, picks: list[tuple[str, str]],
                     now: datetime, cipher: Cipher, ip: str | None = None) -> int:
    """Put chosen indicators of this tip on the blocklist, the tip as the source. Returns how many are new."""
    case = require_case(conn, viewer, tip_id)
    named = set(indicators.of_tip(conn, cipher=cipher, tip_id=tip_id))
    chosen = [(k, v) for k, v in dict.fromkeys(picks) if (k, v) in named and k in BLOCKABLE]
    if not chosen:
        raise WorkflowError("choose at least one number, domain or account of this tip")
    note = f"Xác nhận lừa đảo từ báo cáo {case.reference}"
    added, _updated = add_to_blocklist(conn, entries=[BlocklistEntry(k, v, note) for k, v in chosen], now=now)
    detail = {"count": len(chosen), "kinds": sorted({k for k, _v in chosen})}
    record_event(conn, tip_id=tip_id, actor=viewer.actor, action="blocklist", detail=detail, now=now)
    for kind, value in chosen:
        # The blocklist is not personal data (a scammer's number), so the audit names the entry.
        audit.record(conn, actor=viewer.actor, action="blocklist.add", subject=case.reference, now=now,
                     detail=f"{kind} {value}" + (f" from {ip}" if ip else ""))
    return added


def _referrals_of(conn: sa.Connection, *, cipher: Cipher, kind: str, value: str) -> list[Referral]:
    rows = conn.execute(sa.select(referrals).where(referrals.c.indicator_kind == kind,
                                                   referrals.c.indicator_key == _key(cipher, kind, value))
                        .order_by(referrals.c.id))
    return [Referral(r.id, kind, value, r.target, r.status, r.requested_at, r.updated_at,
                     cipher.open_text(r.note, aad=_note_aad(r.id)) if r.note else None) for r in rows]


def add_referral(conn: sa.Connection, *, viewer: Viewer, tip_id: int, kind: str, value: str, target: str,
                 cipher: Cipher, now: datetime, note: str | None = None, ip: str | None = None) -> int:
    """Record a takedown request for one of this tip's indicators."""
    case = require_case(conn, viewer, tip_id)
    if target not in TARGETS.get(kind, ()):
        raise WorkflowError(f"a {kind} is referred to one of: {', '.join(TARGETS.get(kind, ())) or 'nobody'}")
    if not indicators.tip_names(conn, cipher=cipher, tip_id=tip_id, kind=kind, value=value):
        raise WorkflowError("that indicator is not in this tip")
    referral_id = int(conn.execute(sa.insert(referrals).returning(referrals.c.id), {
        "indicator_kind": kind, "indicator_key": _key(cipher, kind, value),
        "indicator_sealed": cipher.seal_text(value, aad=_ref_aad(kind)), "target": target, "status": "requested",
        "tip_id": tip_id, "requested_at": now, "updated_at": now, "updated_by": viewer.actor}).scalar_one())
    if note and note.strip():
        conn.execute(sa.update(referrals).where(referrals.c.id == referral_id).values(
            note=cipher.seal_text(note.strip()[:2000], aad=_note_aad(referral_id))))
    record_event(conn, tip_id=tip_id, actor=viewer.actor, action="referral",
                 detail={"id": referral_id, "kind": kind, "target": target, "status": "requested"}, now=now)
    audit.record(conn, actor=viewer.actor, action="referral.add", subject=case.reference, now=now,
                 detail=f"#{referral_id} {kind} → {target}" + (f" from {ip}" if ip else ""))
    return referral_id


def update_referral(conn: sa.Connection, *, viewer: Viewer, tip_id: int, referral_id: int, status: str,
                    cipher: Cipher, now: datetime, note: str | None = None, ip: str | None = None) -> None:
    """Move a referral on (acknowledged by the telco, done, refused), seen from one tip of its cluster."""
    if status not in REFERRAL_STATUSES:
        raise WorkflowError(f"unknown referral status {status!r}")
    case = require_case(conn, viewer, tip_id)
    row = conn.execute(sa.select(referrals).where(referrals.c.id == referral_id)).first()
    if row is None:
        raise WorkflowError("no such referral")
    # Visible through this tip only if the tip names the indicator the referral is about.
    value = cipher.open_text(row.indicator_sealed, aad=_ref_aad(row.indicator_kind))
    if not indicators.tip_names(conn, cipher=cipher, tip_id=tip_id, kind=row.indicator_kind, value=value):
        raise WorkflowError("no such referral")
    values: dict[str, object] = {"status": status, "updated_at": now, "updated_by": viewer.actor}
    if note and note.strip():
        values["note"] = cipher.seal_text(note.strip()[:2000], aad=_note_aad(referral_id))
    conn.execute(sa.update(referrals).where(referrals.c.id == referral_id).values(**values))
    record_event(conn, tip_id=tip_id, actor=viewer.actor, action="referral",
                 detail={"id": referral_id, "status": status}, now=now)
    audit.record(conn, actor=viewer.actor, action="referral.update", subject=case.reference, now=now,
                 detail=f"#{referral_id} → {status}" + (f" from {ip}" if ip else ""))


def referral_counts(conn: sa.Connection) -> dict[tuple[str, str, str], int]:
    """(kind, target, status) → count, for the supervisors' report."""
    rows = conn.execute(sa.select(referrals.c.indicator_kind, referrals.c.target, referrals.c.status, sa.func.count())
                        .group_by(referrals.c.indicator_kind, referrals.c.target, referrals.c.status))
    return {(k, t, s): int(n) for k, t, s, n in rows}
