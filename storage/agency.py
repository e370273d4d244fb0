"""Schools and communes report too: reporter accounts bound to their agency, their incident reports (tips of kind
"agency" in the same queue, clusters and alerts), and a school's proposed changes to its official numbers.

Units of work, keyword-only. An agency's report is filed with :func:`storage.tips.create_tip` like a parent's,
from the console "chat" ``agency-<account id>``, so it is sealed, searchable, clustered and counted towards
campaign alerts the same way; the account's agency and the number of parents affected ride in its slots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage import audit
from storage.alerts import utc
from storage.alerts_schema import agency_accounts, directory_proposals
from storage.cases import CaseTargets
from storage.conversations import chat_ref
from storage.crypto import Cipher
from storage.intake_schema import unit_communes
from storage.keys import ConversationKey
from storage.reference_schema import school_phones, schools
from storage.tips import Indicator, create_tip
from storage.users import UserError, get_user
from storage.workflow_schema import tip_cases

CHANNEL = "console"  # tip_cases.channel of an agency's report


@dataclass(frozen=True, slots=True)
class Agency:
    user_id: int
    kind: str  # school | commune
    code: str
    name: str
    commune_code: str | None
    commune_name: str | None


def chat_key(user_id: int) -> ConversationKey:
    return ConversationKey(CHANNEL, f"agency-{user_id}")


def agency_of(conn: sa.Connection, *, user_id: int) -> Agency | None:
    row = conn.execute(sa.select(agency_accounts).where(agency_accounts.c.user_id == user_id)).first()
    if row is None:
        return None
    return Agency(row.user_id, row.agency_kind, row.agency_code, row.agency_name, row.commune_code, row.commune_name)


def bind(conn: sa.Connection, *, user_id: int, kind: str, code: str, actor: str, now: datetime) -> Agency:
    """Bind a reporter account to a school (directory id) or a commune (code); replaces an earlier binding."""
    user = get_user(conn, user_id=user_id)
    if user is None or user.role != "reporter":
        raise UserError("only an account with the reporter role is bound to an agency",
                        vi="Chỉ tài khoản vai trò “trường / xã báo cáo” mới gắn với cơ quan.")
    code = code.strip()
    if kind == "school":
        school = conn.execute(sa.select(schools.c.name, schools.c.commune).where(schools.c.id == code)).first()
        if school is None:
            raise UserError(f"no school {code!r} in the directory", vi=f"Không có trường mã {code!r}.")
        name = school.name
        commune = conn.execute(sa.select(unit_communes.c.commune_code, unit_communes.c.commune_name).where(
            sa.or_(unit_communes.c.commune_name == school.commune,
                   unit_communes.c.commune_name.like(f"% {school.commune}")))).first() if school.commune else None
        commune_code, commune_name = (commune.commune_code, commune.commune_name) if commune else (None, None)
    elif kind == "commune":
        commune = conn.execute(sa.select(unit_communes.c.commune_name).where(
            unit_communes.c.commune_code == code)).first()
        if commune is None:
            raise UserError(f"no commune {code!r} (hotline import units)", vi=f"Không có xã/phường mã {code!r}.")
        name, commune_code, commune_name = commune.commune_name, code, commune.commune_name
    else:
        raise UserError("an agency is a school or a commune", vi="Cơ quan là trường học hoặc xã/phường.")
    values = {"agency_kind": kind, "agency_code": code, "agency_name": name, "commune_code": commune_code,
              "commune_name": commune_name, "bound_by": actor, "bound_at": now}
    updated = conn.execute(sa.update(agency_accounts).where(agency_accounts.c.user_id == user_id).values(**values))
    if updated.rowcount == 0:
        conn.execute(sa.insert(agency_accounts).values(user_id=user_id, **values))
    audit.record(conn, actor=actor, action="user.agency", subject=f"user:{user_id}", now=now, detail=f"{kind} {code}")
    return Agency(user_id, kind, code, name, commune_code, commune_name)


def reporters(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every reporter account with its agency (for the admins' page)."""
    from storage.users_schema import console_users

    u, a = console_users.c, agency_accounts.c
    rows = conn.execute(sa.select(u.id, u.email, u.disabled_at, a.agency_kind, a.agency_code, a.agency_name)
                        .select_from(console_users.outerjoin(agency_accounts, a.user_id == u.id))
                        .where(u.role == "reporter").order_by(u.email))
    return [dict(r._mapping) for r in rows]


@dataclass(frozen=True, slots=True)
class IncidentReport:
    """What a school or commune tells the police about an incident (already redacted by the caller)."""

    what_happened: str
    parents: int
    pretext: str | None
    numbers: list[str]  # E.164
    domains: list[str]
    bank_accounts: list[str]
    measures: str
    money_lost_vnd: int | None
    urgent: bool


