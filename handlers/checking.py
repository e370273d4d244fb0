"""The seam between the dialogue and the check engine.

A flow's ``check`` step hands the conversation's slots to a :class:`Checker` and shows what it returns.
The engine knows nothing about directories or blocklists; the checker knows nothing about flows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from handlers.messages import OutboundMessage


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What a check step shows and remembers.

    ``messages`` are shown to the parent; ``result`` (JSON-serialisable) is stored in the slot named by the
    step, so a later report can carry the verdict and its reasons.
    """

    verdict: str
    messages: tuple[OutboundMessage, ...]
    result: Mapping[str, Any] = field(default_factory=dict)


class Checker(Protocol):
    """Runs one named check (``call`` or ``link``) over a conversation's slots."""

    def run(
        self, conn: sa.Connection, *, kind: str, slots: Mapping[str, Any], locale: str
    ) -> CheckOutcome:
        """Check without any network access. ``conn`` is the conversation's open transaction (read only).

        Synchronous: it runs inside the turn's unit of work (see ``storage.db.Database.run``).
        """
        ...

