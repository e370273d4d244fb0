"""One turn of the conversation: the state machine that walks the flows.

It works on a plain JSON state dict and an open transaction, and returns the replies; loading, locking and
saving the state are the engine's job (handlers/engine.py). It is synchronous on purpose: a whole turn runs
as one unit of work inside ``Database.run`` (a worker thread on SQLite, ``run_sync`` on PostgreSQL).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from handlers.checking import Checker
from handlers.commands import command_of, harm_of
from handlers.flowload import FlowSet
from handlers.flowspec import (
    AnyStep,
    AskStep,
    BranchStep,
    CheckStep,
    ChoiceStep,
    Condition,
    MenuStep,
    MessageStep,
    Option,
    SubmitStep,
)
from handlers.messages import Attachment, Button, InboundMessage, OutboundMessage
from handlers.render import prompt
from handlers.texts import fill, say
from handlers.validators import Invalid, validate
from nlu.normalize import normalize
from storage.reference import get_schools

MAIN_FLOW, MENU_STEP = "main", "menu"
URGENT_FLOW, URGENT_ADVICE_STEP = "urgent", "advice"
MAX_AUTO_STEPS = 50  # a flow that loops through non-input steps must not hang a request
MAX_HISTORY = 30
SUBMIT_WORDS = frozenset({"gui", "gui bao cao", "submit", "send", "dong y", "ok", "xac nhan", "gui di"})


def may_submit(payload: str | None, text: str | None) -> bool:
    """Whether this input could file a tip (the engine then commits it durably from the first try)."""
    return payload == "!submit" or (payload is None and text is not None and len(text) < 40
                                    and normalize(text) in SUBMIT_WORDS)


@dataclass
class Turn:
    """Everything one step of the dialogue reads and writes."""

    conn: sa.Connection
    state: dict[str, Any]
    locale: str
    inbound: InboundMessage
    text: str  # already redacted and length-limited
    now: datetime
    out: list[OutboundMessage] = field(default_factory=list)
    erase: bool = False  # the parent confirmed "forget me"
    durable: bool = False  # this turn's transaction commits with power-cut durability

    def say(self, key: str, **values: Any) -> None:
        self.out.append(OutboundMessage(say(key, self.locale, **values)))

    @property
    def slots(self) -> dict[str, Any]:
        slots: dict[str, Any] = self.state.setdefault("slots", {})
        return slots


Submitter = Callable[[Turn], str]
Eraser = Callable[[Turn], int]


def _match_option(options: tuple[Option, ...], payload: str | None, norm: str, locale: str) -> Option | None:
    if payload is not None:
        return next((o for o in options if o.id == payload), None)
    if norm.isdigit() and 1 <= int(norm) <= len(options):
        return options[int(norm) - 1]
    for o in options:
        if norm in (_normalized(o.label.vi), _normalized(o.label.en), o.id) or any(
                _has_phrase(norm, a) for a in o.aliases):
            return o
    return None


# Labels and aliases come from the flows, a small fixed set: normalise and compile each once, not per message.
@lru_cache(maxsize=4096)
def _normalized(text: str) -> str:
    return normalize(text)


@lru_cache(maxsize=4096)
def _phrase_re(alias: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9]){re.escape(normalize(alias))}(?![a-z0-9])")


def _has_phrase(norm: str, alias: str) -> bool:
    return _phrase_re(alias).search(norm) is not None


def _match_many(options: tuple[Option, ...], norm: str) -> list[Option]:
    numbers = re.findall(r"\d+", norm)
    if numbers and re.fullmatch(r"[\d\s,;.va&+]+", norm):
        return [options[int(n) - 1] for n in numbers if 1 <= int(n) <= len(options)]
    return [o for o in options if any(_has_phrase(norm, a) for a in (*o.aliases, o.label.vi, o.label.en))]


def _condition_holds(cond: Condition, slots: Mapping[str, Any]) -> bool:
    value = slots.get(cond.slot)
    if cond.filled is not None and (value not in (None, "", [])) != cond.filled:
        return False
    if cond.equals is not None and value != cond.equals:
        return False
    return not (cond.contains is not None and (not isinstance(value, list) or cond.contains not in value))


class Dialogue:
    """Walks a parent through the flows. Stateless itself: all state is in the :class:`Turn`."""

    def __init__(
        self,
        flows: Callable[[], FlowSet],
        *,
        checker: Checker,
        submit: Submitter,
        erase: Eraser,
        variables: Mapping[str, Any],
        max_attachments: int = 5,
    ) -> None:
        self._flows = flows
        self.checker = checker
        self.submit = submit
        self.erase = erase
        self.variables = dict(variables)
        self.max_attachments = max_attachments

    # ----- entry point ---------------------------------------------------------------------------------
    def respond(self, turn: Turn) -> None:
        flows = self._flows()
        state = turn.state
        msg = turn.inbound
        norm = normalize(turn.text) if turn.text else ""
        first_contact = not state.get("flow")
        self._apply_start_param(turn)
        if first_contact:
            state.update(flow=MAIN_FLOW, step=None, slots={})
            self._goto(turn, flows, f"flow:{MAIN_FLOW}", render=False)

        if state.get("pending_forget"):
            self._forget_answer(turn, flows, msg.payload, norm)
            return
        command = command_of(norm, msg.payload)
        if command in ("lang_en", "lang_vi"):
            turn.locale = "en" if command == "lang_en" else "vi"
            turn.say("language_set")
            self._reprompt(turn, flows)
            return
        if command == "cancel":
            turn.say("cancelled")
            self._goto(turn, flows, "menu")
            return
        if command == "menu":
            self._goto(turn, flows, "menu")
            return
        if command == "help":
            turn.say("help")
            self._reprompt(turn, flows)
            return
        if command == "forget":
            state["pending_forget"] = True
            turn.out.append(OutboundMessage(say("forget_confirm", turn.locale), (
                Button("forget_yes", say("btn_forget_yes", turn.locale)),
                Button("forget_no", say("btn_forget_no", turn.locale)))))
            return
        if command == "back" and self._back(turn, flows):
            return

        harm = harm_of(norm) if norm and msg.payload is None else None
        if harm and state.get("flow") != URGENT_FLOW:
            self._urgent(turn, flows, harm)
            return

        step = self._current(flows, state)
        if step is None:
            self._goto(turn, flows, "menu")
            return
        self._input(turn, flows, step, command, norm, first_contact)

    def _apply_start_param(self, turn: Turn) -> None:
        """A deep link or embed tag names a school by its directory id: remember it for reports and checks."""
        code = turn.inbound.extras.get("start_param")
        if not isinstance(code, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", code):
            return
        schools = get_schools(turn.conn, ids=[code])
        if schools:
            turn.state["school_prefill"] = {"id": schools[0].id, "name": schools[0].name}

    # ----- moving around -----------------------------------------------------------------------------
    def _current(self, flows: FlowSet, state: Mapping[str, Any]) -> AnyStep | None:
        flow = flows.flows.get(state.get("flow") or "")
        if flow is None or not state.get("step"):
            return None
        try:
            return flow.step(state["step"])
        except KeyError:
            return None  # the flow was edited under a live conversation: restart at the menu

    def _reprompt(self, turn: Turn, flows: FlowSet) -> None:
        step = self._current(flows, turn.state)
        if step is not None:
            p = prompt(step, turn.state, flows, turn.locale, self.variables)
            if p is not None:
                turn.out.append(p)

    def _goto(self, turn: Turn, flows: FlowSet, target: str, *, carry: bool = False,
                    render: bool = True) -> None:
        """Move to ``target`` and run every step that needs no input, stopping at the next question."""
        state = turn.state
        for _ in range(MAX_AUTO_STEPS):
            if target in ("end", "menu"):
                state.update(flow=MAIN_FLOW, step=MENU_STEP, history=[], pending=[])
                state["slots"] = {}
                state.pop("urgent", None)
                state.pop("urgent_shown", None)
            elif target.startswith("flow:"):
                flow = flows.flows[target[5:]]
                state.update(flow=flow.id, step=flow.start, history=[], pending=[])
                if not carry:
                    urgent = state.get("urgent")
                    state["slots"] = {}
                    if urgent:  # harm already reported in this conversation stays known to the report
                        state["urgent"] = True
                prefill = state.get("school_prefill")
                if prefill and "school" in flow.slots and not state["slots"].get("school"):
                    state["slots"]["school"] = prefill  # the school the parent came from; editable
            else:
                state["step"] = target
            step = self._current(flows, state)
            if step is None:
                target = "menu"
                continue
            turn.slots.update(step.set)
            nxt = self._auto(turn, flows, step, render)
            if nxt is None:
                return
            target = nxt
        raise RuntimeError(f"flow {state.get('flow')!r} loops without asking anything")

    def _auto(self, turn: Turn, flows: FlowSet, step: AnyStep, render: bool) -> str | None:
        """Run a step that needs no input and return where to go; None when the step waits for input."""
        slots = turn.slots
        if isinstance(step, MessageStep):
            if step.options:
                if render:
                    self._reprompt(turn, flows)
                return None
            if render:
                turn.out.append(OutboundMessage(fill(step.text.get(turn.locale), self.variables),
                                                urgent=step.urgent))
            return step.next
        if isinstance(step, BranchStep):
            for case in step.cases:
                if _condition_holds(case.when, slots):
                    return case.next
            return step.default
        if isinstance(step, CheckStep):
            outcome = self.checker.run(turn.conn, kind=step.checker, slots=dict(slots), locale=turn.locale)
            slots[step.slot] = dict(outcome.result)
            turn.out.extend(outcome.messages)
            return step.next
        if isinstance(step, AskStep | ChoiceStep) and step.slot in slots:
            return step.next  # already known (pre-filled, or kept while editing another field)
        if render:
            self._reprompt(turn, flows)
        return None

    def _advance(self, turn: Turn, flows: FlowSet, step: AnyStep, target: str, *, carry: bool = False) -> None:
        history = turn.state.setdefault("history", [])
        if isinstance(step, AskStep | ChoiceStep):
            history.append(step.id)
            del history[:-MAX_HISTORY]
        self._goto(turn, flows, target, carry=carry)

    def _back(self, turn: Turn, flows: FlowSet) -> bool:
        history: list[str] = turn.state.get("history") or []
        if not history:
            return False
        previous = history.pop()
        step = self._current(flows, {**turn.state, "step": previous})
        if isinstance(step, AskStep | ChoiceStep):
            turn.slots.pop(step.slot, None)
        turn.state.update(step=previous, pending=[])
        self._reprompt(turn, flows)
        return True

    def _urgent(self, turn: Turn, flows: FlowSet, harm: str) -> None:
        """Harm is done: say what to do in the next five minutes, then carry on where the parent was."""
        turn.state["urgent"] = True
        slots = turn.slots
        if harm == "money_lost":
            slots.setdefault("money_lost", "yes")
        elif "shared" not in slots:
            slots["shared_hint"] = True
        advice = urgent_advice(flows)
        current = self._current(flows, turn.state)
        in_form = turn.state.get("flow") not in (MAIN_FLOW, None) and isinstance(
            current, AskStep | ChoiceStep | SubmitStep)
        if in_form and not turn.state.get("urgent_shown"):
            turn.state["urgent_shown"] = True
            turn.out.append(OutboundMessage(fill(advice.text.get(turn.locale), self.variables), urgent=True))
            turn.say("urgent_resume")
            self._reprompt(turn, flows)
            return
        if in_form:
            self._reprompt(turn, flows)
            return
        turn.state["urgent_shown"] = True
        self._goto(turn, flows, f"flow:{URGENT_FLOW}", carry=True)

    def _forget_answer(self, turn: Turn, flows: FlowSet, payload: str | None, norm: str) -> None:
        turn.state.pop("pending_forget", None)
        if payload == "forget_yes" or norm in ("co", "yes", "dong y", "xoa", "co xoa"):
            count = self.erase(turn)
            turn.erase = True
            turn.say("forgotten", tips=count)
            return
        turn.say("forget_kept")
        self._reprompt(turn, flows)

    # ----- input at the current step -------------------------------------------------------------------
    def _input(self, turn: Turn, flows: FlowSet, step: AnyStep, command: str | None, norm: str,
                     first_contact: bool) -> None:
        msg = turn.inbound
        if isinstance(step, MenuStep | MessageStep):
            options = step.options
            chosen = _match_option(options, msg.payload, norm, turn.locale)
            if chosen is None:
                if msg.payload is not None:
                    turn.say("unknown_button")
                elif not first_contact and (norm or msg.attachments):
                    turn.say("not_understood")
                self._reprompt(turn, flows)
                return
            self._choose(turn, flows, step, chosen)
            return
        if isinstance(step, AskStep):
            self._ask(turn, flows, step, command, norm)
            return
        if isinstance(step, ChoiceStep):
            self._choice(turn, flows, step, command, norm)
            return
        if isinstance(step, SubmitStep):
            self._submit_step(turn, flows, step, norm)
            return
        self._reprompt(turn, flows)

    def _choose(self, turn: Turn, flows: FlowSet, step: AnyStep, option: Option) -> None:
        turn.slots.update(option.set)
        if option.urgent:
            turn.state["urgent"] = True
        target = option.next or (step.next if isinstance(step, MessageStep) else "menu")
        self._advance(turn, flows, step, target, carry=option.carry)

    def _ask(self, turn: Turn, flows: FlowSet, step: AskStep, command: str | None, norm: str) -> None:
        msg = turn.inbound
        slots = turn.slots
        flow = flows.flows[turn.state["flow"]]
        if msg.attachments:
            target_slot = step.slot if step.type == "attachment" else next(
                (s for s, t in flow.slots.items() if t == "attachment"), None)
            if target_slot is not None:
                self._store_attachments(turn, target_slot, msg.attachments)
                self._reprompt(turn, flows)
                return
        if step.type == "attachment":
            if command in ("done", "skip") or msg.payload in ("!done", "!skip"):
                slots.setdefault(step.slot, [])
                self._advance(turn, flows, step, step.next)
                return
            if msg.payload is not None:
                turn.say("unknown_button")
            else:
                turn.say("need_attachment")
            self._reprompt(turn, flows)
            return
        if command == "skip" and step.skippable:
            slots[step.slot] = None
            self._advance(turn, flows, step, step.next)
            return
        if msg.payload is not None:
            turn.say("unknown_button")
            self._reprompt(turn, flows)
            return
        if step.type == "phone" and msg.extras.get("contact_phone"):
            text = str(msg.extras["contact_phone"])
        else:
            text = turn.text
        try:
            parsed = validate(step.type, text, now=turn.now)
        except Invalid as exc:
            turn.say(exc.key)
            self._reprompt(turn, flows)
            return
        slots[step.slot] = parsed.value
        for key, value in parsed.extra.items():
            if key in flow.slots and slots.get(key) in (None, ""):
                slots[key] = value
        self._advance(turn, flows, step, step.next)

    def _store_attachments(self, turn: Turn, slot: str, attachments: tuple[Attachment, ...]) -> None:
        stored: list[dict[str, Any]] = list(turn.slots.get(slot) or [])
        for a in attachments:
            if len(stored) >= self.max_attachments:
                turn.say("attachment_rejected", max_mb=10, max_count=self.max_attachments)
                break
            stored.append({"kind": a.kind, "mime_type": a.mime_type, "size": a.size, "sha256": a.sha256,
                           "path": a.path, "file_name": a.file_name})
        turn.slots[slot] = stored
        turn.say("attachment_saved", count=len(stored))

    def _choice(self, turn: Turn, flows: FlowSet, step: ChoiceStep, command: str | None, norm: str) -> None:
        msg = turn.inbound
        options = flows.option_sets[step.options]
        if command == "skip" and step.skippable:
            turn.slots[step.slot] = [] if step.multiple else None
            self._advance(turn, flows, step, step.next)
            return
        if not step.multiple:
            chosen = _match_option(options, msg.payload, norm, turn.locale)
            if chosen is None:
                turn.say("unknown_button" if msg.payload is not None else "choose_option")
                self._reprompt(turn, flows)
                return
            turn.slots[step.slot] = chosen.id
            turn.slots.update(chosen.set)
            if chosen.urgent:
                self._mark_urgent(turn, flows)
            self._advance(turn, flows, step, chosen.next or step.next)
            return
        pending: list[str] = list(turn.state.get("pending") or [])
        if command == "done":
            self._finish_multi(turn, flows, step, options, pending)
            return
        if msg.payload is not None:
            chosen = _match_option(options, msg.payload, norm, turn.locale)
            if chosen is None:
                turn.say("unknown_button")
            elif chosen.exclusive:
                self._finish_multi(turn, flows, step, options, [chosen.id])
                return
            elif chosen.id in pending:
                pending.remove(chosen.id)
            else:
                pending = [p for p in pending if not _is_exclusive(options, p)] + [chosen.id]
            turn.state["pending"] = pending
            self._reprompt(turn, flows)
            return
        picked = _match_many(options, norm)
        if not picked:
            turn.say("choose_option")
            self._reprompt(turn, flows)
            return
        self._finish_multi(turn, flows, step, options, [o.id for o in picked])

    def _finish_multi(self, turn: Turn, flows: FlowSet, step: ChoiceStep, options: tuple[Option, ...],
                            chosen: list[str]) -> None:
        if any(_is_exclusive(options, c) for c in chosen):
            chosen = []
        turn.slots[step.slot] = [o.id for o in options if o.id in chosen]  # keep the flow's order
        turn.state["pending"] = []
        if any(o.urgent for o in options if o.id in chosen):
            self._mark_urgent(turn, flows)
        self._advance(turn, flows, step, step.next)

    def _mark_urgent(self, turn: Turn, flows: FlowSet) -> None:
        turn.state["urgent"] = True
        if not turn.state.get("urgent_shown"):
            turn.state["urgent_shown"] = True
            advice = urgent_advice(flows)
            turn.out.append(OutboundMessage(fill(advice.text.get(turn.locale), self.variables), urgent=True))
            turn.say("urgent_resume")

    def _submit_step(self, turn: Turn, flows: FlowSet, step: SubmitStep, norm: str) -> None:
        payload = turn.inbound.payload
        if payload == "!submit" or (payload is None and norm in SUBMIT_WORDS):
            reference = self.submit(turn)
            turn.out.append(OutboundMessage(fill(step.done.get(turn.locale), {**self.variables,
                                                                               "reference": reference})))
            self._goto(turn, flows, step.next)
            return
        if payload == "!edit" or (payload is None and norm in ("sua", "edit", "sua thong tin", "chinh sua")):
            buttons = [Button(f"!edit:{i}", f.label.get(turn.locale)) for i, f in enumerate(step.fields)]
            turn.out.append(OutboundMessage(say("edit_which", turn.locale), tuple(buttons)))
            return
        if payload and payload.startswith("!edit:") and payload[6:].isdigit() and int(payload[6:]) < len(step.fields):
            field_ = step.fields[int(payload[6:])]
            target = flows.flows[turn.state["flow"]].step(field_.step)
            if isinstance(target, AskStep | ChoiceStep):
                turn.slots.pop(target.slot, None)
            # Re-ask that field, then walk on: every step whose slot is still filled is passed over, so the
            # parent lands back on the summary — after any follow-up question the new answer opened up.
            self._goto(turn, flows, field_.step)
            return
        if payload is not None:
            turn.say("unknown_button")
        self._reprompt(turn, flows)


def urgent_advice(flows: FlowSet) -> MessageStep:
    """The "what to do in the next five minutes" message, shown wherever harm is mentioned."""
    step = flows.flows[URGENT_FLOW].step(URGENT_ADVICE_STEP)
    if not isinstance(step, MessageStep):  # flowload refuses such a set; this guards a hand-built one
        raise TypeError(f"{URGENT_FLOW}.{URGENT_ADVICE_STEP} must be a message step")
    return step


def _is_exclusive(options: tuple[Option, ...], option_id: str) -> bool:
    return any(o.id == option_id and o.exclusive for o in options)
