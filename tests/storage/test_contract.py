"""The storage contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from handlers.messages import ConversationKey
from storage import conversations as repo
from storage.db import Database
from storage.schema import outbox, tips
from storage.tips import Indicator, create_tip, get_tip

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
KEY = ConversationKey("test", "chat-1")


async def test_conversation_created_loaded_and_saved(database: Database) -> None:
    async with database.transaction() as conn:
        conv = await repo.lock_and_load(conn, key=KEY, user_id="u", locale="vi", now=NOW)
        assert conv.state == {} and conv.version == 0
        await repo.save(conn, conversation=conv, state={"flow": "report", "slots": {"a": 1}}, locale="en", now=NOW)
    async with database.transaction() as conn:
        again = await repo.lock_and_load(conn, key=KEY, user_id="u", locale="vi", now=NOW)
    assert again.state == {"flow": "report", "slots": {"a": 1}} and again.version == 1 and again.locale == "en"


async def test_stale_save_is_refused(database: Database) -> None:
    async with database.transaction() as conn:
        conv = await repo.lock_and_load(conn, key=KEY, user_id="u", locale="vi", now=NOW)
        await repo.save(conn, conversation=conv, state={"n": 1}, locale="vi", now=NOW)
    with pytest.raises(repo.StaleConversationError):
        async with database.transaction() as conn:
            await repo.save(conn, conversation=conv, state={"n": 2}, locale="vi", now=NOW)


async def test_concurrent_writers_are_serialised_by_the_row_lock(database: Database) -> None:
    async def bump() -> None:
        async with database.transaction() as conn:
            conv = await repo.lock_and_load(conn, key=KEY, user_id="u", locale="vi", now=NOW)
            await asyncio.sleep(0)
            n = conv.state.get("n", 0)
            await repo.save(conn, conversation=conv, state={"n": n + 1}, locale="vi", now=NOW)

    await asyncio.gather(*(bump() for _ in range(10)))
    async with database.transaction() as conn:
        conv = await repo.lock_and_load(conn, key=KEY, user_id="u", locale="vi", now=NOW)
    assert conv.state == {"n": 10}


async def test_replies_recorded_once_per_message_id(database: Database) -> None:
    async with database.transaction() as conn:
        assert await repo.find_replies(conn, key=KEY, message_id="m1") is None
        await repo.record_replies(conn, key=KEY, message_id="m1", replies=[{"text": "a"}], now=NOW)
    async with database.transaction() as conn:
        assert await repo.find_replies(conn, key=KEY, message_id="m1") == [{"text": "a"}]
    with pytest.raises(sa.exc.IntegrityError):
        async with database.transaction() as conn:
            await repo.record_replies(conn, key=KEY, message_id="m1", replies=[], now=NOW)


async def test_tip_and_outbox_rows_commit_together_or_not_at_all(database: Database) -> None:
    kwargs: dict[str, Any] = {
        "channel": "test", "chat_id": "c", "user_id": "u", "urgent": True, "data": {"slots": {"x": 1}},
        "attachments": [], "indicators": [Indicator("phone", "+84377123999"), Indicator("phone", "+84377123999")],
        "reporter_key": "k", "sinks": ("console", "webhook"), "prefix": "TG", "now": NOW}
    async with database.transaction() as conn:
        reference = await create_tip(conn, **kwargs)
    assert reference == "TG-2026-000001"
    async def crash_before_commit() -> None:
        async with database.transaction() as conn:
            await create_tip(conn, **kwargs)
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        await crash_before_commit()
    async with database.transaction() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(tips))).scalar_one() == 1
        assert (await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one() == 2
        tip = await get_tip(conn, reference=reference)
    assert tip is not None and {o["sink"] for o in tip["outbox"]} == {"console", "webhook"}


async def test_durable_transaction_runs_with_synchronous_full(sqlite_db: Database) -> None:
    async with sqlite_db.durable_transaction() as conn:
        assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar_one() == 2  # FULL
    async with sqlite_db.transaction() as conn:
        assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar_one() == 1  # back to NORMAL
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() == 1


async def test_delete_conversation(database: Database) -> None:
    async with database.transaction() as conn:
        await repo.lock_and_load(conn, key=KEY, user_id="u", locale="vi", now=NOW)
        await repo.record_replies(conn, key=KEY, message_id="m1", replies=[], now=NOW)
        assert await repo.delete_conversation(conn, key=KEY) == 1
        assert await repo.find_replies(conn, key=KEY, message_id="m1") is None


async def test_filing_a_tip_commits_with_synchronous_full(sqlite_db: Database) -> None:
    from tests.chat import Chat, make_engine

    seen: list[int] = []
    engine = make_engine(sqlite_db)
    original = engine._submit

    async def spy(turn):  # observe the safety level of the transaction that files the tip
        if turn.durable:
            raw = (await turn.conn.get_raw_connection()).driver_connection
            async with raw.execute("PRAGMA synchronous") as cur:
                seen.append((await cur.fetchone())[0])
        return await original(turn)

    engine.dialogue.submit = spy
    chat = Chat(engine)
    await chat.send("báo cáo")
    await chat.press("SMS")
    for _ in range(14):
        if "Gửi báo cáo" in chat.buttons():
            break
        await chat.send("bỏ qua" if "Bỏ qua" in chat.buttons() else "2")
    await chat.press("Gửi báo cáo")
    assert seen == [2]
    assert "TG-" in chat.text()
