"""Money amounts as parents write them: "500k", "20 triệu", "1tr5", "2.000.000đ", "2,5 triệu", "3 củ".

Matching runs on folded text (see :mod:`nlu.textview`); values are whole đồng. Amounts in a foreign currency are
not recognised: the report form asks for đồng, and a wrong conversion would be worse than none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

_NUM = r"\d{1,3}(?:\.\d{3})+|\d{1,3}(?:,\d{3})+|\d+(?:[.,]\d+)?"
_BIG_UNITS = {"ty": 10**9, "ti": 10**9, "trieu": 10**6, "tr": 10**6, "cu": 10**6}
_SMALL_UNITS = {"k": 10**3, "nghin": 10**3, "ngan": 10**3}
_DONG_UNITS = {"dong", "vnd", "d"}

# A number, a unit, and for millions/billions an optional remainder: "1tr5", "1 triệu 2", "1 tỷ 200 triệu",
# "1tr500k", "2 củ rưỡi". "k" must touch the number: a spaced "k" is usually teencode for "không".
_AMOUNT = re.compile(
    rf"(?<![\w.,])(?P<num>{_NUM})"
    r"(?:\s?(?P<big>trieu|tr|cu|ty|ti)(?![a-z])"
    r"(?:\s?(?P<rest>ruoi|(?P<restnum>\d{1,3})(?!\d)(?:\s?(?P<rest_unit>trieu|tr|k|nghin|ngan)(?![a-z]))?))?"
    r"|(?P<small>k|\s?nghin|\s?ngan)(?![a-z])"
    r"|\s?(?P<tram>tram)\s?(?:k|nghin|ngan)\b"
    r"|\s?(?P<dong>d|dong|vnd)\b)"
)
# Without a unit, only an unmistakable grouped figure counts: "2.000.000", "15,000,000".
_GROUPED = re.compile(r"(?<![\w.,])(\d{1,3}(?:\.\d{3}){2,}|\d{1,3}(?:,\d{3}){2,})(?![\w.,]*\d)")

_MAX_DONG = 10**13  # beyond this it is a phone or account number followed by a stray unit


def _number(raw: str) -> Decimal | None:
    """Parse "2.000.000", "1,000,000", "2,5", "1.5" (a separator before exactly three digits groups)."""
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", raw) and len(set(re.findall(r"[.,]", raw))) == 1:
        digits = re.sub(r"[.,]", "", raw)
    else:
        digits = raw.replace(",", ".")
    if len(digits) > 1 and digits[0] == "0" and digits[1] != ".":
        return None  # a leading zero means a phone number or code, not money
    try:
        return Decimal(digits)
    except InvalidOperation:
        return None


def _value(m: re.Match[str]) -> int | None:
    num = _number(m.group("num"))
    if num is None:
        return None
    if m.group("big"):
        unit = _BIG_UNITS[m.group("big")]
        amount = num * unit
        rest = m.group("restnum")
        if m.group("rest") == "ruoi":
            amount += unit // 2
        elif rest:
            rest_unit = m.group("rest_unit")
            if rest_unit in ("trieu", "tr") and unit == 10**9:
                amount += int(rest) * 10**6
            elif rest_unit in _SMALL_UNITS:
                amount += int(rest) * 10**3
            elif rest_unit is None:
                # "1tr5" is 1,500,000 and "1tr25" 1,250,000: the digits are the leading digits of the rest.
                amount += int(rest) * unit // 10 ** len(rest)
            else:
                return None
    elif m.group("small"):
        amount = num * 10**3
    elif m.group("tram"):
        amount = num * 100 * 10**3
    else:
        amount = num
        if amount < 1000:  # "lớp 5D", "2 đ": nobody reports a loss of a few đồng
            return None
    value = int(amount)
    return value if 0 < value < _MAX_DONG else None


def find_money(folded: str) -> Iterator[tuple[int, int, int]]:
    """Yield ``(start, end, value_in_dong)`` for each amount in folded text."""
    taken: list[tuple[int, int]] = []
    for m in _AMOUNT.finditer(folded):
        value = _value(m)
        if value is not None:
            end = m.end()
            taken.append((m.start(), end))
            yield m.start(), end, value
    for m in _GROUPED.finditer(folded):
        if any(s <= m.start(1) < e for s, e in taken):
            continue
        num = _number(m.group(1))
        if num is not None and 0 < num < _MAX_DONG:
            yield m.start(1), m.end(1), int(num)
