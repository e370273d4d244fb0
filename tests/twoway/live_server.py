"""A real server for the two-way tests: the app as ``hotline serve`` builds it, with the notices' delivery
worker running (``bot.delivery.delivery_services``, exactly what ``serve`` adds), in a thread with its own
event loop (the console tests' :func:`~tests.console.conftest.live_console`). Parents talk to it over the web
chat's WebSocket / HTTP; officers through the console."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from bot.delivery import delivery_services
from bot.runtime import Runtime
from bot.web import create_app
from tests.console.conftest import Console, console_settings, live_console

WAIT_SECONDS = 15.0  # for a frame from the server: far above any real wait, so a lost frame fails the test


async def _app_with_delivery(runtime: Runtime) -> FastAPI:
    return create_app(runtime, services=delivery_services(runtime, poll_seconds=0.05))


def talking_console(tmp_path: Path, **sections: Any) -> AbstractAsyncContextManager[Console]:
    """A console (``sections`` override the console tests' settings) whose server also delivers notices."""
    return live_console(tmp_path, console_settings(tmp_path, **sections), app=_app_with_delivery,
                        label="two-way test server")


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
