"""A broadcast over the (local, fake) Telegram Bot API, the real adapter and limiter: everyone once, blocked
users marked, 429 honoured, the fake's limits never exceeded. The limits are checked on the fake's own clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.broadcast_delivery import BroadcastSender
from bot.channels.telegram.channel import TelegramChannel
from bot.runtime import Runtime
from storage import broadcasts, subscriptions
from storage.subscriptions import Audience
from tests.broadcast.helpers import now, subscribe_many
from tests.broadcast.strictbot import StrictBotAPI
from tests.e2e.telegram.conftest import make_settings, open_runtime, running

REAL_LIMITS = {"overall_per_second": 28.0, "chat_interval": 1.0, "group_interval": 3.0}
TEXT = "Cảnh báo: kẻ gian giả danh nhà trường gọi điện yêu cầu cài ứng dụng sổ liên lạc."


@pytest.fixture
def strict() -> Iterator[StrictBotAPI]:
    server = StrictBotAPI()
    server.start()
    yield server
    server.stop()


async def until_settled(runtime: Runtime, broadcast_id: int, within: float = 90) -> broadcasts.Progress:
    deadline = time.monotonic() + within
    while True:
        progress = await runtime.db.run(broadcasts.progress, broadcast_id=broadcast_id, now=now())
        if progress.remaining == 0 or time.monotonic() > deadline:
            return progress
        await asyncio.sleep(0.2)


@asynccontextmanager
async def sending(runtime: Runtime) -> AsyncIterator[BroadcastSender]:
    sender = BroadcastSender(runtime, poll_seconds=0.1)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        yield sender
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


@pytest.mark.slow  # ~7 s: paced by the rate limits
async def test_everyone_once_within_the_limits_and_blocked_users_are_skipped_next_time(
        tmp_path: Path, strict: StrictBotAPI) -> None:
    chats = [str(700_000 + i) for i in range(90)]
    strict.blocked = {chats[7], chats[50]}
    settings = make_settings(tmp_path, strict, mode="webhook")
    async with open_runtime(settings) as runtime, running(runtime, **REAL_LIMITS) as service:
        runtime.channels.register(TelegramChannel(service))
        await subscribe_many(runtime.db, runtime.cipher, channel="telegram", chat_ids=chats)
        bid = await runtime.db.run(broadcasts.create, title="t", text_vi=TEXT, text_en=None, audience=Audience(),
                                   actor="officer:1", now=now())
        async with sending(runtime):
            progress = await until_settled(runtime, bid)
            assert (progress.sent, progress.blocked, progress.remaining) == (88, 2, 0)
            second = await runtime.db.run(broadcasts.create, title="t2", text_vi="Lần hai", text_en=None,
                                          audience=Audience(), actor="officer:1", now=now())
            assert (await until_settled(runtime, second)).sent == 88  # the two who blocked the bot: not queued
        summary = await runtime.db.run(subscriptions.summary)
    got = strict.delivered(TEXT)
    assert set(got) == set(chats) - strict.blocked and set(got.values()) == {1}
    message = next(c.params for c in strict.calls_to("sendMessage", ok=True) if TEXT in str(c.params["text"]))
    assert "Gõ “dừng”" in message["text"]
    assert message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "!unsubscribe"
    assert summary["by_status"] == {"active": 88, "blocked": 2}
    assert strict.violations == [] and strict.max_per_second() <= 30


@pytest.mark.slow  # ~4 s: waits out a retry_after
async def test_429_is_honoured_and_nobody_gets_two(tmp_path: Path, strict: StrictBotAPI) -> None:
    chats = [str(800_000 + i) for i in range(60)]
    settings = make_settings(tmp_path, strict, mode="webhook")
    async with open_runtime(settings) as runtime, running(runtime, **REAL_LIMITS) as service:
        runtime.channels.register(TelegramChannel(service))
        await subscribe_many(runtime.db, runtime.cipher, channel="telegram", chat_ids=chats)
        strict.fail("sendMessage", 429, retry_after=1, every=20)
        bid = await runtime.db.run(broadcasts.create, title="t", text_vi=TEXT, text_en=None, audience=Audience(),
                                   actor="officer:1", now=now())
        async with sending(runtime):
            progress = await until_settled(runtime, bid)
    assert (progress.sent, progress.remaining, progress.failed) == (60, 0, 0)
    assert set(strict.delivered(TEXT).values()) == {1} and len(strict.delivered(TEXT)) == 60
    calls = strict.calls_to("sendMessage")
    floods = [c for c in calls if c.status == 429]
    assert floods
    for flood in floods:  # nothing new until retry_after has passed (sends already in flight excepted)
        assert len([c for c in calls if flood.at + 0.3 < c.at < flood.at + 1.0]) == 0, flood.at
    assert strict.violations == []
