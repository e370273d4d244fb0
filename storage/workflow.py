"""The tip workflow: what officers do to a tip, through one set of functions for the console, the Telegram tip
cards and the CLI.

Every function is a synchronous unit of work (``await db.run(fn, ...)``) with keyword-only arguments. Every
change writes a ``tip_events`` row (the tip's history) and an ``audit_log`` row (who, when, what, from where)
in the same transaction, so neither can be missing. Visibility is decided here, once: an officer sees the
tips routed to their unit, a supervisor every unit; a tip outside the viewer's reach is simply not found, so
pages answer 404 rather than "forbidden" (which would confirm the reference exists).

Statuses: new → in_review → investigating → closed (with an outcome); a closed tip can be reopened (back to
in_review). Closing starts the retention clock (``tip_closures``); reopening stops it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage import audit
from storage.crypto import Cipher
from storage.schema import tip_attachments, tip_closures, tip_indicators, tips
from storage.tips import open_data
from storage.workflow_schema import seconds_between, tip_cases, tip_events, tip_notes

STATUSES = ("new", "in_review", "investigating", "closed")
OUTCOMES = ("confirmed_scam", "not_scam", "duplicate", "referred")
KINDS = ("report", "handoff", "agency")
READER_ROLES = frozenset({"officer", "supervisor"})
PROVINCE_ROLES = frozenset({"supervisor"})


class WorkflowError(Exception):
    """A change that is not allowed (unknown status, closing without an outcome, tip not visible…)."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is acting, as the workflow needs to know: their id, role and unit, and their audit name."""

    user_id: int
    role: str
    unit_id: str | None
    actor: str  # "officer:<id>" in the audit log; never a name or e-mail

    @property
    def reads_tips(self) -> bool:
        return self.role in READER_ROLES

    @property
    def whole_province(self) -> bool:
        return self.role in PROVINCE_ROLES

    @classmethod
    def officer(cls, user_id: int, role: str, unit_id: str | None) -> Viewer:
        return cls(user_id=user_id, role=role, unit_id=unit_id, actor=f"officer:{user_id}")


SYSTEM = Viewer(user_id=0, role="supervisor", unit_id=None, actor="system")


@dataclass(frozen=True, slots=True)
class CaseRow:
    """A tip as the queue shows it: plain facets only, nothing that identifies anyone."""

    tip_id: int
    reference: str
    kind: str
    status: str
    outcome: str | None
    urgent: bool
    priority: int
    unit_id: str | None
    commune_code: str | None
    pretext: str | None
    verdict: str | None
    channel: str
    contact_channel: str | None
    money_lost: bool | None
    amount_vnd: int | None
    assignee_id: int | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    first_action_due: datetime | None
    first_action_at: datetime | None
    reply_received: bool
    handoff_state: str | None

    @property
    def is_open(self) -> bool:
        return self.status != "closed"

    def first_action(self, now: datetime) -> str | None:
        """``met`` / ``missed`` / ``pending`` against the first-action target, or None without a target."""
        if self.first_action_due is None:
            return None
        due = _utc(self.first_action_due)
        if self.first_action_at is not None:
            return "met" if _utc(self.first_action_at) <= due else "missed"
        return "missed" if _utc(now) > due else "pending"


CASE_COLUMNS = tuple(tip_cases.c[name] for name in CaseRow.__slots__)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def case_from_row(row: Any) -> CaseRow:
    m = row._mapping
    return CaseRow(**{name: m[name] for name in CaseRow.__slots__})


def visible(viewer: Viewer) -> sa.ColumnElement[bool]:
    """The WHERE clause of what ``viewer`` may see."""
    if not viewer.reads_tips:
        return sa.false()
    if viewer.whole_province:
        return sa.true()
    if viewer.unit_id is None:
        return sa.false()
    return tip_cases.c.unit_id == viewer.unit_id


