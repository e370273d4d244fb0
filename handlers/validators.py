"""Slot validators: turn what a parent typed into a typed value, or say kindly what is wrong.

Each returns a :class:`Parsed` (value plus any extra slots learned on the way) or raises
:class:`Invalid` with a message key; they never touch the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from handlers.checks.phones import parse_phone as read_phone
from handlers.checks.urls import find_urls as find_links
from nlu.money import find_money
from nlu.normalize import fold

VN_TZ = timezone(timedelta(hours=7), "ICT")  # Viet Nam has no daylight saving time


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
    """A Vietnamese or international number in any common written form → E.164.

    Parsing is the check engine's (one reading of numbers everywhere); a number that parses but is not
    valid is still kept — it is what the parent saw, and the check reports it as ``phone_invalid``.
    """
    info = read_phone(text)
    if info.e164 is None:
        raise Invalid("invalid_phone")
    return Parsed(info.e164)


def find_urls(text: str) -> list[str]:
    """Links in free text, found as the check engine finds them (real public suffixes only)."""
    return [link for _start, _end, link in find_links(text)]


def parse_url(text: str) -> Parsed:
    """The first link in the text. A whole forwarded message is kept too, as ``message_text``."""
    urls = find_urls(text)
    if not urls:
        raise Invalid("invalid_url")
    extra: dict[str, Any] = {}
    if text.strip() != urls[0]:
        extra["message_text"] = text.strip()
    if len(urls) > 1:
        extra["other_links"] = urls[1:]
    return Parsed(urls[0], extra)


def parse_money(text: str) -> Parsed:
    """Amounts as typed in Viet Nam: "500k", "20 triệu", "1tr5", "2.000.000đ", "2,5 triệu" → đồng."""
    for _start, _end, value in find_money(fold(text)):
        return Parsed(value)
    # Asked "how much?", a bare number is an amount even without a unit ("100000").
    digits = text.strip().replace(" ", "")
    if digits.isascii() and digits.isdigit() and 0 < int(digits) < 10**13:
        return Parsed(int(digits))
    raise Invalid("invalid_money")


_TIME = re.compile(r"\b(\d{1,2})\s*(?:h|g|gio|:)\s*(\d{1,2})?\b")
_DATE = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?\b")
_PARTS = {"sang": 9, "trua": 12, "chieu": 15, "toi": 19, "dem": 22}


def parse_datetime(text: str, now: datetime | None = None) -> Parsed:
    """When it happened: "hôm nay 9h", "sáng nay", "hôm qua", "15/11", "9h30", "vừa xong" → ISO 8601 (+07:00)."""
    now = (now or datetime.now(VN_TZ)).astimezone(VN_TZ)
    f = fold(text)
    day = now.date()
    known = False
    if re.search(r"\b(hom qua|yesterday|qua)\b", f):
        day, known = day - timedelta(days=1), True
    elif re.search(r"\b(hom kia)\b", f):
        day, known = day - timedelta(days=2), True
    elif re.search(r"\b(hom nay|today|nay)\b", f):
        known = True
    if re.search(r"\b(vua xong|vua nay|luc nay|just now|moi day)\b", f):
        return Parsed(now.replace(second=0, microsecond=0).isoformat())
    dm = _DATE.search(f)
    if dm:
        d, mo = int(dm.group(1)), int(dm.group(2))
        y = int(dm.group(3)) if dm.group(3) else now.year
        y = y + 2000 if y < 100 else y
        try:
            day = datetime(y, mo, d, tzinfo=VN_TZ).date()
        except ValueError:
            raise Invalid("invalid_datetime") from None
        known = True
    hour, minute = None, 0
    tm = _TIME.search(_DATE.sub(" ", f))
    if tm:
        hour, minute = int(tm.group(1)), int(tm.group(2) or 0)
        if hour > 23 or minute > 59:
            raise Invalid("invalid_datetime")
    for part, default_hour in _PARTS.items():
        if re.search(rf"\b{part}\b", f):
            known = True
            if hour is None:
                hour = default_hour
            elif part in ("chieu", "toi") and hour < 12:
                hour += 12
            break
    if not known and hour is None:
        raise Invalid("invalid_datetime")
    moment = datetime(day.year, day.month, day.day, hour if hour is not None else 0, minute, tzinfo=VN_TZ)
    if moment > now + timedelta(minutes=5):
        if not dm and not re.search(r"\b(hom nay|today|nay)\b", f):
            moment -= timedelta(days=1)  # "9h" said at 8:00 means yesterday 9:00
        else:
            raise Invalid("future_datetime")
    return Parsed(moment.isoformat())


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
    return parse_text(text, limit=limit)
