"""Zalo OA webhook events → what the adapter does with them (no I/O here).

Event shapes (``event_name``, ``sender.id`` / ``recipient.id``, ``message.msg_id``, ``message.text``,
``message.attachments[].payload.url``, ``follower.id`` on follow/unfollow, ``timestamp`` in milliseconds)
are those of Zalo's webhook documentation (developers.zalo.me/docs/official-account/webhook). A button we
sent is an ``oa.query.hide`` action: pressing it makes Zalo send a ``user_send_text`` event whose text is
the button's payload, hidden from the chat — we mark ours with :data:`BUTTON_PREFIX`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

BUTTON_PREFIX = "#hl:"
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_FILE_TYPES = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
               "gif": "image/gif", "webp": "image/webp"}
NOTICE_EVENTS = {
    "user_send_sticker": "sticker", "user_send_gif": "sticker", "user_send_location": "location",
    "user_send_audio": "voice", "user_send_video": "video", "user_send_business_card": "other",
}
MESSAGE_EVENTS = frozenset({"user_send_text", "user_send_link", "user_send_image", "user_send_file",
                            *NOTICE_EVENTS})


@dataclass(frozen=True, slots=True)
class MediaRef:
    """An image or file to download before the engine sees the message."""

    url: str
    kind: str  # image | file
    name: str | None = None
    size: int | None = None
    mime_type: str | None = None  # what the event claims (storage.files checks the bytes anyway)


@dataclass(frozen=True, slots=True)
class ToEngine:
    user_id: str
    text: str | None = None
    payload: str | None = None
    media: tuple[MediaRef, ...] = ()
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """Something we cannot use; answered with the notice ``key`` from texts.NOTICES."""

    user_id: str
    key: str


@dataclass(frozen=True, slots=True)
class Follow:
    user_id: str
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Unfollow:
    user_id: str


@dataclass(frozen=True, slots=True)
class Ignore:
    reason: str


Parsed = ToEngine | Notice | Follow | Unfollow | Ignore


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any, limit: int = 4000) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, str)):
        text = str(value)
        return text[:limit] if text else None
    return None


def user_id_of(event: dict[str, Any]) -> str | None:
    """The parent's Zalo user id (scoped to our OA): the sender of a message, the follower of a follow."""
    name = event.get("event_name")
    if name in ("follow", "unfollow"):
        candidate = _str(_obj(event.get("follower")).get("id"))
    else:
        candidate = _str(_obj(event.get("sender")).get("id"))
    return candidate if candidate is not None and _ID.match(candidate) else None


def received_at(event: dict[str, Any]) -> datetime | None:
    raw = event.get("timestamp")
    try:
        millis = int(raw) if isinstance(raw, (int, str)) and not isinstance(raw, bool) else None
    except ValueError:
        return None
    if millis is None or not 0 < millis < 10**14:
        return None
    return datetime.fromtimestamp(millis / 1000, UTC)


def event_id_of(event: dict[str, Any]) -> str | None:
    """The dedupe key: Zalo's message id, or (follow/unfollow, which have none) the event's name, user, time."""
    name = _str(event.get("event_name"), 64)
    msg_id = _str(_obj(event.get("message")).get("msg_id"), 128)
    if msg_id:
        return f"msg:{msg_id}"
    user, stamp = user_id_of(event), _str(event.get("timestamp"), 20)
    if name in ("follow", "unfollow") and user and stamp:
        return f"{name}:{user}:{stamp}"
    return None


def _attachments(message: dict[str, Any]) -> list[dict[str, Any]]:
    items = message.get("attachments")
    return [_obj(a) for a in items if isinstance(a, dict)] if isinstance(items, list) else []


def _size(value: Any) -> int | None:
    text = _str(value, 20)
    return int(text) if text is not None and text.isdigit() else None


def _media(message: dict[str, Any], kind: str) -> tuple[MediaRef, ...]:
    refs: list[MediaRef] = []
    for item in _attachments(message):
        payload = _obj(item.get("payload"))
        url = _str(payload.get("url"), 2000)
        if not url or not url.lower().startswith(("https://", "http://")):
            continue
        if kind == "file":
            name = _str(payload.get("name"), 255)
            claimed = (_str(payload.get("type"), 16) or (name or "").rsplit(".", 1)[-1]).lower()
            refs.append(MediaRef(url, "file", name, _size(payload.get("size")), _FILE_TYPES.get(claimed, claimed)))
        else:
            refs.append(MediaRef(url, "image"))
    return tuple(refs[:10])


def _link_text(message: dict[str, Any]) -> str | None:
    """A shared link is what the parent reports: keep the URL in the text the engine reads."""
    text = _str(message.get("text")) or ""
    for item in _attachments(message):
        url = _str(_obj(item.get("payload")).get("url"), 2000)
        if url and url not in text:
            text = f"{text} {url}".strip()
    return text or None


def classify(event: dict[str, Any]) -> Parsed:
    """What to do with one webhook event (``event`` is the parsed JSON body)."""
    name = _str(event.get("event_name"), 64) or ""
    user = user_id_of(event)
    if name == "unfollow":
        return Unfollow(user) if user else Ignore("unfollow without a follower id")
    if name == "follow":
        return Follow(user, received_at(event)) if user else Ignore("follow without a follower id")
    if name not in MESSAGE_EVENTS:
        return Ignore(f"event {name or '(none)'} is not one we act on")
    if user is None:
        return Ignore(f"{name} without a usable sender id")
    if name in NOTICE_EVENTS:
        return Notice(user, NOTICE_EVENTS[name])
    message = _obj(event.get("message"))
    when = received_at(event)
    if name == "user_send_text":
        text = _str(message.get("text"))
        if text is not None and text.startswith(BUTTON_PREFIX) and len(text) > len(BUTTON_PREFIX):
            return ToEngine(user, payload=text[len(BUTTON_PREFIX):][:64], received_at=when)
        return ToEngine(user, text=text, received_at=when) if text else Ignore("empty text")
    if name == "user_send_link":
        text = _link_text(message)
        return ToEngine(user, text=text, received_at=when) if text else Ignore("link without a URL")
    kind = "file" if name == "user_send_file" else "image"
    media = _media(message, kind)
    caption = _str(message.get("text"))
    if not media and not caption:
        return Notice(user, "other")
    return ToEngine(user, text=caption, media=media, received_at=when)
