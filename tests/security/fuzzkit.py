"""The whole app in-process for fuzzing (issue 16, point 8).

:class:`FuzzApp` is the real ``hotline serve`` app (every router, the Telegram webhook and the Zalo webhook
included) on a real SQLite file, with seeded tips, units and console accounts of every role, driven
synchronously so hypothesis can call it per example; :class:`WebSocket` speaks raw ASGI to its chat socket.
The requests come from :mod:`tests.security.fuzzinputs`; the assertion the tests make is "no 5xx and nothing
logged as an error" (:class:`ErrorLog`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from starlette.routing import BaseRoute

from bot.channels.telegram.webhook import make_router as telegram_router
from bot.console.auth import COOKIE, session_policy
from bot.intake.units_csv import parse_units_csv
from bot.runtime import Runtime, build_runtime
from bot.web import create_app
from storage import users
from storage.keys import Attachment, ConversationKey
from storage.tips import Indicator, create_tip
from storage.units import replace_units
from storage.users_schema import console_login_limits, console_users
from storage.users_sessions import FULL, new_session
from tests.conftest import TEST_NLU_MODEL
from tests.harden.conftest import PNG, settings_for
from tests.security.fuzzinputs import (
    MAX_BODY,
    ROLES,
    TELEGRAM_SECRET,
    ZALO_APP,
    ZALO_KEY,
    Endpoint,
    Request,
    handler_fields,
)

UNITS = """unit_id,name,province_code,commune_code,commune_name
CA-96,Công an tỉnh Cà Mau,96,,
CA-TT,Công an phường Tân Thành,96,31993,Phường Tân Thành
"""


def walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """Every route of an app with its full path (FastAPI keeps included routers nested)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from walk(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif hasattr(route, "path"):
            yield prefix + route.path, route


@dataclass
class Seeded:
    references: list[str] = field(default_factory=list)
    accounts: dict[str, tuple[int, str | None]] = field(default_factory=dict)  # role → (user id, unit)


class FuzzApp:
    """The real app over ASGI (client address 127.0.0.1), its runtime and loop, and the seeded data."""

    def __init__(self, work: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.settings = settings_for(
            work, server={"max_body_bytes": MAX_BODY},
            # Thousands of requests from one client: not what the per-address limits are for.
            security={"user_burst": 1_000_000, "user_per_minute": 1_000_000, "global_per_second": 1_000_000,
                      "address_burst": 1_000_000, "address_per_minute": 1_000_000,
                      "new_sessions_burst": 1_000_000, "new_sessions_per_hour": 1_000_000},
            telegram={"token": "123456:fuzz", "mode": "webhook", "secret_token": TELEGRAM_SECRET,
                      "api_base": "http://127.0.0.1:9"},
            zalo={"app_id": ZALO_APP, "secret_key": ZALO_KEY, "api_base": "http://127.0.0.1:9",
                  "oauth_base": "http://127.0.0.1:9"},
            # TOTP enrolment is tested in tests/console; here every role must reach its pages at once.
            console={"cookie_secure": False, "require_totp": []}, intake={"run_forwarder": False},
            nlu={"model_path": str(TEST_NLU_MODEL)})  # trained once per test run (tests/conftest.py)
        self.runtime: Runtime = self.loop.run_until_complete(build_runtime(self.settings))
        app = create_app(self.runtime, close_on_shutdown=False)
        app.include_router(telegram_router(self.runtime))  # `serve` mounts it in webhook mode
        self.app = app
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 40000)),
                                      base_url="http://hotline.test", timeout=60)
        self.seeded = self.loop.run_until_complete(self.runtime.db.run(self._seed))

    # ----- data --------------------------------------------------------------------------------------------
    def _seed(self, conn: sa.Connection) -> Seeded:
        now = datetime.now(UTC)
        parsed = parse_units_csv(UNITS.encode())
        replace_units(conn, units=parsed.units, communes=parsed.communes, now=now)
        out = Seeded()
        password_hash = users.hash_password("correct horse battery staple")
        for role, unit in ROLES.items():
            row = users.add_user(conn, email=f"{role}@fuzz.test", role=role, unit_id=unit,
                                 password_hash=password_hash, actor="test", now=now)
            out.accounts[role] = (row.id, unit)
        shot = Attachment("photo", "image/png", len(PNG), "0" * 64, None, "s.png")
        for n in range(3):
            slots = {"caller_number": "+84388000111", "message_text": "Phụ huynh cài ứng dụng tại sll-vnedu.top",
                     "commune": "Tân Thành", "asked": ["otp"], "money_lost": "yes" if n else "no",
                     "bank": "0071000123456"}
            out.references.append(create_tip(
                conn, key=ConversationKey("api", f"fuzz-parent-{n}"), user_id=f"fuzz-parent-{n}", urgent=bool(n),
                data={"slots": slots, "locale": "vi", "consent": {"contact": False}},
                attachments=[shot] if n == 0 else [], sinks=["console"], prefix="TG", now=now,
                cipher=self.runtime.cipher,
                indicators=[Indicator("phone", "+84388000111"), Indicator("bank_account", "0071000123456"),
                            Indicator("domain", "sll-vnedu.top")]))
        return out

    def session(self, role: str) -> tuple[str, str]:
        """A fresh signed-in session of the role's account, restored first (an earlier example may have
        disabled it, changed its role or locked sign-ins): (cookie token, form token)."""
        user_id, unit = self.seeded.accounts[role]

        def work(conn: sa.Connection) -> tuple[str, str]:
            conn.execute(sa.update(console_users).where(console_users.c.id == user_id).values(
                disabled_at=None, role=role, unit_id=unit, totp_required=False, totp_secret=None))
            conn.execute(sa.delete(console_login_limits))
            return new_session(conn, user_id=user_id, stage=FULL, now=datetime.now(UTC),
                               policy=session_policy(self.settings))

        return self.loop.run_until_complete(self.runtime.db.run(work))

    # ----- requests ----------------------------------------------------------------------------------------
    def endpoints(self) -> list[Endpoint]:
        out = []
        for path, route in walk(self.app.routes):
            fields = handler_fields(getattr(route, "endpoint", None))
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    out.append(Endpoint(method, path, fields))
        return sorted(set(out), key=lambda e: (e.path, e.method))

    def send(self, request: Request) -> httpx.Response:
        headers = dict(request.headers)
        if request.role is not None:
            token, csrf = self.session(request.role)
            headers["cookie"] = f"{COOKIE}={token}"
            request = request.with_csrf(csrf)
        content: Any = request.content
        if request.chunked:
            body = request.content

            async def chunks() -> Any:
                for start in range(0, len(body), 16 * 1024):
                    yield body[start:start + 16 * 1024]
            content = chunks()
        url = request.path + (f"?{request.query}" if request.query else "")
        return self.loop.run_until_complete(self.http.request(request.method, url, content=content,
                                                              headers=headers))

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.run_until_complete(self.runtime.close())
        self.loop.close()


