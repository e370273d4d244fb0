"""``Database.read`` on SQLite sees one committed snapshot for its whole unit (its reader threads begin a read
transaction): rows another connection commits while the unit runs stay out of it."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from storage.db import Database

TABLE = sa.Table("scratch_snapshot", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))


async def test_a_read_unit_does_not_see_what_commits_while_it_runs(sqlite_db: Database) -> None:
    await sqlite_db.run(lambda c: TABLE.metadata.create_all(c))
    await sqlite_db.run(lambda c: c.execute(sa.insert(TABLE), [{"id": 1}, {"id": 2}]))
    path = sqlite_db.engine.url.database
    assert path

    def count(conn: sa.Connection) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(TABLE)).scalar_one())

    def figures(conn: sa.Connection) -> tuple[int, int]:
        before = count(conn)
        with sqlite3.connect(path, timeout=10) as other:  # another process commits half-way through the page
            other.execute("INSERT INTO scratch_snapshot (id) VALUES (3)")
        return before, count(conn)

    assert await sqlite_db.read(figures) == (2, 2)
    assert await sqlite_db.read(count) == 3  # the next unit sees it
