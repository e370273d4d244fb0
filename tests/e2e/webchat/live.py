"""A real uvicorn server on 127.0.0.1, in a thread of this process: ``hotline serve``'s app plus the web chat.

The server can be stopped and started again on the same port and database, which is how the browser tests
drop the connection for real.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.web import create_app
from tests.e2e.servers import free_port
from tests.migrated import seeded_url

UPLOAD_BODY_LIMIT = 12 * 1024 * 1024  # what `hotline serve` needs for 10 MB screenshots (see the report)
# The intent model trained once per test run by tests/conftest.py (training on every start would dominate).
NLU_MODEL = Path(os.environ.get("HOTLINE_TEST_NLU_MODEL", "var/test-nlu-model.npz"))
START_TIMEOUT = 180  # seconds: covers training that model when the NLU data changed since it was saved


def make_settings(workdir: Path, **webchat: Any) -> Settings:
    """Settings for a throwaway deployment in ``workdir`` (built while HOTLINE_CONFIG names an empty file)."""
    return Settings(
        database={"url": seeded_url(workdir / "hotline.db")},
        data_dir=str(workdir / "data"),
        logging={"level": "WARNING", "file": None},
        security={"key_file": str(workdir / "keys.json")},
        server={"max_body_bytes": UPLOAD_BODY_LIMIT},
        nlu={"model_path": str(NLU_MODEL)},
        webchat=webchat,
    )


def build_app(runtime: Runtime) -> FastAPI:
    """The app exactly as `hotline serve` builds it (the web chat is part of create_app)."""
    return create_app(runtime, close_on_shutdown=False)


class _Server(uvicorn.Server):
    """Tells the test thread when it is listening (uvicorn itself only exposes a flag to poll)."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


class LiveServer:
    """``start()`` / ``stop()`` a server on a fixed free port; state lives in the SQLite file between runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = free_port()
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(self._serve(ready))
            except BaseException as exc:  # reported to the test thread below
                failure.append(exc)
                ready.set()

        self._thread = threading.Thread(target=run, name=f"webchat-server-{self.port}", daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT) or failure:
            raise RuntimeError(f"web chat server did not start: {failure!r}")

    async def _serve(self, ready: threading.Event) -> None:
        runtime = await build_runtime(self.settings)
        try:
            config = uvicorn.Config(build_app(runtime), host="127.0.0.1", port=self.port, log_level="warning",
                                    access_log=False, lifespan="on", timeout_graceful_shutdown=1)
            self._server = server = _Server(config, ready)
            await server.serve()
        finally:
            await runtime.close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
            assert not self._thread.is_alive(), "web chat server did not stop"
        self._server = self._thread = None