def case_of(conn: sa.Connection, *, viewer: Viewer, reference: str) -> CaseRow | None:
    """The case for ``reference`` if ``viewer`` may see it (None otherwise: answer 404)."""
    row = conn.execute(sa.select(*CASE_COLUMNS).where(tip_cases.c.reference == reference, visible(viewer))).first()
    return case_from_row(row) if row is not None else None


def case_by_id(conn: sa.Connection, *, viewer: Viewer, tip_id: int) -> CaseRow | None:
    row = conn.execute(sa.select(*CASE_COLUMNS).where(tip_cases.c.tip_id == tip_id, visible(viewer))).first()
    return case_from_row(row) if row is not None else None


def require_case(conn: sa.Connection, viewer: Viewer, tip_id: int) -> CaseRow:
    case = case_by_id(conn, viewer=viewer, tip_id=tip_id)
    if case is None:
        raise WorkflowError("no such tip")
    return case


# ----- history ---------------------------------------------------------------------------------------------
def record_event(conn: sa.Connection, *, tip_id: int, actor: str, action: str, detail: Mapping[str, Any] | None,
                 now: datetime) -> None:
    """Append one history row (codes and ids only in ``detail``, never a parent's words)."""
    conn.execute(sa.insert(tip_events), {"tip_id": tip_id, "at": now, "actor": actor, "action": action,
                                         "detail": json.dumps(dict(detail), ensure_ascii=False) if detail else None})


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


def events(conn: sa.Connection, *, tip_id: int) -> list[Event]:
    """The tip's history, oldest first."""
    rows = conn.execute(sa.select(tip_events.c.at, tip_events.c.actor, tip_events.c.action, tip_events.c.detail)
                        .where(tip_events.c.tip_id == tip_id).order_by(tip_events.c.id))
    return [Event(r.at, r.actor, r.action, json.loads(r.detail) if r.detail else {}) for r in rows]


def _changed(conn: sa.Connection, *, viewer: Viewer, case: CaseRow, action: str, detail: Mapping[str, Any],
             now: datetime, ip: str | None, values: Mapping[str, Any] | None = None) -> None:
    """Apply ``values`` to the case and record the change in its history and the audit log."""
    update: dict[str, Any] = {"updated_at": now, **(values or {})}
    if case.first_action_at is None and viewer.actor != "system":
        update["first_action_at"] = now  # the first officer action, whatever it is, meets the target
        update["first_action_seconds"] = seconds_between(case.created_at, now)
    if case.assignee_id is not None and case.assignee_id == viewer.user_id:
        update["assignee_active_at"] = now
    conn.execute(sa.update(tip_cases).where(tip_cases.c.tip_id == case.tip_id).values(**update))
    record_event(conn, tip_id=case.tip_id, actor=viewer.actor, action=action, detail=detail, now=now)
    where = f" from {ip}" if ip else ""
    audit.record(conn, actor=viewer.actor, action=f"tip.{action}", subject=case.reference, now=now,
                 detail=json.dumps(dict(detail), ensure_ascii=False) + where)


