"""``OutboundMessage`` → Zalo Bot Platform calls, as JSON-able dicts (they are queued), and each call's request.

The platform has no buttons: every choice is a numbered list the parent answers with the number, so the Zalo
OA renderer is used with no buttons allowed (its calls: ``{"kind": "text"|"numbered"|"image", "to", "text",
"buttons": [[id, label], …], "url"}``; links inert, texts cut at 2000 characters, a turn's plain messages
joined). A call becomes ``sendMessage {chat_id, text}`` or ``sendPhoto {chat_id, photo, caption}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.channels.zalo import render as oa
from handlers.messages import OutboundMessage

MAX_TEXT = oa.MAX_TEXT  # sendMessage: 1 to 2000 characters
Call = oa.Call


def render(replies: Sequence[OutboundMessage], to: str) -> list[Call]:
    """The calls that show ``replies`` in chat ``to``, in order (options as numbered text)."""
    return oa.render(replies, to, max_buttons=0)


def notice(to: str, text: str) -> list[Call]:
    return oa.notice(to, text)


def request_of(call: Call) -> tuple[str, dict[str, Any]]:
    """The Bot API method and its parameters for one call."""
    if call["kind"] == "image":
        params = {"chat_id": str(call["to"]), "photo": call["url"]}
        if call.get("text"):
            params["caption"] = str(call["text"])[:MAX_TEXT]
        return "sendPhoto", params
    return "sendMessage", {"chat_id": str(call["to"]), "text": call["text"]}
