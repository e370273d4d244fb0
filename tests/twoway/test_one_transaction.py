"""A chat message over the HTTP API is one database transaction: the turn and the notices it carries back (an
officer's question, waiting for the parent's next request) commit together — a replayed duplicate included. The
web chat's HTTP fallback: its session check, then that one transaction. Real app, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import event

from bot.delivery import pull, talk_of
from bot.web import create_app
from handlers import handoff_ops
from handlers.ratelimit import RateLimiter
from handlers.texts import say as text_of
from storage import notices
from storage.db import Database
from storage.schema import tips
from tests.twoway.conftest import SUPERVISOR, World, reference_in


@contextmanager
def transactions(db: Database) -> Iterator[list[str]]:
    """Every BEGIN / COMMIT / ROLLBACK on the database's engines (SQLite: its writer thread's too), in order."""
    engines = [db.engine.sync_engine]
    writer = getattr(db, "_writer", None)
    if writer is not None:
        engines.append(writer.engine)
    seen: list[str] = []
    listeners = [(name, lambda _conn, name=name: seen.append(name)) for name in ("begin", "commit", "rollback")]
    for engine in engines:
        for name, fn in listeners:
            event.listen(engine, name, fn)
    try:
        yield seen
    finally:
        for engine in engines:
            for name, fn in listeners:
                event.remove(engine, name, fn)


def client(world: World) -> httpx.AsyncClient:
    app = create_app(world.runtime, close_on_shutdown=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://hotline.test")


async def ask(world: World, reference: str, question: str, key: str) -> int:
    runtime = world.runtime

    def tip_id_of(conn: sa.Connection) -> int:
        return int(conn.execute(sa.select(tips.c.id).where(tips.c.reference == reference)).scalar_one())

    tip_id = await runtime.db.run(tip_id_of)
    return await runtime.db.run(handoff_ops.ask, viewer=SUPERVISOR, tip_id=tip_id, question=question,
                                talk=talk_of(runtime), now=datetime.now(UTC), key=key)


async def status(world: World, notice_id: int) -> str:
    row = await world.runtime.db.run(notices.get, notice_id=notice_id)
    assert row is not None
    return row.status


async def api_say(api: httpx.AsyncClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = await api.post("/api/v1/messages", json={"user_id": "api-parent", **body})
    assert r.status_code == 200, r.text
    return list(r.json()["messages"])


async def file_handoff(api: httpx.AsyncClient) -> str:
    """The API parent asks for an officer ("Gặp cán bộ") and files it; the tip's reference."""
    await api_say(api, {"text": "gặp cán bộ"})
    await api_say(api, {"text": "Cần hỏi về một tin nhắn lạ"})
    return reference_in(" ".join(m["text"] for m in await api_say(api, {"payload": "!submit"})))


async def test_an_api_message_is_one_transaction_and_brings_the_waiting_question(world: World) -> None:
    async with client(world) as api:
        async def say(body: dict[str, Any]) -> list[dict[str, Any]]:
            return await api_say(api, body)

        reference = await file_handoff(api)
        first = await ask(world, reference, "Tin nhắn từ số nào?", "q1")
        with transactions(world.runtime.db) as seen:
            replies = await say({"text": "menu", "message_id": "m-menu"})
        assert seen == ["begin", "commit"]
        # The turn's reply first, then the police's question, taken (marked sent) in that same transaction.
        assert replies[0]["text"].startswith("Bạn cần giúp gì") and "Tin nhắn từ số nào?" in replies[-1]["text"]
        assert await status(world, first) == "sent"

        # A duplicate is answered from its dedupe record, and still picks up what waits since — in one transaction.
        second = await ask(world, reference, "Gọi lúc mấy giờ?", "q2")
        with transactions(world.runtime.db) as seen:
            again = await say({"text": "menu", "message_id": "m-menu"})
        assert seen == ["begin", "commit"]
        assert again[:-1] == replies[:-1] and "Gọi lúc mấy giờ?" in again[-1]["text"]
        assert "Tin nhắn từ số nào?" not in again[-1]["text"]  # at most once: the first went out already
        assert await status(world, second) == "sent"

        with transactions(world.runtime.db) as seen:
            assert await pull(world.runtime, "api", "api-parent") == []  # the async form: its own transaction
        assert seen == ["begin", "commit"]


async def test_over_the_rate_the_reply_still_brings_the_waiting_question(world: World) -> None:
    """No turn runs (slow down, then blocked): the pull still happens once, in one transaction."""
    async with client(world) as api:
        async def say(body: dict[str, Any]) -> list[dict[str, Any]]:
            return await api_say(api, body)

        reference = await file_handoff(api)
        engine = world.runtime.engine
        engine.limiter = RateLimiter(user_burst=1, user_per_minute=1, global_per_second=1000, block_after=2)
        assert (await say({"text": "menu"}))[0]["text"].startswith("Bạn cần giúp gì")  # the one token left
        for key, verdict in (("r1", "slow_down"), ("r2", "blocked")):
            asked = await ask(world, reference, f"Câu hỏi {key}?", key)
            with transactions(world.runtime.db) as seen:
                replies = await say({"text": "menu"})
            assert seen == ["begin", "commit"]
            expected = text_of(verdict, "vi", minutes=engine.config.block_minutes)
            assert replies[0]["text"] == expected and f"Câu hỏi {key}?" in replies[-1]["text"]
            assert len(replies) == 2 and await status(world, asked) == "sent"


async def test_a_web_chat_http_message_is_its_session_check_then_one_transaction(world: World) -> None:
    async with client(world) as chat:
        n = 0

        async def say(text: str | None = None, payload: str | None = None) -> list[dict[str, Any]]:
            nonlocal n
            n += 1
            body: dict[str, Any] = {"id": f"webmsg{n:06d}", "text": text} if text else {"id": f"webmsg{n:06d}",
                                                                                        "payload": payload}
            r = await chat.post("/chat/api/messages", json=body)
            assert r.status_code == 200, r.text
            return list(r.json()["messages"])

        await say("/start")
        await say("gặp cán bộ")
        await say("Cần hỏi về tin nhắn lạ")
        reference = reference_in(" ".join(m["text"] for m in await say(payload="!submit")))
        asked = await ask(world, reference, "Tin nhắn đến từ số nào?", "w1")  # open: it talked a moment ago
        with transactions(world.runtime.db) as seen:
            replies = await say("menu")
        # The session's check (has its conversation started?), then the turn, presence and the pull together.
        assert seen == ["begin", "commit", "begin", "commit"]
        assert replies[0]["text"].startswith("Bạn cần giúp gì") and "Tin nhắn đến từ số nào?" in replies[-1]["text"]
        assert await status(world, asked) == "sent"
