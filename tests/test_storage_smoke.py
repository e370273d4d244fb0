import sqlalchemy as sa

from storage.db import Database
from storage.schema import conversations


async def test_migrated_schema_has_tables(database: Database) -> None:
    async with database.transaction() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(conversations))).scalar_one()
    assert count == 0
