"""Two bot processes on one database (SQLite file or PostgreSQL): chats are shared out, never doubled."""

from __future__ import annotations

from pathlib import Path

import httpx
import sqlalchemy as sa

from storage.db import Database
from storage.schema import inbound_messages
from tests.e2e.telegram.conftest import SECRET, make_settings, open_runtime, running, serving, webhook_app
from tests.e2e.telegram.fakebot import FakeBotAPI
from tests.e2e.telegram.people import Person, settled

SCRIPT = ("/start", "/help", "xin chào", "english", "/menu")


async def test_two_processes_share_chats_without_doubling_or_reordering(database: Database, tmp_path: Path,
                                                                         fake: FakeBotAPI) -> None:
    settings = make_settings(tmp_path, fake, mode="webhook", database_url=database.url)
    async with open_runtime(settings) as first, open_runtime(settings) as second, \
            running(first) as service, running(second), serving(webhook_app(first, service)) as base:
        async with httpx.AsyncClient() as client:
            r = await client.post(f"{fake.base}/bot{fake.token}/setWebhook",
                                  json={"url": f"{base}/telegram/webhook", "secret_token": SECRET})
            assert r.json()["ok"]
        # Updates arrive through the first process; the second finds them on its sweeps and competes.
        people = [Person(fake, first.db, 4000 + i) for i in range(10)]
        pushed = [fake.push(person.text(text)) for text in SCRIPT for person in people]
        for update_id in pushed:
            await settled(first.db, update_id)
        turns = await first.db.run(
            lambda c: c.execute(sa.select(sa.func.count()).select_from(inbound_messages)).scalar_one())

    assert turns == len(pushed)  # every update reached the engine once
    transcripts = [[m["text"] for _, m in fake.events(p.id)] for p in people]
    assert all(t == transcripts[0] for t in transcripts)  # same replies, same order, no doubles
    assert len(transcripts[0]) == len(SCRIPT)
    assert "How can I help" in transcripts[0][3]  # "english" switched the language before "/menu"