# ----- status ----------------------------------------------------------------------------------------------
def set_status(conn: sa.Connection, *, viewer: Viewer, tip_id: int, status: str, outcome: str | None = None,
               now: datetime, ip: str | None = None) -> CaseRow:
    """Move a tip to ``status``; closing needs an ``outcome``; "reopen" is a move from closed to in_review."""
    if status not in STATUSES:
        raise WorkflowError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    case = require_case(conn, viewer, tip_id)
    if status == "closed":
        if outcome not in OUTCOMES:
            raise WorkflowError(f"closing needs an outcome: one of {', '.join(OUTCOMES)}")
    elif outcome is not None:
        raise WorkflowError("an outcome is given only when closing")
    if status == case.status and outcome == case.outcome:
        return case
    values: dict[str, Any] = {"status": status, "is_open": status != "closed", "outcome": outcome}
    action = "status"
    if status == "closed":
        values["closed_at"] = now
        values["close_seconds"] = seconds_between(case.created_at, now)
        _start_retention(conn, tip_id=tip_id, now=now)
        # An officer's "not a scam" stops these reports counting against the number or domain for everyone.
        _dismiss(conn, tip_id=tip_id, dismissed=outcome == "not_scam")
        action = "close"
    elif case.status == "closed":
        values["closed_at"] = None
        values["close_seconds"] = None
        conn.execute(sa.delete(tip_closures).where(tip_closures.c.tip_id == tip_id,
                                                   tip_closures.c.anonymised_at.is_(None)))
        _dismiss(conn, tip_id=tip_id, dismissed=False)
        action = "reopen"
    conn.execute(sa.update(tips).where(tips.c.id == tip_id).values(status=status))
    _changed(conn, viewer=viewer, case=case, action=action, now=now, ip=ip, values=values,
             detail={"from": case.status, "to": status, **({"outcome": outcome} if outcome else {})})
    return require_case(conn, viewer, tip_id)


def _start_retention(conn: sa.Connection, *, tip_id: int, now: datetime) -> None:
    exists = conn.execute(sa.select(tip_closures.c.tip_id).where(tip_closures.c.tip_id == tip_id)).first()
    if exists is None:
        conn.execute(sa.insert(tip_closures).values(tip_id=tip_id, closed_at=now))
    else:
        conn.execute(sa.update(tip_closures).where(tip_closures.c.tip_id == tip_id,
                                                   tip_closures.c.anonymised_at.is_(None)).values(closed_at=now))


def _dismiss(conn: sa.Connection, *, tip_id: int, dismissed: bool) -> None:
    conn.execute(sa.update(tip_indicators).where(tip_indicators.c.tip_id == tip_id).values(dismissed=dismissed))


# ----- assignment ------------------------------------------------------------------------------------------
def assign(conn: sa.Connection, *, viewer: Viewer, tip_id: int, assignee_id: int | None, now: datetime,
           ip: str | None = None, assignee_unit: str | None = None) -> CaseRow:
    """Assign (``assignee_id``), take (the viewer's own id) or unassign (None).

    Officers may take a tip or give up their own; assigning someone else is a supervisor's job. Taking a new
    tip puts it in review.
    """
    case = require_case(conn, viewer, tip_id)
    if not viewer.whole_province:
        if assignee_id not in (viewer.user_id, None):
            raise WorkflowError("only a supervisor assigns tips to other officers")
        if assignee_id is None and case.assignee_id not in (viewer.user_id, None):
            raise WorkflowError("only a supervisor takes a tip away from another officer")
    if assignee_id == case.assignee_id:
        return case
    values: dict[str, Any] = {"assignee_id": assignee_id, "assigned_at": now if assignee_id else None,
                              "assignee_active_at": now if assignee_id else None}
    if assignee_id is not None and case.status == "new":
        values["status"] = "in_review"
        conn.execute(sa.update(tips).where(tips.c.id == tip_id).values(status="in_review"))
    action = "unassign" if assignee_id is None else ("take" if assignee_id == viewer.user_id else "assign")
    detail: dict[str, Any] = {"from": case.assignee_id, "to": assignee_id}
    if assignee_unit:
        detail["unit"] = assignee_unit
    _changed(conn, viewer=viewer, case=case, action=action, detail=detail, now=now, ip=ip, values=values)
    return require_case(conn, viewer, tip_id)


def release_idle(conn: sa.Connection, *, now: datetime, idle_minutes: int) -> int:
    """Give back to the queue the open tips whose assignee has done nothing on them for ``idle_minutes``."""
    before = now - timedelta(minutes=idle_minutes)
    rows = conn.execute(sa.select(*CASE_COLUMNS).where(
        tip_cases.c.is_open.is_(True), tip_cases.c.assignee_id.is_not(None),
        tip_cases.c.assignee_active_at < before)).all()
    for row in rows:
        case = case_from_row(row)
        _changed(conn, viewer=SYSTEM, case=case, action="released", now=now, ip=None,
                 detail={"from": case.assignee_id, "idle_minutes": idle_minutes},
                 values={"assignee_id": None, "assigned_at": None, "assignee_active_at": None})
    return len(rows)


