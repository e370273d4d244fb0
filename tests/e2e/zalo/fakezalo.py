"""A fake Zalo (OA Open API v3, OAuth v4, media host) for the tests: real HTTP on 127.0.0.1 in its own thread.

It behaves like Zalo where the adapter depends on it: access tokens expire and are checked on every call
(-216 unknown, -220 expired), refresh tokens work once and rotate (the previous access token stays valid
until its own expiry), PKCE is verified on the code exchange, customer-service messages are validated
(text length, at most five buttons) and recorded per user, and calls fail on demand with any Zalo error code
or HTTP status. Users who unfollowed the OA get -213, users outside the interaction window -230; with
``per_second`` set, a message call beyond that many in any one second (the fake's own clock) gets -32, as
Zalo's per-app limit answers, and is counted as a violation. Every message call is kept with its arrival time
and answer (``calls``). It signs events like Zalo (``mac = sha256(app_id + body + timestamp + OA secret)``); the tests
post them to our webhook. It can also SIGKILL a process the moment that process asks for a token refresh.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import os
import signal
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

MAX_TEXT = 2000
MAX_BUTTONS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Fault:
    """Answer the next ``times`` matching calls to ``path`` with Zalo ``code`` (or HTTP ``status``)."""

    path: str
    code: int = 0
    status: int = 200
    times: int = 1
    user: str | None = None
    kinds: frozenset[str] = frozenset()  # message kinds it applies to (text, buttons, image); empty: all


@dataclass
class Sent:
    user: str
    kind: str  # text | buttons | image
    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (title, payload)
    image_url: str | None = None
    token: str = ""


@dataclass
class Call:
    """One ``POST /v3.0/oa/message/cs`` as the fake saw it."""

    user: str
    at: float  # time.monotonic() when it arrived (the fake's clock)
    code: int  # the Zalo code answered (0: delivered); an HTTP fault is -1000 - status


class FakeZalo:
    def __init__(self, *, app_id: str = "3003003003003003003",
                 oa_secret: str = "oa-secret-for-tests",  # noqa: S107 - the fake's own secrets
                 app_secret: str = "app-secret-for-tests",  # noqa: S107
                 oa_id: str = "5550001112223334445") -> None:
        self.app_id, self.oa_secret, self.app_secret, self.oa_id = app_id, oa_secret, app_secret, oa_id
        self.lock = threading.Lock()
        self.access: dict[str, float] = {}  # access token → expiry (time.time())
        self.refresh_tokens: dict[str, bool] = {}  # refresh token → still usable
        self.codes: dict[str, str] = {}  # authorisation code → code_challenge
        self.token_lifetime = 90_000.0
        self.faults: list[Fault] = []
        self.sent: list[Sent] = []
        self.refreshes: list[tuple[str, bool]] = []  # (refresh token presented, accepted)
        self.unfollowed: set[str] = set()  # -213 "User has not followed OA"
        self.out_of_window: set[str] = set()  # -230 "User has not interacted with the OA in the past 7 days"
        self.per_second: int | None = None  # message calls allowed in any one second; more get -32
        self.calls: list[Call] = []
        self.violations: list[float] = []  # arrival times of calls refused for the rate
        self._recent: deque[float] = deque()
        self.media: dict[str, bytes] = {}
        self.kill_on_refresh: int | None = None  # pid to SIGKILL when it asks for a refresh
        self.killed = threading.Event()
        self._ids = itertools.count(1)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> FakeZalo:
        app = Starlette(routes=[
            Route("/v3.0/oa/message/cs", self._send, methods=["POST"]),
            Route("/v3.0/oa/user/detail", self._user_detail, methods=["GET"]),
            Route("/v2.0/oa/getoa", self._getoa, methods=["GET"]),
            Route("/v4/oa/permission", self._permission, methods=["GET"]),
            Route("/v4/oa/access_token", self._access_token, methods=["POST"]),
            Route("/media/{name}", self._media, methods=["GET"]),
        ])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
                                lifespan="off", ws="none", loop="asyncio", http="h11")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve()),  # type: ignore[union-attr]
                                        name="fake-zalo", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake Zalo did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    # ----- test controls ----------------------------------------------------------------------------------
    def issue(self, lifetime: float | None = None) -> tuple[str, str]:
        """A fresh (access, refresh) pair, as an authorisation or refresh would hand out."""
        n = next(self._ids)
        access, refresh = f"AT-{n}-{os.urandom(6).hex()}", f"RT-{n}-{os.urandom(6).hex()}"
        with self.lock:
            self.access[access] = time.time() + (lifetime if lifetime is not None else self.token_lifetime)
            self.refresh_tokens[refresh] = True
        return access, refresh

    def expire(self, access_token: str) -> None:
        with self.lock:
            self.access[access_token] = time.time() - 1

    def fail(self, code: int = 0, *, status: int = 200, times: int = 1, user: str | None = None,
             path: str = "/v3.0/oa/message/cs", kinds: tuple[str, ...] = ()) -> None:
        with self.lock:
            self.faults.append(Fault(path, code, status, times, user, frozenset(kinds)))

    def add_media(self, data: bytes, name: str | None = None) -> str:
        key = name or f"m{next(self._ids)}.bin"
        self.media[key] = data
        return f"{self.base}/media/{key}"

    def messages(self, user: str) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent if s.user == user]

    def delivered(self, text_part: str = "") -> Counter[str]:
        """User → how many accepted messages containing ``text_part`` they got."""
        with self.lock:
            return Counter(s.user for s in self.sent if text_part in s.text)

    def calls_for(self, user: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.user == user]

    def max_per_second(self) -> int:
        """The most message calls that arrived in any one-second window (whatever was answered)."""
        with self.lock:
            times = sorted(c.at for c in self.calls)
        best, start = 0, 0
        for end, t in enumerate(times):
            while times[start] <= t - 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best

    def sign(self, body: bytes, timestamp: str) -> str:
        digest = hashlib.sha256(self.app_id.encode() + body + timestamp.encode() + self.oa_secret.encode())
        return f"mac={digest.hexdigest()}"

    def signed(self, event: dict[str, Any], *, timestamp_ms: int | None = None) -> tuple[bytes, dict[str, str]]:
        """The body and headers Zalo would POST for ``event`` (its ``timestamp`` set when missing)."""
        event = {"app_id": self.app_id, **event}
        event.setdefault("timestamp", str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)))
        body = json.dumps(event, ensure_ascii=False).encode()
        return body, {"Content-Type": "application/json", "X-ZEvent-Signature": self.sign(body, event["timestamp"])}

    # ----- OA API ------------------------------------------------------------------------------------------
    def _token_error(self, request: Request) -> JSONResponse | None:
        token = request.headers.get("access_token", "")
        with self.lock:
            expiry = self.access.get(token)
        if expiry is None:
            return JSONResponse({"error": -216, "message": "Access token is invalid"})
        if expiry < time.time():
            return JSONResponse({"error": -220, "message": "Access token is expired or removed"})
        return None

    def _fault(self, path: str, user: str | None, kind: str) -> Response | None:
        with self.lock:
            for fault in self.faults:
                if fault.path == path and fault.times > 0 and fault.user in (None, user) and (
                        not fault.kinds or kind in fault.kinds):
                    fault.times -= 1
                    if fault.status != 200:
                        return JSONResponse({"message": "server trouble"}, status_code=fault.status)
                    return JSONResponse({"error": fault.code, "message": f"injected error {fault.code}"})
        return None

    def _over_rate(self, at: float) -> bool:
        """Zalo's per-app call limit, as a sliding one-second window of the calls it let through."""
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

    async def _send(self, request: Request) -> Response:
        at = time.monotonic()
        body = await request.json()
        user = str((body.get("recipient") or {}).get("user_id", ""))
        if self._over_rate(at):
            response: Response = JSONResponse({"error": -32, "message": "Your application reached limit call api"})
        else:
            response = await self._answer_send(request, body, user)
        code = (int(json.loads(bytes(response.body)).get("error", 0)) if response.status_code == 200
                else -1000 - response.status_code)
        with self.lock:
            self.calls.append(Call(user, at, code))
        return response

    async def _answer_send(self, request: Request, body: dict[str, Any], user: str) -> Response:
        problem = self._token_error(request)
        if problem is not None:
            return problem
        message = body.get("message") or {}
        payload = (message.get("attachment") or {}).get("payload") or {}
        kind = "image" if payload.get("template_type") == "media" else "buttons" if "buttons" in payload else "text"
        fault = self._fault("/v3.0/oa/message/cs", user, kind)
        if fault is not None:
            return fault
        if not user:
            return JSONResponse({"error": -201, "message": "user_id is invalid"})
        if user in self.unfollowed:
            return JSONResponse({"error": -213, "message": "User has not followed OA"})
        if user in self.out_of_window:
            return JSONResponse({"error": -230, "message": "User has not interacted with the OA in the past 7 days"})
        text = message.get("text") or ""
        if len(text) > MAX_TEXT:
            return JSONResponse({"error": -210, "message": "Parameter exceeds allowable limit"})
        buttons = [(b["title"], b["payload"]) for b in payload.get("buttons", [])]
        if len(buttons) > MAX_BUTTONS or any(len(title) > 100 for title, _ in buttons):
            return JSONResponse({"error": -201, "message": "buttons is invalid"})
        image = None
        if kind == "image":
            image = payload["elements"][0]["url"]
        elif not text:
            return JSONResponse({"error": -201, "message": "text is invalid"})
        with self.lock:
            self.sent.append(Sent(user, kind, text, buttons, image, request.headers.get("access_token", "")))
        return JSONResponse({"error": 0, "message": "Success",
                             "data": {"message_id": f"m{next(self._ids)}", "user_id": user}})

    async def _user_detail(self, request: Request) -> Response:
        problem = self._token_error(request)
        if problem is not None:
            return problem
        user = str(json.loads(request.query_params.get("data", "{}")).get("user_id", ""))
        return JSONResponse({"error": 0, "message": "Success", "data": {
            "user_id": user, "display_name": "Phụ huynh", "user_is_follower": user not in self.unfollowed}})

    async def _getoa(self, request: Request) -> Response:
        problem = self._token_error(request)
        if problem is not None:
            return problem
        return JSONResponse({"error": 0, "message": "Success", "data": {"oa_id": self.oa_id, "name": "Hotline Thử"}})

    async def _media(self, request: Request) -> Response:
        data = self.media.get(request.path_params["name"])
        return Response(data, media_type="application/octet-stream") if data is not None else Response(status_code=404)

    # ----- OAuth v4 ---------------------------------------------------------------------------------------
    async def _permission(self, request: Request) -> Response:
        q = request.query_params
        if q.get("app_id") != self.app_id or not q.get("code_challenge") or not q.get("redirect_uri"):
            return JSONResponse({"error": -14002, "message": "invalid request"}, status_code=400)
        code = f"CODE-{next(self._ids)}-{os.urandom(4).hex()}"
        self.codes[code] = q["code_challenge"]
        query = urlencode({"code": code, "oa_id": self.oa_id, "state": q.get("state", "")})
        return RedirectResponse(f"{q['redirect_uri']}?{query}", status_code=302)

    def _pair(self) -> JSONResponse:
        access, refresh = self.issue()
        return JSONResponse({"access_token": access, "refresh_token": refresh,
                             "expires_in": str(int(self.token_lifetime))})

    async def _access_token(self, request: Request) -> Response:
        fault = self._fault("/v4/oa/access_token", None, "token")
        if fault is not None:
            return fault
        form = await request.form()
        if request.headers.get("secret_key") != self.app_secret or form.get("app_id") != self.app_id:
            return JSONResponse({"error": -14001, "error_name": "Invalid app", "error_description": "bad app secret"})
        if form.get("grant_type") == "authorization_code":
            challenge = self.codes.pop(str(form.get("code", "")), None)
            verifier = str(form.get("code_verifier", "")).encode()
            proof = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).decode().rstrip("=")
            if challenge is None or proof != challenge:
                return JSONResponse({"error": -14003, "error_name": "Invalid code",
                                     "error_description": "code or code_verifier is invalid"})
            return self._pair()
        if form.get("grant_type") == "refresh_token":
            presented = str(form.get("refresh_token", ""))
            with self.lock:
                usable = self.refresh_tokens.get(presented, False)
                if usable:
                    self.refresh_tokens[presented] = False  # single use: rotated now, whatever happens next
                self.refreshes.append((presented, usable))
            if not usable:
                return JSONResponse({"error": -14014, "error_name": "Invalid refresh token",
                                     "error_description": "refresh_token is invalid or already used"})
            response = self._pair()
            if self.kill_on_refresh is not None:
                # Zalo has rotated the pair; the caller dies before it can read (let alone store) the answer.
                os.kill(self.kill_on_refresh, signal.SIGKILL)
                self.killed.set()
            return response
        return JSONResponse({"error": -14004, "error_name": "Invalid grant_type"})
