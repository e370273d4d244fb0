"""What an officer does to talk to a tip's reporter: ask a question, take a "gặp cán bộ" chat live, write in it,
hand it back, tell the outcome. Units of work for ``Database.run`` (keyword-only); the console calls them.

Each writes the outbound notice (sealed, sent later by the delivery worker), the transcript line the panel
shows, the tip's history row and an audit entry — in one transaction. The parent always sees the police
(``police_name``), never the officer: the officer is named only in the history and the audit log.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from handlers.handoff import DECLINE, END_LIVE, HandoffConfig, end_live
from handlers.handoff_texts import outcome_message, outcome_template, text
from handlers.messages import Button, OutboundMessage
from storage import audit, notices, transcript
from storage.crypto import Cipher
from storage.notices import Reporter
from storage.schema import conversations, tips
from storage.tips import open_data
from storage.workflow import (
    SYSTEM,
    CaseRow,
    Viewer,
    WorkflowError,
    assign,
    record_event,
    require_case,
    set_handoff_state,
)
from storage.workflow_schema import tip_cases

MAX_CHARS = 1000


class TalkError(Exception):
    """An officer's message that cannot go: ``code`` names why (the console shows the words)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Reach:
    """What this server can deliver to: channels with a sender, and those reachable only while the chat is
    open (an anonymous web chat: its session is the only address it has)."""

    channels: frozenset[str]
    while_open: frozenset[str] = frozenset({"web"})
    pull: frozenset[str] = frozenset()  # delivered with the parent's next request (HTTP API)

    def problem(self, conn: sa.Connection, reporter: Reporter | None, now: datetime) -> str | None:
        """Why a message to ``reporter`` cannot be delivered now, or None."""
        if reporter is None:
            return "no_reporter"
        if reporter.channel not in self.channels:
            return "no_channel"
        if reporter.channel in self.while_open and not notices.is_open(
                conn, channel=reporter.channel, chat_ref=reporter.chat_ref, now=now):
            return "chat_closed"
        return None


@dataclass(frozen=True)
class Talk:
    """What every operation needs besides the database."""

    cipher: Cipher
    reach: Reach
    police_name: str = "Công an tỉnh"
    config: HandoffConfig = field(default_factory=HandoffConfig)


def _clean(body: str) -> str:
    cleaned = body.strip()
    if not cleaned:
        raise TalkError("empty")
    if len(cleaned) > MAX_CHARS:
        raise TalkError("too_long")
    return cleaned


def parent_locale(conn: sa.Connection, *, tip_id: int, reporter: Reporter | None, cipher: Cipher) -> str:
    """The language the parent chats in now (they may have switched since the report), else the report's."""
    if reporter is not None:
        locale = conn.execute(sa.select(conversations.c.locale).where(
            conversations.c.channel == reporter.channel, conversations.c.chat_ref == reporter.chat_ref)).scalar()
        if locale in ("vi", "en"):
            return str(locale)
    row = conn.execute(sa.select(tips.c.data).where(tips.c.id == tip_id)).first()
    found = open_data(cipher, tip_id, row.data).get("locale") if row is not None else None
    return found if found in ("vi", "en") else "vi"


def _noted(conn: sa.Connection, *, viewer: Viewer, case: CaseRow, action: str, detail: dict[str, object],
           now: datetime, ip: str | None) -> None:
    """History row, audit entry, and the officer's first action / activity on the tip."""
    values: dict[str, object] = {"updated_at": now}
    if case.first_action_at is None and viewer.actor != "system":
        values["first_action_at"] = now
    if case.assignee_id is not None and case.assignee_id == viewer.user_id:
        values["assignee_active_at"] = now
    conn.execute(sa.update(tip_cases).where(tip_cases.c.tip_id == case.tip_id).values(**values))
    record_event(conn, tip_id=case.tip_id, actor=viewer.actor, action=action, detail=detail, now=now)
    audit.record(conn, actor=viewer.actor, action=f"tip.{action}", subject=case.reference, now=now,
                 detail=json.dumps(detail, ensure_ascii=False) + (f" from {ip}" if ip else ""))


def _notice(conn: sa.Connection, talk: Talk, *, case: CaseRow, kind: str, message: OutboundMessage, locale: str,
            actor: str, now: datetime, key: str | None = None) -> int:
    return notices.create(conn, tip_id=case.tip_id, key=key or f"{kind}:{secrets.token_hex(8)}", kind=kind,
                          body=message.to_json(), locale=locale, created_by=actor, now=now, cipher=talk.cipher)


def _existing(conn: sa.Connection, tip_id: int, key: str | None) -> int | None:
    if not key:
        return None
    from storage.notices_schema import notices as table

    found = conn.execute(sa.select(table.c.id).where(table.c.tip_id == tip_id, table.c.key == key[:64])).scalar()
    return int(found) if found is not None else None