# ----- notes -----------------------------------------------------------------------------------------------
def _note_aad(tip_id: int) -> str:
    return f"tip_notes.body:{tip_id}"


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    author_id: int
    at: datetime
    body: str


def add_note(conn: sa.Connection, *, viewer: Viewer, tip_id: int, body: str, cipher: Cipher, now: datetime,
             ip: str | None = None) -> None:
    """An internal note (sealed; officers only, never shown to the parent)."""
    text = body.strip()
    if not text:
        raise WorkflowError("the note is empty")
    if len(text) > 4000:
        raise WorkflowError("a note holds at most 4000 characters")
    case = require_case(conn, viewer, tip_id)
    conn.execute(sa.insert(tip_notes), {"tip_id": tip_id, "author_id": viewer.user_id, "at": now,
                                        "body": cipher.seal_text(text, aad=_note_aad(tip_id))})
    _changed(conn, viewer=viewer, case=case, action="note", detail={"chars": len(text)}, now=now, ip=ip)


def notes(conn: sa.Connection, *, tip_id: int, cipher: Cipher) -> list[Note]:
    rows = conn.execute(sa.select(tip_notes).where(tip_notes.c.tip_id == tip_id).order_by(tip_notes.c.id))
    return [Note(r.id, r.author_id, r.at, cipher.open_text(r.body, aad=_note_aad(tip_id)))
            for r in rows]


# ----- parent side -----------------------------------------------------------------------------------------
def mark_reply(conn: sa.Connection, *, tip_id: int, now: datetime, actor: str = "parent") -> None:
    """The reporter answered an officer's question: flag the tip and note it in its history."""
    conn.execute(sa.update(tip_cases).where(tip_cases.c.tip_id == tip_id).values(reply_received=True, updated_at=now))
    record_event(conn, tip_id=tip_id, actor=actor, action="reply", detail=None, now=now)


def set_handoff_state(conn: sa.Connection, *, tip_id: int, state: str | None, actor: str, now: datetime) -> None:
    """Live hand-off bookkeeping (requested → live → ended) for the queue's badge."""
    conn.execute(sa.update(tip_cases).where(tip_cases.c.tip_id == tip_id).values(handoff_state=state, updated_at=now))
    record_event(conn, tip_id=tip_id, actor=actor, action="handoff", detail={"state": state}, now=now)


# ----- the tip page ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TipView:
    """Everything on a tip's page. Opening one is audited (it holds personal data)."""

    case: CaseRow
    data: dict[str, Any]  # the sealed report, opened: slots, consent, locale
    attachments: list[dict[str, Any]]
    has_reporter: bool  # the parent can still be reached (their chat ids are kept and not erased)


def open_tip(conn: sa.Connection, *, viewer: Viewer, reference: str, cipher: Cipher, now: datetime,
             ip: str | None = None) -> TipView | None:
    """The tip's report for its page, or None if ``viewer`` may not see it. Audited as ``tip.view``."""
    case = case_of(conn, viewer=viewer, reference=reference)
    if case is None:
        return None
    row = conn.execute(sa.select(tips.c.data, tips.c.reporter).where(tips.c.id == case.tip_id)).one()
    attachments = [dict(r) for r in conn.execute(
        sa.select(tip_attachments.c.id, tip_attachments.c.kind, tip_attachments.c.mime_type, tip_attachments.c.size,
                  tip_attachments.c.sha256, tip_attachments.c.file_name)
        .where(tip_attachments.c.tip_id == case.tip_id).order_by(tip_attachments.c.id)).mappings()]
    audit.record(conn, actor=viewer.actor, action="tip.view", subject=reference, now=now,
                 detail=f"from {ip}" if ip else None)
    return TipView(case=case, data=open_data(cipher, case.tip_id, row.data), attachments=attachments,
                   has_reporter=row.reporter is not None)


