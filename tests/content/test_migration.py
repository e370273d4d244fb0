"""0013_content matches storage/content_schema.py and can be rolled back on its own branch."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage.content_schema import CONTENT_TABLES
from storage.db import Database
from storage.migrate import alembic_config, upgrade
from storage.schema import metadata

MINE = {t.name for t in CONTENT_TABLES}


def _names(diff: Any) -> set[str]:
    names: set[str] = set()
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item[1:]:
            if isinstance(part, sa.Table):
                names.add(part.name)
            elif isinstance(getattr(part, "table", None), sa.Table):
                names.add(part.table.name)
            elif isinstance(part, str):
                names.add(part)
    return names


async def test_migration_matches_the_table_definitions(database: Database) -> None:
    async with database.transaction() as conn:
        found = await conn.run_sync(lambda c: list(compare_metadata(MigrationContext.configure(c), metadata)))
    assert [d for d in found if MINE & _names(d)] == []


async def test_downgrade_and_upgrade_again(sqlite_db: Database) -> None:
    def downgrade(conn: sa.Connection) -> set[str]:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0013_content-1")
        return set(sa.inspect(conn).get_table_names())

    async with sqlite_db.engine.begin() as conn:
        tables = await conn.run_sync(downgrade)
    assert not tables & MINE and "tips" in tables
    await upgrade(sqlite_db)
    async with sqlite_db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    assert tables >= MINE
