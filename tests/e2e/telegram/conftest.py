"""Fixtures: the fake Bot API, settings pointing at it, a runtime, and the running channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from bot.channels.telegram import TelegramService, make_router
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from tests.e2e.telegram.fakebot import FakeBotAPI, free_port
from tests.migrated import seeded_url

SECRET = "s3cret-token_for-tests"

# Functional tests are about behaviour, not pacing: flood limits off, quick sweeps. The flood tests use
# the real defaults.
FAST: dict[str, Any] = {"overall_per_second": 10_000, "chat_interval": 0.0, "group_interval": 0.0,
                        "sweep_interval": 0.05, "long_poll_seconds": 2, "retry_base": 0.05}


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    server = FakeBotAPI().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _empty_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "empty-config.yaml"
    path.write_text("# the tests pass every setting explicitly\n", encoding="utf-8")
    monkeypatch.setenv("HOTLINE_CONFIG", str(path))


def make_settings(tmp_path: Path, fake: FakeBotAPI, *, mode: str = "polling", database_url: str | None = None,
                  **telegram: Any) -> Settings:
    return Settings(
        database={"url": database_url or seeded_url(tmp_path / "hotline.db")},
        data_dir=str(tmp_path / "data"),
        security={"key_file": str(tmp_path / "keys.json")},
        logging={"file": None},
        telegram={"token": fake.token, "mode": mode, "api_base": fake.base, "secret_token": SECRET,
                  "webhook_url": "https://hotline.example.vn/telegram/webhook", **telegram},
    )


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await build_runtime(settings)
    try:
        yield runtime
    finally:
        await runtime.close()


@asynccontextmanager
async def running(runtime: Runtime, **options: Any) -> AsyncIterator[TelegramService]:
    """``TelegramService.run`` as ``hotline serve`` runs it, stopped cleanly at the end."""
    service = TelegramService(runtime, **{**FAST, **options})
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=20)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve ``app`` on a loopback port from this event loop (it shares the runtime's database)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="off", ws="none", http="h11"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def webhook_app(runtime: Runtime, service: TelegramService | None = None) -> FastAPI:
    app = FastAPI()
    app.include_router(make_router(runtime, service=service))
    return app
