"""Fixtures: the fake Zalo, settings pointing at it, an authorised runtime, the webhook served, the service running."""

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

from bot.channels.zalo import ZaloChannel, ZaloService, make_router
from bot.channels.zalo.client import TokenPair
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from tests.e2e.zalo.fakezalo import FakeZalo, free_port
from tests.migrated import seeded_url

# Behaviour, not pacing: quick sweeps and retries.
FAST: dict[str, Any] = {"sweep_interval": 0.05, "retry_base": 0.05}


@pytest.fixture
def fake() -> Iterator[FakeZalo]:
    server = FakeZalo().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _empty_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "empty-config.yaml"
    path.write_text("# the tests pass every setting explicitly\n", encoding="utf-8")
    monkeypatch.setenv("HOTLINE_CONFIG", str(path))


def zalo_settings(fake: FakeZalo, **overrides: Any) -> dict[str, Any]:
    return {"app_id": fake.app_id, "secret_key": fake.oa_secret, "app_secret": fake.app_secret,
            "api_base": fake.base, "oauth_base": fake.base, "redirect_uri": "https://hotline.example.vn/zalo/callback",
            "messages_per_second": 1000, **overrides}


def make_settings(tmp_path: Path, fake: FakeZalo, *, database_url: str | None = None, **zalo: Any) -> Settings:
    return Settings(
        database={"url": database_url or seeded_url(tmp_path / "hotline.db")},
        data_dir=str(tmp_path / "data"),
        security={"key_file": str(tmp_path / "keys.json")},
        logging={"file": None},
        zalo=zalo_settings(fake, **zalo),
    )


def channel_of(runtime: Runtime) -> ZaloChannel:
    channel = runtime.channels.get("zalo")
    assert isinstance(channel, ZaloChannel)
    return channel


async def authorise(runtime: Runtime, fake: FakeZalo, lifetime: float | None = None) -> tuple[str, str]:
    """Give the runtime a pair the fake knows (what `hotline zalo exchange` stores after a real authorisation)."""
    access, refresh = fake.issue(lifetime)
    await channel_of(runtime).tokens.install(TokenPair(access, refresh, lifetime or fake.token_lifetime))
    return access, refresh


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await build_runtime(settings)
    try:
        yield runtime
    finally:
        await runtime.close()


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
    """A runtime with the Zalo webhook served and the service running, as `hotline serve` has them."""

    runtime: Runtime
    channel: ZaloChannel
    service: ZaloService
    webhook: str  # URL of POST /webhooks/zalo


@asynccontextmanager
async def live(settings: Settings, fake: FakeZalo, *, authorised: bool = True, token_lifetime: float | None = None,
               **options: Any) -> AsyncIterator[Live]:
    async with open_runtime(settings) as runtime:
        if authorised:
            await authorise(runtime, fake, token_lifetime)
        channel = channel_of(runtime)
        service = ZaloService(runtime, channel, **{**FAST, **options})
        app = FastAPI()
        app.include_router(make_router(runtime, channel))
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        try:
            async with serving(app) as base:
                yield Live(runtime, channel, service, f"{base}/webhooks/zalo")
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=20)


@pytest.fixture
async def zalo(tmp_path: Path, fake: FakeZalo) -> AsyncIterator[Live]:
    async with live(make_settings(tmp_path, fake), fake) as running:
        yield running
