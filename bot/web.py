"""The ASGI application ``hotline serve`` runs: start page, HTTP chat API, health."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import errors, jsonbody
from bot.api_check import router as check_router
from bot.channels.http_api import bad_request, make_router
from bot.clientaddr import AddressLimit, AddressLimits, parse_networks
from bot.console import make_router as console_router
from bot.docs import install_docs_csp
from bot.errors import error_bytes
from bot.health import make_router as health_router
from bot.intake.model import TipV1
from bot.intake.model import json_schema as tip_json_schema
from bot.logsetup import UVICORN_LOGGING
from bot.runtime import Runtime
from bot.services import Service, Supervisor
from bot.webchat import make_router as webchat_router
from nlu.redact import redact

# Routes that take files enforce their own, larger limit (and type checks) after this one.
UPLOAD_PATHS = ("/chat/api/upload", "/api/v1/check",  # the check takes a screenshot or an APK too
                # A province's school list or units map as CSV (admins, signed in; see bot/console/content_*.py).
                "/console/content/schools/import", "/console/content/units/import")
UPLOAD_LIMIT = 12 * 1024 * 1024


class _RowId(IntegerConvertor):
    """``{id:int}`` in a path matches only what fits a database integer: ``/console/users/9223372036854775808``
    is a 404, not an OverflowError from the driver (a 500 the fuzzer found on every such route)."""

    regex = "[0-9]{1,18}"


# Before any router is built (create_app builds them): a route's pattern is compiled when it is declared.
register_url_convertor("int", _RowId())


class BodyLimit:
    """Reject request bodies over ``limit`` bytes with 413, whether or not Content-Length is honest."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.default_limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = UPLOAD_LIMIT if scope.get("path") in UPLOAD_PATHS else self.default_limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
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
                await _too_large(send, limit)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = error_bytes(f"request body larger than {limit} bytes", 413)
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            # as every JSON answer (it is sent before the app, so its header layer never sees it)
                            (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]})
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

    settings = runtime.settings
    docs = settings.server.api_docs
    app = FastAPI(title="Hotline", version="1", lifespan=lifespan, docs_url="/docs" if docs else None,
                  redoc_url=None)
    app.state.runtime = runtime
    app.state.db = runtime.db
    app.state.cipher = runtime.cipher  # the check counts reports by blind index (storage/indicators.py)
    sec = settings.security
    app.state.address_limits = limits = AddressLimits(
        burst=sec.address_burst, per_minute=sec.address_per_minute, sessions_burst=sec.new_sessions_burst,
        sessions_per_hour=sec.new_sessions_per_hour)
    errors.install(app)
    app.include_router(health_router(runtime))
    app.include_router(make_router(runtime))
    app.include_router(check_router)
    app.include_router(webchat_router(runtime))  # "/", "/chat", the widget and its endpoints
    if settings.console.enabled:
        app.include_router(console_router(runtime))  # "/console/…": officers and admins
    if "zalo" in runtime.channels:
        from bot.channels.zalo import ZaloChannel
        from bot.channels.zalo import make_router as zalo_router

        zalo = runtime.channels.get("zalo")
        if isinstance(zalo, ZaloChannel):
            app.include_router(zalo_router(runtime, zalo))  # POST /webhooks/zalo (signed by Zalo)
    if "zalo_bot" in runtime.channels:
        from bot.channels.zalo_bot import ZaloBotChannel
        from bot.channels.zalo_bot import make_router as zalo_bot_router

        zalo_bot = runtime.channels.get("zalo_bot")
        if isinstance(zalo_bot, ZaloBotChannel):
            app.include_router(zalo_bot_router(runtime, zalo_bot))  # POST /webhooks/zalo-bot (secret token)

    @app.get("/api/v1/schemas/tip.v1", summary="The tip.v1 JSON Schema: what the police receive for every tip",
             response_model=TipV1)
    async def tip_schema() -> JSONResponse:
        # Declared with TipV1 as its response model so the schema is in the OpenAPI document too.
        return JSONResponse(tip_json_schema())

    @app.post("/api/v1/nlu/parse", summary="Intent and entities of a text, in Rasa's /model/parse shape",
              openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                  "type": "object", "required": ["text"],
                  "properties": {"text": {"type": "string", "maxLength": 4000}}}}}}},
              responses={200: {"description": "The parse"}, 400: {"description": "Malformed request"},
                         415: {"description": "Not JSON"}, 422: {"description": "No usable text"}})
    async def nlu_parse(request: Request) -> JSONResponse:
        try:
            body = await jsonbody.read_json(request)
        except jsonbody.BodyError as exc:
            return bad_request(str(exc), exc.status, code=exc.code)
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip() or len(text) > 4000:
            return bad_request("text: a non-empty string of at most 4000 characters is required", 422)
        clean, _ = redact(text)  # a pasted OTP or card number never reaches the model or a remote server
        if runtime.remote_nlu is not None:
            result = await runtime.remote_nlu.parse(clean)
        else:
            result = await asyncio.to_thread(runtime.nlu.parse, clean)
        return JSONResponse(result.to_rasa())

    if docs:
        install_docs_csp(app)
    app.add_middleware(BodyLimit, limit=settings.server.max_body_bytes)
    # Outermost: the client's address is known (and its rate checked) before anything reads a byte.
    app.add_middleware(AddressLimit, trusted=parse_networks(settings.server.trusted_proxies), limits=limits)
    return app


def app_kwargs() -> dict[str, Any]:  # pragma: no cover - uvicorn options shared by serve and bench
    return {"log_level": "warning", **UVICORN_LOGGING}
