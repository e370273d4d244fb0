"""A real server for the two-way tests: the app as ``hotline serve`` builds it, with the notices' delivery
worker running (``bot.delivery.delivery_services``, exactly what ``serve`` adds), in a thread with its own
event loop. Parents talk to it over the web chat's WebSocket / HTTP; officers through the console."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from bot.delivery import delivery_services
from bot.runtime import build_cipher, build_runtime
from bot.settings import Settings
from bot.web import create_app
from storage.db import Database
from tests.console.conftest import Console, console_settings
from tests.e2e.servers import free_port

WAIT_SECONDS = 15.0  # for a frame from the server: far above any real wait, so a lost frame fails the test


class _Server:
    def __init__(self, settings: Settings, port: int) -> None:
        self.settings, self.port = settings, port
        self.server: uvicorn.Server | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"twoway-server-{port}", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            runtime = await build_runtime(self.settings)
            app = create_app(runtime, services=delivery_services(runtime, poll_seconds=0.05))
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
                raise RuntimeError(f"two-way test server did not start: {self.error!r}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self.thread.join(30)


@asynccontextmanager
async def talking_console(tmp_path: Path, **sections: Any) -> AsyncIterator[Console]:
    settings = console_settings(tmp_path, **sections)
    server = _Server(settings, free_port())
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


@dataclass
class WebParent:
    """A parent in the web chat over a real WebSocket: replies to what they send, and pushed notices."""

    ws: ClientConnection
    notices: list[dict[str, Any]] = field(default_factory=list)
    _n: int = 0

    async def _frame(self) -> dict[str, Any]:
        return dict(json.loads(await asyncio.wait_for(self.ws.recv(), WAIT_SECONDS)))

    async def say(self, text: str | None = None, *, payload: str | None = None) -> list[dict[str, Any]]:
        """Send one message; returns the replies to it (notices arriving meanwhile are kept aside)."""
        self._n += 1
        frame_id = f"msg{self._n:04d}abcdef"
        body: dict[str, Any] = {"type": "message", "id": frame_id}
        if text is not None:
            body["text"] = text
        if payload is not None:
            body["payload"] = payload
        await self.ws.send(json.dumps(body))
        while True:
            frame = await self._frame()
            if frame["type"] == "notice":
                self.notices += frame["messages"]
                continue
            assert frame.get("id") == frame_id, frame
            assert frame["type"] == "replies", frame
            return list(frame["messages"])

    async def notice(self) -> dict[str, Any]:
        """The next message pushed by the police side."""
        if self.notices:
            return self.notices.pop(0)
        frame = await self._frame()
        assert frame["type"] == "notice", frame
        first, *rest = frame["messages"]
        self.notices += rest
        return dict(first)


@asynccontextmanager
async def web_parent(base_url: str) -> AsyncIterator[WebParent]:
    url = base_url.replace("http://", "ws://") + "/chat/ws"
    async with connect(url, origin=base_url, open_timeout=20) as ws:  # type: ignore[arg-type]
        yield WebParent(ws)
