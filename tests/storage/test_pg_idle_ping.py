"""PostgreSQL pool liveness without a round trip per unit of work: only a connection idle ``idle_ping_seconds``
or more is pinged on checkout, and one found dead (killed by the server meanwhile) is replaced transparently."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
import sqlalchemy as sa

from storage.db import Database
from tests.conftest import _create_pg_database, _drop_pg_database

pytestmark = pytest.mark.postgres

IDLE = 0.3


@pytest.fixture
async def pg_url(pg_admin_url: str) -> AsyncIterator[str]:
    url = await _create_pg_database(pg_admin_url)
    try:
        yield url
    finally:
        await _drop_pg_database(pg_admin_url, url)


def backend_pid(conn: sa.Connection) -> int:
    return int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


async def terminate(admin_url: str, pid: int) -> None:
    """Kill one backend from another session, and wait until the server has let it go."""
    admin = await asyncpg.connect(admin_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        for _ in range(100):
            if not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"backend {pid} still alive")
    finally:
        await admin.close()


async def test_a_connection_killed_while_idle_is_replaced_on_the_next_run(pg_admin_url: str, pg_url: str) -> None:
    db = Database(pg_url, pool_size=1, idle_ping_seconds=IDLE)
    try:
        first = await db.run(backend_pid)
        await terminate(pg_admin_url, first)
        await asyncio.sleep(IDLE + 0.1)
        second = await db.run(backend_pid)  # no error reaches the caller
        assert second != first and db.pings == 1
        assert await db.run(backend_pid) == second and db.pings == 1  # back to back: not pinged again
    finally:
        await db.dispose()


async def test_fresh_and_busy_connections_are_not_pinged(pg_url: str) -> None:
    db = Database(pg_url, pool_size=1, idle_ping_seconds=IDLE)
    try:
        pid = await db.run(backend_pid)
        assert db.pings == 0  # a new connection is live by construction
        for _ in range(5):
            assert await db.run(backend_pid) == pid
        assert db.pings == 0  # reused within the idle threshold: no extra round trip
        await asyncio.sleep(IDLE + 0.1)
        assert await db.run(backend_pid) == pid and db.pings == 1  # idle long enough: pinged, alive, kept
    finally:
        await db.dispose()
