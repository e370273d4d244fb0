"""storage.hot: the driver-level path for per-message statements stores and reads exactly what SQLAlchemy would."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from storage import hot
from storage.hot import Hot

meta = sa.MetaData()
things = sa.Table(
    "things", meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(32), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("flag", sa.Boolean, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
INSERT = Hot(sa.insert(things).values(name=sa.bindparam("name"), status=sa.bindparam("status"),
                                      flag=sa.bindparam("flag"), at=sa.bindparam("at")))
PENDING = Hot(sa.select(things.c.id, things.c.name, things.c.flag, things.c.at)
              .where(things.c.status == "pending", things.c.name.like(sa.bindparam("prefix")))
              .order_by(things.c.id).limit(2))
DONE = Hot(sa.update(things).where(things.c.name == sa.bindparam("target")).values(status="done"))
AT = datetime(2026, 12, 2, 7, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'hot.db'}")
    meta.create_all(eng)
    return eng


def test_rows_written_and_read_as_through_sqlalchemy(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        INSERT.run(conn, {"name": "a1", "status": "pending", "flag": True, "at": AT})
        conn.execute(sa.insert(things), {"name": "a2", "status": "pending", "flag": False, "at": AT})
        INSERT.run(conn, {"name": "a3", "status": "pending", "flag": True, "at": AT})
        INSERT.run(conn, {"name": "b1", "status": "pending", "flag": True, "at": AT})
    with engine.begin() as conn:
        stored = conn.exec_driver_sql("SELECT name, flag, at FROM things ORDER BY id").all()
        # The raw path (a1) stored the very text SQLAlchemy's own insert (a2) stored for the same instant.
        assert stored[0][2] == stored[1][2] and isinstance(stored[0][2], str)
        assert [r[1] for r in stored] == [1, 0, 1, 1]
        fast = PENDING.rows(conn, {"prefix": "a%"})
        slow = conn.execute(PENDING.statement, {"prefix": "a%"}).all()
        assert [tuple(r) for r in fast] == [tuple(r) for r in slow]  # LIMIT 2 and the literal "pending" applied
        assert fast[0].name == "a1" and fast[0].flag is True and fast[1].flag is False
        assert fast[0].at == slow[0].at and fast[0]._mapping["name"] == "a1"
        with pytest.raises(AttributeError):
            _ = fast[0].nothing
        assert DONE.run(conn, {"target": "a1"}) == 1
        assert DONE.run(conn, {"target": "zz"}) == 0
        assert [r.name for r in PENDING.rows(conn, {"prefix": "a%"})] == ["a2", "a3"]
        assert PENDING.first(conn, {"prefix": "c%"}) is None


def test_errors_are_sqlalchemys_and_roll_back_with_the_transaction(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        trans = conn.begin()
        INSERT.run(conn, {"name": "x", "status": "pending", "flag": True, "at": AT})
        with pytest.raises(sa.exc.IntegrityError):
            INSERT.run(conn, {"name": "x", "status": "pending", "flag": True, "at": AT})
        trans.rollback()
    with engine.connect() as conn:  # the raw statements ran inside the connection's transaction
        assert conn.execute(sa.select(sa.func.count()).select_from(things)).scalar() == 0


async def test_through_aiosqlite_it_falls_back_to_sqlalchemy(tmp_path: Path) -> None:
    """The async engine (migrations, admin reads) wraps pysqlite in an asynchronous object: never called raw."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(meta.create_all)
            assert await conn.run_sync(hot._plain_sqlite) is None
            await conn.run_sync(INSERT.run, {"name": "a1", "status": "pending", "flag": True, "at": AT})
            rows = await conn.run_sync(PENDING.rows, {"prefix": "a%"})
        assert [r.name for r in rows] == ["a1"]
    finally:
        await engine.dispose()