def file_report(conn: sa.Connection, *, agency: Agency, report: IncidentReport, cipher: Cipher, sinks: list[str],
                prefix: str, targets: CaseTargets, now: datetime) -> str:
    """File the incident as a tip of kind "agency" (routed by the agency's commune); returns its reference."""
    slots: dict[str, Any] = {
        "contact_channel": "other", "pretext": report.pretext, "message_text": report.what_happened,
        "measures_taken": report.measures, "parents_affected": report.parents,
        "agency": {"kind": agency.kind, "code": agency.code, "name": agency.name},
        "money_lost": "yes" if report.money_lost_vnd else "no", "commune": agency.commune_name,
    }
    if report.numbers:
        slots["caller_number"] = report.numbers[0]
        slots["other_numbers"] = report.numbers[1:]
    if report.money_lost_vnd:
        slots["amount"] = report.money_lost_vnd
    indicators = ([Indicator("phone", n) for n in report.numbers] + [Indicator("domain", d) for d in report.domains]
                  + [Indicator("bank_account", b) for b in report.bank_accounts])
    key = chat_key(agency.user_id)
    reference = create_tip(conn, key=key, user_id=key.chat_id, urgent=report.urgent or bool(report.money_lost_vnd),
                           data={"slots": {k: v for k, v in slots.items() if v is not None}, "locale": "vi",
                                 "consent": {"contact": True}},
                           attachments=[], indicators=indicators, sinks=sinks, prefix=prefix, now=now, cipher=cipher,
                           kind="agency", targets=targets)
    audit.record(conn, actor=f"officer:{agency.user_id}", action="agency.report", subject=reference, now=now,
                 detail=f"{agency.kind} {agency.code}")
    return reference


def my_reports(conn: sa.Connection, *, user_id: int, cipher: Cipher, limit: int = 50) -> list[dict[str, Any]]:
    """The account's own reports (reference, filed, status, outcome): found by the keyed chat hash, nothing opened."""
    from storage.schema import tips

    ref = chat_ref(cipher, chat_key(user_id))
    c = tip_cases.c
    rows = conn.execute(sa.select(c.reference, c.created_at, c.status, c.outcome)
                        .select_from(tip_cases.join(tips, tips.c.id == c.tip_id))
                        .where(tips.c.reporter_ref == ref).order_by(c.created_at.desc()).limit(limit))
    return [{"reference": r.reference, "created_at": utc(r.created_at), "status": r.status, "outcome": r.outcome}
            for r in rows]


# ----- a school's official numbers ---------------------------------------------------------------------------
def school_numbers(conn: sa.Connection, *, school_id: str) -> list[str]:
    return [r.phone for r in conn.execute(sa.select(school_phones.c.phone).where(school_phones.c.school_id == school_id)
                                          .order_by(school_phones.c.phone))]


def propose(conn: sa.Connection, *, agency: Agency, action: str, phone: str, note: str | None, now: datetime) -> int:
    """A school asks to add or remove one of its official numbers; an admin reviews it."""
    if agency.kind != "school":
        raise UserError("only a school keeps numbers in the directory", vi="Chỉ trường học có số trong danh bạ.")
    if action not in ("add", "remove"):
        raise UserError("add or remove", vi="Chọn thêm hoặc bỏ số.")
    if action == "remove" and phone not in school_numbers(conn, school_id=agency.code):
        raise UserError("that number is not listed for the school", vi="Số này không có trong danh bạ của trường.")
    proposal_id = int(conn.execute(sa.insert(directory_proposals).returning(directory_proposals.c.id), {
        "school_id": agency.code, "action": action, "phone": phone, "note": (note or "").strip()[:500] or None,
        "status": "pending", "proposed_by": agency.user_id, "proposed_at": now}).scalar_one())
    audit.record(conn, actor=f"officer:{agency.user_id}", action="directory.propose", subject=f"school:{agency.code}",
                 now=now, detail=f"#{proposal_id} {action} {phone}")
    return proposal_id


def proposals(conn: sa.Connection, *, status: str | None = "pending", school_id: str | None = None,
              limit: int = 200) -> list[dict[str, Any]]:
    p = directory_proposals.c
    query = (sa.select(directory_proposals, schools.c.name.label("school_name"))
             .select_from(directory_proposals.outerjoin(schools, schools.c.id == p.school_id))
             .order_by(p.proposed_at.desc()).limit(limit))
    if status:
        query = query.where(p.status == status)
    if school_id:
        query = query.where(p.school_id == school_id)
    return [dict(r._mapping) for r in conn.execute(query)]


def review(conn: sa.Connection, *, proposal_id: int, approve: bool, admin_id: int, now: datetime) -> None:
    """An admin approves (the directory changes at once) or rejects a pending proposal."""
    p = directory_proposals.c
    row = conn.execute(sa.select(directory_proposals).where(p.id == proposal_id, p.status == "pending")).first()
    if row is None:
        raise UserError("no such pending proposal", vi="Không còn đề xuất này.")
    if approve and row.action == "add" and row.phone not in school_numbers(conn, school_id=row.school_id):
        conn.execute(sa.insert(school_phones).values(school_id=row.school_id, phone=row.phone))
    elif approve and row.action == "remove":
        conn.execute(sa.delete(school_phones).where(school_phones.c.school_id == row.school_id,
                                                    school_phones.c.phone == row.phone))
    conn.execute(sa.update(directory_proposals).where(p.id == proposal_id).values(
        status="approved" if approve else "rejected", reviewed_by=admin_id, reviewed_at=now))
    audit.record(conn, actor=f"officer:{admin_id}", action="directory.review", subject=f"school:{row.school_id}",
                 now=now, detail=f"#{proposal_id} {'approved' if approve else 'rejected'} {row.action} {row.phone}")
