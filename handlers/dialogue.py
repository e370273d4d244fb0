"""One turn of the conversation: the state machine that walks the flows.

It works on a plain JSON state dict and an open transaction, and returns the replies; loading, locking and
saving the state are the engine's job (handlers/engine.py). It is synchronous on purpose: a whole turn runs
as one unit of work inside ``Database.run`` (a worker thread on SQLite, ``run_sync`` on PostgreSQL).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from handlers.checking import Checker
from handlers.commands import command_of, harm_of
from handlers.evidence.hook import EvidenceHook
from handlers.flowload import FlowSet
from handlers.flowspec import (
    AnyStep,
    AskStep,
    BranchStep,
    CheckStep,
    ChoiceStep,
    MessageStep,
    SubmitStep,
)
from handlers.inputs import StepInputs
from handlers.matching import condition_holds
from handlers.messages import Button, OutboundMessage
from handlers.render import prompt
from handlers.texts import fill, say
from handlers.turn import (
    MAIN_FLOW,
    MAX_AUTO_STEPS,
    MAX_HISTORY,
    MENU_STEP,
    URGENT_ADVICE_STEP,
    URGENT_FLOW,
    Eraser,
    Submitter,
    Turn,
)
from handlers.understanding import Understand
from nlu.normalize import normalize
from storage.reference import get_schools


class Dialogue(StepInputs):
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
        understand: Understand | None = None,
        low_confidence: float = 0.5,
        evidence: EvidenceHook | None = None,
    ) -> None:
        self._flows = flows
        self.understand = understand
        self.low_confidence = low_confidence
        self.checker = checker
        self.submit = submit
        self.erase = erase
        self.variables = dict(variables)
        self.max_attachments = max_attachments
        self.evidence = evidence

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
            self._welcome(turn, flows)
        welcome = list(turn.out) if first_contact else []

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
        if msg.payload and msg.payload.startswith("!intent:"):
            self._start_intent(turn, flows, msg.payload[8:], state.pop("clarify_text", None))
            return
        # Screenshots, QR codes, APKs, forwarded messages: read before harm words are looked for, because a
        # forwarded scam's "chuyển tiền gấp" is the scammer's words, not the parent's (handlers/evidence).
        if self.evidence is not None and self.evidence.handle_turn(self, turn, flows):
            return

        harm = harm_of(norm) if norm and msg.payload is None else None
        if harm and state.get("flow") != URGENT_FLOW:
            # A parent in trouble reads the advice first; the welcome notice follows it.
            del turn.out[: len(welcome)]
            self._urgent(turn, flows, harm)
            turn.out.extend(welcome)
            return

        step = self._current(flows, state)
        if step is None:
            self._goto(turn, flows, "menu")
            return
        self._input(turn, flows, step, command, norm, first_contact)

    def _welcome(self, turn: Turn, flows: FlowSet) -> None:
        """The first messages of the main flow (who we are, what happens to a report): once, on first contact.

        The menu itself is not shown here: the parent's first message is read as an answer to it.
        """
        main = flows.flows[MAIN_FLOW]
        step = main.step(main.start)
        while isinstance(step, MessageStep) and not step.options:
            turn.out.append(OutboundMessage(fill(step.text.get(turn.locale), self.variables)))
            if step.next in ("end", "menu") or step.next.startswith("flow:"):
                break
            step = main.step(step.next)

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
                if condition_holds(case.when, slots):
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

    def _mark_urgent(self, turn: Turn, flows: FlowSet) -> None:
        turn.state["urgent"] = True
        if not turn.state.get("urgent_shown"):
            turn.state["urgent_shown"] = True
            advice = urgent_advice(flows)
            turn.out.append(OutboundMessage(fill(advice.text.get(turn.locale), self.variables), urgent=True))
            turn.say("urgent_resume")


def urgent_advice(flows: FlowSet) -> MessageStep:
    """The "what to do in the next five minutes" message, shown wherever harm is mentioned."""
    step = flows.flows[URGENT_FLOW].step(URGENT_ADVICE_STEP)
    if not isinstance(step, MessageStep):  # flowload refuses such a set; this guards a hand-built one
        raise TypeError(f"{URGENT_FLOW}.{URGENT_ADVICE_STEP} must be a message step")
    return step
