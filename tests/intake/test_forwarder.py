"""The forwarder against a real webhook receiver on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.intake.forwarder import Forwarder, backoff_seconds
from bot.intake.model import TipV1
from storage import outbox as outbox_repo
from storage.db import Database
from storage.schema import outbox
from tests.intake.conftest import NOW, file_tips, webhook_intake
from tests.intake.receiver import Receiver


async def rows(db: Database, sink: str = "webhook") -> list[dict[str, Any]]:
    def read(conn: sa.Connection) -> list[dict[str, Any]]:
        query = sa.select(outbox).where(outbox.c.sink == sink).order_by(outbox.c.id)
        return [dict(r) for r in conn.execute(query).mappings()]

    return await db.run(read)


async def drain(forwarder: Forwarder, done: Callable[[], Any], *, within: float = 15) -> None:
    """Run batches until ``done()`` (awaited if it returns an awaitable) is true."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await forwarder.run_once() == 0:
            result = done()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.02)
    raise AssertionError("the outbox did not drain in time")


async def all_settled(db: Database) -> bool:
    return all(r["status"] in ("delivered", "dead") for r in await rows(db))


async def test_every_tip_reaches_the_webhook_once_signed_as_tip_v1(database: Database, receiver: Receiver,
                                                                  runtime_for: Any) -> None:
    refs = await file_tips(database, 25, sinks=["console", "webhook"])
    forwarder = Forwarder(await runtime_for(database, **webhook_intake(receiver)), base_url="https://hotline.test")
    await drain(forwarder, lambda: all_settled(database))
    assert set(receiver.accepted) == set(refs) and receiver.duplicates == 0 and not receiver.invalid
    assert all(n == 1 for n in receiver.attempts.values())
    for body in receiver.accepted.values():
        TipV1.model_validate(body)  # what went over the wire is the published contract
    assert {r["status"] for r in await rows(database)} == {"delivered"}
    assert {r["status"] for r in await rows(database, "console")} == {"delivered"}
    await forwarder.aclose()


async def test_failures_are_retried_with_backoff_then_delivered(database: Database, runtime_for: Any) -> None:
    with Receiver(status_for=lambda key, n: 503 if n <= 2 else 200) as receiver:
        (ref,) = await file_tips(database, 1, sinks=["webhook"])
        runtime = await runtime_for(database, **webhook_intake(receiver, max_attempts=5))
        forwarder = Forwarder(runtime)
        await drain(forwarder, lambda: all_settled(database))
        await forwarder.aclose()
    (row,) = await rows(database)
    assert (row["status"], row["attempts"]) == ("delivered", 3)
    assert "HTTP 503" in row["last_error"]  # the history survives the success
    assert receiver.attempts[ref] == 3 and list(receiver.accepted) == [ref]


async def test_row_is_dead_after_max_attempts_and_retry_brings_it_back(sqlite_db: Database, runtime_for: Any) -> None:
    healthy = False
    with Receiver(status_for=lambda key, n: 204 if healthy else 500) as receiver:
        (ref,) = await file_tips(sqlite_db, 1, sinks=["webhook"])
        forwarder = Forwarder(await runtime_for(sqlite_db, **webhook_intake(receiver, max_attempts=3)))
        await drain(forwarder, lambda: all_settled(sqlite_db))
        (row,) = await rows(sqlite_db)
        assert (row["status"], row["attempts"]) == ("dead", 3)
        assert "HTTP 500" in row["last_error"] and receiver.accepted == {}
        # An operator fixes the receiver and runs `hotline outbox retry --all-dead`.
        healthy = True
        assert await sqlite_db.run(outbox_repo.retry, all_dead=True, now=datetime.now(UTC)) == 1
        await drain(forwarder, lambda: all_settled(sqlite_db))
        await forwarder.aclose()
    (row,) = await rows(sqlite_db)
    assert (row["status"], row["attempts"]) == ("delivered", 1) and list(receiver.accepted) == [ref]


@pytest.mark.parametrize(("status", "dead_after"), [(400, 1), (422, 1), (401, 1), (408, 3), (429, 3)])
async def test_4xx_is_dead_at_once_with_the_response_kept_but_408_and_429_are_retried(
        sqlite_db: Database, runtime_for: Any, status: int, dead_after: int) -> None:
    with Receiver(status_for=lambda key, n: status) as receiver:
        await file_tips(sqlite_db, 1, sinks=["webhook"])
        forwarder = Forwarder(await runtime_for(sqlite_db, **webhook_intake(receiver, max_attempts=3)))
        await drain(forwarder, lambda: all_settled(sqlite_db))
        await forwarder.aclose()
    (row,) = await rows(sqlite_db)
    assert (row["status"], row["attempts"]) == ("dead", dead_after)
    assert f"HTTP {status}" in row["last_error"] and f'"status":{status}' in row["last_error"].replace(" ", "")


