"""Answers to the questions parents ask most, from the console's FAQ list, inside the engine's turn.

:meth:`FaqHook.intercept` runs before the flow, only where the parent is not in the middle of anything (the
main menu, or a first message):

- the menu's "Câu hỏi thường gặp" option lists the questions as buttons, and a press shows the answer;
- free text that names at least two of an entry's keyword phrases ("app sổ liên lạc thật tải ở đâu" →
  "sổ liên lạc" + "tải ở đâu") is answered with that entry, then the menu again.

Text that carries a number or a link is never taken (the checks answer that), nor one saying harm is done
(the urgent advice comes first), nor a command. Entries are read from the database on each such message, so
a new one is answerable at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from handlers.commands import command_of, harm_of
from handlers.flowload import FlowSet
from handlers.flowspec import MenuStep, MessageStep
from handlers.matching import match_option
from handlers.messages import Button, OutboundMessage
from handlers.render import prompt
from handlers.texts import fill
from handlers.turn import MAIN_FLOW, MENU_STEP, Turn
from nlu.normalize import normalize
from storage import content_faq
from storage.content_faq import FaqEntry

FAQ_FLOW = "faq"  # handlers/flows/faq.yaml: what the menu option shows if this hook is not there
ANSWER = "!faq:"
MAX_BUTTONS = 10
# A number or a link: the parent wants it checked, not an FAQ answer.
_EVIDENCE = re.compile(r"(?:\d[\s.\-]?){6,}|https?://|www\.|\b[a-z0-9-]+\.(?:vn|com|net|org|info|xyz|top|app|io|me)\b")
_LIST = {"vi": "❓ Câu hỏi thường gặp — bấm một câu để xem trả lời, hoặc gõ câu hỏi của bạn.",
         "en": "❓ Common questions — press one to read the answer, or type your question."}
_EMPTY = {"vi": "Chưa có câu hỏi thường gặp nào. Bạn cứ gõ câu hỏi, hoặc chọn một mục trong menu.",
          "en": "There are no common questions yet. Type your question, or choose from the menu."}


@lru_cache(maxsize=2048)
def _phrase(text: str) -> re.Pattern[str] | None:
    norm = normalize(text)
    return re.compile(rf"(?<![a-z0-9]){re.escape(norm)}(?![a-z0-9])") if norm else None


def score(entry: FaqEntry, norm: str) -> int:
    """How well ``norm`` (normalised text) asks this entry's question: 0 unless two keyword phrases match
    (or the question itself was typed); otherwise the number of matched words."""
    if norm == normalize(entry.question).strip(" ?.!"):
        return 100
    matched = [k for k in entry.keywords if (p := _phrase(k)) is not None and p.search(norm)]
    return sum(len(normalize(k).split()) for k in matched) if len(matched) >= 2 else 0


def best(entries: Sequence[FaqEntry], norm: str, locale: str) -> FaqEntry | None:
    """The best-scoring entry; ties go to the parent's language, then the list's order."""
    ranked = sorted(((score(e, norm), e.language == locale, -i, e) for i, e in enumerate(entries)),
                    key=lambda t: t[:3], reverse=True)
    return ranked[0][3] if ranked and ranked[0][0] > 0 else None


class FaqHook:
    """See the module docstring."""

    def __init__(self, *, flows: Callable[[], FlowSet], variables: Mapping[str, Any]) -> None:
        self.flows = flows
        self.variables = dict(variables)

    def intercept(self, turn: Turn) -> bool:
        msg, state = turn.inbound, turn.state
        payload = msg.payload
        if payload is not None and payload.startswith(ANSWER):
            entry_id = payload[len(ANSWER):]
            entry = content_faq.get(turn.conn, entry_id=int(entry_id)) if entry_id.isdigit() else None
            if entry is None or not entry.enabled:
                return False
            self._answer(turn, entry)
            return True
        first = not state.get("flow")
        if not first and (state.get("flow") != MAIN_FLOW or state.get("step") != MENU_STEP):
            return False
        norm = normalize(turn.text) if turn.text else ""
        flows = self.flows()
        menu = flows.flows[MAIN_FLOW].step(MENU_STEP)
        if not first and isinstance(menu, MenuStep | MessageStep):
            chosen = match_option(menu.options, payload, norm, turn.locale) if (payload or norm) else None
            if chosen is not None and chosen.next == f"flow:{FAQ_FLOW}":
                self._list(turn)
                return True
        if payload is not None or not norm or msg.attachments or msg.extras.get("start_param"):
            return False
        if command_of(norm, None) or harm_of(norm) or _EVIDENCE.search((turn.text or "").lower()):
            return False
        entry = best(content_faq.entries(turn.conn, enabled_only=True), norm, turn.locale)
        if entry is None:
            return False
        if first:
            self._welcome(turn, flows)
        self._answer(turn, entry)
        return True

    def after(self, turn: Turn) -> None:
        """Nothing to add after the flow ran."""

    # ----- what the parent sees -----------------------------------------------------------------------
    def _answer(self, turn: Turn, entry: FaqEntry) -> None:
        turn.out.append(OutboundMessage(f"❓ {entry.question}\n\n{fill(entry.answer, self.variables)}"))
        self._to_menu(turn)

    def _list(self, turn: Turn) -> None:
        found = content_faq.entries(turn.conn, enabled_only=True)
        mine = [e for e in found if e.language == turn.locale] or found
        if not mine:
            turn.out.append(OutboundMessage(_EMPTY["en" if turn.locale == "en" else "vi"]))
            self._to_menu(turn)
            return
        buttons = tuple(Button(f"{ANSWER}{e.id}", e.question if len(e.question) <= 60 else e.question[:59] + "…")
                        for e in mine[:MAX_BUTTONS])
        turn.out.append(OutboundMessage(_LIST["en" if turn.locale == "en" else "vi"],
                                        (*buttons, Button("!menu", "Menu"))))

    def _to_menu(self, turn: Turn) -> None:
        turn.state.update(flow=MAIN_FLOW, step=MENU_STEP, history=[], pending=[])
        turn.state.setdefault("slots", {})
        flows = self.flows()
        shown = prompt(flows.flows[MAIN_FLOW].step(MENU_STEP), turn.state, flows, turn.locale, self.variables)
        if shown is not None:
            turn.out.append(shown)

    def _welcome(self, turn: Turn, flows: FlowSet) -> None:
        """The main flow's opening messages (who we are, what happens to a report), as a first message gets."""
        main = flows.flows[MAIN_FLOW]
        step = main.step(main.start)
        while isinstance(step, MessageStep) and not step.options:
            turn.out.append(OutboundMessage(fill(step.text.get(turn.locale), self.variables)))
            if step.next in ("end", "menu") or step.next.startswith("flow:"):
                break
            step = main.step(step.next)
