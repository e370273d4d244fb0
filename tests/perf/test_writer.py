"""The SQLite writer's group commit: units that arrive together share one commit, and one that fails takes
only its own writes with it (each runs inside its own savepoint)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from storage.db import Database

TABLE = sa.Table("scratch", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.Text))


def _write(conn: sa.Connection, *, value: str, fail: bool = False, nested: bool = False) -> str:
    conn.execute(sa.insert(TABLE).values(v=value))
    if nested:  # a unit may use savepoints of its own
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(TABLE).values(v=value + "-inner"))
                raise LookupError
        except LookupError:
            pass
    if fail:
        raise ValueError(value)
    return value


async def _values(db: Database) -> list[str]:
    return await db.run(lambda c: sorted(r.v for r in c.execute(sa.select(TABLE.c.v))))


@pytest.fixture
async def db(sqlite_url: str) -> Database:
    database = Database(sqlite_url)
    await database.run(lambda c: TABLE.metadata.create_all(c))
    return database


async def test_a_failing_unit_loses_only_its_own_writes(db: Database) -> None:
    results = await asyncio.gather(
        *(db.run(_write, value=f"u{i}", fail=i % 3 == 1, nested=i == 4) for i in range(12)),
        return_exceptions=True)
    failed = {str(r) for r in results if isinstance(r, ValueError)}
    assert failed == {"u1", "u4", "u7", "u10"}
    assert await _values(db) == sorted(f"u{i}" for i in range(12) if i % 3 != 1)
    await db.dispose()


async def test_units_after_a_failure_in_the_same_trip_still_see_their_own_writes(db: Database) -> None:
    def count_mine(conn: sa.Connection, *, value: str) -> int:
        conn.execute(sa.insert(TABLE).values(v=value))
        return int(conn.execute(sa.select(sa.func.count()).where(TABLE.c.v == value)).scalar_one())

    first, bad, after = await asyncio.gather(db.run(count_mine, value="a"), db.run(_write, value="b", fail=True),
                                             db.run(count_mine, value="c"), return_exceptions=True)
    assert (first, after) == (1, 1) and isinstance(bad, ValueError)
    assert await _values(db) == ["a", "c"]
    await db.dispose()
