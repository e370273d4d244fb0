"""Where a returning visitor left off: the current step's prompt, read from the stored conversation.

Read-only and outside the engine's lock on purpose: it answers "what is the bot waiting for?" after a reload
or reconnect, without counting as a message (no dedupe record, no rate-limit token, no state change).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bot.runtime import Runtime
from handlers.flowload import FlowSet
from handlers.flowspec import AnyStep
from handlers.messages import ConversationKey, OutboundMessage
from handlers.render import prompt
from storage.conversations import peek
from storage.crypto import Cipher

# Where the engine sends a conversation whose state points nowhere: handlers/flows/main.yaml's menu. Spelled
# here rather than imported because the dialogue module's internals are being reorganised.
MAIN_FLOW, MENU_STEP = "main", "menu"


@dataclass(frozen=True)
class Resume:
    started: bool  # False: no conversation yet (new visitor, or they asked to be forgotten)
    locale: str | None
    messages: tuple[OutboundMessage, ...]

    def to_json(self) -> dict[str, Any]:
        return {"type": "resume", "started": self.started, "locale": self.locale,
                "messages": [m.to_json() for m in self.messages]}


def _current_step(flows: FlowSet, state: dict[str, Any]) -> AnyStep:
    """The step the engine would run next; the main menu when the state points nowhere (as the engine does)."""
    flow = flows.flows.get(state.get("flow") or "")
    if flow is not None and state.get("step"):
        try:
            return flow.step(state["step"])
        except KeyError:
            pass  # the flow was edited under a live conversation
    return flows.flows[MAIN_FLOW].step(MENU_STEP)


def read_resume(conn: sa.Connection, *, key: ConversationKey, cipher: Cipher, flows: FlowSet,
                variables: dict[str, Any]) -> Resume:
    """Unit of work for ``Database.run``: the conversation's locale and current prompt."""
    found = peek(conn, key=key, cipher=cipher)
    if found is None:
        return Resume(started=False, locale=None, messages=())
    locale, state = found
    if not state.get("flow"):
        return Resume(started=False, locale=locale, messages=())
    shown = prompt(_current_step(flows, state), state, flows, locale, variables)
    return Resume(started=True, locale=locale, messages=(shown,) if shown is not None else ())


async def current_prompt(runtime: Runtime, key: ConversationKey) -> Resume:
    """What to show a visitor who comes back to ``key``."""
    return await runtime.db.run(read_resume, key=key, cipher=runtime.cipher, flows=runtime.flows.get(),
                                variables=dict(runtime.engine.config.variables))
