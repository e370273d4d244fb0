"""The plain HTTP chat channel: ``POST /api/v1/messages``.

``{"user_id": "...", "text": "..."}`` or ``{"user_id": "...", "payload": "<button id>"}``, with an optional
client ``message_id`` (a retry with the same id is processed once and gets the same replies).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.runtime import Runtime
from handlers.messages import InboundMessage
from storage.files import RejectedFile, store_attachment

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


def bad_request(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def parse_json_body(raw: bytes) -> Any:
    """Decode a JSON body; raises ValueError with a message fit for the client."""
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def validation_message(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return f"{where}: {err['msg']}"


def make_router(runtime: Runtime) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/api/v1/messages",
        summary="Send one message to the bot and get its replies",
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": MessageIn.model_json_schema()}}}},
        responses={200: {"description": "The bot's replies"}, 400: {"description": "Malformed request"},
                   413: {"description": "Body too large"}},
    )
    async def post_message(request: Request) -> JSONResponse:
        try:
            body = parse_json_body(await request.body())
            message = MessageIn.model_validate(body)
        except ValueError as exc:
            text = validation_message(exc) if isinstance(exc, ValidationError) else str(exc)
            return bad_request(text)
        attachments = []
        for upload in message.attachments:
            try:
                data = base64.b64decode(upload.content_base64, validate=True)
                attachments.append(await asyncio.to_thread(
                    store_attachment, runtime.data_dir, data, cipher=runtime.cipher, file_name=upload.file_name))
            except (binascii.Error, ValueError) as exc:
                reason = str(exc) if isinstance(exc, RejectedFile) else "not valid base64"
                return bad_request(f"attachment rejected: {reason}", 422)
        inbound = InboundMessage(
            channel=CHANNEL, chat_id=message.user_id, user_id=message.user_id, message_id=message.message_id,
            text=message.text, payload=message.payload, attachments=tuple(attachments), locale=message.locale,
        )
        replies = await runtime.engine.handle(inbound)
        return JSONResponse({"messages": [r.to_json() for r in replies]})

    return router
