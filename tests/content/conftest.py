"""Fixtures for the admins' content and broadcast pages: a real server on a loopback port with the background
services ``hotline serve`` runs for them (published-flow polling, notice and broadcast delivery), admin
accounts and signed-in clients (the console's own fixtures, tests/console/conftest.py, without services).

``content_console`` is started per test on a fresh migrated SQLite file; admins need no TOTP here (the
console's own tests cover that sign-in), so ``make_user(..., "admin")`` accounts work at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bot.content_service import content_services, prepare
from bot.delivery import delivery_services
from bot.runtime import build_cipher, build_runtime
from bot.web import create_app
from storage.db import Database
from tests.console.conftest import Console, _Server, console_settings
from tests.e2e.servers import free_port

ADMIN_SETTINGS: dict[str, Any] = {"console": {"cookie_secure": False, "require_totp": ["supervisor"]},
                                  "content": {"flows_poll_seconds": 0.2, "seed_samples": False}}


class ServingServer(_Server):
    """Like the console tests' server, with the services ``hotline serve`` runs beside the app."""

    def _run(self) -> None:
        async def main() -> None:
            runtime = await build_runtime(self.settings)
            sync = await prepare(runtime)
            services = content_services(runtime, sync) + delivery_services(runtime)
            app = create_app(runtime, close_on_shutdown=True, services=services)
            config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
            self.server = uvicorn.Server(config)
            await self.server.serve()

        try:
            asyncio.run(main())
        except BaseException as exc:
            self.error = exc


@asynccontextmanager
async def serving(tmp_path: Path, **sections: Any) -> AsyncIterator[Console]:
    merged = {**ADMIN_SETTINGS}
    for key, value in sections.items():
        merged[key] = {**merged.get(key, {}), **value} if isinstance(value, dict) else value
    settings = console_settings(tmp_path, **merged)
    server = ServingServer(settings, free_port())
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


@pytest.fixture
async def content_console(tmp_path: Path) -> AsyncIterator[Console]:
    """A running console (with its services) on a fresh SQLite database; admins sign in without TOTP."""
    async with serving(tmp_path) as c:
        yield c


@pytest.fixture
def make_content_console(tmp_path: Path) -> Callable[..., AbstractAsyncContextManager[Console]]:
    """``async with make_content_console(content={"seed_samples": True}) as c:`` — other settings."""
    counter = iter(range(1000))

    def factory(**sections: Any) -> AbstractAsyncContextManager[Console]:
        where = tmp_path / f"content-{next(counter)}"
        where.mkdir(exist_ok=True)
        return serving(where, **sections)

    return factory
