"""Two bot processes on one database (SQLite file or PostgreSQL): Zalo chats are shared out, never doubled."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from storage.db import Database
from storage.schema import inbound_messages
from tests.e2e.zalo.conftest import live, make_settings
from tests.e2e.zalo.fakezalo import FakeZalo
from tests.e2e.zalo.people import ZaloUser, settled

SCRIPT = ("xin chào", "help", "english", "menu", "tiếng việt")


@pytest.mark.slow  # ~3 s: two server processes
async def test_two_processes_share_zalo_chats_without_doubling_or_reordering(database: Database, tmp_path: Path,
                                                                              fake: FakeZalo) -> None:
    settings = make_settings(tmp_path, fake, database_url=database.url)
    async with live(settings, fake) as first, live(settings, fake, authorised=False):
        # Events arrive through the first process's webhook; the second finds them on its sweeps and competes.
        people = [ZaloUser(fake, first.webhook, first.runtime.db, f"60{i:02d}") for i in range(8)]
        for text in SCRIPT:
            statuses = await asyncio.gather(*(p.post(p.text_event(text)) for p in people))
            assert {r.status_code for r in statuses} == {200}
        await settled(first.runtime.db, within=60)
        turns = await first.runtime.db.run(
            lambda c: c.execute(sa.select(sa.func.count()).select_from(inbound_messages)).scalar_one())

    assert turns == len(SCRIPT) * len(people)  # every event reached the engine once
    transcripts = [[s.text for s in fake.messages(p.id)] for p in people]
    assert all(t == transcripts[0] for t in transcripts)  # same replies, same order, no doubles
    assert len(transcripts[0]) == len(SCRIPT)
    assert "How can I help" in transcripts[0][3]  # "english" switched the language before "menu"
