"""``OutboundMessage`` → Bot API calls, as plain JSON-able dicts (they are queued in the database).

A call is ``{"method": "send", "chat_id", "text", "entities"?, "keyboard"?, "reply_keyboard"?,
"remove_keyboard"?}`` or ``{"method": "edit", "chat_id", "message_id", "text", "entities"?, "keyboard"?}``;
``keyboard`` is inline-keyboard rows of Bot API button dicts, ``entities`` Bot API message entities (UTF-16
offsets): a tip's reference and the emergency numbers are ``code``, which Telegram copies with one tap.
:mod:`.delivery` turns them into python-telegram-bot calls.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.channels.telegram.texts import SHARE_CONTACT_BUTTON
from handlers.messages import Button, OutboundMessage

MAX_TEXT = 4096  # Telegram's limit, counted in UTF-16 code units
SHORT_LABEL = 16  # two buttons this short share a row

Call = dict[str, Any]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The longest prefix (in code points) of ``text`` that fits ``limit`` UTF-16 units."""
    lo, hi = 0, min(len(text), limit)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if utf16_len(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


_SENTENCE_END = re.compile(r"[.!?…:;](?:[)\]\"”’»]*)\s")


def _break_at(window: str) -> int:
    """Where to cut ``window``: a paragraph, a line, a sentence, a word — whichever is latest past half."""
    floor = len(window) // 2
    for sep in ("\n\n", "\n"):
        pos = window.rfind(sep)
        if pos > floor:
            return pos + len(sep)
    ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if ends and ends[-1] > floor:
        return ends[-1]
    pos = window.rfind(" ")
    return pos + 1 if pos > floor else len(window)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split ``text`` into pieces Telegram accepts, preferring paragraph and sentence boundaries."""
    pieces: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        window = rest[: _fit(rest, limit)]
        cut = _break_at(window)
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip()
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def inert_link(link: str) -> str:
    """A link shown as text no client turns into a tap target: ``hxxps://example[.]com/path``."""
    scheme, sep, rest = link.partition("://")
    if not sep:
        scheme, rest = "", link
    host, slash, path = rest.partition("/")
    shown = host.replace(".", "[.]") + slash + path
    return (re.sub(r"^http", "hxxp", scheme, flags=re.IGNORECASE) + "://" + shown) if sep else shown


# Copied with one tap when sent as code: the tip's reference and the numbers a parent in trouble calls.
_COPYABLE = re.compile(r"\b[A-Z]{1,8}-\d{4}-\d{1,12}\b|(?<![\d.,])(?:113|111|156|5656)(?![\d]|[.,]\d)")
DONE_MARK = "➡️ "  # "Xong" ends a several-answers question: it must not look like one more option


def copyable(text: str) -> list[dict[str, Any]]:
    """``code`` entities for the references and emergency numbers in ``text`` (offsets in UTF-16 units)."""
    return [{"type": "code", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group())}
            for m in _COPYABLE.finditer(text)]


def inline_keyboard(buttons: Sequence[Button]) -> list[list[dict[str, Any]]]:
    """Buttons as inline-keyboard rows: one per row, or two when both labels are short; "Xong" on its own row."""
    rows: list[list[dict[str, Any]]] = []
    for b in buttons:
        if b.id == "!done":
            rows.append([{"text": DONE_MARK + b.label, "callback_data": b.id}])
            continue
        cell = {"text": b.label, "callback_data": b.id}
        last = rows[-1] if rows else None
        if (last is not None and len(last) == 1 and last[0]["callback_data"] != "!done"
                and len(b.label) <= SHORT_LABEL and len(last[0]["text"]) <= SHORT_LABEL):
            last.append(cell)
        else:
            rows.append([cell])
    return rows


def _text_of(m: OutboundMessage) -> str:
    if not m.links:
        return m.text
    return m.text + "\n" + "\n".join(f"🔗 {inert_link(link)}" for link in m.links)


def _has_markup(m: OutboundMessage) -> bool:
    return bool(m.buttons) or m.request_contact


def _piece(chat_id: int | str, text: str) -> Call:
    call: Call = {"method": "send", "chat_id": chat_id, "text": text}
    entities = copyable(text)
    if entities:
        call["entities"] = entities
    return call


def _send(chat_id: int | str, text: str, m: OutboundMessage | None, *, keep_reply_keyboard: bool) -> list[Call]:
    calls: list[Call] = [_piece(chat_id, piece) for piece in split_text(text)]
    last = calls[-1]
    if m is not None and m.request_contact:
        # The contact button only exists on a reply keyboard; the step's other buttons ("Bỏ qua") go there
        # too as text buttons, which the engine understands as typed words.
        last["reply_keyboard"] = {"contact": SHARE_CONTACT_BUTTON, "buttons": [b.label for b in m.buttons]}
    elif m is not None and m.buttons:
        last["keyboard"] = inline_keyboard(m.buttons)
    elif not keep_reply_keyboard:
        # A plain message takes down a "share my number" keyboard left open after the parent typed instead.
        last["remove_keyboard"] = True
    return calls


def render(replies: Sequence[OutboundMessage], chat_id: int | str, *, pressed_message_id: int | None = None,
           pressed_text: str | None = None) -> list[Call]:
    """The calls that show ``replies`` in the chat, in order.

    Consecutive plain messages are joined with the next one (fewer messages: each costs a second of the
    per-chat flood budget); urgent advice always stands alone. A press on a multi-select prompt that only
    re-renders that same prompt (new ticks) edits the pressed message's buttons in place.
    """
    only = replies[0] if len(replies) == 1 else None
    if (only is not None and only.multi_select and only.buttons and pressed_message_id is not None
            and pressed_text is not None and pressed_text.endswith(only.text)):
        return [{"method": "edit", "chat_id": chat_id, "message_id": pressed_message_id, "text": pressed_text,
                 "keyboard": inline_keyboard(only.buttons)}]
    calls: list[Call] = []
    group: list[str] = []
    for i, m in enumerate(replies):
        contact_later = any(r.request_contact for r in replies[i:])
        text = _text_of(m)
        if m.urgent:
            if group:
                calls += _send(chat_id, "\n\n".join(group), None, keep_reply_keyboard=contact_later)
                group = []
            calls += _send(chat_id, text, m, keep_reply_keyboard=contact_later)
            continue
        if group and utf16_len("\n\n".join([*group, text])) > MAX_TEXT:
            calls += _send(chat_id, "\n\n".join(group), None, keep_reply_keyboard=contact_later)
            group = []
        group.append(text)
        if _has_markup(m):
            calls += _send(chat_id, "\n\n".join(group), m, keep_reply_keyboard=contact_later)
            group = []
    if group:
        calls += _send(chat_id, "\n\n".join(group), None, keep_reply_keyboard=False)
    return calls


def notice(chat_id: int | str, text: str, keyboard: list[list[dict[str, Any]]] | None = None) -> list[Call]:
    calls: list[Call] = [_piece(chat_id, piece) for piece in split_text(text)]
    if keyboard:
        calls[-1]["keyboard"] = keyboard
    return calls
