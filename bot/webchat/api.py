"""The web chat's endpoints into the engine: a WebSocket, and the same over plain HTTP.

``/chat/ws``                 WebSocket, frames as in :mod:`bot.webchat.protocol`
``POST /chat/api/messages``  one message → ``{"id", "messages"}`` (fallback when a WebSocket cannot connect)
``POST /chat/api/resume``    → ``{"started", "locale", "messages"}``: the prompt the bot is waiting on
``POST /chat/api/upload``    multipart ``file`` (+ ``id``, ``locale``): a screenshot, as one message

Every endpoint checks the Origin (same origin or an embedding school's) and works on the visitor's
session cookie: a signed id we issued (bot/webchat/security.py), replaced by a fresh one whenever a
conversation starts. Errors are ``{"error": {"code", "message"}}`` (bot/errors.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.websockets import WebSocketDisconnect

from bot import admission, jsonbody
from bot.clientaddr import client_addr_of, limits_of
from bot.delivery import pull_unit
from bot.errors import error_response
from bot.runtime import Runtime
from bot.webchat import protocol
from bot.webchat.protocol import ChatMessage, ResumeRequest, UploadFields
from bot.webchat.push import web_channel
from bot.webchat.resume import current_prompt
from bot.webchat.security import Sessions, api_headers, origin_allowed, session_cookie
from handlers.engine import Unit
from handlers.messages import ConversationKey, OutboundMessage
from storage.conversations import peek
from storage.files import APK_MIME, MAX_ATTACHMENT_BYTES, RejectedFile, check_attachment, store_attachment

log = logging.getLogger(__name__)

MULTIPART_SLACK = 64 * 1024  # boundaries and the small text fields around the file


def _json(body: dict[str, Any], status: int = 200, *, cookie: str | None = None) -> JSONResponse:
    """A JSON answer; ``cookie`` is a Set-Cookie value for a visitor whose conversation starts now."""
    response = JSONResponse(body, status_code=status, headers=api_headers())
    if cookie is not None:
        response.headers.append("set-cookie", cookie)
    return response


def _error(message: str, status: int = 400, *, code: str | None = None) -> JSONResponse:
    response = error_response(message, status, code=code)
    response.headers.update(api_headers())
    return response


class _Refused(Exception):
    """Too many new sessions from one address."""


class InMemoryMultiPart(MultiPartParser):
    """Starlette spools a file over 1 MB to a temporary file on disk, unencrypted: keep it in memory (the
    body is already capped at a little over the attachment limit by bot/web.py)."""

    spool_max_size = MAX_ATTACHMENT_BYTES + MULTIPART_SLACK


def make_api_router(runtime: Runtime, allowed_origins: tuple[str, ...], sessions: Sessions) -> APIRouter:
    """The engine-facing half of the web chat."""
    router = APIRouter()
    engine = runtime.engine
    # Messages from the police (bot/delivery.py) reach an open chat through this process's connections.
    push = web_channel(runtime.channels, runtime.db, runtime.cipher)

    def with_notices(session: str) -> Unit:
        """Over plain HTTP nothing can be pushed: what the police sent meanwhile comes with this answer, taken in
        the message's own transaction (``Engine.handle(then=...)``)."""
        take = pull_unit(runtime, protocol.CHANNEL, session)

        def work(conn: sa.Connection) -> list[OutboundMessage]:
            push.seen_over_http_in(conn, session)
            return take(conn)

        return work

    def origin_ok(headers: Any) -> bool:
        return origin_allowed(headers.get("origin"), headers.get("host"), allowed_origins)

    async def started(session: str) -> bool:
        key = ConversationKey(protocol.CHANNEL, session)
        return await runtime.db.run(peek, key=key, cipher=runtime.cipher) is not None

    async def session_for(scope: Any, cookies: Any) -> tuple[str, str | None]:
        """(session id, the Set-Cookie value when it is new, else None).

        A session is kept only if we issued it and its conversation has started; otherwise (no cookie, a
        forged one, or one whose conversation has not begun — possibly planted) a fresh id is issued now.
        """
        existing = sessions.of(cookies)
        if existing is not None and await started(existing):
            return existing, None
        limits = limits_of(scope)
        if limits is not None and not limits.allow_new_session(client_addr_of(scope)):
            raise _Refused
        created = sessions.new()
        return created, session_cookie(created, runtime.settings)

    async def handle(session: str, message: ChatMessage, addr: str, *, over_http: bool = False) -> dict[str, Any]:
        replies = await engine.handle(message.inbound(session, client_addr=addr),
                                      then=with_notices(session) if over_http else None)
        return protocol.replies_frame(message.id, replies)

    too_many = "too many new conversations from your address; try again later"

    @router.post("/chat/api/messages", summary="Web chat: send one message (fallback for the WebSocket)")
    async def post_message(request: Request) -> JSONResponse:
        if not origin_ok(request.headers):
            return _error("origin not allowed", 403)
        try:
            frame = protocol.parse_frame(await jsonbody.read_json(request))
        except jsonbody.BodyError as exc:
            return _error(str(exc), exc.status, code=exc.code)
        except ValueError as exc:
            return _error(str(exc), 422)
        if not isinstance(frame, ChatMessage):
            return _error("type: use POST /chat/api/resume to resume", 422)
        try:
            session, cookie = await session_for(request.scope, request.cookies)
        except _Refused:
            return _error(too_many, 429)
        return _json(await handle(session, frame, client_addr_of(request.scope), over_http=True), cookie=cookie)

    @router.post("/chat/api/resume", summary="Web chat: the prompt the bot is waiting on (after a reload)")
    async def post_resume(request: Request) -> JSONResponse:
        if not origin_ok(request.headers):
            return _error("origin not allowed", 403)
        session = sessions.of(request.cookies)  # resuming starts nothing, so it never issues a session
        if session is None:
            return _json({"type": "resume", "started": False, "locale": None, "messages": []})
        resume = await current_prompt(runtime, ConversationKey(protocol.CHANNEL, session))
        return _json(resume.to_json())

    @router.post("/chat/api/upload", summary="Web chat: send a screenshot (multipart field `file`)")
    async def post_upload(request: Request) -> JSONResponse:
        if not origin_ok(request.headers):
            return _error("origin not allowed", 403)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_ATTACHMENT_BYTES + MULTIPART_SLACK:
            return _error(f"image larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB", 413)
        if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            return _error("send the image as multipart/form-data (field `file`)", 415)
        try:
            form = await InMemoryMultiPart(request.headers, request.stream(), max_files=1, max_fields=4,
                                           max_part_size=4096).parse()
        except (MultiPartException, HTTPException) as exc:  # a malformed body
            return _error(f"malformed upload: {getattr(exc, 'message', None) or getattr(exc, 'detail', exc)}")
        try:
            return await _upload(request, form)
        finally:
            await form.close()

    async def _upload(request: Request, form: Any) -> JSONResponse:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            return _error("send the image in a multipart field named `file`", 422)
        try:
            fields = UploadFields.model_validate({"id": form.get("id"), "locale": form.get("locale") or None})
        except ValidationError as exc:
            return _error(protocol.validation_message(exc), 422)
        data = await file.read(MAX_ATTACHMENT_BYTES + 1)
        if len(data) > MAX_ATTACHMENT_BYTES:
            return _error(f"image larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB", 413)
        try:
            # Decided by the bytes, never by the name or the claimed type: images, and APK files to inspect.
            mime = check_attachment(data)
            if not (mime.startswith("image/") or mime == APK_MIME):
                raise RejectedFile("not an image (JPEG, PNG, GIF, WebP) or Android app (APK)")
        except RejectedFile as exc:
            return _error(f"file rejected: {exc}", 415)
        try:
            session, cookie = await session_for(request.scope, request.cookies)
        except _Refused:
            return _error(too_many, 429)
        inbound = protocol.make_inbound(session, fields.id, locale=fields.locale,
                                        client_addr=client_addr_of(request.scope))
        refused = await admission.refuse(runtime, inbound)  # rate and block, before a byte is written
        if refused is not None:
            return _json(protocol.replies_frame(fields.id, refused), cookie=cookie)
        attachment = await asyncio.to_thread(store_attachment, runtime.data_dir, data, cipher=runtime.cipher,
                                             file_name=file.filename)
        replies = await engine.handle(replace(inbound, attachments=(attachment,)), then=with_notices(session))
        return _json(protocol.replies_frame(fields.id, replies), cookie=cookie)

    @router.websocket("/chat/ws")
    async def chat_ws(ws: WebSocket) -> None:
        if not origin_ok(ws.headers):
            # Closing before accepting makes the server refuse the handshake (HTTP 403).
            log.info("web chat: WebSocket from a foreign origin refused")
            await ws.close(code=1008)
            return
        try:
            session, cookie = await session_for(ws.scope, ws.cookies)
        except _Refused:
            await ws.close(code=1013, reason="too many new conversations from your address")
            return
        headers = [(b"set-cookie", cookie.encode())] if cookie is not None else []
        addr = client_addr_of(ws.scope)
        await ws.accept(headers=headers)
        lock = asyncio.Lock()

        async def send_frame(frame: dict[str, Any]) -> None:
            async with lock:  # the delivery worker pushes notices on this socket too
                await ws.send_text(json.dumps(frame, ensure_ascii=False))

        conn_id = await push.connected(session, send_frame)
        try:
            while True:
                event = await ws.receive()
                if event["type"] == "websocket.disconnect":
                    return
                limits = limits_of(ws.scope)
                if limits is not None and not limits.allow_request(addr):
                    reply = protocol.error_frame("too many messages from your address; wait a minute", retry=True)
                else:
                    reply = await _ws_frame(session, event.get("text"), addr)
                await send_frame(reply)
        except (WebSocketDisconnect, OSError):
            return  # the visitor went away mid-answer; a resend of the same id gets the same replies
        except Exception:
            # Never drop the connection without a close frame: the page then knows to reconnect.
            log.exception("web chat: WebSocket failed")
            with contextlib.suppress(Exception):
                await ws.close(code=1011)
        finally:
            await push.disconnected(session, conn_id)

    async def _ws_frame(session: str, text: str | None, addr: str) -> dict[str, Any]:
        if text is None:
            return protocol.error_frame("send JSON text frames, not binary")
        if len(text) > protocol.MAX_FRAME_CHARS:
            return protocol.error_frame(f"frame larger than {protocol.MAX_FRAME_CHARS} characters")
        try:
            frame = protocol.parse_frame(jsonbody.loads(text))
        except ValueError as exc:
            return protocol.error_frame(str(exc))
        try:
            if isinstance(frame, ResumeRequest):
                return (await current_prompt(runtime, ConversationKey(protocol.CHANNEL, session))).to_json()
            return await handle(session, frame, addr)
        except Exception:
            # Keep the connection: the page shows an error with a retry, which resends the same id.
            log.exception("web chat: the engine failed on a message")
            return protocol.error_frame("the bot could not answer; try again",
                                        frame.id if isinstance(frame, ChatMessage) else None, retry=True)

    return router
