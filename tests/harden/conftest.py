"""The real app in-process (httpx over ASGI), on a real SQLite file, with settings per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.web import create_app
from tests.migrated import seeded_url

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x02\x08\x02\x00\x00\x00\xfd\xd4\x9as"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
REMOTE = ("203.0.113.7", 40000)
LOCAL = ("127.0.0.1", 40000)


def settings_for(tmp_path: Path, **sections: Any) -> Settings:
    base: dict[str, Any] = {
        "database": {"url": seeded_url(tmp_path / "hotline.db")}, "data_dir": str(tmp_path / "data"),
        "security": {"key_file": str(tmp_path / "keys.json")}, "logging": {"file": None},
        "nlu": {"model_path": os.environ.get("HOTLINE_TEST_NLU_MODEL", str(tmp_path / "model.npz"))},
    }
    for key, value in sections.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return Settings.model_validate(base)


@dataclass
class App:
    app: FastAPI
    runtime: Runtime

    def client(self, addr: tuple[str, int] = LOCAL, **kwargs: Any) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=addr)
        return httpx.AsyncClient(transport=transport, base_url="http://hotline.test", **kwargs)


@asynccontextmanager
async def hotline(tmp_path: Path, **sections: Any) -> AsyncIterator[App]:
    runtime = await build_runtime(settings_for(tmp_path, **sections))
    try:
        yield App(create_app(runtime, close_on_shutdown=False), runtime)
    finally:
        await runtime.close()


def attachment_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "data" / "attachments").glob("*/*"))
