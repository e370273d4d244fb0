"""SIGKILL ``hotline serve`` and the forwarders under load: no acknowledged tip is lost or doubled."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.intake.crash import crash_run


@pytest.mark.slow
async def test_acknowledged_tips_survive_sigkill_and_arrive_exactly_once(tmp_path: Path) -> None:
    result = await crash_run(tmp_path, parents=8, tips_per_parent=2, serve_kills=3, forwarder_kills=3,
                             deadline_seconds=90)
    assert result.serve_kills == 3 and result.forwarder_kills == 3
    assert len(result.acked) == 16
    assert result.acked == result.in_db  # every acknowledged tip is stored, and nothing else is
    assert result.received == result.in_db and len(result.received) == len(result.in_db)  # count and set
    assert result.outbox == {"delivered": 2 * len(result.in_db)}  # console + webhook, all delivered
    assert result.resends > 0  # the kills really did land while parents were talking to the server
