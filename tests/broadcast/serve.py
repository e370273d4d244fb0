"""A real ``hotline serve`` process on the fake Telegram Bot API, that a test may SIGKILL and start again on the
same database and keys; an admin's console session on it; 2,000 subscribers."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.console.auth import COOKIE
from storage import users
from storage.crypto import Cipher, cipher_from_file
from storage.db import Database
from storage.migrate import upgrade
from storage.users_sessions import FULL, SessionPolicy, new_session
from tests.broadcast.helpers import subscribe_many
from tests.e2e.servers import HOTLINE, env_for, free_port


@dataclass
class Site:
    """One database and key file, and the ``hotline serve`` processes started on it."""

    workdir: Path
    env: dict[str, str]
    cipher: Cipher
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Any] = field(default_factory=list)
    base: str = ""
    cookie: str = ""

    @classmethod
    def make(cls, workdir: Path, **extra: str) -> Site:
        keys = workdir / "keys.json"
        cipher = cipher_from_file(keys, create=True)
        env = env_for(workdir, HOTLINE_SECURITY__KEY_FILE=str(keys), HOTLINE_CONSOLE__COOKIE_SECURE="false",
                      HOTLINE_CONSOLE__REQUIRE_TOTP='["supervisor"]', HOTLINE_INTAKE__RUN_FORWARDER="false", **extra)
        return cls(workdir=workdir, env=env, cipher=cipher)

    @property
    def url(self) -> str:
        return self.env["HOTLINE_DATABASE__URL"]

    async def prepare(self, *, subscribers: list[str], channel: str = "telegram") -> None:
        """Migrate, subscribe ``subscribers`` (chat ids), and sign an admin in (a session cookie)."""
        db = Database(self.url)
        try:
            await upgrade(db)
            await subscribe_many(db, self.cipher, channel=channel, chat_ids=subscribers)
            password = await asyncio.to_thread(users.hash_password, "correct horse battery staple")
            now = datetime.now(UTC)

            def admin(conn: Any) -> str:
                row = users.add_user(conn, email="admin@ca.vn", role="admin", unit_id=None, password_hash=password,
                                     actor="test", now=now)
                token, _csrf = new_session(conn, user_id=row.id, stage=FULL, now=now,
                                           policy=SessionPolicy(idle=timedelta(hours=2), max_age=timedelta(hours=4)))
                return token

            self.cookie = await db.run(admin)
        finally:
            await db.dispose()

    def start(self, *, port: int | None = None) -> str:
        port = port or free_port()
        log = (self.workdir / f"serve-{len(self.procs)}.out").open("wb")
        self.logs.append(log)
        proc = subprocess.Popen([HOTLINE, "serve", "--port", str(port)], cwd=self.workdir, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT)
        self.procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + (self.workdir / "serve-0.out").read_text())
            time.sleep(0.1)
        self.base = base
        return base

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no clean shutdown, no lease released, claims left as they were."""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for log in self.logs:
            log.close()

    def progress(self, broadcast_id: int, base: str | None = None) -> dict[str, Any]:
        """What the console's progress bar reads."""
        r = httpx.get(f"{base or self.base}/console/broadcasts/{broadcast_id}/progress.json",
                      cookies={COOKIE: self.cookie}, timeout=10)
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([HOTLINE, *args], cwd=self.workdir, env=self.env, capture_output=True, text=True,
                              timeout=120, check=False)
