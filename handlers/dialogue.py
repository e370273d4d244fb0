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
from handlers.checks.codes import CONCLUSIVE
from handlers.commands import command_of
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
from nlu.harm import Harm, read_harm
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
        """Answer one message. A greeting held back for an emergency comes first in the next calm turn."""
        due = bool(turn.state.pop("welcome_due", False)) and bool(turn.state.get("flow"))
        self._respond(turn)
        if due and not turn.erase:
            if any(m.urgent for m in turn.out):
                turn.state["welcome_due"] = True  # still an emergency: nothing may push the advice away
            else:
                turn.out[0:0] = self._welcome(turn, self._flows())

    def _respond(self, turn: Turn) -> None:
        flows = self._flows()
        state = turn.state
        msg = turn.inbound
        norm = normalize(turn.text) if turn.text else ""
        first_contact = not state.get("flow")
        self._apply_start_param(turn)
        welcome: list[OutboundMessage] = []
        if first_contact:
            state.update(flow=MAIN_FLOW, step=None, slots={})
            self._goto(turn, flows, f"flow:{MAIN_FLOW}", render=False)
            welcome = self._welcome(turn, flows)
            turn.out.extend(welcome)

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

        harm = read_harm(norm) if norm and msg.payload is None else None
        if harm is not None and harm.kind and state.get("flow") != URGENT_FLOW:
            if welcome:
                # A parent in trouble reads the advice first and nothing after it but its buttons: the
                # greeting and privacy notice come with their next message.
                turn.out[:] = [m for m in turn.out if all(m is not w for w in welcome)]
                state["welcome_due"] = True
            self._urgent(turn, flows, harm)
            first = next((i for i, m in enumerate(turn.out) if m.urgent), None)
            if first:  # notes said before the turn ("I hid the OTP…") go after the advice
                turn.out[:] = [turn.out[first], *turn.out[:first], *turn.out[first + 1:]]
            return

        step = self._current(flows, state)
        if step is None:
            self._goto(turn, flows, "menu")
            return
        self._input(turn, flows, step, command, norm, first_contact)

    def _welcome(self, turn: Turn, flows: FlowSet) -> list[OutboundMessage]:
        """The first messages of the main flow (who we are, what happens to a report): once, on first contact.

        The menu itself is not shown here: the parent's first message is read as an answer to it.
        """
        out: list[OutboundMessage] = []
        main = flows.flows[MAIN_FLOW]
        step = main.step(main.start)
        while isinstance(step, MessageStep) and not step.options:
            out.append(OutboundMessage(fill(step.text.get(turn.locale), self.variables)))
            if step.next in ("end", "menu") or step.next.startswith("flow:"):
                break
            step = main.step(step.next)
        return out

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
                for key in ("urgent", "urgent_shown", "pretick", "school_typed"):
                    state.pop(key, None)
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
        early = self._conclusive(turn, flows) if isinstance(step, AskStep | ChoiceStep) else None
        if early is not None:
            return early
        if isinstance(step, ChoiceStep) and step.multiple and not turn.state.get("pending"):
            # What the parent already said they gave ("tôi lỡ đọc mã OTP") is ticked when the question comes.
            ticks = (turn.state.get("pretick") or {}).pop(step.slot, None)
            if ticks:
                turn.state["pending"] = list(ticks)
        if render:
            self._reprompt(turn, flows)
        return None

    def _conclusive(self, turn: Turn, flows: FlowSet) -> str | None:
        """The check step to jump to when what is known already decides it (a blocklisted number, an OTP ask)."""
        flow = flows.flows.get(turn.state.get("flow") or "")
        check = next((s for s in flow.steps if isinstance(s, CheckStep) and s.early), None) if flow else None
        if check is None or check.slot in turn.slots:
            return None
        outcome = self.checker.run(turn.conn, kind=check.checker, slots=dict(turn.slots), locale=turn.locale)
        codes = {r.get("code") for r in outcome.result.get("reasons") or () if isinstance(r, dict)}
        return check.id if codes & CONCLUSIVE else None

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
        ticks = self._reopen(turn, step)
        turn.state.update(step=previous, pending=ticks)
        self._reprompt(turn, flows)
        return True

    @staticmethod
    def _reopen(turn: Turn, step: AnyStep | None) -> list[str]:
        """Forget a step's answer to ask it again; a several-answers question comes back with its ticks."""
        if not isinstance(step, AskStep | ChoiceStep):
            return []
        old = turn.slots.pop(step.slot, None)
        if isinstance(step, ChoiceStep) and step.multiple:
            if old == []:  # "none of these" was the answer
                return []
            return [str(x) for x in old] if isinstance(old, list) else []
        return []

    def _urgent(self, turn: Turn, flows: FlowSet, harm: Harm | str) -> None:
        """Harm is done: the advice for the next five minutes first, and what was said is not lost.

        In a form the message is still read as the answer to the question it came at ("mã OTP của tôi đã gửi
        cho họ là …" at "paste their message" is kept there, redacted) and the form moves on; outside one the
        urgent flow starts. ``harm`` is the rules' reading, or an intent name from the classifier.
        """
        # From the classifier alone nothing is known about what was given: nothing is ticked for the parent.
        reading = harm if isinstance(harm, Harm) else Harm(money=harm == "money_lost")
        state = turn.state
        state["urgent"] = True
        current = self._current(flows, state)
        in_form = state.get("flow") not in (MAIN_FLOW, None) and isinstance(current, AskStep | ChoiceStep | SubmitStep)
        self._remember_harm(turn, flows, reading, current)
        if in_form and current is not None:
            turn.harm = reading
            turn.advice_at = len(turn.out)
            self._input(turn, flows, current, None, normalize(turn.text) if turn.text else "", False)
            self._show_advice(turn, flows)
            return
        state["urgent_shown"] = True
        self._goto(turn, flows, f"flow:{URGENT_FLOW}", carry=True)

    def _remember_harm(self, turn: Turn, flows: FlowSet, harm: Harm, current: AnyStep | None) -> None:
        slots = turn.slots
        asking_money = isinstance(current, ChoiceStep) and current.slot == "money_lost"
        if harm.money and not asking_money:
            slots["money_lost"] = "yes"
        given = [o.id for o in flows.option_sets.get("shared", ()) if o.id in harm.shared]
        if not given:
            return
        if isinstance(slots.get("shared"), list):  # answered before: add to it
            slots["shared"] = list(dict.fromkeys([*slots["shared"], *given]))
        elif not (isinstance(current, ChoiceStep) and current.slot == "shared"):
            pretick = turn.state.setdefault("pretick", {})
            pretick["shared"] = list(dict.fromkeys([*pretick.get("shared", []), *given]))

    def _show_advice(self, turn: Turn, flows: FlowSet) -> None:
        """The urgent advice, once per form, ahead of whatever this turn says next."""
        if turn.state.get("urgent_shown"):
            return
        turn.state["urgent_shown"] = True
        advice = urgent_advice(flows)
        at = turn.advice_at if turn.advice_at is not None else len(turn.out)
        turn.out[at:at] = [OutboundMessage(fill(advice.text.get(turn.locale), self.variables), urgent=True),
                           OutboundMessage(say("urgent_resume", turn.locale))]

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
        self._show_advice(turn, flows)


def urgent_advice(flows: FlowSet) -> MessageStep:
    """The "what to do in the next five minutes" message, shown wherever harm is mentioned."""
    step = flows.flows[URGENT_FLOW].step(URGENT_ADVICE_STEP)
    if not isinstance(step, MessageStep):  # flowload refuses such a set; this guards a hand-built one
        raise TypeError(f"{URGENT_FLOW}.{URGENT_ADVICE_STEP} must be a message step")
    return step
