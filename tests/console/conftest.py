"""Fixtures for console tests: a real ``hotline serve`` app on a loopback port, accounts, signed-in clients.

``console`` (a :class:`Console`) is the whole thing, started per test on a fresh migrated SQLite file with
``console.cookie_secure`` false (plain HTTP)::

    async def test_queue(console: Console) -> None:
        officer = await console.make_user("a@ca.vn", "officer", "CA-TT")
        client = await console.signed_in_client(officer)
        page = await client.get("/console/queue")
        done = await client.form("/console/tips/TG-2026-000001/status", {"status": "in_review"})

``make_console`` starts one with other settings: ``async with make_console(console={"login_max_failures": 2})
as c: …``. The server runs uvicorn in a thread with its own event loop and runtime; the test talks to the
same database file through its own :class:`~storage.db.Database` (``console.db``) and the same keys
(``console.cipher``), so nothing is shared across loops. :func:`live_console` runs another app built around
the runtime the same way (tests/twoway/live_server.py adds the notices' delivery worker).
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI

from bot.console.auth import COOKIE, session_policy
from bot.runtime import Runtime, build_cipher, build_runtime
from bot.settings import Settings
from bot.web import create_app
from storage import users
from storage.crypto import Cipher
from storage.db import Database
from storage.intake_schema import police_units
from storage.users_sessions import FULL, new_session
from tests.e2e.servers import free_port
from tests.migrated import seeded_url

PASSWORD = "correct horse battery staple"  # the default password of make_user


def console_settings(tmp_path: Path, **sections: Any) -> Settings:
    """Settings for a test server under ``tmp_path``; ``sections`` override (dicts merge one level)."""
    base: dict[str, Any] = {
        "database": {"url": seeded_url(tmp_path / "hotline.db")}, "data_dir": str(tmp_path / "data"),
        "security": {"key_file": str(tmp_path / "keys.json")}, "logging": {"file": None},
        "nlu": {"model_path": os.environ.get("HOTLINE_TEST_NLU_MODEL", str(tmp_path / "model.npz"))},
        "console": {"cookie_secure": False},
        "intake": {"run_forwarder": False},
    }
    for key, value in sections.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return Settings.model_validate(base)


@dataclass
class Account:
    """An account made by :meth:`Console.make_user`: what it is, and what it signs in with."""

    id: int
    email: str
    role: str
    unit_id: str | None
    password: str
    totp_secret: str | None = None  # set when made with totp=True

    def code(self, *, at: datetime | None = None, offset: int = 0) -> str:
        """The TOTP code of the account's authenticator now (or at ``at``), ``offset`` steps away."""
        assert self.totp_secret is not None, "made without totp=True"
        return pyotp.TOTP(self.totp_secret).at(at or datetime.now(UTC), counter_offset=offset)


class SignedInClient(httpx.AsyncClient):
    """An httpx client holding a console session cookie; ``csrf`` is the session's form token."""

    csrf: str
    account: Account
    session_token: str

    async def form(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """POST ``data`` as a form with the session's ``csrf`` field added."""
        return await self.post(url, data={"csrf": self.csrf, **(data or {})}, **kwargs)


AppFactory = Callable[[Runtime], Awaitable[FastAPI]]


async def console_app(runtime: Runtime) -> FastAPI:
    """The app as ``hotline serve`` builds it, without the background services it runs beside it."""
    return create_app(runtime, close_on_shutdown=True)


class _Server:
    """uvicorn in a thread with its own event loop; the runtime is built and closed inside that loop.

    ``app`` builds the app around that runtime (:func:`console_app` unless given); ``label`` names the server
    in its thread's name and in the error when it does not start."""

    def __init__(self, settings: Settings, port: int, *, app: AppFactory = console_app,
                 label: str = "console test server") -> None:
        self.settings, self.port = settings, port
        self.make_app, self.label = app, label
        self.server: uvicorn.Server | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"{label.replace(' ', '-')}-{port}", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            runtime = await build_runtime(self.settings)
            app = await self.make_app(runtime)
            config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
            self.server = uvicorn.Server(config)
            await self.server.serve()

        try:
            asyncio.run(main())
        except BaseException as exc:
            self.error = exc

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not (self.server is not None and self.server.started):
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.label} did not start: {self.error!r}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(30)


