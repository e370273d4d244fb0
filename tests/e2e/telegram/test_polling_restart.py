"""Long polling across a crash and a restart: no update lost, none processed or answered twice."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bot.settings import Settings
from storage import channel_store as store
from storage.schema import inbound_messages
from tests.e2e.telegram.conftest import make_settings, open_runtime, running
from tests.e2e.telegram.fakebot import FakeBotAPI
from tests.e2e.telegram.people import UPDATES, Person, db_until, settled

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64


@pytest.mark.slow  # ~3 s: a server started twice
async def test_restart_in_polling_mode_neither_loses_nor_repeats_an_update(tmp_path: Path,
                                                                           fake: FakeBotAPI) -> None:
    settings = make_settings(tmp_path, fake, mode="polling")

    # 1. A normal start; then the parent sends a screenshot while downloads fail, and the process dies with
    #    that update stored but not processed.
    async with open_runtime(settings) as runtime, running(runtime, retry_base=1.5):
        parent = Person(fake, runtime.db, 7001)
        await parent.say("/start")
        await parent.press("Báo cáo")
        await parent.press("Cuộc gọi")
        fake.fail("getFile", 500, times=1)
        photo_id = fake.push(parent.photo_message(PNG))
        await db_until(runtime.db, lambda c: c.execute(sa.select(UPDATES.c.attempts).where(
            UPDATES.c.event_id == str(photo_id))).scalar())

    # 2. While it is down the parent types the caller's number. A process that died right after fetching it
    #    (before storing) had it from getUpdates without confirming it, so Telegram hands it out again.
    number_id = fake.push(parent.text("0377 123 999"))
    offset = await _offset(settings)
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{fake.base}/bot{fake.token}/getUpdates", json={"offset": offset, "timeout": 0})
        assert [u["update_id"] for u in r.json()["result"]] == [number_id]

    # 3. Restart. The first reply hits a server error and waits in the queue for its retry.
    fake.fail("sendMessage", 502, times=1)
    async with open_runtime(settings) as runtime, running(runtime):
        parent.db = runtime.db
        await settled(runtime.db, number_id)
        after = parent.new_messages()
        updates = await runtime.db.run(lambda c: c.execute(sa.select(UPDATES)).mappings().all())
        engine_turns = await runtime.db.run(
            lambda c: c.execute(sa.select(sa.func.count()).select_from(inbound_messages)).scalar_one())

    replies = [m["text"] for m in after]
    assert sum("Đã nhận 1 ảnh" in t for t in replies) == 1  # the screenshot, answered once after the restart
    assert sum("xảy ra lúc nào" in t for t in replies) == 1  # the number, answered once
    assert replies.index(next(t for t in replies if "Đã nhận 1 ảnh" in t)) < replies.index(
        next(t for t in replies if "xảy ra lúc nào" in t))  # in the order the parent wrote
    assert all(u["processed_at"] is not None for u in updates)
    assert len(updates) == engine_turns == 5  # /start, two presses, the photo, the number: each once
    # Telegram handed every update out once, except the one the dead process fetched without confirming.
    assert {uid: n for uid, n in fake.deliveries.items() if n != 1} == {number_id: 2}
    assert len(fake.calls_to("sendMessage", ok=False)) == 1


async def _offset(settings: Settings) -> int | None:
    async with open_runtime(settings) as runtime:
        return await runtime.db.run(store.get_offset, channel="telegram")
