"""A fake Zalo Bot Platform API for the tests: real HTTP on 127.0.0.1, run by uvicorn in its own thread.

It behaves like the Bot API where the adapter depends on it: ``/bot<token>/<method>`` with the token checked on
every call, errors as ``{"ok": false, "error_code", "description"}`` over HTTP 200 (as Zalo answers them),
``sendMessage`` text of 1–2000 characters, ``sendPhoto`` by URL, ``setWebhook`` with an 8–256 character secret,
and a media host for the photos parents send. Calls fail on demand with any error code or HTTP status. With
``per_second`` set, a send beyond that many in any one second (the fake's own clock) gets 429 (Zalo's "quota
exceeded") and is counted as a violation; every send is kept with its arrival time (``sends``). It builds
updates in Zalo's webhook envelope and posts them like Zalo does, with the registered secret.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MAX_TEXT = 2000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Fault:
    """Answer the next ``times`` calls to ``method`` (for ``chat``, or any) with ``code`` or HTTP ``status``."""

    method: str
    code: int = 0
    status: int = 200
    times: int = 1
    chat: str | None = None
    description: str = "injected error"
    skip: int = 0  # matching calls let through first (e.g. the first part of a long message)


@dataclass
class Sent:
    chat: str
    method: str  # sendMessage | sendPhoto
    text: str  # the text, or the photo's caption
    photo: str | None = None


@dataclass
class SendCall:
    """One sendMessage / sendPhoto as the fake saw it."""

    chat: str
    at: float  # time.monotonic() when it arrived (the fake's clock)
    ok: bool


class FakeZaloBot:
    def __init__(self, token: str = "1459232241454765289:fake-bot-token") -> None:  # noqa: S107 - the fake's own
        self.token = token
        self.lock = threading.Lock()
        self.faults: list[Fault] = []
        self.sent: list[Sent] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.webhook: dict[str, Any] = {"url": "", "secret_token": ""}
        self.per_second: int | None = None  # sends allowed in any one second; more get 429
        self.sends: list[SendCall] = []
        self.violations: list[float] = []  # arrival times of sends refused for the rate
        self._recent: deque[float] = deque()
        self.media: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> FakeZaloBot:
        app = Starlette(routes=[Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                                Route("/media/{name}", self._media, methods=["GET"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
                                lifespan="off", ws="none", loop="asyncio", http="h11")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve()),  # type: ignore[union-attr]
                                        name="fake-zalo-bot", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake Zalo Bot API did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    # ----- test controls ----------------------------------------------------------------------------------
    def fail(self, method: str = "sendMessage", code: int = 0, *, status: int = 200, times: int = 1,
             chat: str | None = None, description: str = "injected error", skip: int = 0) -> None:
        with self.lock:
            self.faults.append(Fault(method, code, status, times, chat, description, skip))

    def add_media(self, data: bytes) -> str:
        key = f"p{next(self._ids)}.jpg"
        self.media[key] = data
        return f"{self.base}/media/{key}"

    def messages(self, chat: str) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent if s.chat == chat]

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        with self.lock:
            return [params for name, params in self.calls if name == method]

    def delivered(self, text_part: str = "") -> Counter[str]:
        """Chat → how many accepted messages containing ``text_part`` it got."""
        with self.lock:
            return Counter(s.chat for s in self.sent if text_part in s.text)

    def max_per_second(self) -> int:
        """The most sends that arrived in any one-second window (whatever was answered)."""
        with self.lock:
            times = sorted(c.at for c in self.sends)
        best, start = 0, 0
        for end, t in enumerate(times):
            while times[start] <= t - 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best

    def update(self, chat: str, event_name: str, *, chat_type: str = "PRIVATE", is_bot: bool = False,
               **message: Any) -> dict[str, Any]:
        """An update as Zalo posts it to a webhook."""
        return {"ok": True, "result": {"event_name": event_name, "message": {
            "message_id": f"{next(self._ids):020x}", "date": int(time.time() * 1000),
            "chat": {"id": chat, "chat_type": chat_type},
            "from": {"id": chat, "display_name": "Phụ huynh", "is_bot": is_bot}, **message}}}

    async def post(self, update: dict[str, Any], *, secret: str | None = None) -> httpx.Response:
        """POST ``update`` to the registered webhook with its secret (or ``secret``), as Zalo does."""
        headers = {"X-Bot-Api-Secret-Token": self.webhook["secret_token"] if secret is None else secret}
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(self.webhook["url"], json=update, headers=headers)

    # ----- the API ----------------------------------------------------------------------------------------
    def _fault(self, method: str, chat: str | None) -> Response | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and fault.times > 0 and fault.chat in (None, chat):
                    if fault.skip > 0:
                        fault.skip -= 1
                        continue
                    fault.times -= 1
                    if fault.status != 200:
                        return Response("server trouble", status_code=fault.status)
                    return _error(fault.code, fault.description)
        return None

    async def _api(self, request: Request) -> Response:
        at = time.monotonic()
        method = request.path_params["method"]
        if method not in ("sendMessage", "sendPhoto"):
            return await self._answer(request, method)
        response = _error(429, "Quota exceeded") if self._over_rate(at) else await self._answer(request, method)
        try:
            chat = str(json.loads(await request.body()).get("chat_id", ""))
            ok = response.status_code == 200 and bool(json.loads(bytes(response.body))["ok"])
        except (ValueError, AttributeError):
            chat, ok = "", False
        with self.lock:
            self.sends.append(SendCall(chat, at, ok))
        return response

    async def _answer(self, request: Request, method: str) -> Response:
        try:
            params = await request.json() if (await request.body()) else {}
        except ValueError:
            return _error(400, "Bad Request")
        with self.lock:
            self.calls.append((method, params))
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        chat = str(params.get("chat_id", "")) or None
        fault = self._fault(method, chat)
        if fault is not None:
            return fault
        if method == "getMe":
            return _ok({"id": self.token.split(":")[0], "account_name": "bot.HotlineThu", "account_type": "BASIC",
                        "can_join_groups": False})
        if method == "setWebhook":
            secret = str(params.get("secret_token", ""))
            if not str(params.get("url", "")) or not 8 <= len(secret) <= 256:
                return _error(400, "Bad Request")
            self.webhook = {"url": params["url"], "secret_token": secret}
            return _ok({"url": params["url"], "updated_at": int(time.time() * 1000)})
        if method == "deleteWebhook":
            self.webhook = {"url": "", "secret_token": ""}
            return _ok({"url": "", "updated_at": int(time.time() * 1000)})
        if method == "getWebhookInfo":
            return _ok({"url": self.webhook["url"], "updated_at": int(time.time() * 1000)})
        if method in ("sendMessage", "sendPhoto"):
            return self._send(method, params)
        return _error(404, "Not Found")

    def _over_rate(self, at: float) -> bool:
        with self.lock:
            if self.per_second is None:
                return False
            while self._recent and self._recent[0] <= at - 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.per_second:
                self.violations.append(at)
                return True
            self._recent.append(at)
        return False

    def _send(self, method: str, params: dict[str, Any]) -> Response:
        chat = str(params.get("chat_id", ""))
        text = str(params.get("text" if method == "sendMessage" else "caption", "") or "")
        photo = params.get("photo") if method == "sendPhoto" else None
        if not chat or len(text) > MAX_TEXT or (method == "sendMessage" and not text) or (
                method == "sendPhoto" and not photo):
            return _error(400, "Bad Request")
        with self.lock:
            self.sent.append(Sent(chat, method, text, photo))
        return _ok({"message_id": f"{next(self._ids):020x}", "date": int(time.time() * 1000)})

    async def _media(self, request: Request) -> Response:
        data = self.media.get(request.path_params["name"])
        return Response(data, media_type="image/jpeg") if data is not None else Response(status_code=404)


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _error(code: int, description: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": code, "description": description})  # HTTP 200, as Zalo
