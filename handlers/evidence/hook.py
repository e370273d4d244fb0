"""The seam between the engine and evidence reading (light: imports nothing heavy).

:class:`handlers.evidence.reader.EvidenceReader` implements it; the engine and the dialogue know only this.
"""

from __future__ import annotations

from typing import Any, Protocol

from handlers.flowload import FlowSet
from handlers.messages import InboundMessage
from handlers.turn import Turn


class EvidenceHook(Protocol):
    async def __call__(self, msg: InboundMessage) -> InboundMessage:
        """Before the turn, on the event loop: read the message's files (in worker processes)."""
        ...

    def handle_turn(self, moves: Any, turn: Turn, flows: FlowSet) -> bool:
        """Inside the turn: show, check and pre-fill what was read. False when there is nothing to do."""
        ...

    def close(self) -> None:
        """Stop the worker processes (at shutdown)."""
        ...
