"""Raw Bot API updates → what the adapter should do with them (no I/O here).

``Update.de_json`` does the parsing; this module decides: hand the message to the engine (with files to
fetch), explain politely that we cannot use it (stickers, voice, group chats), act on an officer's tip-card
button, or ignore it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import (
    Chat,
    Message,
    MessageOrigin,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Update,
    User,
)

_START_PARAM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what Telegram allows in a t.me/bot?start= link


@dataclass(frozen=True, slots=True)
class FileRef:
    """A photo or document to fetch through getFile before the engine sees the message."""

    file_id: str
    kind: str  # photo | document
    size: int | None = None
    file_name: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True, slots=True)
class ToEngine:
    """A parent's message or button press, to become an ``InboundMessage``."""

    chat_id: int
    user_id: int
    text: str | None = None
    payload: str | None = None
    files: tuple[FileRef, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)
    received_at: datetime | None = None
    callback_id: str | None = None
    # The message whose button was pressed: a multi-select prompt is edited in place rather than repeated.
    pressed_message_id: int | None = None
    pressed_text: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """Something we cannot use; answer with the notice ``key`` from texts.NOTICES."""

    chat_id: int
    key: str
    callback_id: str | None = None


@dataclass(frozen=True, slots=True)
class TipPress:
    """A button on a tip card in the officers' group."""

    callback_id: str
    action: str  # ack | assign | open
    reference: str
    officer_id: str
    officer_name: str
    chat_id: int
    message_id: int | None
    card_text: str
    keyboard: list[list[dict[str, Any]]]
    authorised: bool


@dataclass(frozen=True, slots=True)
class Ignore:
    callback_id: str | None = None


Parsed = ToEngine | Notice | TipPress | Ignore


@dataclass(frozen=True, slots=True)
class ParseContext:
    officers_chat_id: str = ""
    officer_ids: frozenset[str] = frozenset()
    bot_username: str | None = None


def chat_id_of(raw: dict[str, Any]) -> str:
    """The chat an update belongs to, read from the raw JSON (cheap; used to order updates per chat)."""
    for key in ("message", "edited_message", "channel_post"):
        chat = (raw.get(key) or {}).get("chat") or {}
        if "id" in chat:
            return str(chat["id"])
    query = raw.get("callback_query") or {}
    chat = (query.get("message") or {}).get("chat") or {}
    if "id" in chat:
        return str(chat["id"])
    sender = query.get("from") or {}
    return str(sender["id"]) if "id" in sender else ""


def parse_update(raw: dict[str, Any], ctx: ParseContext) -> Parsed:
    update = Update.de_json(raw)
    if update.callback_query is not None:
        return _callback(update, ctx)
    if update.message is not None:
        return _message(update.message, ctx)
    return Ignore()


def _callback(update: Update, ctx: ParseContext) -> Parsed:
    query = update.callback_query
    assert query is not None
    user = query.from_user
    message = query.message
    chat_id = message.chat.id if message is not None else user.id
    accessible = message if isinstance(message, Message) else None
    data = query.data or ""
    if data.startswith("tip:"):
        _, action, reference = [*data.split(":", 2), "", ""][:3]
        authorised = bool(ctx.officers_chat_id) and str(chat_id) == ctx.officers_chat_id \
            and str(user.id) in ctx.officer_ids
        return TipPress(
            callback_id=query.id, action=action, reference=reference, officer_id=str(user.id),
            officer_name=_display_name(user), chat_id=chat_id,
            message_id=accessible.message_id if accessible else None,
            card_text=(accessible.text or "") if accessible else "",
            keyboard=_keyboard_of(accessible), authorised=authorised,
        )
    if not data or (message is not None and message.chat.type != Chat.PRIVATE):
        return Ignore(callback_id=query.id)
    return ToEngine(chat_id=chat_id, user_id=user.id, payload=data[:64], callback_id=query.id,
                    pressed_message_id=accessible.message_id if accessible else None,
                    pressed_text=accessible.text if accessible else None)


def _keyboard_of(message: Message | None) -> list[list[dict[str, Any]]]:
    if message is None or message.reply_markup is None:
        return []
    return [[button.to_dict() for button in row] for row in message.reply_markup.inline_keyboard]


