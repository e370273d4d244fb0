"""Fixtures for talking back to the parent: a real runtime (SQLite, or PostgreSQL when reachable) with an
in-memory push channel registered beside the real ones, parents who talk to the real engine, and officers."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.channels.base import Capabilities, DeliveryFailure
from bot.delivery import DeliveryService, talk_of
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from handlers.handoff_ops import Talk
from handlers.messages import Attachment, InboundMessage, OutboundMessage
from storage.workflow import Viewer
from tests.conftest import _create_pg_database, _drop_pg_database
from tests.migrated import seeded_url

SUPERVISOR = Viewer.officer(7, "supervisor", None)  # sees every tip (tips in these tests are not routed)
# A Tuesday, 10:00 in Hanoi: inside the default working hours (Monday–Friday, 07:30–17:00).
OPEN_HOURS = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
# A Saturday, 22:00 in Hanoi: outside them; the next opening is Monday 07:30.
CLOSED_HOURS = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)


def settings_for(tmp_path: Path, url: str | None = None, **sections: Any) -> Settings:
    base: dict[str, Any] = {
        "database": {"url": url or seeded_url(tmp_path / "hotline.db")},
        "data_dir": str(tmp_path / "data"), "security": {"key_file": str(tmp_path / "keys.json")},
        "logging": {"file": None},
        "nlu": {"model_path": os.environ.get("HOTLINE_TEST_NLU_MODEL", str(tmp_path / "model.npz"))},
    }
    base.update(sections)
    return Settings.model_validate(base)


class MemoryChannel:
    """A real push channel kept in memory: what it delivered, and failures to raise on demand."""

    name = "memory"
    capabilities = Capabilities(buttons=True, push=True)

    def __init__(self) -> None:
        self.sent: list[tuple[str, OutboundMessage]] = []
        self.failures: list[DeliveryFailure] = []
        self.calls = 0

    def parse(self, payload: Any) -> Sequence[InboundMessage]:
        return ()

    async def send(self, chat_id: str, messages: Sequence[OutboundMessage]) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent += [(chat_id, m) for m in messages]

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [m.text for c, m in self.sent if chat_id is None or c == chat_id]


@dataclass
class Parent:
    """One parent on the memory channel, talking to the real engine."""

    runtime: Runtime
    chat_id: str
    channel: str = "memory"
    heard: list[OutboundMessage] = field(default_factory=list)
    _n: int = 0

    async def say(self, text: str | None = None, *, payload: str | None = None, at: datetime | None = None,
                  attachments: tuple[Attachment, ...] = ()) -> list[OutboundMessage]:
        self._n += 1
        msg = InboundMessage(channel=self.channel, chat_id=self.chat_id, user_id=self.chat_id,
                             message_id=f"{self.chat_id}-{self._n}-{secrets.token_hex(4)}", text=text, payload=payload,
                             attachments=attachments, received_at=at or datetime.now(UTC))
        self.heard = await self.runtime.engine.handle(msg)
        return self.heard

    def text(self) -> str:
        return "\n".join(m.text for m in self.heard)

    async def request_officer(self, need: str = "Tôi cần hỏi về cuộc gọi lạ", *,
                              at: datetime | None = None) -> str:
        """"👮 Gặp cán bộ" → the request → send: returns the reference of the hand-off tip."""
        await self.say("gặp cán bộ", at=at)
        await self.say(need, at=at)
        await self.say(payload="!submit", at=at)
        return reference_in(self.text())


def reference_in(text: str) -> str:
    import re

    found = re.search(r"TG-\d{4}-\d{6}", text)
    assert found, f"no reference in {text!r}"
    return found.group(0)


@dataclass
class World:
    runtime: Runtime
    memory: MemoryChannel
    delivery: DeliveryService

    @property
    def talk(self) -> Talk:
        return talk_of(self.runtime)

    def parent(self, chat_id: str = "parent-1") -> Parent:
        return Parent(self.runtime, chat_id)

    async def tip_id(self, reference: str) -> int:
        from storage.schema import tips

        def find(conn: sa.Connection) -> int:
            return int(conn.execute(sa.select(tips.c.id).where(tips.c.reference == reference)).scalar_one())

        return await self.runtime.db.run(find)

    async def deliver(self) -> int:
        return await self.delivery.run_once()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    """A runtime on SQLite or PostgreSQL with the memory channel and a delivery worker (run by hand)."""
    url = None
    admin = None
    if request.param == "postgres":
        admin = request.getfixturevalue("pg_admin_url")
        url = await _create_pg_database(admin)
    runtime = await build_runtime(settings_for(tmp_path, url), migrate=True)
    memory = MemoryChannel()
    runtime.channels.register(memory)
    try:
        yield World(runtime, memory, DeliveryService(runtime, retry_base=0.0))
    finally:
        await runtime.close()
        if admin is not None and url is not None:
            await _drop_pg_database(admin, url)
