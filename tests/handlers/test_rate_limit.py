"""Per-chat and global token buckets, the polite "slow down", and blocks officers can lift."""

from __future__ import annotations

from datetime import UTC, datetime

from handlers.ratelimit import RateLimiter, Verdict
from storage import blocks
from storage.db import Database
from tests.chat import Chat, make_engine


def test_bucket_refills_and_escalates() -> None:
    now = [0.0]
    limiter = RateLimiter(user_burst=3, user_per_minute=60, global_per_second=100, block_after=3,
                          clock=lambda: now[0])
    assert [limiter.check("a") for _ in range(3)] == [Verdict.OK] * 3
    assert limiter.check("a") is Verdict.SLOW_DOWN
    assert limiter.check("b") is Verdict.OK  # another chat is unaffected
    now[0] += 1.0  # one token back (60/min)
    assert limiter.check("a") is Verdict.OK
    assert [limiter.check("a") for _ in range(3)] == [Verdict.SLOW_DOWN, Verdict.SLOW_DOWN, Verdict.BLOCK]


def test_global_limit_never_blocks_a_parent() -> None:
    limiter = RateLimiter(user_burst=100, user_per_minute=60, global_per_second=5, block_after=2,
                          clock=lambda: 0.0)
    verdicts = [limiter.check(f"chat-{i}") for i in range(20)]
    assert verdicts[:5] == [Verdict.OK] * 5
    assert set(verdicts[5:]) == {Verdict.SLOW_DOWN}


async def test_flooding_chat_is_told_to_slow_down_then_blocked_and_lifted(sqlite_db: Database) -> None:
    engine = make_engine(sqlite_db, user_burst=3, user_per_minute=1, block_after_violations=2, block_minutes=5,
                         block_cache_seconds=0)
    chat = Chat(engine, chat_id="flood")
    for _ in range(3):
        await chat.send("menu")
    await chat.send("menu")
    assert "quá nhanh" in chat.text() or "nhanh" in chat.text()
    await chat.send("menu")
    assert "bị chặn 5 phút" in chat.text()
    other = Chat(engine, chat_id="calm")
    await other.send("menu")
    assert "Bạn cần giúp gì?" in other.text()
    now = datetime.now(UTC)
    (row,) = await sqlite_db.run(blocks.active, now=now)
    assert row["reason"] == "rate limit" and row["channel"] == "test"
    await chat.send("menu")  # the bucket was reset by the block; the stored block still holds
    assert "bị chặn" in chat.text()
    assert await sqlite_db.run(blocks.lift, channel="test", chat_ref=row["chat_ref"], by="officer:7")
    await chat.send("menu")
    assert "Bạn cần giúp gì?" in chat.text()
