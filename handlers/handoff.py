"""The engine's side of the police talking to a parent: before the flow runs, is this message the answer to an
officer's question, or part of a live hand-off ("gặp cán bộ") an officer has taken?

:meth:`Handoff.intercept` is called inside the engine's turn (same transaction, conversation locked) and
returns True when it took the message, so the flow does not run:

- **question**: once the question reached the parent, their next text or photo is attached to the tip
  (sealed transcript line, photos as tip attachments), the tip is marked "reply received", and they are
  thanked and shown where they were. "Không muốn trả lời" (a button too) declines; commands such as
  "menu" and "xóa dữ liệu của tôi" still work and leave the question waiting.
- **live**: what the parent writes goes to the officer's panel and the bot stays silent — except the urgent
  path: "I gave the OTP" / "money is gone" still gets the five-minute advice at once (the officer sees the
  message too). "kết thúc" hands the chat back; so does ``handoff_idle_minutes`` without a message.

:meth:`Handoff.after` adds, after a "Gặp cán bộ" request, when someone will answer (never "ngay" outside
working hours).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from handlers.commands import command_of, harm_of
from handlers.dialogue import urgent_advice
from handlers.flowload import FlowSet
from handlers.handoff_texts import WorkingHours, text
from handlers.messages import OutboundMessage
from handlers.render import prompt
from handlers.texts import fill
from handlers.turn import Turn
from nlu.normalize import normalize
from storage import notices as notices_repo
from storage import transcript
from storage.conversations import chat_ref
from storage.crypto import Cipher
from storage.schema import tips
from storage.workflow import mark_reply, record_event, set_handoff_state
from storage.workflow_schema import tip_cases

HANDOFF_FLOW, HANDOFF_ASK_STEP = "officer", "need"  # handlers/flows/info.yaml: the "Gặp cán bộ" request
FILED = "_handoff_filed"  # a turn-local marker in the state (the engine's submit sets it; popped before saving)
DECLINE = "!decline"
END_LIVE = "!handoff_end"
_DECLINE_WORDS = frozenset({"khong muon tra loi", "khong tra loi", "toi khong muon tra loi", "khong muon",
                            "no thanks", "decline", "i d rather not answer", "rather not", "no answer"})
_END_WORDS = frozenset({"ket thuc", "ket thuc tro chuyen", "dung tro chuyen", "end", "end chat", "stop chat",
                        "/end"})
# Commands that are about the bot, not an answer: they go to the flow and the question keeps waiting.
_NOT_AN_ANSWER = frozenset({"menu", "help", "back", "skip", "done", "lang_en", "lang_vi"})


@dataclass(frozen=True)
class HandoffConfig:
    """Settings of the police side of a chat (``console.working_days/working_hours/handoff_idle_minutes``)."""

    hours: WorkingHours = field(default_factory=WorkingHours)
    idle_minutes: int = 20
    # A delivered question waits this long for its answer; later messages are ordinary messages again.
    question_hours: int = 48

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.idle_minutes)

    @property
    def question_window(self) -> timedelta:
        return timedelta(hours=self.question_hours)


class Handoff:
    """Stateless; shared by every turn of the engine."""

    def __init__(self, *, cipher: Cipher, flows: Callable[[], FlowSet], variables: Mapping[str, Any],
                 config: HandoffConfig) -> None:
        self.cipher = cipher
        self.flows = flows
        self.variables = dict(variables)
        self.config = config

    # ----- before the flow -------------------------------------------------------------------------------
    def intercept(self, turn: Turn) -> bool:
        """Take the message if a question awaits its answer or an officer holds the chat live."""
        if turn.state.get("pending_forget"):
            return False  # "erase my data?" is being answered: the flow owns that
        norm = normalize(turn.text) if turn.text else ""
        command = command_of(norm, turn.inbound.payload)
        if command == "forget":
            return False
        thread = transcript.active_thread(turn.conn, chat_ref=chat_ref(self.cipher, turn.inbound.key))
        if thread is None:
            return False
        if thread.mode == "live":
            return self._live(turn, thread, norm)
        return self._question(turn, thread, norm, command)

    def _question(self, turn: Turn, thread: transcript.Thread, norm: str, command: str | None) -> bool:
        conn, now, msg = turn.conn, turn.now, turn.inbound
        if not thread.delivered:
            return False  # the parent has not seen the question yet: this message is not its answer
        if thread.expired(now):
            transcript.close(conn, tip_id=thread.tip_id)
            record_event(conn, tip_id=thread.tip_id, actor="system", action="question_lapsed", detail=None, now=now)
            return False
        if msg.payload == DECLINE or command == "cancel" or norm.strip(" .!") in _DECLINE_WORDS:
            transcript.record(conn, tip_id=thread.tip_id, sender="parent", kind="decline", actor="parent",
                              text=turn.text or None, now=now, cipher=self.cipher, notice_id=thread.notice_id)
            transcript.close(conn, tip_id=thread.tip_id)
            record_event(conn, tip_id=thread.tip_id, actor="parent", action="reply_declined", detail=None, now=now)
            self._say(turn, "declined")
            self._reprompt(turn)
            return True
        if msg.payload is not None or command in _NOT_AN_ANSWER or not (turn.text.strip() or msg.attachments):
            return False
        self._durable(turn)  # "thank you, it was passed on" must survive a power cut, as a filed tip does
        if turn.text.strip():
            transcript.record(conn, tip_id=thread.tip_id, sender="parent", kind="answer", actor="parent",
                              text=turn.text, now=now, cipher=self.cipher, notice_id=thread.notice_id)
        self._attachments(turn, thread)
        mark_reply(conn, tip_id=thread.tip_id, now=now)
        transcript.close(conn, tip_id=thread.tip_id)
        self._say(turn, "answer_thanks", reference=self._reference(conn, thread.tip_id))
        self._reprompt(turn)
        return True

    def _live(self, turn: Turn, thread: transcript.Thread, norm: str) -> bool:
        conn, now, msg = turn.conn, turn.now, turn.inbound
        if thread.expired(now):
            # The idle sweep has not got here yet: hand back now, in this reply, and let the bot answer.
            end_live(conn, thread=thread, actor="system", reason="idle", now=now, cipher=self.cipher)
            self._say(turn, "handoff_idle", minutes=self.config.idle_minutes)
            transcript.record(conn, tip_id=thread.tip_id, sender="bot", kind="handoff_off", actor="system",
                              text=turn.out[-1].text, now=now, cipher=self.cipher)
            return False
        if msg.payload == END_LIVE or (msg.payload is None and norm.strip(" .!") in _END_WORDS):
            end_live(conn, thread=thread, actor="parent", reason="parent", now=now, cipher=self.cipher)
            self._say(turn, "handoff_ended_by_parent")
            transcript.record(conn, tip_id=thread.tip_id, sender="bot", kind="ended", actor="parent",
                              text=turn.out[-1].text, now=now, cipher=self.cipher)
            self._reprompt(turn)
            return True
        said = turn.text.strip() or (f"[{msg.payload}]" if msg.payload else "")
        if said:
            transcript.record(conn, tip_id=thread.tip_id, sender="parent", kind="live", actor="parent", text=said,
                              now=now, cipher=self.cipher)
        self._attachments(turn, thread)
        transcript.touch(conn, tip_id=thread.tip_id, now=now, expires_at=now + self.config.idle)
        harm = harm_of(norm) if norm and msg.payload is None else None
        if harm:
            # The one exception to the bot's silence: what to do in the next five minutes cannot wait.
            self._urgent(turn, thread.tip_id)
        return True

    def _urgent(self, turn: Turn, tip_id: int) -> None:
        advice = urgent_advice(self.flows())
        turn.out.append(OutboundMessage(fill(advice.text.get(turn.locale), self.variables), urgent=True))
        self._say(turn, "urgent_live")
        turn.state["urgent"] = True
        conn, now = turn.conn, turn.now
        conn.execute(sa.update(tip_cases).where(tip_cases.c.tip_id == tip_id).values(
            urgent=True, priority=2, updated_at=now))
        conn.execute(sa.update(tips).where(tips.c.id == tip_id).values(urgent=True))
        record_event(conn, tip_id=tip_id, actor="parent", action="urgent", detail={"during": "handoff"}, now=now)
        for out in turn.out[-2:]:
            transcript.record(conn, tip_id=tip_id, sender="bot", kind="urgent", actor="system", text=out.text,
                              now=now, cipher=self.cipher)

    def _attachments(self, turn: Turn, thread: transcript.Thread) -> None:
        for attachment in turn.inbound.attachments:
            attachment_id = transcript.attach(turn.conn, tip_id=thread.tip_id, attachment=attachment)
            transcript.record(turn.conn, tip_id=thread.tip_id, sender="parent", kind="photo", actor="parent",
                              text=None, now=turn.now, cipher=self.cipher, attachment_id=attachment_id,
                              notice_id=thread.notice_id if thread.mode == "question" else None)

    # ----- after the flow --------------------------------------------------------------------------------
    def after(self, turn: Turn) -> None:
        """After a "Gặp cán bộ" request is filed (or asked for), say when someone will answer."""
        filed = turn.state.pop(FILED, None)
        if filed:
            turn.out.append(OutboundMessage(self.config.hours.availability(turn.now, turn.locale)))
            return
        state = turn.state
        if turn.out and state.get("flow") == HANDOFF_FLOW and state.get("step") == HANDOFF_ASK_STEP:
            # Before the parent writes their request: told up front when an officer will read it.
            turn.out.insert(len(turn.out) - 1,
                            OutboundMessage(self.config.hours.availability(turn.now, turn.locale)))

    # ----- helpers ---------------------------------------------------------------------------------------
    def _say(self, turn: Turn, key: str, **values: Any) -> None:
        turn.out.append(OutboundMessage(text(key, turn.locale, **{**self.variables, **values})))

    def _reprompt(self, turn: Turn) -> None:
        """Show again what the flow was waiting for, so the parent carries on where they were."""
        flows = self.flows()
        flow = flows.flows.get(turn.state.get("flow") or "")
        if flow is None or not turn.state.get("step"):
            return
        try:
            step = flow.step(turn.state["step"])
        except KeyError:
            return
        shown = prompt(step, turn.state, flows, turn.locale, self.variables)
        if shown is not None:
            turn.out.append(shown)

    @staticmethod
    def _reference(conn: sa.Connection, tip_id: int) -> str:
        return str(conn.execute(sa.select(tips.c.reference).where(tips.c.id == tip_id)).scalar() or "")

    @staticmethod
    def _durable(turn: Turn) -> None:
        if not turn.durable:
            from handlers.engine import NeedsDurableCommit  # the engine imports this module

            raise NeedsDurableCommit


def end_live(conn: sa.Connection, *, thread: transcript.Thread, actor: str, reason: str, now: datetime,
             cipher: Cipher) -> None:
    """The chat goes back to the bot: the thread closes and the case's hand-off is "ended"."""
    transcript.close(conn, tip_id=thread.tip_id)
    set_handoff_state(conn, tip_id=thread.tip_id, state="ended", actor=actor, now=now)
    record_event(conn, tip_id=thread.tip_id, actor=actor, action="handoff_back", detail={"reason": reason}, now=now)


def forget_chat(conn: sa.Connection, *, chat_ref_value: str, now: datetime) -> None:
    """The parent asked to be forgotten: nothing waiting is sent to them, and no thread stays open."""
    notices_repo.cancel_for_chat(conn, chat_ref=chat_ref_value, now=now)
    for tip_id in transcript.forget_chat(conn, chat_ref=chat_ref_value):
        state = conn.execute(sa.select(tip_cases.c.handoff_state).where(tip_cases.c.tip_id == tip_id)).scalar()
        if state == "live":
            set_handoff_state(conn, tip_id=tip_id, state="ended", actor="parent", now=now)
