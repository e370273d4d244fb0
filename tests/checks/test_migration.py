"""0002_reference_data matches storage/reference_schema.py and can be rolled back."""

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import storage.reference_schema as reference_schema
from storage.migrate import alembic_config, upgrade
from storage.schema import metadata

MINE = {t.name for t in (reference_schema.schools, reference_schema.school_phones, reference_schema.blocklist)}


def _table_of(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else None
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return table.name
        if isinstance(part, sa.Table):
            return part.name
        if name and name in MINE:
            return name
    return item[2] if len(item) > 2 and isinstance(item[2], str) else None


async def test_migration_matches_the_table_definitions(database):
    def diffs(conn):
        return compare_metadata(MigrationContext.configure(conn), metadata)

    async with database.transaction() as conn:
        found = await conn.run_sync(diffs)
    assert [d for d in found if _table_of(d) in MINE] == []


async def test_downgrade_and_upgrade_again(sqlite_db):
    def downgrade(conn):
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002_reference_data-1")  # only this branch
        return set(sa.inspect(conn).get_table_names())

    async with sqlite_db.engine.begin() as conn:
        tables = await conn.run_sync(downgrade)
    assert not tables & MINE
    assert "tips" in tables  # the other branches and the initial schema are untouched
    await upgrade(sqlite_db)
    async with sqlite_db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    assert tables >= MINE
