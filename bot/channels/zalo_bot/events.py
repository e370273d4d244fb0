"""Zalo Bot Platform webhook updates → what the adapter does with them (no I/O here).

An update is ``{"ok": true, "result": {"event_name", "message": {"message_id", "date" (ms), "chat": {"id",
"chat_type": PRIVATE|GROUP}, "from": {"id", "display_name", "is_bot"}, "text", "photo", "caption",
"sticker"}}}``; some senders post the ``result`` object bare, so both are read. Events: ``message.text.received``,
``message.image.received``, ``message.sticker.received``, ``message.voice.received`` and
``message.unsupported.received`` — the last is what Zalo sends instead of the content when the sender is
someone whose messages it does not pass on (children, for instance). There are no buttons on this platform
and so no button presses: options are numbered and the parent types the number.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TEXT, IMAGE = "message.text.received", "message.image.received"
NOTICE_EVENTS = {"message.sticker.received": "sticker", "message.voice.received": "voice",
                 "message.unsupported.received": "unsupported"}
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True, slots=True)
class ToEngine:
    chat_id: str
    text: str | None = None
    photo_url: str | None = None
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """Something we cannot use; answered with the notice ``key`` (texts.NOTICES)."""

    chat_id: str
    key: str


@dataclass(frozen=True, slots=True)
class Ignore:
    reason: str


Parsed = ToEngine | Notice | Ignore


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any, limit: int = 4000) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text[:limit] if text else None


def update_of(body: Any) -> dict[str, Any]:
    """The update itself, from the envelope Zalo posts (or a bare one)."""
    raw = _obj(body)
    result = raw.get("result")
    return result if isinstance(result, dict) and "event_name" in result else raw


def chat_id_of(update: dict[str, Any]) -> str | None:
    chat = _str(_obj(_obj(update.get("message")).get("chat")).get("id"), 64)
    return chat if chat is not None and _ID.match(chat) else None


def event_id_of(update: dict[str, Any], body: bytes) -> str:
    """The dedupe key: the message id Zalo gave it, else a digest of the body (a re-sent update is the same)."""
    message_id = _str(_obj(update.get("message")).get("message_id"), 64)
    if message_id is not None and _ID.match(message_id):
        return f"msg:{message_id}"
    return "body:" + hashlib.sha256(body).hexdigest()


def _when(value: Any) -> datetime | None:
    try:
        ms = int(value)
    except (TypeError, ValueError):
        return None
    # Milliseconds in Zalo's samples; a value in seconds is taken as such rather than as 1970.
    seconds = ms / 1000 if ms > 10**11 else ms
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def classify(update: dict[str, Any]) -> Parsed:
    """What to do with one update (already unwrapped by :func:`update_of`)."""
    name = _str(update.get("event_name"), 64) or ""
    message = _obj(update.get("message"))
    chat = _obj(message.get("chat"))
    chat_id = chat_id_of(update)
    if chat_id is None:
        return Ignore(f"{name or 'update'} without a usable chat id")
    if _obj(message.get("from")).get("is_bot") is True:
        return Ignore("sent by a bot")
    if str(chat.get("chat_type", "PRIVATE")).upper() != "PRIVATE":
        # A report names the one parent who makes it; in a group the next message may be someone else's.
        return Ignore("group chat")
    if name in NOTICE_EVENTS:
        return Notice(chat_id, NOTICE_EVENTS[name])
    received = _when(message.get("date"))
    if name == TEXT:
        text = _str(message.get("text"))
        return ToEngine(chat_id, text=text, received_at=received) if text else Ignore("empty text")
    if name == IMAGE:
        url = _str(message.get("photo") or message.get("photo_url"), 2048)
        if url is None or not url.lower().startswith(("https://", "http://")):
            return Notice(chat_id, "other")
        return ToEngine(chat_id, text=_str(message.get("caption")), photo_url=url, received_at=received)
    return Ignore(f"event {name or '(none)'} not handled")
