"""Issue 16, points 14 and 16–18, through the real ``hotline`` command (subprocesses, real files, real servers)."""

from __future__ import annotations

import base64
import os
import signal
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from bot.runtime import build_runtime
from bot.web import create_app
from storage.crypto import Cipher
from tests.conftest import PG_HOST, PG_PORT, postgres_reachable
from tests.e2e.servers import HOTLINE, env_for, free_port, running_server
from tests.harden.conftest import settings_for


def hotline(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HOTLINE, *args], capture_output=True, text=True, cwd=tmp_path,
                          env=env_for(tmp_path, **env), timeout=90, check=False)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip() and " INFO " not in line]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize(("env", "key"), [
    ({"HOTLINE_INTAKE__SINKS": '["webhook"]'}, "intake.webhook.url"),
    ({"HOTLINE_INTAKE__SINKS": "[webhook]"}, "intake.sinks"),
    ({"HOTLINE_SERVER__PORT": "eighty"}, "server.port"),
    ({"HOTLINE_SERVER__TRUSTED_PROXIES": '["not-an-ip"]'}, "server.trusted_proxies"),
    ({"HOTLINE_SECURITY__KEYS": '{"k1": "short"}', "HOTLINE_SECURITY__INDEX_KEY": "x"}, "security"),
])
@pytest.mark.slow  # ~2 s each of five: `hotline serve` runs
def test_a_bad_configuration_value_is_one_line_naming_the_key(tmp_path: Path, env: dict[str, str], key: str) -> None:
    """Regression: a 44-line traceback for a webhook sink without URL; no key named for '[webhook]'."""
    # WARNING: the migrations' progress lines (INFO, some of them several lines long) are not what is tested.
    out = hotline(tmp_path, "serve", "--port", str(free_port()), HOTLINE_LOGGING__LEVEL="WARNING", **env)
    assert out.returncode == 2
    line = one_line(out.stderr)
    assert key in line and "listening" not in out.stdout


UNREACHABLE = f"postgresql+asyncpg://hotline:pa55word@127.0.0.1:{free_port()}/hotline"


@pytest.mark.parametrize("command", [["db", "upgrade"], ["serve", "--port", "0"], ["tips", "list"]])
def test_an_unreachable_database_is_one_line_naming_the_url(tmp_path: Path, command: list[str]) -> None:
    """Regression: `serve` printed "listening" and answered 500s; `db upgrade` printed 150 lines."""
    out = hotline(tmp_path, *command, HOTLINE_DATABASE__URL=UNREACHABLE)
    assert out.returncode == 1, out.stderr
    line = one_line(out.stderr)
    assert "127.0.0.1" in line and "pa55word" not in line and "***" in line and "unreachable" in line
    assert "listening" not in out.stdout


@pytest.mark.postgres
def test_a_missing_postgres_database_says_how_to_create_it(tmp_path: Path) -> None:
    if not postgres_reachable():
        pytest.skip("no PostgreSQL")
    url = f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/hotline_missing_{os.getpid()}"
    out = hotline(tmp_path, "serve", "--port", "0", HOTLINE_DATABASE__URL=url)
    assert out.returncode == 1
    line = one_line(out.stderr)
    assert "does not exist" in line and "createdb" in line and "listening" not in out.stdout


async def test_healthz_is_liveness_and_readyz_tells_the_truth(tmp_path: Path) -> None:
    """/healthz answers while the process lives; /readyz names the unmigrated schema (503), then says ready."""
    settings = settings_for(tmp_path, database={"url": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"})
    runtime = await build_runtime(settings, migrate=False)  # an empty database: no schema yet
    transport = httpx.ASGITransport(app=create_app(runtime, close_on_shutdown=False))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://h") as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            r = await client.get("/readyz")
            assert r.status_code == 503 and "hotline db upgrade" in r.json()["checks"]["migrations"]
            assert r.json()["checks"]["database"] == "ok" and r.json()["checks"]["nlu_model"] == "ok"
            from storage.migrate import upgrade

            await upgrade(runtime.db)
            r = await client.get("/readyz")
            assert r.status_code == 200 and r.json()["status"] == "ready"
    finally:
        await runtime.close()


def test_sigterm_during_start_up_stops_the_server(tmp_path: Path) -> None:
    """Regression: SIGTERM while `serve` was training its model was ignored."""
    env = env_for(tmp_path, HOTLINE_NLU__MODEL_PATH=str(tmp_path / "fresh-model.npz"))  # forces training
    log = tmp_path / "out.txt"
    with log.open("wb") as sink:
        proc = subprocess.Popen([HOTLINE, "serve", "--port", str(free_port())], cwd=tmp_path, env=env, stdout=sink,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while "Running upgrade" not in log.read_text(errors="replace"):  # start-up is under way
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    text = log.read_text()
    assert code == 128 + signal.SIGTERM, text  # our handler's exit, not uvicorn's or a kill
    assert "during start-up" in text and "listening" not in text


def test_cli_creates_private_files(tmp_path: Path) -> None:
    out = hotline(tmp_path, "db", "upgrade")
    assert out.returncode == 0, out.stderr
    for path in (tmp_path / "hotline.db", tmp_path / "hotline.log"):
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


@pytest.mark.slow  # ~3 s: several `hotline` runs
def test_apikeys_command_adds_lists_and_revokes(tmp_path: Path) -> None:
    added = hotline(tmp_path, "apikeys", "add", "zalo-oa", "--user-prefix", "zalo:")
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert token.startswith("hk_") and "not shown again" in added.stderr
    listed = hotline(tmp_path, "apikeys", "list")
    assert "zalo-oa" in listed.stdout and "active" in listed.stdout and token not in listed.stdout
    assert hotline(tmp_path, "apikeys", "revoke", "zalo-oa").returncode == 0
    assert "revoked" in hotline(tmp_path, "apikeys", "list").stdout
    assert hotline(tmp_path, "apikeys", "revoke", "zalo-oa").returncode != 0


def _conversation_key_ids(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {Cipher.key_id(base64.b64decode(state)) for (state,) in conn.execute("SELECT state FROM conversations")}


@pytest.mark.slow  # ~3 s: a server and `hotline` runs
def test_keys_rotate_reaches_a_running_server_within_seconds(tmp_path: Path) -> None:
    """Regression: after `keys rotate`, a running server kept sealing new rows with the old key."""
    with running_server(tmp_path) as base:
        assert httpx.post(f"{base}/api/v1/messages", json={"user_id": "before", "text": "menu"}).status_code == 200
        status = hotline(tmp_path, "keys", "status")
        assert "seals with k1" in status.stdout, status.stdout
        rotated = hotline(tmp_path, "keys", "rotate", "--wait", "20")
        assert rotated.returncode == 0 and "warning" not in rotated.stderr, rotated.stderr
        # rotate returned only after the server reported the new key: rows written now are sealed with it.
        assert httpx.post(f"{base}/api/v1/messages", json={"user_id": "after", "text": "menu"}).status_code == 200
        status = hotline(tmp_path, "keys", "status")
        assert "current key: k2" in status.stdout and "seals with k2" in status.stdout, status.stdout
        assert "NOT the current key" not in status.stdout
    assert _conversation_key_ids(tmp_path / "hotline.db") == {"k2"}
