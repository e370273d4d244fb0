"""Real ``hotline serve`` and ``hotline forwarder`` processes sharing one workdir (and SQLite file)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.servers import HOTLINE, env_for
from tests.intake.conftest import INDEX_KEY, KEY
from tests.intake.receiver import SECRET

# Until `hotline forwarder` is wired into bot/cli.py, the command runs from its click object.
FORWARDER = [sys.executable, "-c", "from bot.cli_intake import forwarder_command; forwarder_command()"]


def intake_env(workdir: Path, webhook_url: str, **extra: str) -> dict[str, str]:
    """The environment both processes share: one database, one set of keys, console + webhook sinks."""
    return env_for(
        workdir,
        HOTLINE_INTAKE__SINKS='["console","webhook"]',
        HOTLINE_INTAKE__WEBHOOK__URL=webhook_url,
        HOTLINE_INTAKE__WEBHOOK__SECRET=SECRET,
        HOTLINE_INTAKE__WEBHOOK__TIMEOUT_SECONDS="2",
        HOTLINE_INTAKE__BASE_BACKOFF_SECONDS="0.2",
        HOTLINE_INTAKE__MAX_ATTEMPTS="50",
        HOTLINE_INTAKE__RUN_FORWARDER="false",
        HOTLINE_SECURITY__KEYS=json.dumps({"k1": KEY}),
        HOTLINE_SECURITY__CURRENT_KEY="k1",
        HOTLINE_SECURITY__INDEX_KEY=INDEX_KEY,
        # Load generators send many messages from one address; the limits are not under test here.
        HOTLINE_SECURITY__USER_BURST="1000",
        HOTLINE_SECURITY__USER_PER_MINUTE="1000",
        HOTLINE_SECURITY__GLOBAL_PER_SECOND="100000",
        **extra,
    )


def start_serve(workdir: Path, env: dict[str, str], port: int, tag: str = "") -> subprocess.Popen[bytes]:
    with (workdir / f"serve{tag}.out").open("ab") as log:  # the child keeps its own copy of the handle
        return subprocess.Popen([HOTLINE, "serve", "--port", str(port)], cwd=workdir, env=env, stdout=log,
                                stderr=subprocess.STDOUT)


def start_forwarder(workdir: Path, env: dict[str, str], *args: str, tag: str = "") -> subprocess.Popen[bytes]:
    with (workdir / f"forwarder{tag}.out").open("ab") as log:
        return subprocess.Popen([*FORWARDER, *args], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"hotline serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError("hotline serve did not become healthy")


def stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
