"""Intake fixtures: settings with fixed keys, tips filed straight through ``storage.tips.create_tip``."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from handlers.messages import Attachment, ConversationKey
from storage.crypto import Cipher, new_key
from storage.db import Database
from storage.tips import Indicator, create_tip
from tests.intake.receiver import SECRET, Receiver

KEY, INDEX_KEY = new_key(), new_key()
CIPHER = Cipher.from_config({"k1": KEY}, "k1", INDEX_KEY)
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
_chats = itertools.count(1)


@pytest.fixture(autouse=True)
def _no_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The repository's config.yaml must not leak into these settings.
    empty = tmp_path / "empty-config.yaml"
    empty.write_text("# test\n", encoding="utf-8")
    monkeypatch.setenv("HOTLINE_CONFIG", str(empty))


def make_settings(url: str, tmp_path: Path, **intake: Any) -> Settings:
    return Settings(
        database={"url": url},
        intake={"max_attempts": 3, "base_backoff_seconds": 0.05, **intake},
        security={"keys": {"k1": KEY}, "current_key": "k1", "index_key": INDEX_KEY},
        logging={"file": None},
        # The session's trained intent model (tests/conftest.py), not a new one per runtime.
        nlu={"model_path": os.environ.get("HOTLINE_TEST_NLU_MODEL", str(tmp_path / "nlu-model.npz"))},
        data_dir=str(tmp_path / "data"),
    )


def report(**slots: Any) -> dict[str, Any]:
    base = {"contact_channel": "call", "caller_number": "+84377123999", "claimed_role": "homeroom_teacher",
            "school": "THCS Nguyễn Du", "pretext": "student_id_code", "asked": ["otp"], "money_lost": "no",
            "commune": "Xã Tân Lộc", "contact_consent": "anonymous"}
    return {**base, **slots}


def file_tip_sync(conn: Any, *, slots: dict[str, Any], sinks: Sequence[str], now: datetime = NOW,
                  attachments: Sequence[Attachment] = (), indicators: Sequence[Indicator] | None = None,
                  chat: str | None = None, prefix: str = "TG") -> str:
    """A tip as the engine files it (same repository call), with the indicators the engine would derive."""
    if indicators is None:
        indicators = [Indicator("phone", slots["caller_number"])] if slots.get("caller_number") else []
    consent = slots.get("contact_consent") == "contact_ok"
    data = {"slots": slots, "locale": "vi", "consent": {"contact": consent, "recorded_at": now.isoformat()}}
    return create_tip(conn, key=ConversationKey("test", chat or f"chat-{next(_chats)}"), user_id="u",
                      urgent=slots.get("money_lost") == "yes", data=data, attachments=attachments,
                      indicators=indicators, sinks=sinks, prefix=prefix, now=now, cipher=CIPHER)


async def file_tips(db: Database, n: int, *, sinks: Sequence[str], now: datetime = NOW) -> list[str]:
    def work(conn: Any) -> list[str]:
        return [file_tip_sync(conn, slots=report(), sinks=sinks, now=now) for _ in range(n)]

    return await db.run(work)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
async def runtime_for(tmp_path: Path) -> AsyncIterator[Any]:
    """``await runtime_for(db, **intake)``: a real Runtime on the same database (its own connections)."""
    made: list[Runtime] = []

    async def make(db: Database, **intake: Any) -> Runtime:
        runtime = await build_runtime(make_settings(db.url, tmp_path, **intake))
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        await runtime.close()


def webhook_intake(receiver: Receiver, **extra: Any) -> dict[str, Any]:
    return {"sinks": ["console", "webhook"], "webhook": {"url": receiver.url, "secret": SECRET,
                                                         "timeout_seconds": 5}, **extra}
