"""Optional remote intent classification by a running Rasa server (``nlu.backend: rasa``).

The remote server only ranks intents. Entities — and therefore redaction, which must never depend on a network
call — always come from the local extractor. Any failure (connection refused, timeout, HTTP error, an answer we
cannot read) falls back to the local engine for that message; the outage is logged once when it starts and
once when it ends, never per message, and for ``retry_after`` seconds after a failure the remote is not tried
at all so that every message does not wait for the timeout.
"""

from __future__ import annotations

import logging
import time
from types import TracebackType
from typing import Any

import httpx

from nlu.api import NluEngine
from nlu.entities import extract_entities
from nlu.types import Parse

log = logging.getLogger(__name__)


class RasaAnswerError(ValueError):
    """The server answered, but not with a Rasa ``/model/parse`` body we can use."""


class RasaBackend:
    """Parse with ``{url}/model/parse``, falling back to ``local`` on any error.

    Use as an async context manager (or call :meth:`aclose`) so the HTTP connection pool is closed.
    """

    def __init__(
        self,
        url: str,
        timeout: float,
        local: NluEngine,
        *,
        retry_after: float = 30.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._endpoint = url.rstrip("/") + "/model/parse"
        self._local = local
        self._retry_after = retry_after
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None
        self._down_since: float | None = None  # monotonic time of the last failure while the remote is down

    @property
    def remote_ok(self) -> bool:
        """False while the remote is considered down (between a failure and the next success)."""
        return self._down_since is None

    async def parse(self, text: str) -> Parse:
        """Remote intent ranking with local entities; the local engine's parse if the remote fails."""
        if self._down_since is not None and time.monotonic() - self._down_since < self._retry_after:
            return self._local.parse(text)
        try:
            response = await self._client.post(self._endpoint, json={"text": text})
            response.raise_for_status()
            ranking = self._ranking(response.json())
        except Exception as exc:  # any failure at all must fall back: the parent is waiting for an answer
            if self._down_since is None:
                log.warning("rasa nlu at %s failed, using the local model until it recovers: %s",
                            self._endpoint, _describe(exc))  # fmt: skip
            self._down_since = time.monotonic()
            return self._local.parse(text)
        if self._down_since is not None:
            log.info("rasa nlu at %s answers again", self._endpoint)
            self._down_since = None
        return Parse(text, ranking[0][0], ranking[0][1], ranking, tuple(extract_entities(text)))

    def _ranking(self, body: Any) -> tuple[tuple[str, float], ...]:
        """Known intents from the answer, best first; Rasa's ``nlu_fallback`` and unknown names are dropped."""
        if not isinstance(body, dict) or not isinstance(body.get("intent"), dict):
            raise RasaAnswerError("answer has no 'intent' object")
        entries = body.get("intent_ranking") or [body["intent"]]
        known = set(self._local.intents)
        ranking: list[tuple[str, float]] = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise RasaAnswerError("intent_ranking entries must be objects")
            name, confidence = entry.get("name"), entry.get("confidence")
            if not isinstance(name, str) or not isinstance(confidence, int | float) or isinstance(confidence, bool):
                raise RasaAnswerError(f"bad ranking entry {entry!r}")
            if name in known:
                ranking.append((name, float(confidence)))
        if not ranking:
            raise RasaAnswerError("no intent this bot knows in the answer")
        ranking.sort(key=lambda item: item[1], reverse=True)
        return tuple(ranking)

    async def aclose(self) -> None:
        """Close the HTTP client if this backend created it."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> RasaBackend:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
