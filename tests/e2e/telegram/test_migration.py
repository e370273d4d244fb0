"""0003_telegram matches storage/telegram_schema.py and rolls back cleanly."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage.db import Database
from storage.migrate import alembic_config, upgrade
from storage.schema import metadata
from storage.telegram_schema import TELEGRAM_TABLES

MINE = {t.name for t in TELEGRAM_TABLES}


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
        command.downgrade(cfg, "0003_telegram@0001_initial")
        return set(sa.inspect(conn).get_table_names())

    async with sqlite_db.engine.begin() as conn:
        tables = await conn.run_sync(downgrade)
    assert not tables & MINE
    await upgrade(sqlite_db)
    async with sqlite_db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    assert tables >= MINE
