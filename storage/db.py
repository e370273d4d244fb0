"""Engine creation with the connection settings each backend needs, and the unit-of-work helper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _ensure_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from the driver so that BEGIN IMMEDIATE below is what runs.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # NORMAL is durable against a process crash in WAL mode; commits that must also survive a power
        # cut (a submitted tip) switch to FULL for that transaction — see ``durable()``.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: a read-then-write transaction can then never fail
        # half-way with SQLITE_BUSY, and it is our cross-process conversation lock on SQLite.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Owns the async engine. Use :meth:`transaction` for one atomic unit of work."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.sqlite:
            _ensure_sqlite_dir(url)
            # One connection: SQLite has one writer anyway, and queueing in the async pool is far cheaper
            # than SQLite's sleeping busy handler when many coroutines want to write at once.
            kwargs.update(pool_size=1, max_overflow=0, pool_timeout=60)
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.sqlite:
            _install_sqlite_pragmas(self.engine)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends normally, rolled back on any exception."""
        async with self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def durable_transaction(self) -> AsyncIterator[AsyncConnection]:
        """A transaction whose commit survives a power cut, not only a crash (``synchronous=FULL``)."""
        async with self.engine.connect() as conn:
            if not self.sqlite:  # PostgreSQL commits are durable by default (synchronous_commit=on)
                async with conn.begin():
                    yield conn
                return
            # SQLite refuses to change the safety level inside a transaction, and SQLAlchemy would open one
            # for any statement it runs; so set it on the driver connection, which is in autocommit mode.
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.execute("PRAGMA synchronous=FULL")
            try:
                async with conn.begin():
                    yield conn
            finally:
                await raw.execute("PRAGMA synchronous=NORMAL")

    async def dispose(self) -> None:
        await self.engine.dispose()