@dataclass
class Console:
    """A running console: its URL, settings, and a database handle and cipher of the test's own."""

    base_url: str
    settings: Settings
    db: Database
    cipher: Cipher
    tmp_path: Path
    _clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """A fresh anonymous client (no cookies), closed with the fixture."""
        client = httpx.AsyncClient(base_url=self.base_url, **kwargs)
        self._clients.append(client)
        return client

    async def make_user(self, email: str, role: str = "officer", unit: str | None = None,
                        password: str = PASSWORD, totp: bool = False, *,
                        telegram_id: str | None = None) -> Account:
        """Create an account through :func:`storage.users.add_user`. An officer's unit defaults to
        ``CA-TT`` and is created when unknown. With ``totp=True`` the account is enrolled (as if a code of a
        minute ago had been typed, so every current code is still unused): ``Account.code()`` gives codes."""
        if role == "officer" and unit is None:
            unit = "CA-TT"
        password_hash = await asyncio.to_thread(users.hash_password, password)
        secret = users.new_totp_secret() if totp else None
        now = datetime.now(UTC)

        def work(conn: sa.Connection) -> users.UserRow:
            if unit and conn.execute(sa.select(police_units.c.id).where(police_units.c.id == unit)).first() is None:
                conn.execute(sa.insert(police_units).values(id=unit, name=f"Đơn vị {unit}", updated_at=now))
            row = users.add_user(conn, email=email, role=role, unit_id=unit, password_hash=password_hash,
                                 telegram_user_id=telegram_id, actor="test", now=now)
            if secret is not None:
                past = now - timedelta(seconds=60)
                assert users.enrol_totp(conn, user_id=row.id, secret=secret, code=pyotp.TOTP(secret).at(past),
                                        cipher=self.cipher, actor="test", now=past)
                row = users.get_user(conn, user_id=row.id) or row
            return row

        row = await self.db.run(work)
        return Account(id=row.id, email=row.email, role=row.role, unit_id=row.unit_id, password=password,
                       totp_secret=secret)

    async def signed_in_client(self, account: Account) -> SignedInClient:
        """A client with a full session of ``account`` (made directly in the sessions table, as a completed
        sign-in would; :func:`sign_in` goes through the real pages instead)."""
        token, csrf = await self.db.run(new_session, user_id=account.id, stage=FULL, now=datetime.now(UTC),
                                        policy=session_policy(self.settings))
        client = SignedInClient(base_url=self.base_url, cookies={COOKIE: token})
        client.csrf, client.account, client.session_token = csrf, account, token
        self._clients.append(client)
        return client

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()


def csrf_of(html: str) -> str:
    """The first form's ``csrf`` field in a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html[:500]
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, email: str, password: str, *, code: str | None = None,
                  next_path: str | None = None) -> httpx.Response:
    """Sign in through the real pages (form token, password, and the TOTP step when ``code`` is given);
    returns the last response (a 303 to where the console sends the user on success)."""
    page = await client.get("/console/login", params={"next": next_path} if next_path else None)
    data = {"csrf": csrf_of(page.text), "email": email, "password": password}
    if next_path:
        data["next"] = next_path
    response = await client.post("/console/login", data=data)
    if code is None or response.headers.get("location", "").split("?")[0] != "/console/login/totp":
        return response
    step = await client.get(response.headers["location"])
    return await client.post("/console/login/totp", data={"csrf": csrf_of(step.text), "code": code,
                                                          **({"next": next_path} if next_path else {})})


@asynccontextmanager
async def live_console(tmp_path: Path, settings: Settings, *, app: AppFactory = console_app,
                       label: str = "console test server") -> AsyncIterator[Console]:
    """A server (see :class:`_Server`) on a free loopback port, as a :class:`Console` with the test's own
    database handle and cipher; its clients, the handle and the server are closed on the way out. The
    two-way tests run theirs with the notices' delivery worker (``app``)."""
    server = _Server(settings, free_port(), app=app, label=label)
    await asyncio.to_thread(server.start)
    db = Database(settings.database.url)
    console = Console(base_url=f"http://127.0.0.1:{server.port}", settings=settings, db=db,
                      cipher=build_cipher(settings), tmp_path=tmp_path)
    try:
        yield console
    finally:
        await console.close()
        await db.dispose()
        await asyncio.to_thread(server.stop)


def _running(tmp_path: Path, **sections: Any) -> AbstractAsyncContextManager[Console]:
    return live_console(tmp_path, console_settings(tmp_path, **sections))


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    """A running console on a fresh SQLite database (cookie_secure false, no forwarder)."""
    async with _running(tmp_path) as c:
        yield c


@pytest.fixture
def make_console(tmp_path: Path) -> Callable[..., AbstractAsyncContextManager[Console]]:
    """``async with make_console(console={...}, server={...}) as c:`` — a console with other settings;
    ``make_console(path=c.tmp_path)`` starts one again on an earlier one's database (a restart)."""
    counter = iter(range(1000))

    def factory(path: Path | None = None, **sections: Any) -> AbstractAsyncContextManager[Console]:
        # ``path``: run on the database and keys of an earlier console (a restart).
        where = path or tmp_path / f"console-{next(counter)}"
        where.mkdir(exist_ok=True)
        return _running(where, **sections)

    return factory
