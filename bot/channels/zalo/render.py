"""``OutboundMessage`` → Zalo customer-service ("tư vấn") message calls, as JSON-able dicts (they are queued).

A call is ``{"kind": "text"|"buttons"|"numbered"|"image", "to": user id, "text": …}`` plus ``buttons``
(``[[id, label], …]``) for buttons and numbered text, ``url`` for an image. :func:`body_of` makes the request
body of ``POST /v3.0/oa/message/cs``:

- text: ``{"recipient": {"user_id"}, "message": {"text"}}``;
- buttons: the text with ``attachment: {type: template, payload: {buttons: [{title, type: oa.query.hide,
  payload}]}}`` — a press comes back as a hidden text event carrying the payload (see :mod:`.events`);
- image: ``attachment: {type: template, payload: {template_type: media, elements: [{media_type: image,
  url}]}}``.

Every reply costs the OA a message from its quota, so a turn's plain messages are joined with the next one
(urgent advice still stands alone). A step with more options than Zalo shows as buttons, or a buttons
message Zalo refuses, becomes numbered text the parent answers with a number.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.channels.zalo.events import BUTTON_PREFIX
from bot.channels.zalo.texts import NUMBERED_HINT
from handlers.messages import Button, OutboundMessage

MAX_TEXT = 2000  # characters in one Zalo text message
MAX_TITLE = 100  # characters of a button's title

Call = dict[str, Any]


def inert_link(link: str) -> str:
    """A link shown as text no client turns into a tap target: ``hxxps://example[.]com/path``."""
    scheme, sep, rest = link.partition("://")
    if not sep:
        scheme, rest = "", link
    host, slash, path = rest.partition("/")
    shown = host.replace(".", "[.]") + slash + path
    return (re.sub(r"^http", "hxxp", scheme, flags=re.IGNORECASE) + "://" + shown) if sep else shown


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at a paragraph, a line or a word where one is near."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        cut = cut if cut > limit // 2 else limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def _text_of(m: OutboundMessage) -> str:
    if not m.links:
        return m.text
    return m.text + "\n" + "\n".join(f"🔗 {inert_link(link)}" for link in m.links)


def numbered(text: str, buttons: Sequence[tuple[str, str]]) -> str:
    lines = [text, ""] + [f"{i}. {label}" for i, (_, label) in enumerate(buttons, 1)] + ["", NUMBERED_HINT]
    return "\n".join(lines)


def _with_buttons(to: str, text: str, buttons: Sequence[Button], max_buttons: int) -> list[Call]:
    pairs = [[b.id, b.label] for b in buttons]
    if len(buttons) > max_buttons:
        body = numbered(text, [(i, label) for i, label in pairs])
        *head, last = split_text(body)
        return [*({"kind": "text", "to": to, "text": p} for p in head),
                {"kind": "numbered", "to": to, "text": last, "buttons": pairs}]
    *head, last = split_text(text)
    return [*({"kind": "text", "to": to, "text": p} for p in head),
            {"kind": "buttons", "to": to, "text": last, "buttons": pairs}]


def _plain(to: str, text: str) -> list[Call]:
    return [{"kind": "text", "to": to, "text": piece} for piece in split_text(text)]


def render(replies: Sequence[OutboundMessage], to: str, *, max_buttons: int = 5) -> list[Call]:
    """The calls that show ``replies`` to Zalo user ``to``, in order, in as few messages as fit."""
    calls: list[Call] = []
    group: list[str] = []

    def flush() -> None:
        if group:
            calls.extend(_plain(to, "\n\n".join(group)))
            group.clear()

    for m in replies:
        text = _text_of(m)
        if m.urgent or (group and len("\n\n".join([*group, text])) > MAX_TEXT):
            flush()
        group.append(text)
        if m.buttons:
            calls.extend(_with_buttons(to, "\n\n".join(group), m.buttons, max_buttons))
            group.clear()
        elif m.urgent:
            flush()
    flush()
    return calls


def as_numbered(call: Call) -> Call:
    """A buttons call as numbered text (Zalo refused the buttons, or the platform variant lacks them)."""
    return {"kind": "numbered", "to": call["to"], "buttons": call["buttons"],
            "text": numbered(call["text"], [(i, label) for i, label in call["buttons"]])[:MAX_TEXT]}


def body_of(call: Call) -> dict[str, Any]:
    """The JSON body of ``POST /v3.0/oa/message/cs`` for one call."""
    recipient = {"user_id": str(call["to"])}
    kind = call["kind"]
    if kind == "buttons":
        buttons = [{"title": label[:MAX_TITLE], "type": "oa.query.hide", "payload": f"{BUTTON_PREFIX}{bid}"}
                   for bid, label in call["buttons"]]
        return {"recipient": recipient, "message": {
            "text": call["text"], "attachment": {"type": "template", "payload": {"buttons": buttons}}}}
    if kind == "image":
        element = {"media_type": "image", "url": call["url"]}
        message: dict[str, Any] = {"attachment": {"type": "template", "payload": {
            "template_type": "media", "elements": [element]}}}
        if call.get("text"):
            message["text"] = call["text"]
        return {"recipient": recipient, "message": message}
    return {"recipient": recipient, "message": {"text": call["text"]}}


def notice(to: str, text: str) -> list[Call]:
    return _plain(to, text)
