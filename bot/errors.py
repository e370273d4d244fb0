"""One error shape for every JSON endpoint, and the headers every JSON answer carries.

Every refusal is ``{"error": {"code": "<machine-readable>", "message": "<for a developer>"}}`` with the
HTTP status saying the class (400 malformed, 401/403 access, 404, 413 too large, 415 wrong content type,
422 valid JSON but wrong fields, 429 slow down, 500, 503). Messages name the field and the rule, never the
value sent: a 422 must not echo a 250 kB body or a parent's text back (or into a proxy's log).
(The web chat's WebSocket keeps its own frame, ``{"type": "error", "error": ..., "retry": ...}``.)
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

CODES = {400: "malformed_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 408: "timeout", 413: "too_large", 415: "unsupported_media_type",
         422: "invalid_request", 429: "rate_limited", 500: "internal", 503: "unavailable"}
MAX_MESSAGE = 300

# Replies quote what a parent typed: no cache anywhere may keep them, and no browser may guess a type.
JSON_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message[:MAX_MESSAGE]}}


def error_response(message: str, status: int = 400, *, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body(code or CODES.get(status, "error"), message), status_code=status,
                        headers={**JSON_HEADERS, **(headers or {})})


def error_bytes(message: str, status: int, *, code: str | None = None) -> bytes:
    """The same body for raw ASGI answers (middleware that runs before FastAPI)."""
    response = error_response(message, status, code=code)
    return bytes(response.body)


def validation_message(errors: list[Any] | ValidationError) -> str:
    """The first problem, named by field (``user_id: String should match pattern ...``), never its value."""
    items = errors.errors(include_input=False, include_url=False) if isinstance(errors, ValidationError) else errors
    if not items:
        return "invalid request"
    first = items[0]
    # Drop FastAPI's "body" prefix and pydantic's union/wrapper bookkeeping so the path names the client's field.
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "frame", "message", "resume")]
    more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
    return f"{'.'.join(loc) or 'body'}: {first.get('msg', 'invalid')}{more}"


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(validation_message(list(exc.errors())), 422)


async def _http(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    carried = getattr(exc, "response", None)
    if isinstance(carried, Response):  # an HTML page's own answer (console: sign-in redirect, 401/403 page)
        return carried
    detail = exc.detail if isinstance(exc.detail, str) else CODES.get(exc.status_code, "error")
    return error_response(detail, exc.status_code, headers=dict(exc.headers or {}))


async def _crash(request: Request, exc: Exception) -> JSONResponse:
    # Only the route and the exception's type here: the body (a parent's words) is never logged. The
    # traceback itself goes through the redacting filter (bot/logsetup.py) when uvicorn logs it after us.
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return error_response("the server failed on this request; try again", 500)


def install(app: FastAPI) -> None:
    """Error handlers and JSON headers on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _crash)
    app.add_middleware(JsonHeaders)


class JsonHeaders:
    """Adds ``nosniff`` to every answer and ``Cache-Control: no-store`` to JSON ones that set no policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def patched(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if b"json" in ctype.lower() and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, patched)
