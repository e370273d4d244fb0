"""The NLU backend interface the dialogue talks to, and the in-process implementation.

``nlu.backend: local`` (the default) is :class:`LocalBackend`; ``nlu.backend: rasa`` is
:class:`nlu.rasa_backend.RasaBackend`, which falls back to a local engine on any failure.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from nlu.api import NluEngine
from nlu.types import Parse


@runtime_checkable
class NluBackend(Protocol):
    """Turns one message into a :class:`~nlu.types.Parse`.

    Implementations must never raise for a message they cannot classify remotely (fall back instead), must
    extract entities locally (redaction may not depend on a network call), and must be safe to call
    concurrently from one event loop. ``aclose`` releases connections; calling it twice is harmless.
    """

    async def parse(self, text: str) -> Parse: ...

    async def aclose(self) -> None: ...


class LocalBackend:
    """The in-process engine behind the async interface (a parse is well under a millisecond of CPU)."""

    def __init__(self, engine: NluEngine) -> None:
        self.engine = engine

    async def parse(self, text: str) -> Parse:
        """The local engine's parse."""
        return self.engine.parse(text)

    async def aclose(self) -> None:
        """Nothing to release."""
