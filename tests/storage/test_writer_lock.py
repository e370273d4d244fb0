"""Several processes' SQLite writers on one file take turns through ``<file>-writer.lock`` (flock) before BEGIN
IMMEDIATE, instead of meeting in SQLite's sleeping busy wait: a writer waits while another holds the lock, goes on
the moment it is let go, and two writers on one file lose nothing."""

from __future__ import annotations

import asyncio
import fcntl
import os
import stat
from pathlib import Path

import sqlalchemy as sa

from storage.db import Database

TABLE = sa.Table("scratch", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.Text))


def _write(conn: sa.Connection, *, value: str) -> str:
    conn.execute(sa.insert(TABLE).values(v=value))
    return value


async def _count(db: Database) -> int:
    return int(await db.run(lambda c: c.execute(sa.select(sa.func.count()).select_from(TABLE)).scalar_one()))


async def test_a_writer_waits_for_the_lock_and_goes_on_when_it_is_let_go(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    await db.run(lambda c: TABLE.metadata.create_all(c))
    lock = tmp_path / "hotline.db-writer.lock"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another process's writer is in the middle of its trip
        pending = asyncio.ensure_future(db.run(_write, value="waited"))
        await asyncio.sleep(0.5)
        assert not pending.done()  # it waits in flock, not in SQLite's busy loop (which would have written by now)
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert await asyncio.wait_for(pending, 10) == "waited"
    finally:
        os.close(fd)
    assert await _count(db) == 1
    await db.dispose()


async def test_two_writers_on_one_file_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    first, second = Database(url), Database(url)  # two `hotline serve` processes, as far as the file can tell
    await first.run(lambda c: TABLE.metadata.create_all(c))
    written = await asyncio.gather(*(db.run(_write, value=f"{n}-{i}") for i in range(300)
                                     for n, db in (("a", first), ("b", second))))
    assert len(set(written)) == 600
    assert await _count(first) == await _count(second) == 600
    await first.dispose()
    await second.dispose()
