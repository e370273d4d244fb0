"""Start real ``hotline`` processes for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

HOTLINE = str(Path(sys.executable).with_name("hotline"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _empty_config(workdir: Path) -> Path:
    path = workdir / "empty-config.yaml"
    if not path.exists():
        path.write_text("# defaults only; the test sets HOTLINE_* variables\n", encoding="utf-8")
    return path


def env_for(workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_") or k.startswith("HOTLINE_TEST_")}
    env.update(
        HOTLINE_DATABASE__URL=f"sqlite+aiosqlite:///{workdir / 'hotline.db'}",
        HOTLINE_DATA_DIR=str(workdir / "data"),
        HOTLINE_LOGGING__FILE=str(workdir / "hotline.log"),
        HOTLINE_CONFIG=str(_empty_config(workdir)),
        # Trained once per test run by tests/conftest.py.
        HOTLINE_NLU__MODEL_PATH=os.environ.get("HOTLINE_TEST_NLU_MODEL", str(workdir / "nlu-model.npz")),
    )
    env.update(extra)
    return env


@contextmanager
def running_server(workdir: Path, **extra_env: str) -> Iterator[str]:
    """``hotline serve`` on a free port; yields its base URL and stops it afterwards."""
    with serving(workdir, **extra_env) as (base, _proc):
        yield base


@contextmanager
def serving(workdir: Path, *args: str, **extra_env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``hotline serve ARGS`` on a free port, once it answers /healthz: its base URL and its process."""
    port = free_port()
    log = (workdir / "server.out").open("wb")
    proc = subprocess.Popen([HOTLINE, "serve", "--port", str(port), *args], cwd=workdir,
                            env=env_for(workdir, **extra_env), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + (workdir / "server.out").read_text())
            time.sleep(0.1)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
