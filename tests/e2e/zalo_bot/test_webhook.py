"""The Zalo Bot webhook: the secret token, durable storage before 200, duplicates, the updates we answer with a
notice and those we drop, and an update left over from a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bot.channels.zalo_bot import CHANNEL
from bot.runtime import build_runtime
from storage.channel_schema import channel_events
from storage.db import Database
from storage.schema import inbound_messages
from tests.e2e.zalo_bot.conftest import SECRET, Live, live, make_settings
from tests.e2e.zalo_bot.fakebot import FakeZaloBot
from tests.e2e.zalo_bot.people import ZaloBotUser, settled, texts

HEADER = "X-Bot-Api-Secret-Token"


async def _events(db: Database) -> list[Any]:
    return list(await db.run(lambda c: c.execute(sa.select(channel_events).where(
        channel_events.c.channel == CHANNEL)).mappings().all()))


async def _turns(db: Database) -> int:
    return int(await db.run(lambda c: c.execute(sa.select(sa.func.count()).select_from(inbound_messages)).scalar_one()))


async def test_a_missing_or_wrong_secret_gets_401_and_nothing_is_stored(bot: Live, fake: FakeZaloBot) -> None:
    update = fake.update("u1", "message.text.received", text="xin chào")
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.post(bot.webhook, json=update)).status_code == 401
        for wrong in ("", SECRET[:-1] + "X", SECRET + "x"):
            assert (await client.post(bot.webhook, json=update, headers={HEADER: wrong})).status_code == 401
        bad = await client.post(bot.webhook, content=b"{not json", headers={HEADER: SECRET})
        assert bad.status_code == 400
    assert await _events(bot.runtime.db) == []
    assert fake.messages("u1") == []


async def test_without_a_secret_the_channel_is_off(tmp_path: Path, fake: FakeZaloBot) -> None:
    runtime = await build_runtime(make_settings(tmp_path, fake, secret_token=""))
    try:
        assert "zalo_bot" not in runtime.channels  # so no route takes unauthenticated updates at all
    finally:
        await runtime.close()


async def test_an_update_is_committed_before_200_and_processed_after_a_restart(tmp_path: Path,
                                                                               fake: FakeZaloBot) -> None:
    settings = make_settings(tmp_path, fake)
    update = fake.update("u2", "message.text.received", text="xin chào bot")
    async with live(settings, run_service=False) as down:  # the process "crashed" right after answering Zalo
        assert (await fake.post(update)).status_code == 200
        [row] = await _events(down.runtime.db)
        assert row["processed_at"] is None and "xin" not in row["payload"]  # sealed at rest
    async with live(settings) as up:
        await settled(up.runtime.db)
        assert "Bạn cần giúp gì" in texts(fake.messages("u2"))
        [row] = await _events(up.runtime.db)
        assert row["processed_at"] is not None and row["payload"] is None


async def test_a_resent_update_is_answered_200_and_processed_once(bot: Live, fake: FakeZaloBot) -> None:
    parent = ZaloBotUser(fake, bot.runtime.db, "u3")
    update = fake.update(parent.id, "message.text.received", text="xin chào")
    first = await parent.send(update)
    for _ in range(2):  # Zalo did not see our 200 and sends it again
        assert (await fake.post(update)).status_code == 200
    await settled(bot.runtime.db)
    assert len(first) == 1 and parent.new_messages() == []
    assert len(await _events(bot.runtime.db)) == 1 and await _turns(bot.runtime.db) == 1


async def test_a_bare_update_without_the_envelope_is_read_too(bot: Live, fake: FakeZaloBot) -> None:
    parent = ZaloBotUser(fake, bot.runtime.db, "u4")
    bare = fake.update(parent.id, "message.text.received", text="xin chào")["result"]
    assert (await fake.post(bare)).status_code == 200
    await settled(bot.runtime.db, f"msg:{bare['message']['message_id']}")
    assert "Bạn cần giúp gì" in texts(parent.new_messages())


async def test_stickers_voice_and_withheld_messages_get_a_notice_and_never_reach_the_engine(
        bot: Live, fake: FakeZaloBot) -> None:
    parent = ZaloBotUser(fake, bot.runtime.db, "u5")
    sticker = await parent.send(fake.update(parent.id, "message.sticker.received", sticker="d063f44dc80821567819"))
    assert "nhãn dán" in texts(sticker)
    voice = await parent.send(fake.update(parent.id, "message.voice.received"))
    assert "tin nhắn thoại" in texts(voice)
    # Zalo withholds what a protected user (a child, for instance) wrote and says so with this event.
    withheld = await parent.send(fake.update(parent.id, "message.unsupported.received"))
    assert "Zalo không chuyển nội dung" in texts(withheld) and "113" in texts(withheld)
    assert await _turns(bot.runtime.db) == 0


async def test_groups_bots_and_unknown_events_are_dropped_with_200(bot: Live, fake: FakeZaloBot) -> None:
    dropped = [fake.update("g1", "message.text.received", chat_type="GROUP", text="@bot báo cáo"),
               fake.update("b1", "message.text.received", is_bot=True, text="tôi là bot"),
               fake.update("u6", "message.reaction.received"),
               {"ok": True, "result": {"event_name": "message.text.received", "message": {"text": "no chat"}}}]
    for update in dropped:
        assert (await fake.post(update)).status_code == 200
    assert await _events(bot.runtime.db) == []


async def test_an_update_without_a_message_id_is_recognised_by_its_body(bot: Live, fake: FakeZaloBot) -> None:
    update = fake.update("u7", "message.unsupported.received")
    del update["result"]["message"]["message_id"]
    body = json.dumps(update).encode()
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(2):
            r = await client.post(bot.webhook, content=body, headers={HEADER: SECRET,
                                                                      "content-type": "application/json"})
            assert r.status_code == 200
    await settled(bot.runtime.db)
    [row] = await _events(bot.runtime.db)
    assert row["event_id"].startswith("body:")
    assert len(fake.messages("u7")) == 1
