"""``hotline outbox list|retry`` and ``hotline forwarder`` as an operator runs them."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli_intake import outbox_group
from storage.db import Database
from storage.migrate import upgrade
from tests.intake.conftest import file_tips
from tests.intake.procs import intake_env, start_forwarder
from tests.intake.receiver import Receiver


def seed(path: Path, n: int) -> list[str]:
    """File ``n`` tips (console + webhook rows) in a fresh SQLite file; the commands run synchronously."""

    async def main() -> list[str]:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(db)
            return await file_tips(db, n, sinks=["console", "webhook"])
        finally:
            await db.dispose()

    return asyncio.run(main())


def test_outbox_list_and_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "hotline.db"
    monkeypatch.setenv("HOTLINE_DATABASE__URL", f"sqlite+aiosqlite:///{path}")
    refs = seed(path, 2)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE outbox SET status='dead', attempts=12, last_error='webhook rejected: HTTP 422' "
                     "WHERE sink='webhook'")
        dead_ids = [r[0] for r in conn.execute("SELECT id FROM outbox WHERE status='dead' ORDER BY id")]
    runner = CliRunner()
    result = runner.invoke(outbox_group, ["list", "--status", "dead"])
    assert result.exit_code == 0, result.output
    assert "pending: 2  inflight: 0  delivered: 0  dead: 2" in result.output
    assert refs[0] in result.output and "HTTP 422" in result.output
    result = runner.invoke(outbox_group, ["retry", str(dead_ids[0])])
    assert result.exit_code == 0 and "1 row(s) queued again" in result.output
    result = runner.invoke(outbox_group, ["retry", "--all-dead"])
    assert result.exit_code == 0 and "1 row(s) queued again" in result.output
    assert runner.invoke(outbox_group, ["retry"]).exit_code == 2  # neither IDs nor --all-dead
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT DISTINCT status, attempts FROM outbox").fetchall() == [("pending", 0)]
        delivered = conn.execute("SELECT id FROM outbox WHERE sink='console'").fetchone()[0]
        conn.execute("UPDATE outbox SET status='delivered' WHERE id=?", (delivered,))
    result = runner.invoke(outbox_group, ["retry", str(delivered)])
    assert result.exit_code == 1 and "left alone" in result.output


def test_forwarder_command_delivers_and_stops_on_sigterm(tmp_path: Path) -> None:
    refs = seed(tmp_path / "hotline.db", 20)
    with Receiver() as receiver:
        proc = start_forwarder(tmp_path, intake_env(tmp_path, receiver.url))
        deadline = time.monotonic() + 30
        while len(receiver.accepted) < len(refs) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, (tmp_path / "forwarder.out").read_text()
    assert set(receiver.accepted) == set(refs)
    assert "sinks console, webhook" in (tmp_path / "forwarder.out").read_text()