class WebSocket:
    """A WebSocket to the app over raw ASGI on the app's own loop (a test client would start another loop)."""

    def __init__(self, fuzz: FuzzApp, path: str, origin: str = "http://hotline.test") -> None:
        self.loop = fuzz.loop
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outbox: asyncio.Queue[MutableMapping[str, Any]] = asyncio.Queue()
        scope = {"type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "ws",
                 "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", b"hotline.test"), (b"origin", origin.encode())],
                 "client": ("127.0.0.1", 40001), "server": ("hotline.test", 80), "subprotocols": [], "state": {}}
        self.inbox.put_nowait({"type": "websocket.connect"})
        self.task = self.loop.create_task(fuzz.app(scope, self.inbox.get, self.outbox.put))
        self.opened = self.next()

    def next(self, timeout: float = 60) -> MutableMapping[str, Any]:
        return self.loop.run_until_complete(asyncio.wait_for(self.outbox.get(), timeout))

    def send(self, frame: str | bytes) -> MutableMapping[str, Any]:
        key = "bytes" if isinstance(frame, bytes) else "text"
        self.inbox.put_nowait({"type": "websocket.receive", key: frame})
        return self.next()

    def close(self) -> None:
        self.inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})
        self.loop.run_until_complete(asyncio.wait_for(self.task, 60))


class ErrorLog(logging.Handler):
    """Collects ERROR records: an exception the app caught and logged is a 5xx it hid."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        found = [f"{r.name}: {r.getMessage()[:300]}" for r in self.records]
        self.records.clear()
        return found
