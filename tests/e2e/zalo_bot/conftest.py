"""Fixtures: the fake Zalo Bot API, settings pointing at it, the webhook served and registered, the service running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from bot.channels.zalo_bot import ZaloBotChannel, ZaloBotService, make_router
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from tests.e2e.zalo_bot.fakebot import FakeZaloBot, free_port
from tests.migrated import seeded_url

SECRET = "zalo-bot-secret_for-tests"  # the tests' own webhook secret
FAST: dict[str, Any] = {"sweep_interval": 0.05, "retry_base": 0.05}  # behaviour, not pacing


@pytest.fixture
def fake() -> Iterator[FakeZaloBot]:
    server = FakeZaloBot().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _empty_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "empty-config.yaml"
    path.write_text("# the tests pass every setting explicitly\n", encoding="utf-8")
    monkeypatch.setenv("HOTLINE_CONFIG", str(path))


def make_settings(tmp_path: Path, fake: FakeZaloBot, *, database_url: str | None = None, **zalo_bot: Any) -> Settings:
    return Settings(
        database={"url": database_url or seeded_url(tmp_path / "hotline.db")},
        data_dir=str(tmp_path / "data"),
        security={"key_file": str(tmp_path / "keys.json")},
        logging={"file": None},
        zalo_bot={"token": fake.token, "secret_token": SECRET, "api_base": fake.base, "messages_per_second": 1000,
                  **zalo_bot},
    )


def channel_of(runtime: Runtime) -> ZaloBotChannel:
    channel = runtime.channels.get("zalo_bot")
    assert isinstance(channel, ZaloBotChannel)
    return channel


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


@dataclass
class Live:
    """A runtime with the webhook served and registered at the fake, and the service running (as in serve)."""

    runtime: Runtime
    channel: ZaloBotChannel
    service: ZaloBotService | None
    webhook: str


@asynccontextmanager
async def live(settings: Settings, *, run_service: bool = True, **options: Any) -> AsyncIterator[Live]:
    runtime = await build_runtime(settings)
    try:
        channel = channel_of(runtime)
        app = FastAPI()
        app.include_router(make_router(runtime, channel))
        service = ZaloBotService(runtime, channel, **{**FAST, **options}) if run_service else None
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop)) if service is not None else None
        try:
            async with serving(app) as base:
                url = f"{base}/webhooks/zalo-bot"
                reply = await channel.client.set_webhook(url, settings.zalo_bot.secret_token)
                assert reply.ok, reply
                yield Live(runtime, channel, service, url)
        finally:
            stop.set()
            if task is not None:
                await asyncio.wait_for(task, timeout=20)
    finally:
        await runtime.close()


@pytest.fixture
async def bot(tmp_path: Path, fake: FakeZaloBot) -> AsyncIterator[Live]:
    async with live(make_settings(tmp_path, fake)) as running:
        yield running
