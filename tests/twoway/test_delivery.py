"""Notices are sent at most once per recipient and resume after a crash; an anonymous web chat that closed
fails clearly; retention erases what was said. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.delivery import DeliveryService
from handlers import handoff_ops
from handlers.handoff_ops import Reach, Talk
from handlers.messages import ConversationKey
from storage import notices, transcript
from storage.conversations import chat_ref
from storage.db import Database
from storage.notices_schema import NOTICE_TABLES
from storage.notices_schema import notices as notices_table
from storage.retention import close_tip, run_retention
from storage.schema import metadata
from storage.tips import create_tip
from tests.chat import TEST_CIPHER
from tests.twoway.conftest import SUPERVISOR, World

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def file_tip(conn: sa.Connection, *, key: ConversationKey, now: datetime) -> int:
    """A "gặp cán bộ" tip of ``key``'s chat, filed directly (the web chat's own flow is tested end to end)."""
    reference = create_tip(conn, key=key, user_id=key.chat_id, urgent=False, data={"slots": {}, "locale": "vi"},
                           attachments=[], indicators=[], sinks=["console"], prefix="TG", now=now, cipher=TEST_CIPHER,
                           kind="handoff")
    return int(reference.rsplit("-", 1)[1])


async def asked(world: World, text: str = "Bạn còn giữ tin nhắn đó không?") -> tuple[int, int]:
    tip_id = await world.tip_id(await world.parent().request_officer())
    notice_id = await world.runtime.db.run(handoff_ops.ask, viewer=SUPERVISOR, tip_id=tip_id, question=text,
                                           talk=world.talk, now=datetime.now(UTC))
    return tip_id, notice_id


async def test_a_crash_between_claim_and_send_never_sends_twice(world: World) -> None:
    tip_id, notice_id = await asked(world)
    db, cipher = world.runtime.db, world.runtime.cipher
    # A worker claims the row (committed) and dies before sending: nobody ever records its outcome.
    claimed = await db.run(notices.claim, owner="dead-worker", now=datetime.now(UTC), channels=["memory"],
                           cipher=cipher)
    assert [c.id for c in claimed] == [notice_id]

    def ten_minutes_pass(conn: sa.Connection) -> None:  # the restart comes later than the claim's lease
        conn.execute(sa.update(notices_table).where(notices_table.c.id == notice_id).values(
            claimed_at=datetime.now(UTC) - timedelta(minutes=10)))

    await db.run(ten_minutes_pass)
    restarted = DeliveryService(world.runtime, lease=timedelta(minutes=5), send_timeout=1.0)
    await restarted.run_once()
    await restarted.run_once()
    row = await db.run(notices.get, notice_id=notice_id)
    assert row is not None and (row.status, row.failure) == ("failed", "interrupted")
    assert world.memory.calls == 0  # never sent again
    # Nothing waits for an answer to a question the parent may never have seen; the panel says why.
    assert await db.run(transcript.thread_of_tip, tip_id=tip_id) is None
    [line] = await db.run(transcript.messages, tip_id=tip_id, cipher=cipher)
    assert line.failure == "interrupted"


async def test_a_claim_within_its_lease_is_left_alone(world: World) -> None:
    _, notice_id = await asked(world)
    await world.runtime.db.run(notices.claim, owner="busy-worker", now=datetime.now(UTC), channels=["memory"],
                               cipher=world.runtime.cipher)
    await world.deliver()
    row = await world.runtime.db.run(notices.get, notice_id=notice_id)
    assert row is not None and row.status == "claimed" and world.memory.calls == 0


async def test_pending_notices_survive_a_restart_and_go_once(world: World) -> None:
    _, notice_id = await asked(world)
    # The process stopped before any worker ran; a new one (a new owner id) delivers after the restart.
    for _ in range(3):
        await DeliveryService(world.runtime).run_once()
    assert world.memory.calls == 1 and len(world.memory.sent) == 1
    row = await world.runtime.db.run(notices.get, notice_id=notice_id)
    assert row is not None and row.status == "sent" and row.sent_at is not None


async def test_the_body_is_sealed_and_dropped_once_sent(world: World) -> None:
    _, notice_id = await asked(world, "Câu hỏi bí mật 12345")

    def body(conn: sa.Connection) -> Any:
        return conn.execute(sa.select(notices_table.c.body).where(notices_table.c.id == notice_id)).scalar()

    sealed = await world.runtime.db.run(body)
    assert sealed and "12345" not in sealed and "Câu hỏi" not in sealed
    await world.deliver()
    assert await world.runtime.db.run(body) is None


async def test_web_notice_fails_as_chat_closed_when_the_page_is_gone(database: Database) -> None:
    now = datetime.now(UTC)
    key = ConversationKey("web", "session-abc")

    tip_id = await database.run(file_tip, key=key, now=now)
    talk = Talk(cipher=TEST_CIPHER, reach=Reach(channels=frozenset({"web"})))
    ref = chat_ref(TEST_CIPHER, key)
    # Closed: the officer is told before anything is written.
    problem = await database.run(lambda c: talk.reach.problem(
        c, notices.reporter_of(c, tip_id=tip_id, cipher=TEST_CIPHER), now))
    assert problem == "chat_closed"
    # Open when asked, gone before the push: after the grace period it fails as chat_closed.
    await database.run(notices.touch_presence, channel="web", chat_ref=ref, owner="proc-1", now=now)
    notice_id = await database.run(handoff_ops.ask, viewer=SUPERVISOR, tip_id=tip_id, question="Còn đó không?",
                                   talk=talk, now=now)
    await database.run(notices.drop_presence, channel="web", chat_ref=ref, owner="proc-1")
    assert await database.run(notices.fail_closed_chats, channel="web", created_before=now, now=now) == []
    failed = await database.run(notices.fail_closed_chats, channel="web", created_before=now + timedelta(minutes=2),
                                now=now + timedelta(minutes=2))
    assert [r.id for r in failed] == [notice_id]
    row = await database.run(notices.get, notice_id=notice_id)
    assert row is not None and row.failure == "chat_closed"


async def test_presence_is_claimed_only_by_the_process_holding_the_chat(database: Database) -> None:
    now = datetime.now(UTC)
    key = ConversationKey("web", "session-xyz")

    tip_id = await database.run(file_tip, key=key, now=now)
    ref = chat_ref(TEST_CIPHER, key)
    await database.run(notices.touch_presence, channel="web", chat_ref=ref, owner="proc-B", now=now)
    await database.run(notices.create, tip_id=tip_id, key="k1", kind="question", body={"text": "hi", "buttons": []},
                       locale="vi", created_by="officer:1", now=now, cipher=TEST_CIPHER)
    elsewhere = await database.run(notices.claim, owner="proc-A", now=now, channels=["web"],
                                   presence_channels=["web"], cipher=TEST_CIPHER)
    assert elsewhere == []
    here = await database.run(notices.claim, owner="proc-B", now=now, channels=["web"], presence_channels=["web"],
                              cipher=TEST_CIPHER)
    assert [c.chat_id for c in here] == ["session-xyz"] and here[0].body["text"] == "hi"
    assert await database.run(notices.is_open, channel="web", chat_ref=ref, now=now)
    assert not await database.run(notices.is_open, channel="web", chat_ref=ref, now=now + timedelta(minutes=5))
    await database.run(notices.heartbeat, owner="proc-B", channel="web", chat_refs=[], now=now)
    assert not await database.run(notices.is_open, channel="web", chat_ref=ref, now=now)


async def test_retention_erases_the_transcript_and_notices(world: World) -> None:
    tip_id, _ = await asked(world, "Câu hỏi")
    await world.deliver()
    await world.parent().say("Câu trả lời có số 0912 345 678")
    db, cipher = world.runtime.db, world.runtime.cipher
    assert len(await db.run(transcript.messages, tip_id=tip_id, cipher=cipher)) == 2
    later = datetime.now(UTC) + timedelta(days=1)
    await db.run(close_tip, tip_id=tip_id, now=later)
    await db.run(run_retention, cipher=cipher, now=later + timedelta(days=200), closed_tip_days=180,
                 conversation_days=30)
    assert await db.run(transcript.messages, tip_id=tip_id, cipher=cipher) == []
    assert await db.run(notices.of_tip, tip_id=tip_id) == []


async def test_migration_matches_the_table_definitions(database: Database) -> None:
    mine = {t.name for t in NOTICE_TABLES}

    def diffs(conn: sa.Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))

    async with database.transaction() as conn:
        found = await conn.run_sync(diffs)
    assert [d for d in found if mine & _names(d)] == []


def _names(diff: Any) -> set[str]:
    names: set[str] = set()
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item[1:]:
            if isinstance(part, sa.Table):
                names.add(part.name)
            elif isinstance(getattr(part, "table", None), sa.Table):
                names.add(part.table.name)
            elif isinstance(part, str):
                names.add(part)
    return names
