"""Forwarded and pasted messages: the original sender and text, apart from the parent's own words.

- Telegram: the adapter puts the original sender in ``extras["forwarded_from"]``; the text is theirs.
- Zalo (and any adapter): ``extras["forwarded_text"]`` and ``extras["forwarded_from"]`` for a shared message,
  the parent's own words in the message text.
- A pasted SMS or chat: a sender line ("Từ: 0912…", "From: VNEDU", a bare number or brand name, "Tin nhắn
  chuyển tiếp từ …") with the message below it; anything typed above it is the parent's own words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers.checks.phones import find_phones

_LABELLED = re.compile(
    r"^\s*(?:từ|tu|from|người gửi|nguoi gui|sender|forwarded from|tin nhắn chuyển tiếp từ|chuyển tiếp từ"
    r"|tin nhan chuyen tiep tu|chuyen tiep tu)\s*[:：]?\s*(?P<who>\S.{0,60}?)\s*$",
    re.IGNORECASE,
)
_NUMBER_LINE = re.compile(r"^\s*(?P<who>\+?\d[\d .()-]{7,18}\d)\s*$")
_BRAND_LINE = re.compile(r"^\s*(?P<who>[A-Z0-9][A-Z0-9_.-]{2,10})\s*$")  # SMS brand names: VNEDU, BIDV, SMAS
_TIME_LINE = re.compile(r"^\s*(?:(?:hôm nay|hom nay|hôm qua|hom qua|today|yesterday|\w{2,4}),?\s*)?"
                        r"(?:\d{1,2}[:h]\d{2}(?:\s*[AP]M)?)?\s*(?:\d{1,2}/\d{1,2}(?:/\d{2,4})?)?\s*$", re.IGNORECASE)
MIN_BODY_WORDS = 6


@dataclass(frozen=True, slots=True)
class Forwarded:
    """``text``: the original message; ``sender``: who sent it (a number, a name), if known; ``own``: the
    parent's words around it."""

    text: str
    sender: str | None
    own: str

    @property
    def sender_phone(self) -> str | None:
        found = find_phones(self.sender or "")
        return found[0] if found else None


def split_pasted(text: str) -> Forwarded | None:
    """A pasted message with a sender line, or None when ``text`` does not look like one."""
    lines = text.splitlines()
    if len(lines) < 2:
        return None
    for i, line in enumerate(lines[:6]):  # the sender line comes near the top
        m = _LABELLED.match(line) or _NUMBER_LINE.match(line) or _BRAND_LINE.match(line)
        if m is None:
            continue
        body_lines = [ln for ln in lines[i + 1:] if ln.strip()]
        while body_lines and _TIME_LINE.match(body_lines[0]) and body_lines[0].strip():
            body_lines.pop(0)
        body = "\n".join(ln.strip() for ln in body_lines)
        if len(body.split()) < MIN_BODY_WORDS:
            return None
        own = "\n".join(ln.strip() for ln in lines[:i] if ln.strip())
        return Forwarded(text=body, sender=m.group("who").strip(), own=own)
    return None


def forwarded_of(text: str | None, extras: Mapping[str, Any]) -> Forwarded | None:
    """The forwarded message in an inbound message, from the channel's extras or a pasted sender line."""
    sender = extras.get("forwarded_from") if isinstance(extras.get("forwarded_from"), str) else None
    shared = extras.get("forwarded_text") if isinstance(extras.get("forwarded_text"), str) else None
    if shared and shared.strip():
        return Forwarded(text=shared.strip(), sender=sender, own=(text or "").strip())
    if sender and text and text.strip():
        return Forwarded(text=text.strip(), sender=sender, own="")
    return split_pasted(text) if text else None
