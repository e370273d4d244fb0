"""Database.on_commit: a unit's signal reaches its listeners after its commit, never for a unit rolled back."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from storage.db import Database, signal


def _signalling(conn: sa.Connection, topic: str, *, fail: bool = False) -> None:
    conn.execute(sa.text("SELECT 1"))
    signal(conn, topic)
    if fail:
        raise RuntimeError("rolled back")


async def test_listeners_hear_committed_units_only(database: Database) -> None:
    heard: list[str] = []
    stop = database.on_commit("outbox", lambda: heard.append("outbox"))
    database.on_commit("other", lambda: heard.append("other"))
    await database.run(_signalling, "outbox")
    assert heard == ["outbox"]
    with pytest.raises(RuntimeError):
        await database.run(_signalling, "outbox", fail=True)
    assert heard == ["outbox"]
    await database.run(lambda conn: conn.execute(sa.text("SELECT 1")))  # no signal: the failed one's is gone
    assert heard == ["outbox"]
    # Units run together (SQLite's group commit): only the ones that committed are heard.
    results = await asyncio.gather(database.run(_signalling, "other", fail=True), database.run(_signalling, "other"),
                                   database.run_durable(_signalling, "outbox"), return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] is None and results[2] is None
    assert sorted(heard) == ["other", "outbox", "outbox"]
    stop()
    await database.run(_signalling, "outbox")
    assert sorted(heard) == ["other", "outbox", "outbox"]


async def test_a_failing_listener_does_not_fail_the_unit(sqlite_db: Database) -> None:
    def broken() -> None:
        raise ValueError("listener bug")

    sqlite_db.on_commit("outbox", broken)
    await sqlite_db.run(_signalling, "outbox")  # committed and returned all the same
