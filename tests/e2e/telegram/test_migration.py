"""Telegram's migrations: 0003_telegram matches storage/telegram_schema.py and rolls back cleanly;
0015_telegram_channels moves what the old code wrote (pending and processed updates, queued calls, leases, the
polling offset) into the shared channel tables exactly once, the running channel then finishes it once, and a
downgrade gives it back."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.channels.telegram import render
from bot.channels.telegram.api import CHANNEL
from bot.runtime import build_cipher
from storage import channel_store
from storage.channel_schema import channel_events, channel_leases, channel_outgoing, channel_state
from storage.conversations import chat_ref
from storage.crypto import Cipher
from storage.db import Database
from storage.keys import ConversationKey
from storage.migrate import MIGRATIONS_DIR, alembic_config, upgrade
from storage.schema import inbound_messages, metadata
from storage.telegram_schema import TELEGRAM_TABLES
from tests.e2e.telegram import legacy
from tests.e2e.telegram.conftest import SECRET, make_settings, open_runtime, running, serving, webhook_app
from tests.e2e.telegram.fakebot import FakeBotAPI
from tests.e2e.telegram.people import Person, settled, texts

MINE = {t.name for t in TELEGRAM_TABLES}
OLD = {t.name for t in legacy.OLD_TABLES}
BEFORE_0015 = "0015_telegram_channels@0010_channels"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _names(diff: Any) -> set[str]:
    """Every table name a diff entry mentions (entries are tuples, or lists of tuples for column changes)."""
    items = diff if isinstance(diff, list) else [diff]
    names: set[str] = set()
    for item in items:
        for part in item[1:]:
            if isinstance(part, sa.Table):
                names.add(part.name)
            elif isinstance(part, str):
                names.add(part)
            elif getattr(part, "table", None) is not None:
                names.add(part.table.name)
    return names


def _alembic(conn: sa.Connection, verb: str, target: str) -> set[str]:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    getattr(command, verb)(cfg, target)
    return set(sa.inspect(conn).get_table_names())


async def _migrate(db: Database, verb: str, target: str) -> set[str]:
    async with db.engine.begin() as conn:
        return set(await conn.run_sync(_alembic, verb, target))


async def test_migration_matches_the_table_definitions(database: Database) -> None:
    async with database.transaction() as conn:
        found = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
        tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    assert [d for d in found if _names(d) & MINE] == []
    assert not tables & OLD  # 0015 dropped them: nothing can write where nobody reads


async def test_downgrade_and_upgrade_again(sqlite_db: Database) -> None:
    tables = await _migrate(sqlite_db, "downgrade", "0003_telegram@0001_initial")
    assert not tables & (MINE | OLD)
    await upgrade(sqlite_db)
    async with sqlite_db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    assert tables >= MINE and not tables & OLD


def test_the_migration_marks_copied_payloads_as_the_store_reads_them() -> None:
    spec = importlib.util.spec_from_file_location("m0015", MIGRATIONS_DIR / "versions" / "0015_telegram_channels.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.LEGACY == channel_store.LEGACY_TELEGRAM


def _ref(cipher: Cipher, chat_id: int) -> str:
    return chat_ref(cipher, ConversationKey(CHANNEL, str(chat_id)))


def _old_deployment(conn: sa.Connection, *, cipher: Cipher, a: Person, b: Person, now: datetime) -> None:
    """What a running deployment has when it is stopped for the upgrade: parent A's update 100 long done,
    101 answered but its reply not sent yet; parent B's 102 stored, not processed, its chat leased by the dead
    process; the offset past all three."""
    ra, rb = _ref(cipher, a.id), _ref(cipher, b.id)
    legacy.store_updates(conn, now=now - timedelta(hours=1), cipher=cipher,
                         updates=[legacy.NewUpdate(100, ra, {"update_id": 100, **a.text("/start")})])
    legacy.finish_update(conn, update_id=100, chat_ref=ra, calls=[], now=now - timedelta(hours=1), cipher=cipher)
    legacy.store_updates(conn, now=now, cipher=cipher, offset=103, updates=[
        legacy.NewUpdate(101, ra, {"update_id": 101, **a.text("/help")}),
        legacy.NewUpdate(102, rb, {"update_id": 102, **b.text("/start")})])
    legacy.finish_update(conn, update_id=101, chat_ref=ra, now=now, cipher=cipher,
                         calls=render.notice(a.id, "Trả lời từ phiên bản cũ, gửi một lần."))
    legacy.claim_chat(conn, chat_ref=rb, owner="old-process", now=now - timedelta(minutes=5),
                      ttl=timedelta(seconds=15))


def _dump(conn: sa.Connection) -> list[list[tuple[Any, ...]]]:
    out = []
    for table in legacy.OLD_TABLES:
        cols = [c for c in table.columns if c.name != "id"]  # queue ids are renumbered on the way
        out.append([tuple(r) for r in conn.execute(sa.select(*cols).order_by(*cols[:2])).all()])
    return out


def _shared(conn: sa.Connection) -> list[int]:
    return [conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.channel == CHANNEL)).scalar_one()
            for t in (channel_events, channel_outgoing, channel_leases, channel_state)]


async def test_rows_written_by_the_old_code_are_finished_once_after_the_upgrade(database: Database, tmp_path: Path,
                                                                                fake: FakeBotAPI) -> None:
    settings = make_settings(tmp_path, fake, mode="polling", database_url=database.url)
    cipher = build_cipher(settings)  # the key file the runtime opens below
    a, b = Person(fake, database, 8101), Person(fake, database, 8102)
    await _migrate(database, "downgrade", BEFORE_0015)
    async with database.engine.begin() as conn:
        await conn.run_sync(lambda c: _old_deployment(c, cipher=cipher, a=a, b=b, now=datetime.now(UTC)))

    await upgrade(database)  # as `hotline db upgrade` / the start of `hotline serve` do
    async with database.engine.connect() as conn:
        assert await conn.run_sync(_shared) == [3, 1, 1, 1]  # updates 100–102, A's reply, B's lease, the offset
        assert not set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names())) & OLD
    await upgrade(database)  # nothing left to copy a second time
    async with database.engine.connect() as conn:
        assert await conn.run_sync(_shared) == [3, 1, 1, 1]

    async with open_runtime(settings) as runtime, running(runtime), serving(webhook_app(runtime)) as base:
        a.db = b.db = runtime.db
        await settled(runtime.db)
        # Telegram did not see the old process's 200 for update 100 and sends it again.
        async with httpx.AsyncClient(base_url=base) as client:
            again = await client.post("/telegram/webhook", headers={HEADER: SECRET},
                                      json={"update_id": 100, **a.text("/start")})
        assert again.status_code == 200
        await settled(runtime.db)
        counts = await runtime.db.run(channel_store.pending_counts, channel=CHANNEL)
        turns = await runtime.db.run(
            lambda c: c.execute(sa.select(sa.func.count()).select_from(inbound_messages)).scalar_one())

    assert texts(a.new_messages()) == "Trả lời từ phiên bản cũ, gửi một lần."  # the queued reply, once
    assert texts(b.new_messages()).count("Bạn cần giúp gì") == 1  # the pending update, answered once
    assert turns == 1  # only B's update reached the engine (A's were done before the upgrade)
    assert counts == {"events": 0, "outgoing": 0, "dead": 0}
    offsets = {c.params.get("offset") for c in fake.calls_to("getUpdates")}
    assert offsets == {103}  # polling resumed where the old process stopped


async def test_downgrade_gives_the_rows_back_and_refuses_what_the_old_code_could_not_open(
        database: Database, tmp_path: Path, fake: FakeBotAPI) -> None:
    settings = make_settings(tmp_path, fake, database_url=database.url)
    cipher = build_cipher(settings)
    a, b = Person(fake, database, 8201), Person(fake, database, 8202)
    await _migrate(database, "downgrade", BEFORE_0015)
    async with database.engine.begin() as conn:
        await conn.run_sync(lambda c: _old_deployment(c, cipher=cipher, a=a, b=b, now=datetime.now(UTC)))
    async with database.engine.connect() as conn:
        before = await conn.run_sync(_dump)

    await upgrade(database)
    tables = await _migrate(database, "downgrade", BEFORE_0015)
    assert tables >= OLD
    async with database.engine.connect() as conn:
        assert await conn.run_sync(_dump) == before
        assert await conn.run_sync(_shared) == [0, 0, 0, 0]

    # Once the new code has queued something of its own, the old code could not open it: refused, kept.
    await upgrade(database)
    now = datetime.now(UTC)
    await database.run(channel_store.enqueue, channel=CHANNEL, chat_ref=_ref(cipher, b.id), now=now, cipher=cipher,
                       calls=render.notice(b.id, "mới"))
    with pytest.raises(RuntimeError, match="cannot downgrade 0015_telegram_channels"):
        await _migrate(database, "downgrade", BEFORE_0015)
    async with database.engine.connect() as conn:
        assert await conn.run_sync(_shared) == [3, 2, 1, 1]
