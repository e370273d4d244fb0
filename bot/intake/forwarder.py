"""The forwarder: drains the outbox to the sinks, at least once, with retries and a dead-letter state.

One loop per *lane*: claim a batch of due rows (and build their tip.v1 payloads in the same unit of work),
deliver them concurrently outside any transaction, then record every outcome in one more unit of work.
Any number of forwarders — lanes, tasks, processes, machines — may run against one database: claiming is
safe (see :mod:`storage.outbox`), and a forwarder that dies is covered by the lease running out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bot.intake.builder import build_tips_v1
from bot.intake.sinks import PermanentError, RetryableError, Sink, build_sinks
from storage.outbox import DEAD, DELIVERED, PENDING, Claimed, Outcome, claim_due, record_outcomes
from storage.tips import OUTBOX_TOPIC

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)
_jitter = secrets.SystemRandom()
KEEP_ERROR_CHARS = 4000


def backoff_seconds(attempts: int, *, base: float, cap: float, retry_after: float | None = None) -> float:
    """Delay before the next attempt: doubling from ``base``, capped, half of it random ("equal jitter").

    The jitter spreads retries of a sink that came back, so the queue does not hit it all at once.
    """
    delay = min(cap, base * 2.0 ** max(0, attempts - 1))
    delay = delay / 2 + _jitter.uniform(0, delay / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


@dataclass(frozen=True, slots=True)
class _Batch:
    rows: list[Claimed]
    tips: dict[int, dict[str, Any]]
    errors: dict[int, str]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Forwarder:
    """Delivers outbox rows to the configured sinks until told to stop.

    ``sinks`` defaults to :func:`build_sinks` of the runtime's settings (pass your own to add the Telegram
    sink); the forwarder owns them and closes them when :meth:`run` ends. ``base_url`` is our public root
    for attachment links (default: the configured server address). Only rows of sinks this forwarder has
    are claimed, so forwarders with different sinks can share a database.
    """

    def __init__(self, runtime: Runtime, *, worker_id: str | None = None, sinks: Mapping[str, Sink] | None = None,
                 base_url: str | None = None, batch_size: int = 200, lanes: int = 2,
                 lease_seconds: float | None = None, idle_poll_seconds: float = 1.0, gather_seconds: float = 0.1,
                 max_backoff_seconds: float = 3600.0) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.worker_id = worker_id or default_worker_id()
        self.sinks: Mapping[str, Sink] = build_sinks(settings) if sinks is None else sinks
        self.base_url = base_url or f"http://{settings.server.host}:{settings.server.port}"
        self.batch_size = batch_size
        self.lanes = lanes
        # The lease must outlast a delivery; deliveries are cut off at half of it to be sure.
        self.lease = timedelta(seconds=lease_seconds or max(60.0, 3 * settings.intake.webhook.timeout_seconds))
        self.delivery_timeout = self.lease.total_seconds() / 2
        # A tip filed through this process's Database wakes the lanes at once (Database.on_commit); the poll is for
        # rows that fall due later (retries) and tips filed by other processes.
        self.idle_poll = idle_poll_seconds
        self.gather = gather_seconds
        self._due = asyncio.Event()
        self.max_attempts = settings.intake.max_attempts
        self.base_backoff = settings.intake.base_backoff_seconds
        self.max_backoff = max_backoff_seconds
        self.stats: Counter[str] = Counter()  # outcomes by status since start (logs, tests, metrics)

    # ----- one batch -----------------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim, deliver and record one batch; returns the number of rows handled (0: nothing due)."""
        now = datetime.now(UTC)
        rows = await self.runtime.db.run(claim_due, sinks=list(self.sinks), now=now, lease_until=now + self.lease,
                                         limit=self.batch_size)
        if not rows:
            return 0
        # Building reads (the sealed reports, the clusters: a scam wave's thousands of tips per key) run beside
        # the writer, not on it: the chat's turns wait for the writer thread, never for this.
        batch = await self.runtime.db.read(self._build, rows=rows, now=now)
        outcomes = await asyncio.gather(*(self._attempt(row, batch) for row in batch.rows))
        await self.runtime.db.run(record_outcomes, outcomes=outcomes, now=datetime.now(UTC))
        self.stats.update(o.status for o in outcomes)
        return len(batch.rows)

    def _build(self, conn: sa.Connection, *, rows: list[Claimed], now: datetime) -> _Batch:
        tips, failed = build_tips_v1(conn, [r.tip_id for r in rows], base_url=self.base_url,
                                     cipher=self.runtime.cipher, now=now)
        for tip_id, exc in failed.items():  # that tip's rows are retried (and die if it never builds)
            log.error("could not build tip %d for forwarding: %s: %s", tip_id, type(exc).__name__, exc)
        return _Batch(rows, tips, {i: f"building tip.v1 failed: {type(e).__name__}: {e}" for i, e in failed.items()})

    async def _attempt(self, row: Claimed, batch: _Batch) -> Outcome:
        error: str
        retry_after: float | None = None
        permanent = False
        if row.tip_id in batch.errors:
            error = batch.errors[row.tip_id]
        else:
            try:
                async with asyncio.timeout(self.delivery_timeout):
                    await self.sinks[row.sink].deliver(batch.tips[row.tip_id], key=row.key)
                return Outcome(row.id, row.attempts, DELIVERED, datetime.now(UTC))
            except PermanentError as exc:
                error, permanent = exc.describe(), True
            except RetryableError as exc:
                error, retry_after = exc.describe(), exc.retry_after
            except TimeoutError:
                error = f"no answer within {self.delivery_timeout:.0f} s"
            except Exception as exc:  # a sink bug must cost one attempt, not the forwarder
                log.exception("sink %s raised for %s", row.sink, row.key)
                error = f"{type(exc).__name__}: {exc}"
        now = datetime.now(UTC)
        error = error[:KEEP_ERROR_CHARS]
        if permanent or row.attempts >= self.max_attempts:
            log.error("outbox %d (%s → %s) is dead after %d attempt(s): %s", row.id, row.key, row.sink,
                      row.attempts, error)
            return Outcome(row.id, row.attempts, DEAD, now, error)
        delay = backoff_seconds(row.attempts, base=self.base_backoff, cap=self.max_backoff, retry_after=retry_after)
        log.warning("outbox %d (%s → %s) attempt %d failed, retry in %.1f s: %s", row.id, row.key, row.sink,
                    row.attempts, delay, error)
        return Outcome(row.id, row.attempts, PENDING, now + timedelta(seconds=delay), error)

    # ----- the loop ------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Forward until ``stop`` is set; the batch in hand is finished first (bounded by the lease)."""
        log.info("forwarder %s started: sinks %s", self.worker_id, ", ".join(self.sinks))
        stop_listening = self.runtime.db.on_commit(OUTBOX_TOPIC, self._due.set)
        try:
            await asyncio.gather(*(self._lane(stop) for _ in range(self.lanes)))
        finally:
            stop_listening()
            await self.aclose()
            log.info("forwarder %s stopped", self.worker_id)

    async def _lane(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                handled = await self.run_once()
                failures = 0
            except Exception:  # the database is down or busy: back off, keep the process alive
                failures += 1
                log.exception("forwarder %s: batch failed (%d in a row)", self.worker_id, failures)
                handled, pause = 0, min(30.0, 0.5 * 2 ** min(failures, 6))
            else:
                pause = self.idle_poll
            if handled < self.batch_size:  # a full batch means more is due: go straight on
                await self._pause(stop, pause)

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        """Wait ``seconds``, or less if told to stop or a new tip is committed."""
        if not self._due.is_set():
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._due.wait())]
            try:
                await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
        if self._due.is_set() and not stop.is_set():
            # Woken by a tip: the tips of the same burst join it, so that one claim takes them all (a claim per tip
            # would cost the writer three units of work each at a wave's rate).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.gather)
        self._due.clear()

    async def aclose(self) -> None:
        """Close the sinks (connections, broker channels); safe to call more than once."""
        await _close_all(list(self.sinks.values()))


async def _close_all(sinks: Sequence[Sink]) -> None:
    for sink in sinks:
        try:
            await sink.aclose()
        except Exception:
            log.exception("closing sink %r failed", sink)
