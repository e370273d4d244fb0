"""A police-side webhook receiver on 127.0.0.1 for tests and the benchmark (a real HTTP server, not a mock).

Runs uvicorn in its own thread and event loop, so it keeps answering while the test process blocks (on
subprocesses, sleeps). It verifies every signature with :func:`bot.intake.verify.verify`, dedupes by
``Idempotency-Key`` as a real receiver must, and can be told to fail or to go away and come back.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import uvicorn

from bot.intake.verify import InvalidSignature, verify

SECRET = "test-webhook-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """``status_for(key, n)`` picks the answer to the n-th (1-based) delivery of ``key``; default 204."""

    def __init__(self, *, secret: str = SECRET, port: int | None = None,
                 status_for: Callable[[str, int], int] | None = None, keep_bodies: bool = True) -> None:
        self.secret = secret
        self.port = port or free_port()
        self.status_for = status_for
        self.keep_bodies = keep_bodies
        self.lock = threading.Lock()
        self.attempts: Counter[str] = Counter()  # every request per key, whatever we answered
        self.accepted: dict[str, dict[str, Any]] = {}  # first accepted body per key (the dedupe store)
        self.accepted_at: dict[str, float] = {}
        self.duplicates = 0  # accepted again after the key was already stored
        self.invalid: list[str] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tips"

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] == "GET":  # GET /stats: what a benchmark in another process needs to know
            await self._send_json(send, self.stats(with_times=scope["path"] == "/times"))
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        key = headers.get("idempotency-key", "")
        try:
            verify(secret=self.secret, body=body, timestamp=headers.get("x-hotline-timestamp"),
                   signature=headers.get("x-hotline-signature"))
            status = 0
        except InvalidSignature as exc:
            with self.lock:
                self.invalid.append(str(exc))
            status = 401
        if not status:
            with self.lock:
                self.attempts[key] += 1
                n = self.attempts[key]
            status = self.status_for(key, n) if self.status_for else 204
            if 200 <= status < 300:
                with self.lock:
                    if key in self.accepted:
                        self.duplicates += 1
                    else:
                        self.accepted[key] = json.loads(body) if self.keep_bodies else {}
                        self.accepted_at[key] = time.time()
        answer = b"" if status == 204 else json.dumps({"status": status}).encode()
        raw = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": answer})

    def stats(self, *, with_times: bool = False) -> dict[str, Any]:
        with self.lock:
            out: dict[str, Any] = {"accepted": len(self.accepted), "duplicates": self.duplicates,
                                   "invalid": len(self.invalid), "requests": sum(self.attempts.values())}
            if with_times:
                out["times"] = dict(self.accepted_at)
        return out

    @staticmethod
    async def _send_json(send: Callable[..., Any], value: Any) -> None:
        body = json.dumps(value).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def start(self) -> Receiver:
        config = uvicorn.Config(self, host="127.0.0.1", port=self.port, log_level="error", access_log=False,
                                lifespan="off", ws="none", http="httptools", loop="asyncio")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve()),  # type: ignore[union-attr]
                                        name="webhook-receiver", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("webhook receiver did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(port: int) -> None:  # pragma: no cover - the benchmark's receiver process
    """Run a receiver in this process until killed (``GET /stats``, ``GET /times`` report what arrived)."""
    receiver = Receiver(port=port, keep_bodies=False).start()
    assert receiver._thread is not None
    receiver._thread.join()