# ----- questions -------------------------------------------------------------------------------------------
def ask(conn: sa.Connection, *, viewer: Viewer, tip_id: int, question: str, talk: Talk, now: datetime,
        key: str | None = None, ip: str | None = None) -> int:
    """Send the reporter a question; their next message answers it. Returns the notice id (the same one
    again for a resubmitted form with the same ``key``)."""
    case = require_case(conn, viewer, tip_id)
    known = _existing(conn, tip_id, key)
    if known is not None:
        return known
    if not case.is_open:
        raise TalkError("closed_tip")
    question = _clean(question)
    thread = transcript.thread_of_tip(conn, tip_id=tip_id, lock=True)
    if thread is not None and thread.mode == "live":
        raise TalkError("live")  # write in the live chat instead
    reporter = notices.reporter_of(conn, tip_id=tip_id, cipher=talk.cipher)
    problem = talk.reach.problem(conn, reporter, now)
    if problem is not None or reporter is None:
        raise TalkError(problem or "no_reporter")
    locale = parent_locale(conn, tip_id=tip_id, reporter=reporter, cipher=talk.cipher)
    message = OutboundMessage(text("question", locale, police_name=talk.police_name, reference=case.reference,
                                   text=question), (Button(DECLINE, text("btn_decline", locale)),))
    notice_id = _notice(conn, talk, case=case, kind="question", message=message, locale=locale,
                        actor=viewer.actor, now=now, key=key)
    transcript.record(conn, tip_id=tip_id, sender="police", kind="question", actor=viewer.actor, text=question,
                      now=now, cipher=talk.cipher, notice_id=notice_id)
    transcript.open_thread(conn, tip_id=tip_id, chat_ref=reporter.chat_ref, channel=reporter.channel,
                           mode="question", notice_id=notice_id, now=now)
    _noted(conn, viewer=viewer, case=case, action="ask", detail={"notice": notice_id, "chars": len(question)},
           now=now, ip=ip)
    return notice_id


# ----- live hand-off ---------------------------------------------------------------------------------------
def take(conn: sa.Connection, *, viewer: Viewer, tip_id: int, talk: Talk, now: datetime,
         ip: str | None = None) -> bool:
    """Take a "gặp cán bộ" request live: the parent's messages now come to this officer. False when this
    officer already holds it."""
    case = require_case(conn, viewer, tip_id)
    if case.kind != "handoff":
        raise TalkError("not_handoff")
    if not case.is_open:
        raise TalkError("closed_tip")
    thread = transcript.thread_of_tip(conn, tip_id=tip_id, lock=True)
    if thread is not None and thread.mode == "live":
        if thread.officer_id == viewer.user_id:
            return False
        if not viewer.whole_province:
            raise TalkError("live_elsewhere")
    reporter = notices.reporter_of(conn, tip_id=tip_id, cipher=talk.cipher)
    problem = talk.reach.problem(conn, reporter, now)
    if problem is not None or reporter is None:
        raise TalkError(problem or "no_reporter")
    if case.assignee_id != viewer.user_id:
        try:
            case = assign(conn, viewer=viewer, tip_id=tip_id, assignee_id=viewer.user_id, now=now, ip=ip)
        except WorkflowError:
            raise TalkError("assigned_elsewhere") from None
    locale = parent_locale(conn, tip_id=tip_id, reporter=reporter, cipher=talk.cipher)
    message = OutboundMessage(text("handoff_on", locale, police_name=talk.police_name))
    notice_id = _notice(conn, talk, case=case, kind="handoff_on", message=message, locale=locale, actor=viewer.actor,
                        now=now)
    transcript.record(conn, tip_id=tip_id, sender="bot", kind="handoff_on", actor=viewer.actor, text=message.text,
                      now=now, cipher=talk.cipher, notice_id=notice_id)
    transcript.open_thread(conn, tip_id=tip_id, chat_ref=reporter.chat_ref, channel=reporter.channel, mode="live",
                           officer_id=viewer.user_id, now=now, expires_at=now + talk.config.idle)
    set_handoff_state(conn, tip_id=tip_id, state="live", actor=viewer.actor, now=now)
    _noted(conn, viewer=viewer, case=case, action="handoff_take", detail={"notice": notice_id}, now=now, ip=ip)
    return True


def _live_thread(conn: sa.Connection, viewer: Viewer, tip_id: int) -> transcript.Thread:
    thread = transcript.thread_of_tip(conn, tip_id=tip_id, lock=True)
    if thread is None or thread.mode != "live":
        raise TalkError("not_live")
    if thread.officer_id != viewer.user_id and not viewer.whole_province:
        raise TalkError("live_elsewhere")
    return thread


