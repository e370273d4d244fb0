"""A fake Telegram Bot API server for the tests: real HTTP on 127.0.0.1, run by uvicorn in its own thread.

It implements what the adapter uses (getMe, getUpdates with long polling, setWebhook / deleteWebhook /
getWebhookInfo with webhook delivery, sendMessage, sendPhoto, editMessageText, answerCallbackQuery,
getFile and the file endpoint), records every call with its arrival time, and fails calls on demand (429
with ``retry_after``, 5xx). Its own thread and loop keep it independent of the test's event loop, so the
synchronous CLI and the benchmark can use it too.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_JSON_FIELDS = frozenset({"reply_markup", "link_preview_options", "allowed_updates", "chat_id", "message_id",
                          "offset", "limit", "timeout", "show_alert", "drop_pending_updates", "max_connections"})
MESSAGE_METHODS = frozenset({"sendMessage", "sendPhoto", "editMessageText"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() on arrival
    status: int = 200

    @property
    def chat_id(self) -> str | None:
        value = self.params.get("chat_id")
        return None if value is None else str(value)


@dataclass
class Fault:
    """Fail calls to ``method``: the next ``times`` matching calls, or every ``every``-th one while active."""

    method: str
    status: int
    retry_after: int | None = None
    times: int = 1
    every: int = 0
    skip_chats: frozenset[str] = frozenset()
    seen: int = 0


@dataclass
class ChatLog:
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # ("send"|"edit", message)
    next_id: int = 1


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeBotAPI:
    def __init__(self, token: str = "123456:TEST-token",  # noqa: S107 - the fake's own token
                 username: str = "HotlineTestBot") -> None:
        self.token = token
        self.me = {"id": 777000111, "is_bot": True, "first_name": "Hotline", "username": username,
                   "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
        self.lock = threading.Lock()
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.pending: list[dict[str, Any]] = []  # updates not yet confirmed by a getUpdates offset
        self.deliveries: dict[int, int] = {}  # update id → times handed out by getUpdates
        self.webhook: dict[str, Any] | None = None
        self.webhook_statuses: list[tuple[int, int]] = []  # (update id, HTTP status of our POST)
        self.chats: dict[str, ChatLog] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self._next_update_id = 10_000
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._new_update: asyncio.Event | None = None
        self._webhook_queue: asyncio.Queue[dict[str, Any]] | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._closing = False
        self._methods: dict[str, Callable[[dict[str, Any], Request], Awaitable[tuple[int, Any]]]] = {
            "getMe": self._get_me, "getUpdates": self._get_updates, "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook, "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message, "sendPhoto": self._send_photo,
            "editMessageText": self._edit_message_text, "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
        }

    # ----- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> FakeBotAPI:
        app = Starlette(routes=[
            Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
        ])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
                                lifespan="off", ws="none", loop="asyncio", http="h11")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="fake-bot-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake Bot API did not start")
            time.sleep(0.01)
        return self

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._new_update = asyncio.Event()
            self._webhook_queue = asyncio.Queue()
            deliverer = asyncio.create_task(self._deliver_webhooks())
            assert self._server is not None
            try:
                await self._server.serve()
            finally:
                deliverer.cancel()

        asyncio.run(main())

    def stop(self) -> None:
        self._closing = True
        if self._loop is not None and self._new_update is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)  # end long polls: shutdown waits for them
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    # ----- what tests do ------------------------------------------------------------------------------------
    def push(self, body: dict[str, Any], *, update_id: int | None = None) -> int:
        """Make an update happen (a parent wrote); an explicit ``update_id`` re-sends an old one."""
        with self.lock:
            if update_id is None:
                self._next_update_id += 1
                update_id = self._next_update_id
            update = {"update_id": update_id, **body}
            self.pending.append(update)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._announce, update)
        return update_id

    def _announce(self, update: dict[str, Any]) -> None:
        assert self._new_update is not None and self._webhook_queue is not None
        self._new_update.set()
        if self.webhook is not None:
            self._webhook_queue.put_nowait(update)

    def add_file(self, data: bytes, name: str = "photo.jpg") -> str:
        with self.lock:
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = (data, f"photos/{file_id}-{name}")
        return file_id

    def fail(self, method: str, status: int, *, retry_after: int | None = None, times: int = 1, every: int = 0,
             skip_chats: frozenset[str] = frozenset()) -> Fault:
        fault = Fault(method, status, retry_after, times, every, skip_chats)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def calls_to(self, *methods: str, ok: bool | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method in methods and (ok is None or (c.status == 200) == ok)]

    def events(self, chat_id: int | str) -> list[tuple[str, dict[str, Any]]]:
        with self.lock:
            return list(self.chats.get(str(chat_id), ChatLog()).events)

    def message(self, chat_id: int | str, message_id: int) -> dict[str, Any]:
        """The message as it looks now (after edits)."""
        found = [m for kind, m in self.events(chat_id) if m["message_id"] == message_id]
        return found[-1]

    # ----- HTTP --------------------------------------------------------------------------------------------
    async def _params(self, request: Request) -> dict[str, Any]:
        if request.method == "GET":
            raw: dict[str, Any] = dict(request.query_params)
        elif request.headers.get("content-type", "").startswith("application/json"):
            return dict(await request.json())
        else:
            form = await request.form()
            raw = dict(form.items())
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if isinstance(value, str) and key in _JSON_FIELDS:
                try:
                    params[key] = json.loads(value)
                except json.JSONDecodeError:
                    params[key] = value
            elif hasattr(value, "read"):
                params[key] = await value.read()
            else:
                params[key] = value
        return params

    def _fault_for(self, method: str, params: dict[str, Any]) -> Fault | None:
        chat = str(params.get("chat_id"))
        for fault in self.faults:
            if fault.method != method or chat in fault.skip_chats:
                continue
            fault.seen += 1
            if fault.every:
                if fault.seen % fault.every == 0:
                    return fault
            elif fault.times > 0:
                fault.times -= 1
                return fault
        return None

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        params = await self._params(request)
        call = Call(method, params, time.monotonic())
        with self.lock:
            self.calls.append(call)
            fault = self._fault_for(method, params)
        if request.path_params["token"] != self.token:
            call.status = 401
            return _error(401, "Unauthorized")
        if fault is not None:
            call.status = fault.status
            extra = {"parameters": {"retry_after": fault.retry_after}} if fault.retry_after is not None else {}
            text = "Too Many Requests: retry after" if fault.status == 429 else "Internal Server Error"
            return _error(fault.status, text, **extra)
        handler = self._methods.get(method)
        if handler is None:
            call.status = 404
            return _error(404, "Not Found: method not found")
        status, result = await handler(params, request)
        call.status = status
        if status != 200:
            return _error(status, str(result))
        return JSONResponse({"ok": True, "result": result})

    async def _file(self, request: Request) -> Response:
        path = request.path_params["path"]
        for data, file_path in self.files.values():
            if file_path == path and request.path_params["token"] == self.token:
                return Response(data, media_type="application/octet-stream")
        return Response(status_code=404)

    # ----- methods -----------------------------------------------------------------------------------------
    async def _get_me(self, params: dict[str, Any], request: Request | None = None) -> tuple[int, Any]:
        return 200, self.me

    async def _get_updates(self, params: dict[str, Any], request: Request) -> tuple[int, Any]:
        if self.webhook is not None:
            return 409, "Conflict: can't use getUpdates method while webhook is active"
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        assert self._new_update is not None
        while True:
            self._new_update.clear()  # before looking: a push after the look sets it again
            with self.lock:
                # An offset confirms every update below it: Telegram forgets them.
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
                batch = self.pending[:limit]
            if batch and await request.is_disconnected():
                return 200, []  # like Telegram, hand nothing to a client that hung up (a stopped poller)
            if batch or time.monotonic() >= deadline or self._closing:
                with self.lock:
                    for u in batch:
                        self.deliveries[u["update_id"]] = self.deliveries.get(u["update_id"], 0) + 1
                return 200, batch
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout=min(0.2, deadline - time.monotonic()))
            except TimeoutError:
                if await request.is_disconnected():
                    return 200, []

    async def _set_webhook(self, params: dict[str, Any], request: Request | None = None) -> tuple[int, Any]:
        with self.lock:
            self.webhook = {"url": params["url"], "secret_token": params.get("secret_token"),
                            "allowed_updates": params.get("allowed_updates") or []}
            if params.get("drop_pending_updates"):
                self.pending.clear()
            backlog = list(self.pending)
        assert self._webhook_queue is not None
        for update in backlog:
            self._webhook_queue.put_nowait(update)
        return 200, True

    async def _delete_webhook(self, params: dict[str, Any], request: Request | None = None) -> tuple[int, Any]:
        with self.lock:
            self.webhook = None
            if params.get("drop_pending_updates"):
                self.pending.clear()
        return 200, True

    async def _get_webhook_info(self, params: dict[str, Any], request: Request | None = None) -> tuple[int, Any]:
        hook = self.webhook or {}
        return 200, {"url": hook.get("url", ""), "has_custom_certificate": False,
                     "pending_update_count": len(self.pending), "allowed_updates": hook.get("allowed_updates", [])}

    def _new_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = params["chat_id"]
        with self.lock:
            log = self.chats.setdefault(str(chat_id), ChatLog())
            message = {"message_id": log.next_id, "date": int(time.time()), "from": self.me,
                       "chat": {"id": chat_id, "type": "private" if int(chat_id) > 0 else "supergroup",
                                **({"first_name": "Parent"} if int(chat_id) > 0 else {"title": "Officers"})},
                       **content}
            markup = params.get("reply_markup")
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                message["reply_markup"] = markup
            log.next_id += 1
            log.events.append(("send", message))
        return message

    async def _send_message(self, params: dict[str, Any], request: Request | None = None) -> tuple[int, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            return 400, "Bad Request: message text is empty"
        if _utf16_len(text) > 4096:
            return 400, "Bad Request: message is too long"
        markup = params.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if len(button.get("callback_data", "").encode()) > 64:
                    return 400, "Bad Request: BUTTON_DATA_INVALID"
        return 200, self._new_message(params, text=text)

    async def _send_photo(self, params: dict[str, Any], request: Request | None = None) -> tuple[int, Any]:
        photo = params.get("photo")
        data = photo if isinstance(photo, bytes) else self.files.get(str(photo), (b"", ""))[0]
        file_id = self.add_file(data)
        size = {"file_id": file_id, "file_unique_id": file_id, "width": 100, "height": 100, "file_size": len(data)}
        return 200, self._new_message(params, photo=[size], caption=params.get("caption", ""))

    async def _edit_message_text(self, params: dict[str, Any], request: Request | None = None) -> tuple[int, Any]:
        chat, message_id = str(params.get("chat_id")), int(params.get("message_id", 0))
        with self.lock:
            log = self.chats.get(chat)
            current = [m for _, m in log.events if m["message_id"] == message_id] if log else []
            if not current:
                return 400, "Bad Request: message to edit not found"
            before = current[-1]
            after = {**before, "text": params.get("text", ""), "edit_date": int(time.time())}
            markup = params.get("reply_markup")
            after.pop("reply_markup", None)
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                after["reply_markup"] = markup
            if after.get("text") == before.get("text") and after.get("reply_markup") == before.get("reply_markup"):
                return 400, "Bad Request: message is not modified: specified new message content and reply " \
                            "markup are exactly the same as a current content and reply markup of the message"
            assert log is not None
            log.events.append(("edit", after))
        return 200, after

    async def _answer_callback_query(self, params: dict[str, Any], request: Request | None = None) -> tuple[int, Any]:
        return 200, True

    async def _get_file(self, params: dict[str, Any], request: Request | None = None) -> tuple[int, Any]:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            return 400, "Bad Request: invalid file_id"
        data, path = self.files[file_id]
        return 200, {"file_id": file_id, "file_unique_id": file_id, "file_size": len(data), "file_path": path}

    # ----- webhook delivery (as Telegram does it: POST, retry until 2xx) -------------------------------------
    async def _deliver_webhooks(self) -> None:
        assert self._webhook_queue is not None
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                update = await self._webhook_queue.get()
                for _ in range(50):
                    hook = self.webhook
                    if hook is None:
                        break
                    headers = {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]} if hook["secret_token"] else {}
                    try:
                        status = (await client.post(hook["url"], json=update, headers=headers)).status_code
                    except httpx.HTTPError:
                        status = 0
                    with self.lock:
                        self.webhook_statuses.append((update["update_id"], status))
                    if 200 <= status < 300:
                        with self.lock:
                            self.pending = [u for u in self.pending if u["update_id"] != update["update_id"]]
                        break
                    await asyncio.sleep(0.05)


def _error(status: int, description: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": status, "description": description, **extra},
                        status_code=status)