def _message(m: Message, ctx: ParseContext) -> Parsed:
    user = m.from_user
    if user is None or user.is_bot:
        return Ignore()
    if m.chat.type != Chat.PRIVATE:
        return _group_message(m, ctx)
    kind = _unsupported_kind(m)
    if kind is not None:
        return Notice(chat_id=m.chat.id, key=kind)
    extras: dict[str, Any] = {}
    text = m.text if m.text is not None else m.caption
    if m.forward_origin is not None:
        extras["forwarded_from"] = _origin_name(m.forward_origin)
    elif text is not None and text.startswith("/"):
        text = _command(text, ctx, extras)
    if m.contact is not None:
        phone = m.contact.phone_number.strip()
        own = m.contact.user_id == user.id
        # The parent's own Telegram number comes in international form without "+"; a phonebook contact (say
        # the scammer's number) comes as it was saved and is taken as if typed.
        if own and phone.isdigit():
            phone = "+" + phone
        text = phone
        if own:
            extras["contact_phone"] = phone
    files = _files(m)
    if text is None and not files:
        return Notice(chat_id=m.chat.id, key="other")
    return ToEngine(chat_id=m.chat.id, user_id=user.id, text=text, files=files, extras=extras,
                    received_at=m.date)


def _group_message(m: Message, ctx: ParseContext) -> Parsed:
    if ctx.officers_chat_id and str(m.chat.id) == ctx.officers_chat_id:
        return Ignore()  # officers talk among themselves; the bot only posts cards there
    added = any(member.is_bot and member.username == ctx.bot_username for member in m.new_chat_members or ())
    # Bots in groups see commands and mentions (privacy mode): answer those and being added, nothing else,
    # so the bot never chatters in a group.
    addressed = bool(m.text and (m.text.startswith("/") or (ctx.bot_username and f"@{ctx.bot_username}" in m.text)))
    if added or addressed:
        return Notice(chat_id=m.chat.id, key="group")
    return Ignore()


def _unsupported_kind(m: Message) -> str | None:
    if m.sticker is not None:
        return "sticker"
    if m.voice is not None or m.audio is not None or m.video_note is not None:
        return "voice"
    if m.video is not None or m.animation is not None:
        return "video"
    if m.location is not None or m.venue is not None:
        return "location"
    return None


def _files(m: Message) -> tuple[FileRef, ...]:
    if m.photo:
        largest = max(m.photo, key=lambda p: p.width * p.height)
        return (FileRef(file_id=largest.file_id, kind="photo", size=largest.file_size),)
    if m.document is not None:
        d = m.document
        return (FileRef(file_id=d.file_id, kind="document", size=d.file_size, file_name=d.file_name,
                        mime_type=d.mime_type),)
    return ()


def _command(text: str, ctx: ParseContext, extras: dict[str, Any]) -> str:
    """``/start@HotlineBot CODE`` → ``/start`` with ``start_param`` CODE; other commands lose the @name."""
    head, _, rest = text.partition(" ")
    name, _, target = head.partition("@")
    if target and ctx.bot_username and target.lower() != ctx.bot_username.lower():
        return text  # addressed to another bot
    if name == "/start":
        param = rest.strip()
        if _START_PARAM.match(param):
            extras["start_param"] = param
        return name
    return f"{name} {rest}".strip() if rest else name


def _display_name(user: User) -> str:
    return user.full_name + (f" (@{user.username})" if user.username else "")


def _origin_name(origin: MessageOrigin) -> str:
    if isinstance(origin, MessageOriginUser):
        return _display_name(origin.sender_user)
    if isinstance(origin, MessageOriginHiddenUser):
        return origin.sender_user_name
    if isinstance(origin, MessageOriginChat):
        name = origin.sender_chat.title or origin.sender_chat.full_name or ""
        return f"{name} ({origin.author_signature})" if origin.author_signature else name
    if isinstance(origin, MessageOriginChannel):
        name = origin.chat.title or ""
        return f"{name} ({origin.author_signature})" if origin.author_signature else name
    return ""
