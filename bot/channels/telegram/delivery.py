"""Make one queued call with python-telegram-bot and say what to do next (done, wait, retry, give up)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.channels.telegram.api import retry_after_seconds
from bot.channels.telegram.render import Call

log = logging.getLogger(__name__)

# Every message may quote a link a parent pasted (a scam site): never let Telegram fetch a preview of it.
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Literal["ok", "flood", "retry", "dead", "rewrite"]
    error: str = ""
    seconds: float = 0.0  # flood: Telegram's retry_after
    call: Call | None = None  # rewrite: send this call instead, now


def inline_markup(rows: list[list[dict[str, Any]]] | None) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton.de_json(cell) for cell in row] for row in rows])


def markup_of(call: Call) -> Markup | None:
    if call.get("keyboard"):
        return inline_markup(call["keyboard"])
    reply = call.get("reply_keyboard")
    if reply:
        rows = [[KeyboardButton(reply["contact"], request_contact=True)]]
        rows += [[KeyboardButton(label)] for label in reply.get("buttons", ())]
        return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)
    if call.get("remove_keyboard"):
        return ReplyKeyboardRemove()
    return None


def entities_of(call: Call) -> list[MessageEntity] | None:
    """The call's ``code`` entities (references and emergency numbers a parent copies with one tap)."""
    found = call.get("entities") or ()
    return [MessageEntity(**e) for e in found] or None


async def execute(bot: Bot, call: Call) -> None:
    if call["method"] == "edit":
        await bot.edit_message_text(
            call["text"], chat_id=call["chat_id"], message_id=call["message_id"],
            reply_markup=inline_markup(call.get("keyboard")), link_preview_options=NO_PREVIEW,
            entities=entities_of(call),
        )
        return
    await bot.send_message(call["chat_id"], call["text"], reply_markup=markup_of(call),
                           link_preview_options=NO_PREVIEW, entities=entities_of(call))


async def deliver(bot: Bot, call: Call) -> Outcome:
    """Make ``call``. A 429 is reported (never swallowed): the caller pauses and repeats the same call."""
    try:
        await execute(bot, call)
    except RetryAfter as exc:
        return Outcome("flood", str(exc), seconds=retry_after_seconds(exc))
    except ChatMigrated as exc:  # a group became a supergroup: same conversation, new id
        return Outcome("rewrite", str(exc), call={**call, "chat_id": exc.new_chat_id})
    except BadRequest as exc:  # (a subclass of NetworkError: caught first)
        message = str(exc)
        if call["method"] == "edit":
            if "not modified" in message.lower():
                return Outcome("ok")  # a double press: the message already shows this
            # The message is gone or too old to edit: say it as a new message instead.
            fresh = {k: v for k, v in call.items() if k != "message_id"}
            return Outcome("rewrite", message, call={**fresh, "method": "send"})
        return Outcome("dead", message)
    except Forbidden as exc:  # the parent blocked the bot, or it was removed from the group
        return Outcome("dead", str(exc))
    except InvalidToken as exc:  # misconfiguration: keep the message until the token is fixed
        log.error("Telegram rejected the bot token: %s", exc)
        return Outcome("retry", str(exc))
    except TelegramError as exc:  # network trouble, 5xx: the message is kept and tried again
        return Outcome("retry", str(exc))
    return Outcome("ok")
