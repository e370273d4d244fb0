"""Slot validators: turn what a parent typed into a typed value, or say kindly what is wrong.

Each returns a :class:`Parsed` (value plus any extra slots learned on the way) or raises
:class:`Invalid` with a message key; they never touch the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers.checks.phones import parse_phone as read_phone
from handlers.checks.urls import find_urls as find_links
from handlers.when import NoTime, read_when
from nlu.entities import extract_entities
from nlu.money import find_money
from nlu.negation import corrected
from nlu.normalize import fold, normalize
from nlu.textview import FoldedText


class Invalid(Exception):
    """The input does not fit the slot; ``key`` names the message to show (see handlers/texts.py)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, slots=True)
class Parsed:
    value: Any
    extra: dict[str, Any] = field(default_factory=dict)


def parse_phone(text: str) -> Parsed:
    """A Vietnamese or international number in any common written form → E.164, alone or in a sentence.

    "0912 345 678", "+84 912-345-678", "(0290) 383 1234", "số 0912.345.678 ạ", "sđt của nó là 0912345678": a
    number inside a sentence is found as the entity extractor finds it (every notation phonenumbers reads);
    "0912…, à nhầm, 0912…9" takes the corrected one. A bare number that parses but is not valid is still kept —
    it is what the parent saw, and the check reports it as ``phone_invalid``.
    """
    info = read_phone(text)
    if info.e164 is not None and info.valid:
        return Parsed(info.e164)
    found = [e.value for e in extract_entities(text) if e.entity == "phone_number"]
    if found:
        return Parsed(found[-1] if corrected(normalize(text)) else found[0])
    digits = re.sub(r"\D", "", text)
    if info.e164 is None or (digits.startswith("0") and len(digits) < 9):
        raise Invalid("invalid_phone")  # "091234" is a number cut short: ask again rather than keep it
    return Parsed(info.e164)


def find_urls(text: str) -> list[str]:
    """Links in free text, found as the check engine finds them (real public suffixes only)."""
    return [link for _start, _end, link in find_links(text)]


# Words that only point at a link the parent pastes (normalised).
_WRAPPER_WORDS = frozenset({
    "link", "duong", "dan", "day", "ne", "nay", "cai", "ho", "no", "nguoi", "ta", "gui", "la", "cua", "trang",
    "web", "website", "kiem", "tra", "giup", "toi", "minh", "em", "nhe", "nha", "a", "o", "check", "this", "here",
    "is", "the", "it", "they", "sent", "url", ":", ",", ".", "-", "voi", "xem", "thu", "co", "phai", "khong",
    "that", "ko",
})


def parse_url(text: str) -> Parsed:
    """The first link in the text. A whole forwarded message is kept too, as ``message_text``."""
    urls = find_urls(text)
    if not urls:
        raise Invalid("invalid_url")
    extra: dict[str, Any] = {}
    rest = text
    for link in urls:
        rest = rest.replace(link, " ")
    # "link đây: x.com", "họ gửi cái này x.com" only wrap the link; a pasted message around it ("Tải app tại
    # x.com ngay") is kept as the message too.
    if set(re.findall(r"[a-z0-9]+", normalize(rest))) - _WRAPPER_WORDS:
        extra["message_text"] = text.strip()
    if len(urls) > 1:
        extra["other_links"] = urls[1:]
    return Parsed(urls[0], extra)


_TOTAL = re.compile(r"\b(?:tong cong|tong|tat ca|ca thay|het thay|total)\b")


def parse_money(text: str) -> Parsed:
    """Amounts as typed in Viet Nam: "500k", "20 triệu", "1tr5", "2.000.000đ", "năm triệu", "ba củ" → đồng."""
    folded = fold(text)
    found = list(find_money(folded))
    if found:
        # "hai lần, mỗi lần 1 triệu, tổng 2 triệu": the total; "5 triệu, à không 7 triệu": the corrected one.
        total = max((m.end() for m in _TOTAL.finditer(folded)), default=None)
        after = [value for start, _end, value in found if total is not None and start >= total]
        if after:
            return Parsed(after[0])
        amounts = [value for _start, _end, value in found]
        return Parsed(amounts[-1] if corrected(normalize(text)) else amounts[0])
    # Asked "how much?", a bare number is an amount even without a unit ("100000").
    digits = text.strip().replace(" ", "")
    if digits.isascii() and digits.isdigit() and 0 < int(digits) < 10**13:
        return Parsed(int(digits))
    raise Invalid("invalid_money")


def parse_datetime(text: str, now: datetime | None = None) -> Parsed:
    """When it happened (see :mod:`handlers.when`) → ISO 8601 (+07:00)."""
    try:
        return Parsed(read_when(text, now).isoformat())
    except NoTime as exc:
        raise Invalid("future_datetime" if exc.future else "invalid_datetime") from None


# "xã Tân Lộc", "phường 5", "thị trấn Sông Đốc", "đặc khu Phú Quốc" (folded; the name as written is kept).
_PLACE = re.compile(r"\b(?:xa|phuong|thi tran|thi xa|dac khu|tt|p)\.?\s+(?:\d{1,2}\b|[a-z]+(?:\s+[a-z]+){0,3})")
_PLACE_END = frozenset({"a", "nhe", "nha", "day", "do", "ah", "cua", "tinh", "huyen", "quan", "o", "va", "gan",
                        "ben", "khu", "ap", "tp"})
_NOT_A_NAME = re.compile(r"\d{3,}|\b(?:mat|chuyen|lua|otp|tien|goi|nhan|doc|dua|bi|toi|minh|em|khong|chua)\b")


def parse_place(text: str) -> Parsed:
    """The commune or ward, found inside a sentence ("tôi ở xã Tân Lộc") or typed alone ("Tân Thành")."""
    view = FoldedText(text)
    m = _PLACE.search(view.folded)
    if m:
        words = m.group().split()
        keep = 2 if words[0] in ("thi", "dac") else 1  # "thị trấn", "thị xã", "đặc khu" are two words
        for w in words[keep:]:
            if w in _PLACE_END:
                break
            keep += 1
        end = m.start() + len(" ".join(words[:keep]))
        start, stop = view.span(m.start(), end)
        return Parsed(text[start:stop].strip())
    cleaned = text.strip(" .!,")
    if 0 < len(cleaned.split()) <= 4 and not _NOT_A_NAME.search(normalize(cleaned)):
        return Parsed(cleaned)
    raise Invalid("invalid_place")


def parse_text(text: str, *, limit: int) -> Parsed:
    cleaned = text.strip()
    if not cleaned:
        raise Invalid("empty_text")
    return Parsed(cleaned[:limit])


def validate(slot_type: str, text: str, *, limit: int = 4000, now: datetime | None = None) -> Parsed:
    """Dispatch on the slot type named in the flow."""
    if slot_type == "phone":
        return parse_phone(text)
    if slot_type == "url":
        return parse_url(text)
    if slot_type == "money":
        return parse_money(text)
    if slot_type == "datetime":
        return parse_datetime(text, now)
    if slot_type == "place":
        return parse_place(text)
    return parse_text(text, limit=limit)
