"""The web chat's wire format, shared by the WebSocket and the HTTP fallback.

Client → server (a WebSocket text frame, or the JSON body of ``POST /chat/api/messages``)::

    {"type": "message", "id": "<client message id>", "text": "..." | "payload": "<button id>",
     "locale": "vi" | "en", "start_param": "<school code>"}
    {"type": "resume"}                       # WebSocket only; HTTP has POST /chat/api/resume

Server → client::

    {"type": "replies", "id": "<same id>", "messages": [OutboundMessage.to_json(), ...]}
    {"type": "resume", "started": bool, "locale": "vi" | "en" | null, "messages": [...]}
    {"type": "error", "id": "<id or null>", "error": "<what was wrong>", "retry": bool}

The client's message id makes a resend after a reconnect harmless: the engine answers it once and
replays the same replies afterwards.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from handlers.messages import Attachment, InboundMessage, OutboundMessage

CHANNEL = "web"
MESSAGE_ID = r"^[A-Za-z0-9_-]{8,64}$"
SCHOOL_CODE = r"^[A-Za-z0-9_-]{1,64}$"
MAX_FRAME_CHARS = 64 * 1024  # far above the engine's own text cap; stops a client from making us parse megabytes

MessageId = Annotated[str, Field(pattern=MESSAGE_ID)]
Locale = Literal["vi", "en"]


class ChatMessage(BaseModel):
    """Something the visitor typed or pressed."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["message"] = "message"
    id: MessageId
    text: str | None = Field(default=None, max_length=20_000)
    payload: str | None = Field(default=None, min_length=1, max_length=64)
    locale: Locale | None = None
    start_param: str | None = Field(default=None, pattern=SCHOOL_CODE)

    @model_validator(mode="after")
    def _something(self) -> ChatMessage:
        if self.text is None and self.payload is None:
            raise ValueError("send `text` or `payload`")
        return self

    def inbound(self, session_id: str, attachments: tuple[Attachment, ...] = (), *,
                client_addr: str | None = None) -> InboundMessage:
        return make_inbound(session_id, self.id, text=self.text, payload=self.payload, locale=self.locale,
                            start_param=self.start_param, attachments=attachments, client_addr=client_addr)


class UploadFields(BaseModel):
    """The text fields that come with an uploaded image."""

    model_config = ConfigDict(extra="ignore")
    id: MessageId
    locale: Locale | None = None


class ResumeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["resume"]


class Frame(BaseModel):
    """A WebSocket frame is one of the two."""

    frame: ChatMessage | ResumeRequest = Field(discriminator="type")


def make_inbound(session_id: str, message_id: str, *, text: str | None = None, payload: str | None = None,
                 locale: str | None = None, start_param: str | None = None,
                 attachments: tuple[Attachment, ...] = (), client_addr: str | None = None) -> InboundMessage:
    """The neutral message for the engine: the session id is both the chat and the user."""
    extras: dict[str, Any] = {"start_param": start_param} if start_param else {}
    if client_addr is not None:
        extras["client_addr"] = client_addr  # the sender's address (bot/clientaddr.py), e.g. to count reporters
    return InboundMessage(channel=CHANNEL, chat_id=session_id, user_id=session_id, message_id=message_id,
                          text=text, payload=payload, locale=locale, attachments=attachments, extras=extras)


def parse_frame(data: Any) -> ChatMessage | ResumeRequest:
    """Validate a decoded frame; raises ValueError with a message fit for the client."""
    if not isinstance(data, dict):
        raise ValueError("a frame must be a JSON object")
    if data.get("type", "message") not in ("message", "resume"):
        raise ValueError("type: must be 'message' or 'resume'")
    try:
        return Frame.model_validate({"frame": {"type": "message", **data}}).frame
    except ValidationError as exc:
        raise ValueError(validation_message(exc)) from None


def validation_message(exc: ValidationError) -> str:
    """The first problem, named by field, e.g. ``id: String should match pattern ...``."""
    err = exc.errors()[0]
    # Drop pydantic's bookkeeping (our wrapper key, the union tag) so the path names the client's field.
    where = ".".join(str(p) for p in err["loc"] if p not in ("frame", "message", "resume")) or "body"
    return f"{where}: {err['msg']}"


def replies_frame(message_id: str, replies: list[OutboundMessage]) -> dict[str, Any]:
    return {"type": "replies", "id": message_id, "messages": [r.to_json() for r in replies]}


def error_frame(message: str, message_id: str | None = None, *, retry: bool = False) -> dict[str, Any]:
    """``retry``: the same frame may succeed later (a server fault), else the frame itself is wrong."""
    return {"type": "error", "id": message_id, "error": message, "retry": retry}
