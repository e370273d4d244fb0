"""The unit the dialogue works on: one inbound message, the conversation's state, the replies so far."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from handlers.messages import InboundMessage, OutboundMessage
from handlers.texts import say
from nlu.harm import Harm
from nlu.normalize import normalize

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
    parsed: dict[str, Any] = field(default_factory=dict)  # text → intent parse made before the turn (remote NLU)
    # Harm this message reports (nlu.harm.Harm), while it is also read as the answer to the current question:
    # the question is then asked again quietly if the message does not answer it.
    harm: Harm | None = None
    advice_at: int | None = None  # where in ``out`` the urgent advice goes (ahead of the next question)

    def say(self, key: str, **values: Any) -> None:
        self.out.append(OutboundMessage(say(key, self.locale, **values)))

    @property
    def slots(self) -> dict[str, Any]:
        slots: dict[str, Any] = self.state.setdefault("slots", {})
        return slots


Submitter = Callable[[Turn], str]
Eraser = Callable[[Turn], int]
