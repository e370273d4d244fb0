"""The plain HTTP chat channel: ``POST /api/v1/messages`` (API key, or loopback only: :mod:`bot.apikeys`).

``{"user_id": "...", "text": "..."}`` or ``{"user_id": "...", "payload": "<button id>"}``, with an optional
client ``message_id`` (a retry with the same id is processed once and gets the same replies).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot import admission, jsonbody
from bot.apikeys import ApiKeyGate, Denied, out_of_scope
from bot.clientaddr import client_addr_of
from bot.delivery import pull_unit, register_pull_channel
from bot.errors import error_response, validation_message
from bot.openapi import inline_schema
from bot.runtime import Runtime
from handlers.messages import InboundMessage
from storage.files import RejectedFile, check_attachment, store_attachment

CHANNEL = "api"


class UploadIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    file_name: str | None = Field(default=None, max_length=255)
    content_base64: str = Field(max_length=14_000_000)


class MessageIn(BaseModel):
    """One message from a client. Unknown fields are ignored so clients can evolve."""

    model_config = ConfigDict(extra="ignore")
    user_id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w.:@-]+$")]
    text: str | None = Field(default=None, max_length=100_000)
    payload: str | None = Field(default=None, max_length=64)
    message_id: str | None = Field(default=None, min_length=1, max_length=128)
    locale: str | None = Field(default=None, pattern=r"^(vi|en)$")
    attachments: list[UploadIn] = Field(default_factory=list, max_length=5)

    @model_validator(mode="after")
    def _something(self) -> MessageIn:
        if self.text is None and self.payload is None and not self.attachments:
            raise ValueError("send `text`, `payload` or `attachments`")
        return self


def bad_request(message: str, status: int = 400, *, code: str | None = None) -> JSONResponse:
    """The one error shape (:mod:`bot.errors`)."""
    return error_response(message, status, code=code)


def parse_json_body(raw: bytes) -> Any:
    """Decode a JSON body (:func:`bot.jsonbody.loads`); raises ValueError with a message fit for the client."""
    return jsonbody.loads(raw)


def make_router(runtime: Runtime) -> APIRouter:
    router = APIRouter()
    gate = ApiKeyGate(runtime.db)
    register_pull_channel(runtime, CHANNEL)  # officers' questions reach an API user with their next request

    @router.post(
        "/api/v1/messages",
        summary="Send one message to the bot and get its replies",
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": inline_schema(MessageIn)}}}},
        responses={200: {"description": "The bot's replies"}, 400: {"description": "Malformed request"},
                   401: {"description": "No or unknown API key"}, 403: {"description": "user_id outside the key"},
                   413: {"description": "Body too large"}, 415: {"description": "Not JSON"},
                   422: {"description": "Wrong fields"}, 429: {"description": "Too many requests"}},
    )
    async def post_message(request: Request) -> JSONResponse:
        who = await gate.authenticate(request)  # before the body is even read
        if isinstance(who, Denied):
            return bad_request(who.message, who.status)
        try:
            body = await jsonbody.read_json(request)
        except jsonbody.BodyError as exc:
            return bad_request(str(exc), exc.status, code=exc.code)
        try:
            message = MessageIn.model_validate(body)
        except ValidationError as exc:
            return bad_request(validation_message(exc), 422)
        denied = out_of_scope(who, message.user_id)
        if denied is not None:
            return bad_request(denied.message, denied.status)
        inbound = InboundMessage(
            channel=CHANNEL, chat_id=message.user_id, user_id=message.user_id, message_id=message.message_id,
            text=message.text, payload=message.payload, locale=message.locale,
            extras={"client_addr": client_addr_of(request.scope)},
        )
        if message.attachments:
            refused = await admission.refuse(runtime, inbound)  # before a single byte reaches the disk
            if refused is not None:
                return JSONResponse({"messages": [r.to_json() for r in refused]})
        decoded: list[tuple[bytes, str | None]] = []
        for upload in message.attachments:  # every file checked (size, type) before the first is stored
            try:
                data = base64.b64decode(upload.content_base64, validate=True)
                check_attachment(data)
            except (binascii.Error, ValueError) as exc:
                reason = str(exc) if isinstance(exc, RejectedFile) else "not valid base64"
                return bad_request(f"attachment rejected: {reason}", 422)
            decoded.append((data, upload.file_name))
        attachments = [await asyncio.to_thread(store_attachment, runtime.data_dir, data, cipher=runtime.cipher,
                                               file_name=name) for data, name in decoded]
        # What the police sent since the last request is taken in the message's own transaction.
        replies = await runtime.engine.handle(replace(inbound, attachments=tuple(attachments)),
                                              then=pull_unit(runtime, CHANNEL, message.user_id))
        return JSONResponse({"messages": [r.to_json() for r in replies]})

    return router