def attachment_of(conn: sa.Connection, *, viewer: Viewer, reference: str, attachment_id: int, now: datetime,
                  ip: str | None = None) -> dict[str, Any] | None:
    """One attachment's row (path, type, hash) if the viewer may see its tip. Audited as ``tip.attachment``."""
    case = case_of(conn, viewer=viewer, reference=reference)
    if case is None:
        return None
    row = conn.execute(sa.select(tip_attachments).where(tip_attachments.c.id == attachment_id,
                                                        tip_attachments.c.tip_id == case.tip_id)).mappings().first()
    if row is None:
        return None
    audit.record(conn, actor=viewer.actor, action="tip.attachment", subject=reference, now=now,
                 detail=f"#{attachment_id}" + (f" from {ip}" if ip else ""))
    return dict(row)


def bulk(conn: sa.Connection, *, viewer: Viewer, tip_ids: Sequence[int], action: str, now: datetime,
         ip: str | None = None, outcome: str | None = None, status: str | None = None,
         assignee_id: int | None = None) -> tuple[int, list[str]]:
    """The same change on a selection: ``close`` (with outcome), ``status``, ``assign``, ``take``, ``unassign``.

    Each tip is changed on its own terms (visibility, rules); returns (changed, errors by reference).
    """
    done, errors = 0, []
    for tip_id in dict.fromkeys(tip_ids):
        try:
            with conn.begin_nested():  # one refused tip does not undo the others
                if action == "close":
                    set_status(conn, viewer=viewer, tip_id=tip_id, status="closed", outcome=outcome, now=now, ip=ip)
                elif action == "status" and status is not None:
                    set_status(conn, viewer=viewer, tip_id=tip_id, status=status, now=now, ip=ip)
                elif action in ("assign", "take", "unassign"):
                    target = {"take": viewer.user_id, "unassign": None}.get(action, assignee_id)
                    assign(conn, viewer=viewer, tip_id=tip_id, assignee_id=target, now=now, ip=ip)
                else:
                    raise WorkflowError(f"unknown bulk action {action!r}")
            done += 1
        except WorkflowError as exc:
            ref = conn.execute(sa.select(tip_cases.c.reference).where(tip_cases.c.tip_id == tip_id)).scalar()
            errors.append(f"{ref or tip_id}: {exc}")
    return done, errors


def card_press(conn: sa.Connection, *, reference: str, action: str, telegram_user_id: str, now: datetime,
               officer: Viewer | None = None) -> bool:
    """An officer pressed "acknowledge" or "assign to me" on the tip's card in the officers' Telegram group.

    The same workflow state the console changes: acknowledging counts as the first action; assigning makes the
    officer's console account (``officer``, matched by their Telegram id) the assignee. An officer without a
    console account is still recorded in the history. Returns False for an unknown tip.
    """
    case = case_of(conn, viewer=SYSTEM, reference=reference)
    if case is None:
        return False
    actor = Viewer(user_id=officer.user_id if officer else -1, role=officer.role if officer else "officer",
                   unit_id=officer.unit_id if officer else None, actor=f"telegram:{telegram_user_id}")
    if action == "assign" and officer is not None and case_by_id(conn, viewer=officer, tip_id=case.tip_id):
        assign(conn, viewer=actor, tip_id=case.tip_id, assignee_id=officer.user_id, now=now)
        return True
    _changed(conn, viewer=actor, case=case, action="ack" if action == "ack" else "claim", now=now, ip=None,
             detail={"via": "telegram", "console_account": officer is not None})
    return True