def send(conn: sa.Connection, *, viewer: Viewer, tip_id: int, body: str, talk: Talk, now: datetime,
         key: str | None = None, ip: str | None = None) -> int:
    """An officer's message in a live chat (shown to the parent as from the police)."""
    case = require_case(conn, viewer, tip_id)
    known = _existing(conn, tip_id, key)
    if known is not None:
        return known
    said = _clean(body)
    _live_thread(conn, viewer, tip_id)
    reporter = notices.reporter_of(conn, tip_id=tip_id, cipher=talk.cipher)
    problem = talk.reach.problem(conn, reporter, now)
    if problem is not None:
        raise TalkError(problem)
    locale = parent_locale(conn, tip_id=tip_id, reporter=reporter, cipher=talk.cipher)
    message = OutboundMessage(text("live", locale, police_name=talk.police_name, text=said),
                              (Button(END_LIVE, "⏹ " + ("Kết thúc" if locale == "vi" else "End chat")),))
    notice_id = _notice(conn, talk, case=case, kind="live", message=message, locale=locale, actor=viewer.actor,
                        now=now, key=key)
    transcript.record(conn, tip_id=tip_id, sender="police", kind="live", actor=viewer.actor, text=said, now=now,
                      cipher=talk.cipher, notice_id=notice_id)
    transcript.touch(conn, tip_id=tip_id, now=now, expires_at=now + talk.config.idle)
    _noted(conn, viewer=viewer, case=case, action="handoff_send", detail={"notice": notice_id, "chars": len(said)},
           now=now, ip=ip)
    return notice_id


def release(conn: sa.Connection, *, viewer: Viewer, tip_id: int, talk: Talk, now: datetime,
            ip: str | None = None) -> None:
    """The officer hands the chat back to the bot; the parent is told."""
    case = require_case(conn, viewer, tip_id)
    thread = _live_thread(conn, viewer, tip_id)
    _hand_back(conn, talk, case=case, thread=thread, actor=viewer.actor, key="handoff_off", now=now)
    _noted(conn, viewer=viewer, case=case, action="handoff_release", detail={}, now=now, ip=ip)


def _hand_back(conn: sa.Connection, talk: Talk, *, case: CaseRow, thread: transcript.Thread, actor: str, key: str,
               now: datetime) -> None:
    end_live(conn, thread=thread, actor=actor, reason="idle" if key == "handoff_idle" else "officer", now=now,
             cipher=talk.cipher)
    reporter = notices.reporter_of(conn, tip_id=case.tip_id, cipher=talk.cipher)
    if reporter is None:
        return
    locale = parent_locale(conn, tip_id=case.tip_id, reporter=reporter, cipher=talk.cipher)
    message = OutboundMessage(text(key, locale, police_name=talk.police_name, minutes=talk.config.idle_minutes))
    notice_id = _notice(conn, talk, case=case, kind="handoff_off", message=message, locale=locale, actor=actor,
                        now=now)
    transcript.record(conn, tip_id=case.tip_id, sender="bot", kind="handoff_off", actor=actor, text=message.text,
                      now=now, cipher=talk.cipher, notice_id=notice_id)


def sweep(conn: sa.Connection, *, talk: Talk, now: datetime) -> int:
    """Hand idle live chats back to the bot (with a notice) and let questions nobody answered lapse."""
    done = 0
    for thread in transcript.due_threads(conn, mode="live", now=now):
        case = require_case(conn, SYSTEM, thread.tip_id)
        _hand_back(conn, talk, case=case, thread=thread, actor="system", key="handoff_idle", now=now)
        done += 1
    for thread in transcript.due_threads(conn, mode="question", now=now):
        transcript.close(conn, tip_id=thread.tip_id)
        record_event(conn, tip_id=thread.tip_id, actor="system", action="question_lapsed", detail=None, now=now)
        done += 1
    return done


# ----- the outcome -----------------------------------------------------------------------------------------
def notify_outcome(conn: sa.Connection, *, viewer: Viewer, tip_id: int, template_id: str, talk: Talk, now: datetime,
                   ip: str | None = None) -> str:
    """Tell the reporter how their closed tip ended, in their language. Returns ``queued`` or why not
    (``unknown_template``, ``not_closed``, ``no_reporter``, ``no_channel``, ``chat_closed``) — never raises
    for those, so closing the tip stands whatever happens to the notice. Once per closing."""
    case = require_case(conn, viewer, tip_id)
    template = outcome_template(template_id)
    if template is None:
        return "unknown_template"
    if case.is_open or case.closed_at is None:
        return "not_closed"
    reporter = notices.reporter_of(conn, tip_id=tip_id, cipher=talk.cipher)
    problem = talk.reach.problem(conn, reporter, now)
    if problem is not None:
        return problem
    locale = parent_locale(conn, tip_id=tip_id, reporter=reporter, cipher=talk.cipher)
    message = OutboundMessage(outcome_message(template, locale=locale, police_name=talk.police_name,
                                              reference=case.reference))
    key = f"outcome:{case.closed_at.isoformat()}"
    if _existing(conn, tip_id, key) is not None:
        return "queued"
    notice_id = _notice(conn, talk, case=case, kind="outcome", message=message, locale=locale, actor=viewer.actor,
                        now=now, key=key)
    transcript.record(conn, tip_id=tip_id, sender="police", kind="outcome", actor=viewer.actor, text=message.text,
                      now=now, cipher=talk.cipher, notice_id=notice_id)
    _noted(conn, viewer=viewer, case=case, action="notify_outcome", detail={"template": template.id,
                                                                           "notice": notice_id}, now=now, ip=ip)
    return "queued"
