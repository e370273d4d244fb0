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
from tests.chat import TEST_CIPHER

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
KEY = ConversationKey("test", "chat-1")
C = TEST_CIPHER


async def test_conversation_created_loaded_and_saved(database: Database) -> None:
    def first(conn: sa.Connection) -> repo.StoredConversation:
        conv = repo.lock_and_load(conn, key=KEY, user_id="u", locale="vi", now=NOW, cipher=C)
        assert conv.state == {} and conv.version == 0
        repo.save(conn, conversation=conv, state={"flow": "report", "slots": {"a": 1}}, locale="en", now=NOW, cipher=C)
        return conv

    await database.run(first)
    again = await database.run(repo.lock_and_load, key=KEY, user_id="u", locale="vi", now=NOW, cipher=C)
    assert again.state == {"flow": "report", "slots": {"a": 1}} and again.version == 1 and again.locale == "en"


async def test_stale_save_is_refused(database: Database) -> None:
    conv = await database.run(repo.lock_and_load, key=KEY, user_id="u", locale="vi", now=NOW, cipher=C)
    await database.run(repo.save, conversation=conv, state={"n": 1}, locale="vi", now=NOW, cipher=C)
    with pytest.raises(repo.StaleConversationError):
        await database.run(repo.save, conversation=conv, state={"n": 2}, locale="vi", now=NOW, cipher=C)


async def test_concurrent_writers_are_serialised_by_the_row_lock(database: Database) -> None:
    def bump(conn: sa.Connection) -> None:
        conv = repo.lock_and_load(conn, key=KEY, user_id="u", locale="vi", now=NOW, cipher=C)
        n = conv.state.get("n", 0)
        repo.save(conn, conversation=conv, state={"n": n + 1}, locale="vi", now=NOW, cipher=C)

    await asyncio.gather(*(database.run(bump) for _ in range(10)))
    conv = await database.run(repo.lock_and_load, key=KEY, user_id="u", locale="vi", now=NOW, cipher=C)
    assert conv.state == {"n": 10}


async def test_row_lock_holds_across_connections_on_postgres(database: Database) -> None:
    """Two transactions on different connections: the second waits for the first's row lock."""
    if database.sqlite:
        pytest.skip("SQLite has one writer connection; BEGIN IMMEDIATE is its lock")
    await database.run(repo.lock_and_load, key=KEY, user_id="u", locale="vi", now=NOW, cipher=C)
    order: list[str] = []
    first_has_lock = asyncio.Event()

    async def holder() -> None:
        async with database.transaction() as conn:
            await conn.run_sync(lambda c: repo.lock_and_load(c, key=KEY, user_id="u", locale="vi", now=NOW, cipher=C))
            first_has_lock.set()
            await asyncio.sleep(0.3)
            order.append("first done")

    async def waiter() -> None:
        await first_has_lock.wait()
        await database.run(repo.lock_and_load, key=KEY, user_id="u", locale="vi", now=NOW, cipher=C)
        order.append("second got lock")

    await asyncio.gather(holder(), waiter())
    assert order == ["first done", "second got lock"]


async def test_replies_recorded_once_per_message_id(database: Database) -> None:
    assert await database.run(repo.find_replies, key=KEY, message_id="m1", cipher=C) is None
    await database.run(repo.record_replies, key=KEY, message_id="m1", replies=[{"text": "a"}], now=NOW, cipher=C)
    assert await database.run(repo.find_replies, key=KEY, message_id="m1", cipher=C) == [{"text": "a"}]
    with pytest.raises(sa.exc.IntegrityError):
        await database.run(repo.record_replies, key=KEY, message_id="m1", replies=[], now=NOW, cipher=C)


async def test_tip_and_outbox_rows_commit_together_or_not_at_all(database: Database) -> None:
    kwargs: dict[str, Any] = {
        "key": KEY, "user_id": "u", "urgent": True, "data": {"slots": {"x": 1}},
        "attachments": [], "indicators": [Indicator("phone", "+84377123999"), Indicator("phone", "+84377123999")],
        "sinks": ("console", "webhook"), "prefix": "TG", "now": NOW, "cipher": C}
    reference = await database.run(lambda conn: create_tip(conn, **kwargs))
    assert reference == "TG-2026-000001"

    def crash_before_commit(conn: sa.Connection) -> None:
        create_tip(conn, **kwargs)
        raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        await database.run(crash_before_commit)

    def counts(conn: sa.Connection) -> tuple[int, int]:
        return (conn.execute(sa.select(sa.func.count()).select_from(tips)).scalar_one(),
                conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one())

    assert await database.run(counts) == (1, 2)
    tip = await database.run(get_tip, reference=reference, cipher=C)
    assert tip is not None and {o["sink"] for o in tip["outbox"]} == {"console", "webhook"}
    assert tip["data"] == {"slots": {"x": 1}} and tip["reporter"] == {"chat_id": "chat-1", "user_id": "u"}
    assert all("slots" not in str(o["payload"]) for o in tip["outbox"])  # no report in the outbox


async def test_durable_unit_of_work_runs_with_synchronous_full(sqlite_db: Database) -> None:
    def pragma(conn: sa.Connection, name: str) -> Any:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()

    assert await sqlite_db.run_durable(pragma, "synchronous") == 2  # FULL
    assert await sqlite_db.run(pragma, "synchronous") == 1  # back to NORMAL
    assert await sqlite_db.run(pragma, "journal_mode") == "wal"
    assert await sqlite_db.run(pragma, "foreign_keys") == 1


async def test_delete_conversation(database: Database) -> None:
    def work(conn: sa.Connection) -> None:
        repo.lock_and_load(conn, key=KEY, user_id="u", locale="vi", now=NOW, cipher=C)
        repo.record_replies(conn, key=KEY, message_id="m1", replies=[], now=NOW, cipher=C)
        assert repo.delete_conversation(conn, key=KEY, cipher=C) == 1
        assert repo.find_replies(conn, key=KEY, message_id="m1", cipher=C) is None

    await database.run(work)


async def test_filing_a_tip_commits_with_synchronous_full(sqlite_db: Database) -> None:
    from tests.chat import Chat, make_engine

    seen: list[int] = []
    engine = make_engine(sqlite_db)
    original = engine.dialogue.submit

    def spy(turn: Any) -> str:  # observe the safety level of the transaction that files the tip
        if turn.durable:
            seen.append(turn.conn.exec_driver_sql("PRAGMA synchronous").scalar_one())
        return original(turn)

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
