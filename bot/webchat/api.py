"""The web chat's endpoints into the engine: a WebSocket, and the same over plain HTTP.

``/chat/ws``                 WebSocket, frames as in :mod:`bot.webchat.protocol`
``POST /chat/api/messages``  one message → ``{"id", "messages"}`` (fallback when a WebSocket cannot connect)
``POST /chat/api/resume``    → ``{"started", "locale", "messages"}``: the prompt the bot is waiting on
``POST /chat/api/upload``    multipart ``file`` (+ ``id``, ``locale``): a screenshot, as one message

Every endpoint checks the Origin (same origin or an embedding school's) and works on the visitor's
session cookie, creating one when missing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.websockets import WebSocketDisconnect

from bot.channels.http_api import parse_json_body
from bot.runtime import Runtime
from bot.webchat import protocol
from bot.webchat.protocol import ChatMessage, ResumeRequest, UploadFields
from bot.webchat.resume import current_prompt
from bot.webchat.security import (
    api_headers,
    new_session,
    origin_allowed,
    session_cookie,
    session_of,
)
from handlers.messages import ConversationKey
from storage.files import MAX_ATTACHMENT_BYTES, RejectedFile, sniff, store_attachment

log = logging.getLogger(__name__)

MULTIPART_SLACK = 64 * 1024  # boundaries and the small text fields around the file


def _json(body: dict[str, Any], status: int = 200, *, cookie: str | None = None) -> JSONResponse:
    """A JSON answer; ``cookie`` is a Set-Cookie value for a visitor who arrived without a session."""
    response = JSONResponse(body, status_code=status, headers=api_headers())
    if cookie is not None:
        response.headers.append("set-cookie", cookie)
    return response


def _error(message: str, status: int = 400) -> JSONResponse:
    return _json({"error": message}, status)


def make_api_router(runtime: Runtime, allowed_origins: tuple[str, ...]) -> APIRouter:
    """The engine-facing half of the web chat."""
    router = APIRouter()
    engine = runtime.engine

    def origin_ok(headers: Any) -> bool:
        return origin_allowed(headers.get("origin"), headers.get("host"), allowed_origins)

    def session_for(request: Request) -> tuple[str, str | None]:
        """(session id, the Set-Cookie value when the session is new, else None)."""
        existing = session_of(request.cookies)
        if existing is not None:
            return existing, None
        created = new_session()
        return created, session_cookie(created, runtime.settings)

    async def handle(session: str, message: ChatMessage) -> dict[str, Any]:
        replies = await engine.handle(message.inbound(session))
        return protocol.replies_frame(message.id, replies)

    @router.post("/chat/api/messages", summary="Web chat: send one message (fallback for the WebSocket)")
    async def post_message(request: Request) -> JSONResponse:
        if not origin_ok(request.headers):
            return _error("origin not allowed", 403)
        try:
            frame = protocol.parse_frame(parse_json_body(await request.body()))
        except ValueError as exc:
            return _error(str(exc))
        if not isinstance(frame, ChatMessage):
            return _error("type: use POST /chat/api/resume to resume")
        session, cookie = session_for(request)
        return _json(await handle(session, frame), cookie=cookie)

    @router.post("/chat/api/resume", summary="Web chat: the prompt the bot is waiting on (after a reload)")
    async def post_resume(request: Request) -> JSONResponse:
        if not origin_ok(request.headers):
            return _error("origin not allowed", 403)
        session, cookie = session_for(request)
        resume = await current_prompt(runtime, ConversationKey(protocol.CHANNEL, session))
        return _json(resume.to_json(), cookie=cookie)

    @router.post("/chat/api/upload", summary="Web chat: send a screenshot (multipart field `file`)")
    async def post_upload(request: Request) -> JSONResponse:
        if not origin_ok(request.headers):
            return _error("origin not allowed", 403)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_ATTACHMENT_BYTES + MULTIPART_SLACK:
            return _error(f"image larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB", 413)
        try:
            form = await request.form(max_files=1, max_fields=4, max_part_size=4096)
        except HTTPException as exc:  # Starlette's multipart parser reports a malformed body this way
            return _error(f"malformed upload: {exc.detail}")
        try:
            return await _upload(request, form)
        finally:
            await form.close()

    async def _upload(request: Request, form: Any) -> JSONResponse:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            return _error("send the image in a multipart field named `file`")
        try:
            fields = UploadFields.model_validate({"id": form.get("id"), "locale": form.get("locale") or None})
        except ValidationError as exc:
            return _error(protocol.validation_message(exc))
        data = await file.read(MAX_ATTACHMENT_BYTES + 1)
        if len(data) > MAX_ATTACHMENT_BYTES:
            return _error(f"image larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB", 413)
        try:
            # Decided by the bytes, never by the name or the claimed type; only images for the web chat.
            if not sniff(data)[0].startswith("image/"):
                raise RejectedFile("not an image (JPEG, PNG, GIF, WebP)")
            attachment = await asyncio.to_thread(store_attachment, runtime.data_dir, data, cipher=runtime.cipher,
                                                 file_name=file.filename)
        except RejectedFile as exc:
            return _error(f"file rejected: {exc}", 415)
        session, cookie = session_for(request)
        inbound = protocol.make_inbound(session, fields.id, locale=fields.locale, attachments=(attachment,))
        replies = await engine.handle(inbound)
        return _json(protocol.replies_frame(fields.id, replies), cookie=cookie)

    @router.websocket("/chat/ws")
    async def chat_ws(ws: WebSocket) -> None:
        if not origin_ok(ws.headers):
            # Closing before accepting makes the server refuse the handshake (HTTP 403).
            log.info("web chat: WebSocket from a foreign origin refused")
            await ws.close(code=1008)
            return
        session = session_of(ws.cookies)
        headers: list[tuple[bytes, bytes]] = []
        if session is None:
            session = new_session()
            headers.append((b"set-cookie", session_cookie(session, runtime.settings).encode()))
        await ws.accept(headers=headers)
        try:
            while True:
                event = await ws.receive()
                if event["type"] == "websocket.disconnect":
                    return
                reply = await _ws_frame(session, event.get("text"))
                await ws.send_text(json.dumps(reply, ensure_ascii=False))
        except (WebSocketDisconnect, OSError):
            return  # the visitor went away mid-answer; a resend of the same id gets the same replies

    async def _ws_frame(session: str, text: str | None) -> dict[str, Any]:
        if text is None:
            return protocol.error_frame("send JSON text frames, not binary")
        if len(text) > protocol.MAX_FRAME_CHARS:
            return protocol.error_frame(f"frame larger than {protocol.MAX_FRAME_CHARS} characters")
        try:
            frame = protocol.parse_frame(json.loads(text))
        except json.JSONDecodeError as exc:
            return protocol.error_frame(f"malformed JSON: {exc.msg} at column {exc.colno}")
        except ValueError as exc:
            return protocol.error_frame(str(exc))
        try:
            if isinstance(frame, ResumeRequest):
                return (await current_prompt(runtime, ConversationKey(protocol.CHANNEL, session))).to_json()
            return await handle(session, frame)
        except Exception:
            # Keep the connection: the page shows an error with a retry, which resends the same id.
            log.exception("web chat: the engine failed on a message")
            return protocol.error_frame("the bot could not answer; try again",
                                        frame.id if isinstance(frame, ChatMessage) else None, retry=True)

    return router
