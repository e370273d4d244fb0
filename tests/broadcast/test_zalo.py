"""Broadcasts on Zalo through the real adapters over loopback: the Zalo Official Account (fake OA Open API,
tests/e2e/zalo/fakezalo.py) and the Zalo Bot Platform (tests/e2e/zalo_bot/fakebot.py).

The fakes hold us to the pace our Zalo adapters assume (``messages_per_second`` of the shipped config.yaml: any
call beyond it in one second gets Zalo's -32 / 429 and is counted as a violation, on the fake's own clock),
and answer as Zalo does for a user who unfollowed the OA (-213 "User has not followed OA"), one outside the
interaction window (-230 "User has not interacted with the OA in the past 7 days"), the app's call limit (-32)
and server trouble (-200, HTTP 5xx). The sender runs at the shipped ``broadcast.per_second``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.broadcast_delivery import BroadcastSender
from bot.channels.zalo import ZaloChannel
from bot.channels.zalo_bot import ZaloBotChannel
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from storage import broadcasts, subscriptions
from storage.conversations import chat_ref
from storage.keys import ConversationKey
from storage.subscriptions import Audience
from tests.broadcast.helpers import now, subscribe_many
from tests.e2e.zalo.conftest import authorise, live, zalo_settings
from tests.e2e.zalo.fakezalo import FakeZalo
from tests.e2e.zalo.people import ZaloUser
from tests.e2e.zalo_bot.conftest import SECRET
from tests.e2e.zalo_bot.fakebot import FakeZaloBot
from tests.migrated import seeded_url

SHIPPED: dict[str, Any] = yaml.safe_load((Path(__file__).resolve().parents[2] / "config.yaml").read_text("utf-8"))
ZALO_LIMIT = int(SHIPPED["zalo"]["messages_per_second"])  # what the OA adapter's pacer assumes Zalo allows
BOT_LIMIT = int(SHIPPED["zalo_bot"]["messages_per_second"])
PER_SECOND = SHIPPED["broadcast"]["per_second"]  # the sender's pace per platform
SECOND = "Cảnh báo thứ hai: không chuyển tiền cho ai tự xưng là nhà trường qua điện thoại."
TEXT = "Cảnh báo: kẻ gian giả danh giáo viên gửi tin Zalo kèm link cài ứng dụng sổ liên lạc. Không bấm link lạ."


@pytest.fixture
def fake() -> Iterator[FakeZalo]:
    server = FakeZalo().start()
    yield server
    server.stop()


@pytest.fixture
def fakebot() -> Iterator[FakeZaloBot]:
    server = FakeZaloBot().start()
    yield server
    server.stop()


def settings_for(tmp_path: Path, *, zalo: dict[str, Any] | None = None, zalo_bot: dict[str, Any] | None = None,
                 per_second: dict[str, float] | None = None) -> Settings:
    return Settings(database={"url": seeded_url(tmp_path / "hotline.db")},
                    data_dir=str(tmp_path / "data"), security={"key_file": str(tmp_path / "keys.json")},
                    logging={"file": None}, zalo=zalo or {}, zalo_bot=zalo_bot or {},
                    broadcast={"per_second": per_second or PER_SECOND,
                               "default_per_second": SHIPPED["broadcast"]["default_per_second"]})


@asynccontextmanager
async def sending(runtime: Runtime) -> AsyncIterator[BroadcastSender]:
    """The broadcast worker as `hotline serve` runs it; backoff shortened (behaviour, not waiting)."""
    sender = BroadcastSender(runtime, poll_seconds=0.1, retry_base=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        yield sender
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def until_settled(runtime: Runtime, broadcast_id: int, within: float = 120) -> broadcasts.Progress:
    deadline = time.monotonic() + within
    while True:
        progress = await runtime.db.run(broadcasts.progress, broadcast_id=broadcast_id, now=now())
        if progress.remaining == 0 or time.monotonic() > deadline:
            return progress
        await asyncio.sleep(0.2)


async def send(runtime: Runtime, text: str, audience: Audience | None = None) -> int:
    return int(await runtime.db.run(broadcasts.create, title="", text_vi=text, text_en=None,
                                    audience=audience or Audience(), actor="officer:1", now=now()))


async def outcomes(runtime: Runtime, broadcast_id: int, users: list[str]) -> dict[str, tuple[str, str | None]]:
    """User → (status, failure) of their delivery row (subscriptions were written in the order of ``users``)."""
    rows = await runtime.db.run(broadcasts.sent_to, broadcast_id=broadcast_id)
    return {users[sid - 1]: (status, failure) for sid, status, failure in rows}


def oa_channel(runtime: Runtime) -> ZaloChannel:
    channel = runtime.channels.get("zalo")
    assert isinstance(channel, ZaloChannel)
    return channel


# ----- Zalo Official Account ----------------------------------------------------------------------------------
@pytest.mark.slow  # tens of seconds (subprocesses, a generated month, a paced send): CI runs it, `./dev test fast` not
async def test_200_followers_once_each_within_zalo_pace_blocked_marked_window_reported_errors_retried(
        tmp_path: Path, fake: FakeZalo) -> None:
    assert PER_SECOND["zalo"] <= ZALO_LIMIT  # the shipped pace is under what the adapter assumes Zalo allows
    fake.per_second = ZALO_LIMIT
    users = [str(7_100_000_000_000_000_000 + i) for i in range(200)]
    unfollowed, out_of_window = {users[5], users[77]}, {users[9], users[150]}
    fake.unfollowed, fake.out_of_window = set(unfollowed), set(out_of_window)
    flaky = {users[20]: -200, users[30]: -1502, users[40]: -32}  # Zalo's "send failed", HTTP 502, call limit
    fake.fail(-200, user=users[20])
    fake.fail(status=502, user=users[30])
    fake.fail(-32, user=users[40])
    settings = settings_for(tmp_path, zalo=zalo_settings(fake, messages_per_second=ZALO_LIMIT))
    runtime = await build_runtime(settings)
    try:
        await authorise(runtime, fake)
        oa_channel(runtime).max_pause = 0.5  # Zalo's -32 asks for a minute; the behaviour is the same
        # The first 20 also follow school S1 (a second, smaller broadcast goes there).
        await subscribe_many(runtime.db, runtime.cipher, channel="zalo", chat_ids=users[:20], school_id="S1")
        await subscribe_many(runtime.db, runtime.cipher, channel="zalo", chat_ids=users[20:])
        first = await send(runtime, TEXT)
        async with sending(runtime):
            progress = await until_settled(runtime, first)
            rows = await outcomes(runtime, first, users)
            second = await send(runtime, SECOND, Audience("schools", ("S1",)))
            again = await until_settled(runtime, second)
            rows_again = await outcomes(runtime, second, users)
        summary = await runtime.db.run(subscriptions.summary)
    finally:
        await runtime.close()

    reached = set(users) - unfollowed - out_of_window
    assert (progress.total, progress.sent, progress.blocked, progress.failed, progress.uncertain,
            progress.remaining) == (200, 198 - 2, 2, 2, 0, 0)
    got = fake.delivered(TEXT)
    assert set(got) == reached and set(got.values()) == {1}  # everyone reachable, exactly once
    assert {u for u, (_s, failure) in rows.items() if failure == "blocked"} == unfollowed
    assert {u for u, (_s, failure) in rows.items() if failure == "out_of_window"} == out_of_window
    # Asked once per broadcast, the answer read by meaning, never retried.
    assert {u: [c.code for c in fake.calls_for(u)] for u in (users[77], users[150])} == {
        users[77]: [-213], users[150]: [-230]}
    for user, code in flaky.items():  # retried after a rate limit or server trouble, delivered once
        assert [c.code for c in fake.calls_for(user)][:2] == [code, 0], fake.calls_for(user)
    # The second broadcast: the one who unfollowed is not queued at all; out of the window is tried again
    # (writing to the OA reopens it) and reported again, once.
    assert users[5] not in rows_again and rows_again[users[9]] == ("failed", "out_of_window")
    assert (again.total, again.sent, again.failed) == (19, 18, 1)
    assert [c.code for c in fake.calls_for(users[5])] == [-213]
    assert [c.code for c in fake.calls_for(users[9])] == [-230, -230]
    assert set(fake.delivered(SECOND).values()) == {1} and len(fake.delivered(SECOND)) == 18
    assert summary["by_status"] == {"active": 198, "blocked": 2}
    message = next(s for s in fake.sent if TEXT in s.text)
    assert "Gõ “dừng”" in message.text and message.buttons == [("🔕 Ngừng nhận cảnh báo", "#hl:!unsubscribe")]
    assert fake.violations == [] and fake.max_per_second() <= ZALO_LIMIT


async def test_a_warning_longer_than_one_zalo_message_is_never_half_sent_twice(tmp_path: Path, fake: FakeZalo) -> None:
    """Zalo takes 2,000 characters a message; a longer warning goes in parts. When a later part is refused
    with something a retry would fix, retrying would send the first part again: it is reported instead."""
    users = ["7200000000000000001", "7200000000000000002", "7200000000000000003"]
    long_text = " ".join(["Cảnh báo dài: không bấm link lạ, không cài ứng dụng ngoài kho chính thức."] * 35)
    assert 2000 < len(long_text) <= 3500
    fake.per_second = 50
    fake.fail(-32, user=users[1], kinds=("buttons",))  # the second (last) part carries the button
    settings = settings_for(tmp_path, zalo=zalo_settings(fake, messages_per_second=50), per_second={"zalo": 40})
    runtime = await build_runtime(settings)
    try:
        await authorise(runtime, fake)
        oa_channel(runtime).max_pause = 0.2
        await subscribe_many(runtime.db, runtime.cipher, channel="zalo", chat_ids=users)
        bid = await send(runtime, long_text)
        async with sending(runtime):
            progress = await until_settled(runtime, bid)
            rows = await outcomes(runtime, bid, users)
    finally:
        await runtime.close()
    for user in users:
        texts = [s.text for s in fake.messages(user)]
        assert len(texts) == len(set(texts)), f"{user} got a part twice"
    assert [s.kind for s in fake.messages(users[0])] == ["text", "buttons"]
    assert [s.kind for s in fake.messages(users[1])] == ["text"]  # the first part only, once
    assert rows[users[1]] == ("failed", "permanent") and (progress.sent, progress.failed) == (2, 1)


async def test_the_button_under_a_zalo_warning_unsubscribes(tmp_path: Path, fake: FakeZalo) -> None:
    user = "7300000000000000001"
    settings = settings_for(tmp_path, zalo=zalo_settings(fake, messages_per_second=50), per_second={"zalo": 40})
    async with live(settings, fake) as zalo:
        runtime = zalo.runtime
        await subscribe_many(runtime.db, runtime.cipher, channel="zalo", chat_ids=[user])
        parent = ZaloUser(fake, zalo.webhook, runtime.db, user)
        async with sending(runtime):
            await until_settled(runtime, await send(runtime, TEXT))
            (warning,) = parent.new_messages()
            assert warning.text.startswith(TEXT)
            reply = await parent.press("Ngừng nhận")
            assert "Đã ngừng gửi cảnh báo" in reply[0].text
            second = await until_settled(runtime, await send(runtime, SECOND))
        ref = chat_ref(runtime.cipher, ConversationKey("zalo", user))
        found = await runtime.db.run(subscriptions.of_chat, channel="zalo", ref=ref)
    assert found is not None and found.status == "stopped" and second.total == 0
    assert not fake.delivered(SECOND)


# ----- Zalo Bot Platform --------------------------------------------------------------------------------------
@pytest.mark.slow  # ~6 s: paced by the rate limits
async def test_zalo_bot_subscribers_once_each_within_its_pace(tmp_path: Path, fakebot: FakeZaloBot) -> None:
    rate = PER_SECOND.get("zalo_bot", SHIPPED["broadcast"]["default_per_second"])
    assert rate <= BOT_LIMIT
    fakebot.per_second = BOT_LIMIT
    chats = [f"bot-chat-{i:03d}" for i in range(60)]
    settings = settings_for(tmp_path, zalo_bot={"token": fakebot.token, "secret_token": SECRET,
                                                "api_base": fakebot.base, "messages_per_second": BOT_LIMIT})
    runtime = await build_runtime(settings)
    try:
        assert isinstance(runtime.channels.get("zalo_bot"), ZaloBotChannel)
        await subscribe_many(runtime.db, runtime.cipher, channel="zalo_bot", chat_ids=chats)
        bid = await send(runtime, TEXT)
        async with sending(runtime):
            progress = await until_settled(runtime, bid)
    finally:
        await runtime.close()
    assert (progress.total, progress.sent, progress.remaining, progress.failed) == (60, 60, 0, 0)
    got = fakebot.delivered(TEXT)
    assert set(got) == set(chats) and set(got.values()) == {1}
    text = next(s.text for s in fakebot.sent if TEXT in s.text)
    assert "Gõ “dừng”" in text and "1. 🔕 Ngừng nhận cảnh báo" in text  # no buttons there: a numbered choice
    assert fakebot.violations == [] and fakebot.max_per_second() <= BOT_LIMIT


async def test_a_long_warning_on_the_zalo_bot_is_never_half_sent_twice(tmp_path: Path, fakebot: FakeZaloBot) -> None:
    chats = ["bot-long-1", "bot-long-2"]
    long_text = " ".join(["Cảnh báo dài: không bấm link lạ, không cài ứng dụng ngoài kho chính thức."] * 35)
    fakebot.fail("sendMessage", 429, chat=chats[1], skip=1, description="Quota exceeded")  # its second part
    settings = settings_for(tmp_path, zalo_bot={"token": fakebot.token, "secret_token": SECRET,
                                                "api_base": fakebot.base, "messages_per_second": 50},
                            per_second={"zalo_bot": 40})
    runtime = await build_runtime(settings)
    try:
        channel = runtime.channels.get("zalo_bot")
        assert isinstance(channel, ZaloBotChannel)
        channel.rate_pause = 0.2
        await subscribe_many(runtime.db, runtime.cipher, channel="zalo_bot", chat_ids=chats)
        bid = await send(runtime, long_text)
        async with sending(runtime):
            progress = await until_settled(runtime, bid)
            rows = await outcomes(runtime, bid, chats)
    finally:
        await runtime.close()
    assert len(fakebot.messages(chats[0])) == 2 and len(fakebot.messages(chats[1])) == 1  # its first part, once
    assert rows[chats[1]] == ("failed", "permanent") and (progress.sent, progress.failed) == (1, 1)
