"""Engines with the settings each backend needs, and :meth:`Database.run` — how all work reaches the database.

A unit of work is a plain synchronous function ``fn(conn: sqlalchemy.Connection, ...)``. ``run`` executes it
in one transaction:

- on **PostgreSQL** through the async engine (asyncpg) with ``AsyncConnection.run_sync``;
- on **SQLite** in one dedicated writer thread holding one pysqlite connection, with group commit. aiosqlite
  hops to a thread for every cursor call, which measured at ~1.4 ms per one-row transaction here against
  ~15 µs for the same work on a plain connection; one trip per batch of units keeps the event loop free and
  the cost down.

So repository code is written once, synchronously, and never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from storage.perms import private_file

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _ensure_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        # Created 0600 before SQLite opens it: the WAL and shared-memory files copy the database's mode.
        private_file(Path(database).expanduser())


def _install_sqlite_pragmas(sync_engine: sa.Engine) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from the driver so that BEGIN IMMEDIATE below is what runs.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # NORMAL is durable against a process crash in WAL mode; commits that must also survive a power
        # cut (a submitted tip) switch to FULL for that transaction — see ``run(durable=True)``.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: a read-then-write transaction can then never fail
        # half-way with SQLITE_BUSY, and it is our cross-process conversation lock on SQLite.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


_SIGNALS = "hotline_signals"  # Connection.info key: the topics a unit of work raised (see ``signal``)


def signal(conn: sa.Connection, topic: str) -> None:
    """Call ``topic``'s listeners (:meth:`Database.on_commit`) once the transaction ``conn`` is in has committed:
    e.g. ``"outbox"`` when a tip's outbox rows are written, so the forwarder starts at once instead of at its next
    poll. Nothing is called for a unit that fails or is rolled back."""
    conn.info.setdefault(_SIGNALS, set()).add(topic)


def _raised(conn: sa.Connection) -> set[str]:
    """The topics the unit that just ran on ``conn`` raised, cleared (``info`` outlives the checkout)."""
    topics: set[str] = conn.info.pop(_SIGNALS, set())
    return topics


_CHECKED_IN = "hotline_checked_in"  # ConnectionPoolEntry.info key: when the connection last went back to the pool


def _install_idle_ping(db: Database, sync_engine: sa.Engine, idle_seconds: float) -> None:
    """Ping a pooled connection on checkout only when it sat idle ``idle_seconds`` or more (``pool_pre_ping`` would
    cost a round trip on every checkout, i.e. on every unit of work). A dead one raises DisconnectionError, on which
    the pool discards it and hands out a new connection; a fresh connection (never checked in) is not pinged."""

    @event.listens_for(sync_engine, "connect")
    def _on_connect(_dbapi_conn: Any, record: Any) -> None:
        record.info.pop(_CHECKED_IN, None)  # a new connection (first, or replacing a dead one) is live

    @event.listens_for(sync_engine, "checkin")
    def _on_checkin(dbapi_conn: Any, record: Any) -> None:
        if dbapi_conn is not None:  # None: invalidated, replaced by a new connection on its next checkout
            record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(sync_engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)  # dropped with the info when a connection is invalidated or replaced
        if since is None or time.monotonic() - since < idle_seconds:
            return
        db.pings += 1
        try:
            # One round trip (asyncpg's simple query protocol); the dialect's do_ping would add a BEGIN and a ROLLBACK.
            dbapi_conn.run_async(lambda driver: driver.execute("SELECT 1"))
        except Exception as error:
            record.info.pop(_CHECKED_IN, None)
            raise exc.DisconnectionError(f"idle connection found dead on checkout: {error!r}") from error


@dataclass
class _Work:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    durable: bool
    future: asyncio.Future[Any]


class _SqliteWriter:
    """One thread, one connection: every unit of work on SQLite runs here, one after another.

    Units submitted while the thread is busy are run together in the next trip, each inside its own
    SAVEPOINT, with a single COMMIT (group commit). A unit that raises rolls back only its savepoint; the
    caller of every unit learns its outcome only after the commit that makes it durable.
    """

    def __init__(self, url: str, *, committed: Callable[[set[str]], None], max_batch: int = 16) -> None:
        sync_url = make_url(url).set(drivername="sqlite")
        self.committed = committed  # called on the loop with the topics a committed trip raised
        database = sync_url.database
        # Several `hotline serve` processes on one file take turns through this lock before BEGIN IMMEDIATE. SQLite's
        # own wait for its write lock polls, sleeping 1, 2, 5, 10 … 100 ms between tries, and a process that keeps
        # finding the lock taken sleeps longer each time: bench_chat's two pinned processes had a p99 of 450 ms
        # with waits like that. flock() sleeps in the kernel and wakes the moment the other process lets go.
        # (Other writers — CLI commands, migrations — still meet SQLite's own wait; busy_timeout covers them.)
        self._lock_path = (private_file(Path(database).expanduser().with_name(Path(database).name + "-writer.lock"))
                           if database and database != ":memory:" else None)
        self._lock_fd: int | None = None  # opened in the writer thread on its first trip
        # One connection for the life of the thread: SQLite has a single writer anyway.
        self.engine = sa.create_engine(sync_url, poolclass=sa.pool.StaticPool,
                                       connect_args={"check_same_thread": False})
        _install_sqlite_pragmas(self.engine)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self.max_batch = max_batch
        self._queue: list[_Work] = []
        self._busy = False
        self._drainer: asyncio.Task[None] | None = None  # held so the task is not garbage-collected

    @contextmanager
    def _turn_to_write(self) -> Iterator[None]:
        """This process's turn at the database file's write lock (see ``_lock_path``)."""
        if self._lock_path is None:
            yield
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)  # releases the GIL while it waits
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _call_batch(self, batch: list[_Work]) -> tuple[list[tuple[bool, Any]], set[str]]:
        durable = any(w.durable for w in batch)
        outcomes: list[tuple[bool, Any]] = []
        topics: set[str] = set()
        with self._turn_to_write(), self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            if durable:  # the safety level cannot change inside a transaction, hence the raw connection
                raw.execute("PRAGMA synchronous=FULL")  # type: ignore[union-attr]
            try:
                with conn.begin():
                    for work in batch:
                        if len(batch) == 1:  # no neighbour to protect: skip the savepoint
                            try:
                                outcomes.append((True, work.fn(conn, *work.args, **work.kwargs)))
                            finally:
                                topics |= _raised(conn)  # dropped below if the unit (the transaction) failed
                            continue
                        # Plain SQL savepoints on the driver connection: SQLAlchemy's begin_nested() cost ~9% of
                        # a chat message's CPU (bench/bench_chat.py profile) for the same two statements.
                        raw.execute("SAVEPOINT unit")  # type: ignore[union-attr]
                        try:
                            value = work.fn(conn, *work.args, **work.kwargs)
                        except Exception as exc:
                            raw.execute("ROLLBACK TO unit")  # type: ignore[union-attr]
                            raw.execute("RELEASE unit")  # type: ignore[union-attr]
                            outcomes.append((False, exc))
                            _raised(conn)  # rolled back: nothing to tell
                            continue
                        raw.execute("RELEASE unit")  # type: ignore[union-attr]
                        outcomes.append((True, value))
                        topics |= _raised(conn)
            finally:
                if durable:
                    raw.execute("PRAGMA synchronous=NORMAL")  # type: ignore[union-attr]
        return outcomes, topics

    async def run(self, fn: Callable[..., T], durable: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        loop = asyncio.get_running_loop()
        work = _Work(fn, args, kwargs, durable, loop.create_future())
        self._queue.append(work)
        if not self._busy:
            self._busy = True
            self._drainer = loop.create_task(self._drain())
        result: T = await work.future
        return result

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._queue:
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                try:
                    outcomes, topics = await loop.run_in_executor(self.executor, self._call_batch, batch)
                except BaseException as exc:  # the commit itself failed: every unit in the trip failed
                    for work in batch:
                        if not work.future.done():
                            work.future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for work, (ok, value) in zip(batch, outcomes, strict=True):
                    if work.future.done():  # the caller was cancelled; the work is committed anyway
                        continue
                    if ok:
                        work.future.set_result(value)
                    else:
                        work.future.set_exception(value)
                if topics:
                    self.committed(topics)
        finally:
            self._busy = False

    def close(self) -> None:
        self.executor.submit(self.engine.dispose).result()
        self.executor.shutdown(wait=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


class _SqliteReaders:
    """A few threads with their own read-only connections, for console reads that take a while (the dashboard's
    month of counts): WAL lets them read beside the writer, and pysqlite releases the GIL while SQLite works,
    so two of them use two cores. Nothing here writes (``PRAGMA query_only``)."""

    def __init__(self, url: str, *, threads: int = 2) -> None:
        sync_url = make_url(url).set(drivername="sqlite")
        self.engine = sa.create_engine(sync_url, pool_size=threads, max_overflow=0,
                                       connect_args={"check_same_thread": False})

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # transactions are ours (below), as on the writer
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA query_only=ON")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

        @event.listens_for(self.engine, "begin")
        def _on_begin(conn: Any) -> None:
            # pysqlite begins no transaction before a SELECT, so each statement would read a snapshot of its own
            # and a page of figures could add up rows committed half-way through it.
            conn.exec_driver_sql("BEGIN")

        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sqlite-reader")

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        with self.engine.connect() as conn, conn.begin():  # one snapshot for the whole unit
            return fn(conn, *args, **kwargs)

    async def read(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, self._call, fn, args, kwargs)

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.engine.dispose()


class Database:
    """Owns the engines. :meth:`run` is the way in; :meth:`transaction` gives a raw async connection."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10, idle_ping_seconds: float = 5.0) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self._listeners: dict[str, list[Callable[[], None]]] = {}
        self.pings = 0  # liveness pings of idle pooled connections (PostgreSQL), for tests and diagnostics
        kwargs: dict[str, Any] = {"echo": echo}
        self._writer: _SqliteWriter | None = None
        self._readers: _SqliteReaders | None = None
        if self.sqlite:
            _ensure_sqlite_dir(url)
            # The async engine serves migrations and occasional admin reads; one connection is plenty.
            kwargs.update(pool_size=1, max_overflow=0, pool_timeout=60)
            self._writer = _SqliteWriter(url, committed=self._committed)
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.sqlite:
            _install_sqlite_pragmas(self.engine.sync_engine)
        else:
            _install_idle_ping(self, self.engine.sync_engine, idle_ping_seconds)

    async def run(self, fn: Callable[Concatenate[sa.Connection, P], T], /, *args: P.args,
                  **kwargs: P.kwargs) -> T:
        """Run ``fn(conn, *args, **kwargs)`` in one transaction: committed on return, rolled back on error."""
        return await self._run(fn, False, args, kwargs)

    async def run_durable(self, fn: Callable[Concatenate[sa.Connection, P], T], /, *args: P.args,
                          **kwargs: P.kwargs) -> T:
        """Like :meth:`run`, but the commit survives a power cut (SQLite ``synchronous=FULL``)."""
        return await self._run(fn, True, args, kwargs)

    async def _run(self, fn: Callable[..., T], durable: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        if self._writer is not None:
            return await self._writer.run(fn, durable, args, kwargs)
        topics: set[str] = set()

        def unit(conn: sa.Connection) -> T:
            try:
                return fn(conn, *args, **kwargs)
            finally:
                topics.update(_raised(conn))

        # PostgreSQL commits are durable by default (synchronous_commit=on).
        async with self.engine.begin() as conn:
            result = await conn.run_sync(unit)
        if topics:  # only once committed: an exception above skips this
            self._committed(topics)
        return result

    def on_commit(self, topic: str, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` on the event loop after every commit of a unit that raised ``topic``
        (:func:`signal`); returns the function that stops it. Listeners must be quick (set an event)."""
        self._listeners.setdefault(topic, []).append(listener)
        return lambda: self._listeners.get(topic, []).remove(listener)

    def _committed(self, topics: set[str]) -> None:
        for topic in topics:
            for listener in list(self._listeners.get(topic, ())):
                try:
                    listener()
                except Exception:  # a listener's bug must not fail the commit's callers
                    log.exception("on_commit listener for %r failed", topic)

    async def read(self, fn: Callable[Concatenate[sa.Connection, P], T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read-only ``fn(conn, …)`` beside the writer: several at once use several cores (SQLite: reader
        threads; PostgreSQL: pooled connections). On SQLite it sees one committed snapshot for the whole unit; on
        PostgreSQL committed data statement by statement (READ COMMITTED). It must not write."""
        if not self.sqlite:
            async with self.engine.connect() as conn:
                return await conn.run_sync(fn, *args, **kwargs)
        if make_url(self.url).database in (None, "", ":memory:"):  # nothing another connection could read
            return await self.run(fn, *args, **kwargs)
        if self._readers is None:
            self._readers = _SqliteReaders(self.url)
        return await self._readers.read(fn, args, kwargs)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One async transaction (admin paths and tests); prefer :meth:`run` for application work."""
        async with self.engine.begin() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._writer is not None:
            await asyncio.to_thread(self._writer.close)
            self._writer = None
        if self._readers is not None:
            await asyncio.to_thread(self._readers.close)
            self._readers = None
