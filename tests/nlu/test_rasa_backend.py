"""RasaBackend against a real HTTP server on 127.0.0.1 (a tiny asyncio one), not a mocked client."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from nlu.api import NluEngine
from nlu.backend import LocalBackend, NluBackend
from nlu.rasa_backend import RasaBackend


@dataclass
class FakeRasa:
    """Answers POST /model/parse with whatever ``reply`` says; records what it was sent."""

    status: int = 200
    body: Any = None
    delay: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def answer(self, intent: str, confidence: float, *others: tuple[str, float]) -> None:
        ranking = [{"name": intent, "confidence": confidence}] + [{"name": n, "confidence": c} for n, c in others]
        self.status, self.body = 200, {"text": "", "intent": ranking[0], "intent_ranking": ranking, "entities": []}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            await self._respond(reader, writer)
        finally:
            writer.close()
            self.tasks.discard(task)

    async def _respond(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
        payload = await reader.readexactly(int(headers.get("content-length", "0")))
        assert request_line.startswith("POST /model/parse ")
        self.received.append(json.loads(payload))
        if self.delay:
            await asyncio.sleep(self.delay)
        data = self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()
        writer.write(
            f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + data
        )
        await writer.drain()


@pytest.fixture
async def rasa() -> AsyncIterator[FakeRasa]:
    fake = FakeRasa()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    fake.port = server.sockets[0].getsockname()[1]
    async with server:
        yield fake
        # A handler still sleeping (the timeout test) must not outlive the test's event loop.
        for task in list(fake.tasks):
            task.cancel()
        await asyncio.gather(*fake.tasks, return_exceptions=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


TEXT = "số 0377 123 999 gọi xưng cô chủ nhiệm, tôi chưa làm gì"


async def test_uses_the_remote_intents_and_local_entities(engine: NluEngine, rasa: FakeRasa) -> None:
    rasa.answer("talk_to_officer", 0.91, ("check_call", 0.05))
    async with RasaBackend(f"http://127.0.0.1:{rasa.port}/", 2.0, engine) as backend:
        result = await backend.parse(TEXT)
    assert rasa.received == [{"text": TEXT}]
    assert (result.intent, result.confidence) == ("talk_to_officer", 0.91)
    assert result.ranking == (("talk_to_officer", 0.91), ("check_call", 0.05))
    assert result.entities == engine.parse(TEXT).entities  # extracted here, never taken from the remote
    assert result.entities[0].value == "+84377123999"


async def test_rasa_fallback_and_unknown_intents_are_skipped(engine: NluEngine, rasa: FakeRasa) -> None:
    rasa.answer("nlu_fallback", 0.7, ("weather", 0.2), ("check_call", 0.1))
    async with RasaBackend(f"http://127.0.0.1:{rasa.port}", 2.0, engine) as backend:
        result = await backend.parse(TEXT)
    assert result.ranking == (("check_call", 0.1),)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, {"error": "boom"}),
        (200, b"<html>not json</html>"),
        (200, {"intent": "greet"}),
        (200, {"intent": {"name": "weather", "confidence": 1.0}}),
        (200, {"intent": {"name": "greet"}, "intent_ranking": [{"name": "greet", "confidence": "high"}]}),
    ],
)
async def test_errors_fall_back_to_the_local_model(engine: NluEngine, rasa: FakeRasa, status: int, body: Any) -> None:
    rasa.status, rasa.body = status, body
    async with RasaBackend(f"http://127.0.0.1:{rasa.port}", 2.0, engine) as backend:
        result = await backend.parse(TEXT)
        assert not backend.remote_ok
    local = engine.parse(TEXT)
    assert (result.intent, result.ranking, result.entities) == (local.intent, local.ranking, local.entities)


async def test_timeout_falls_back(engine: NluEngine, rasa: FakeRasa) -> None:
    rasa.answer("greet", 1.0)
    rasa.delay = 1.0
    async with RasaBackend(f"http://127.0.0.1:{rasa.port}", 0.1, engine) as backend:
        result = await backend.parse(TEXT)
    assert result.intent == engine.parse(TEXT).intent != "greet"


async def test_outage_is_logged_once_and_recovery_once(
    engine: NluEngine, rasa: FakeRasa, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="nlu.rasa_backend")
    rasa.status, rasa.body = 503, {"error": "loading model"}
    async with RasaBackend(f"http://127.0.0.1:{rasa.port}", 2.0, engine, retry_after=0.0) as backend:
        for _ in range(4):
            assert (await backend.parse(TEXT)).intent == engine.parse(TEXT).intent
        rasa.answer("greet", 0.99)
        assert (await backend.parse("alo")).intent == "greet"
        assert (await backend.parse("alo")).intent == "greet"
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "failed" in messages[0] and "HTTPStatusError" in messages[0]
    assert "answers again" in messages[1]
    assert len(rasa.received) == 6


async def test_after_a_failure_the_remote_is_skipped_for_retry_after(engine: NluEngine, rasa: FakeRasa) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens here: connection refused
    async with RasaBackend(url, 1.0, engine, retry_after=60.0) as backend:
        first = await backend.parse(TEXT)
        second = await backend.parse(TEXT)
        assert not backend.remote_ok
    assert first.intent == second.intent == engine.parse(TEXT).intent


async def test_both_backends_satisfy_the_interface(engine: NluEngine, rasa: FakeRasa) -> None:
    local = LocalBackend(engine)
    async with RasaBackend(f"http://127.0.0.1:{rasa.port}", 1.0, engine) as remote:
        assert isinstance(local, NluBackend) and isinstance(remote, NluBackend)
    assert (await local.parse(TEXT)) == engine.parse(TEXT)
    await local.aclose()
