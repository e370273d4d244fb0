"""0010_channels matches storage/channel_schema.py, rolls back cleanly and leaves Telegram's rows as they were."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage.channel_schema import CHANNEL_TABLES
from storage.db import Database
from storage.migrate import alembic_config, upgrade
from storage.schema import metadata
from tests.e2e.telegram.legacy import telegram_outgoing, telegram_state, telegram_updates

MINE = {t.name for t in CHANNEL_TABLES}


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


async def test_migration_matches_the_table_definitions(database: Database) -> None:
    async with database.transaction() as conn:
        found = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
    assert [d for d in found if _names(d) & MINE] == []


async def test_downgrade_and_upgrade_again(sqlite_db: Database) -> None:
    def downgrade(conn: sa.Connection) -> set[str]:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010_channels@0003_telegram")
        return set(sa.inspect(conn).get_table_names())

    async with sqlite_db.engine.begin() as conn:
        tables = await conn.run_sync(downgrade)
    assert not tables & MINE
    assert "telegram_updates" in tables
    await upgrade(sqlite_db)
    async with sqlite_db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    assert tables >= MINE


async def test_telegram_rows_survive_the_upgrade(database: Database) -> None:
    """A database with Telegram work in flight (before 0010) still has all of it, unchanged, after 0010 (0015 then
    moves it to the shared tables: tests/e2e/telegram/test_migration.py)."""
    now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

    def downgrade_and_fill(conn: sa.Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010_channels@0003_telegram")
        conn.execute(sa.insert(telegram_updates), [
            {"update_id": 41, "chat_ref": "c1", "payload": "sealed-1", "received_at": now, "next_attempt_at": now},
            {"update_id": 42, "chat_ref": "c1", "payload": None, "received_at": now, "processed_at": now,
             "next_attempt_at": now}])
        conn.execute(sa.insert(telegram_outgoing).values(chat_ref="c1", update_id=41, payload="sealed-call",
                                                         status="pending", not_before=now, created_at=now))
        conn.execute(sa.insert(telegram_state).values(key="polling_offset", value="43", updated_at=now))

    def dump(conn: sa.Connection) -> list[list[tuple[Any, ...]]]:
        return [[tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns)).all()]
                for t in (telegram_updates, telegram_outgoing, telegram_state)]

    async with database.engine.begin() as conn:
        await conn.run_sync(downgrade_and_fill)
    async with database.engine.connect() as conn:
        before = await conn.run_sync(dump)
    await upgrade(database, "0010_channels")
    async with database.engine.connect() as conn:
        after = await conn.run_sync(dump)
        tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    assert after == before and [len(t) for t in after] == [2, 1, 1]
    assert tables >= MINE