async def test_a_receiver_that_is_down_gets_everything_when_it_comes_back(database: Database,
                                                                        runtime_for: Any) -> None:
    receiver = Receiver()  # not started: connection refused
    refs = await file_tips(database, 10, sinks=["console", "webhook"])
    forwarder = Forwarder(await runtime_for(database, **webhook_intake(receiver, max_attempts=50)))
    for _ in range(5):
        await forwarder.run_once()
        await asyncio.sleep(0.05)
    waiting = await rows(database)
    assert {r["status"] for r in waiting} == {"pending"} and all("unreachable" in r["last_error"] for r in waiting)
    with receiver:
        await drain(forwarder, lambda: all_settled(database))
    await forwarder.aclose()
    assert set(receiver.accepted) == set(refs) and {r["status"] for r in await rows(database)} == {"delivered"}


async def test_two_forwarders_racing_deliver_each_row_once(database: Database, receiver: Receiver,
                                                           runtime_for: Any) -> None:
    refs = await file_tips(database, 300, sinks=["console", "webhook"])
    # Two runtimes: two connections (two writer threads on SQLite), as two processes would have.
    forwarders = [Forwarder(await runtime_for(database, **webhook_intake(receiver)), worker_id=f"f{i}",
                            batch_size=16, lanes=2) for i in range(2)]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(f.run(stop)) for f in forwarders]
    for _ in range(400):  # 20 s at most
        if len(receiver.accepted) >= len(refs):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*tasks)
    assert set(receiver.accepted) == set(refs)
    assert max(receiver.attempts.values()) == 1 and receiver.duplicates == 0  # nothing sent twice
    assert all(f.stats["delivered"] > 0 for f in forwarders)  # they really did share the work
    assert {r["status"] for r in await rows(database)} == {"delivered"}


async def test_rows_of_a_crashed_forwarder_are_retaken_when_the_lease_runs_out(database: Database,
                                                                               receiver: Receiver,
                                                                               runtime_for: Any) -> None:
    refs = await file_tips(database, 3, sinks=["webhook"])
    past = datetime.now(UTC) - timedelta(seconds=1)
    # A forwarder claimed the rows, then died: its lease has already run out.
    crashed = await database.run(outbox_repo.claim_due, sinks=["webhook"], now=datetime.now(UTC),
                                 lease_until=past, limit=10)
    assert len(crashed) == 3 and {r["status"] for r in await rows(database)} == {"inflight"}
    forwarder = Forwarder(await runtime_for(database, **webhook_intake(receiver)))
    await drain(forwarder, lambda: all_settled(database))
    await forwarder.aclose()
    assert set(receiver.accepted) == set(refs)
    # The dead forwarder's late outcome (an old claim token) must not overwrite the new one.
    late = [outbox_repo.Outcome(r.id, r.attempts, "dead", datetime.now(UTC), "late") for r in crashed]
    await database.run(outbox_repo.record_outcomes, outcomes=late, now=datetime.now(UTC))
    assert {(r["status"], r["attempts"]) for r in await rows(database)} == {("delivered", 2)}


async def test_rows_not_yet_due_or_leased_to_another_are_not_claimed(sqlite_db: Database) -> None:
    await file_tips(sqlite_db, 2, sinks=["webhook"])
    now = datetime.now(UTC)
    first = await sqlite_db.run(outbox_repo.claim_due, sinks=["webhook"], now=now,
                                lease_until=now + timedelta(seconds=60), limit=1)
    second = await sqlite_db.run(outbox_repo.claim_due, sinks=["webhook"], now=now,
                                 lease_until=now + timedelta(seconds=60), limit=10)
    assert len(first) == len(second) == 1 and first[0].id != second[0].id
    assert await sqlite_db.run(outbox_repo.claim_due, sinks=["webhook"], now=now,
                               lease_until=now, limit=10) == []
    assert await sqlite_db.run(outbox_repo.claim_due, sinks=["broker"], now=NOW + timedelta(days=999),
                               lease_until=now, limit=10) == []


def test_backoff_doubles_with_jitter_and_honours_retry_after() -> None:
    delays = [backoff_seconds(n, base=2, cap=3600) for n in range(1, 8)]
    for n, delay in enumerate(delays, start=1):
        full = 2 * 2 ** (n - 1)
        assert full / 2 <= delay <= full
    assert backoff_seconds(30, base=2, cap=60) <= 60
    assert backoff_seconds(1, base=2, cap=60, retry_after=30) == 30
    assert len({backoff_seconds(5, base=2, cap=3600) for _ in range(20)}) > 1  # jittered


async def test_a_tip_filed_in_this_process_wakes_the_forwarder_before_its_poll(database: Database, receiver: Receiver,
                                                                               runtime_for: Any) -> None:
    """The forwarder sleeps an hour between polls here: the tip still goes out at once, because its commit wakes
    the lanes (Database.on_commit, raised by create_tip)."""
    runtime = await runtime_for(database, **webhook_intake(receiver))
    forwarder = Forwarder(runtime, idle_poll_seconds=3600)
    stop = asyncio.Event()
    task = asyncio.create_task(forwarder.run(stop))
    try:
        await asyncio.sleep(0.3)  # both lanes have found nothing and gone to sleep
        refs = await file_tips(runtime.db, 1, sinks=["webhook"])
        for _ in range(1500):  # up to 30 s, two orders of magnitude short of the poll
            if set(receiver.accepted) == set(refs):
                break
            await asyncio.sleep(0.02)
        assert set(receiver.accepted) == set(refs)
    finally:
        stop.set()
        await task
