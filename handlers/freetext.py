"""Free text understood by nlu/ (the intent model): a story at the menu starts its flow pre-filled, and "cancel",
"help" or harm done interrupt any question. The half of :class:`handlers.inputs.StepInputs` that reads intents.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from handlers.flowload import FlowSet
from handlers.flowspec import AnyStep, MenuStep
from handlers.messages import Button, OutboundMessage
from handlers.texts import say
from handlers.turn import MAIN_FLOW, MENU_STEP, Submitter, Turn
from handlers.understanding import HARM, SMALL_TALK, Parsed, Understand, menu_option_for, prefill, understood_text
from nlu.harm import Harm, read_harm
from nlu.normalize import normalize


def _harm_stands(text: str) -> bool:
    """A classifier's "harm done" stands unless the rules read a denial or a question.

    Explicit rules win over the model here: "họ đòi OTP nhưng tôi không đưa" and "tôi có bị trừ tiền không?"
    must not trigger the urgent path, and "tôi lỡ chuyển tiền rồi" always does (the dialogue reads the rules
    before the model).
    """
    reading = read_harm(normalize(text))
    return reading.kind is not None or not (reading.denied or reading.questioned)


@dataclass(frozen=True)
class _Reranked:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]
    entities: tuple[Any, ...]


def _without_denied_harm(parse: Parsed, text: str) -> Parsed:
    """Drop harm intents the parent denies; the next best guess (usually check_call) takes their place."""
    if parse.intent not in HARM or _harm_stands(text):
        return parse
    ranking = tuple((i, c) for i, c in parse.ranking if i not in HARM) or (("check_call", 0.0),)
    total = sum(c for _, c in ranking) or 1.0
    best, score = ranking[0]
    return _Reranked(best, max(score / total, 0.0), ranking, parse.entities)


class FreeText(ABC):
    """Free text understood by nlu/: what a message means when it answers no question. The moves come from
    :class:`handlers.dialogue.Dialogue`."""

    understand: Understand | None
    low_confidence: float
    submit: Submitter
    max_attachments: int
    variables: dict[str, Any]

    def _parse(self, turn: Turn, text: str) -> Parsed:
        """The intent of ``text``: parsed before the turn by a remote backend if there is one, else here."""
        ready: Parsed | None = turn.parsed.get(text)
        if ready is not None:
            return ready
        if self.understand is None:
            raise RuntimeError("no intent model configured")
        return self.understand(text)

    # The moves between steps, supplied by Dialogue.
    @abstractmethod
    def _goto(self, turn: Turn, flows: FlowSet, target: str, *, carry: bool = False, render: bool = True) -> None:
        ...

    @abstractmethod
    def _reprompt(self, turn: Turn, flows: FlowSet) -> None:
        ...

    @abstractmethod
    def _advance(self, turn: Turn, flows: FlowSet, step: AnyStep, target: str, *, carry: bool = False) -> None:
        ...

    @abstractmethod
    def _urgent(self, turn: Turn, flows: FlowSet, harm: Harm | str) -> None:
        ...

    @abstractmethod
    def _mark_urgent(self, turn: Turn, flows: FlowSet) -> None:
        ...

    @abstractmethod
    def _reopen(self, turn: Turn, step: AnyStep | None) -> list[str]:
        ...

    # ----- free text understood by nlu/ ---------------------------------------------------------------
    def _interrupt(self, turn: Turn, flows: FlowSet) -> bool:
        """An answer that fits no slot may be "cancel", "help" or harm done: those interrupt any form."""
        if turn.harm is not None or self.understand is None or not turn.text.strip():
            return False  # harm is being handled already: this is only the answer being read
        parse = self._parse(turn, turn.text)
        if parse.confidence < self.low_confidence:
            return False
        if parse.intent in HARM and not _harm_stands(turn.text):
            return False
        if parse.intent in HARM:
            self._urgent(turn, flows, parse.intent)
            return True
        if parse.intent == "cancel":
            turn.say("cancelled")
            self._goto(turn, flows, "menu")
            return True
        if parse.intent == "help":
            turn.say("help")
            self._reprompt(turn, flows)
            return True
        return False

    def _on_intent(self, turn: Turn, flows: FlowSet, parse: Parsed, first_contact: bool) -> bool:
        """Act on free text at the menu. False when the caller should fall back to plain matching."""
        parse = _without_denied_harm(parse, turn.text)
        if parse.confidence < self.low_confidence:
            choices: list[Button] = []
            menu = flows.flows[MAIN_FLOW].step(MENU_STEP)
            labels = {o.id: o.label.get(turn.locale) for o in menu.options} if isinstance(menu, MenuStep) else {}
            for intent, _score in parse.ranking:
                option = menu_option_for(flows, intent)
                if option and option in labels and all(b.label != labels[option] for b in choices):
                    choices.append(Button(f"!intent:{intent}", labels[option]))
                if len(choices) == 3:
                    break
            if not choices:
                return False
            turn.state["clarify_text"] = turn.text[:2000]
            choices.append(Button("!menu", say("btn_menu", turn.locale)))
            turn.out.append(OutboundMessage(say("clarify", turn.locale), tuple(choices)))
            return True
        self._start_intent(turn, flows, parse.intent, turn.text, parse=parse, first_contact=first_contact)
        return True

    def _start_intent(self, turn: Turn, flows: FlowSet, intent: str, text: str | None, *,
                      parse: Parsed | None = None, first_contact: bool = False) -> None:
        if intent in HARM:
            self._urgent(turn, flows, intent)
            return
        if intent == "cancel":
            turn.say("cancelled")
            self._goto(turn, flows, "menu")
            return
        if intent == "help":
            turn.say("help")
            self._goto(turn, flows, "menu")
            return
        if intent in SMALL_TALK:
            turn.say(SMALL_TALK[intent])
            self._goto(turn, flows, "menu")
            return
        flow = flows.flow_for_intent(intent)
        if flow is None or flow.id == MAIN_FLOW:  # greet, affirm, deny at the menu: show the menu
            if not first_contact:
                self._goto(turn, flows, "menu")
            else:
                self._reprompt(turn, flows)
            return
        if parse is None and text and self.understand is not None:
            parse = self._parse(turn, text)
        slots = prefill(parse, text or "", flow, flows, turn.conn) if parse is not None else {}
        turn.state["slots"] = dict(slots)
        before = len(turn.out)
        self._goto(turn, flows, f"flow:{flow.id}", carry=True)
        note = understood_text(slots, flow, flows, turn.locale)
        if note:
            turn.out.insert(before, OutboundMessage(note))
