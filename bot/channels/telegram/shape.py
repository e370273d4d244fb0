"""Is a webhook body an update we can store? Telegram's own updates always are; anything else must not 500.

With a valid secret the sender is Telegram (or whoever holds the secret), but the body still decides nothing
about our stability: an ``update_id`` past BIGINT, ``"message": "x"``, ``"chat": 5`` or a list where an
object belongs used to raise. Storable updates are stored and left to the processor, which sets aside what it
cannot parse (a log line, no retry); the rest are answered 200 with a log line, so Telegram stops resending.
"""

from __future__ import annotations

from typing import Any

MAX_UPDATE_ID = 2**63 - 1  # the column is a signed BIGINT
_CHAT_CARRIERS = ("message", "edited_message", "channel_post")


def update_id_problem(raw: dict[str, Any]) -> str | None:
    update_id = raw.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return f"update_id is {type(update_id).__name__}, not an integer"
    if not 0 <= update_id <= MAX_UPDATE_ID:
        return "update_id out of range"
    return None


def _chat_id(container: Any) -> str | None:
    chat = container.get("chat") if isinstance(container, dict) else None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    return str(chat_id) if isinstance(chat_id, (int, str)) and not isinstance(chat_id, bool) else None


def safe_chat_id(raw: dict[str, Any]) -> str:
    """The chat an update belongs to, or "" when its shape does not say (never raises)."""
    for key in _CHAT_CARRIERS:
        found = _chat_id(raw.get(key))
        if found is not None:
            return found
    query = raw.get("callback_query")
    if isinstance(query, dict):
        found = _chat_id(query.get("message"))
        if found is not None:
            return found
        sender = query.get("from")
        sender_id = sender.get("id") if isinstance(sender, dict) else None
        if isinstance(sender_id, (int, str)) and not isinstance(sender_id, bool):
            return str(sender_id)
    return ""


def shape_problem(raw: dict[str, Any]) -> str | None:
    """What is wrong with the envelope (for the log line), or None when it looks like a Telegram update."""
    for key in (*_CHAT_CARRIERS, "callback_query"):
        if key in raw and not isinstance(raw[key], dict):
            return f"{key} is {type(raw[key]).__name__}, not an object"
    for key in _CHAT_CARRIERS:
        carrier = raw.get(key)
        if isinstance(carrier, dict) and "chat" in carrier:
            if not isinstance(carrier["chat"], dict):
                return f"{key}.chat is not an object"
            if "id" in carrier["chat"] and _chat_id(carrier) is None:
                return f"{key}.chat.id is not a number"
    query = raw.get("callback_query")
    if isinstance(query, dict):
        for key in ("message", "from"):
            if key in query and not isinstance(query[key], dict):
                return f"callback_query.{key} is not an object"
    return None
