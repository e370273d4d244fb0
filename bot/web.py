"""The ASGI application ``hotline serve`` runs: start page, HTTP chat API, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.api_check import router as check_router
from bot.channels.http_api import make_router
from bot.runtime import Runtime
from bot.services import Service, Supervisor

START_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Hotline chống lừa đảo</title>
<style>body{{font:18px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}}
h1{{font-size:1.6rem}}code{{background:#f0f0f0;padding:.1rem .3rem}}</style></head>
<body><h1>Hotline chống lừa đảo giả mạo nhà trường</h1>
<p>{police_name}: báo cáo cuộc gọi, tin nhắn, đường link lừa đảo giả mạo nhà trường; kiểm tra một cuộc gọi hay
đường link; hướng dẫn khẩn cấp khi đã lỡ đưa mã OTP hoặc chuyển tiền.</p>
<p>Khẩn cấp: gọi <strong>113</strong>. Báo số lừa đảo: <strong>156</strong> / SMS <strong>5656</strong>.</p>
<p>API: <code>POST /api/v1/messages</code> — <a href="/docs">tài liệu API</a>.</p>
</body></html>"""


class BodyLimit:
    """Reject request bodies over ``limit`` bytes with 413, whether or not Content-Length is honest."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send, self.limit)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _too_large(send, self.limit)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"error": "request body larger than {limit} bytes"}}'.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def create_app(runtime: Runtime, *, close_on_shutdown: bool = True,
               services: list[tuple[str, Service]] | None = None) -> FastAPI:
    """Build the app around an already-open runtime; ``services`` run in the background while it serves."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        supervisor = Supervisor(services or [])
        supervisor.start()
        try:
            yield
        finally:
            await supervisor.close()
            if close_on_shutdown:
                await runtime.close()

    app = FastAPI(title="Hotline", version="1", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.db = runtime.db
    app.include_router(make_router(runtime))
    app.include_router(check_router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def start_page() -> HTMLResponse:
        return HTMLResponse(START_PAGE.format(police_name=runtime.settings.province.police_name))

    @app.get("/healthz", summary="Liveness and database check")
    async def healthz() -> JSONResponse:
        async with runtime.db.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return JSONResponse({"status": "ok"})

    app.add_middleware(BodyLimit, limit=runtime.settings.server.max_body_bytes)
    return app


def app_kwargs() -> dict[str, Any]:  # pragma: no cover - uvicorn options shared by serve and bench
    return {"log_level": "warning", "access_log": False}
