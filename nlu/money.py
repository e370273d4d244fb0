"""Money amounts as parents write them: "500k", "20 triệu", "1tr5", "2.000.000đ", "2,5 triệu", "3 củ", "năm triệu".

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


# Amounts said in words: "năm triệu", "hai trăm nghìn", "mười lăm triệu", "sáu trăm năm mươi nghìn", "một tỷ hai".
_DIGIT_WORDS = {"mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5, "lam": 5, "sau": 6, "bay": 7, "tam": 8,
                "chin": 9}
_WORD_SCALES = {"nghin": 10**3, "ngan": 10**3, "trieu": 10**6, "cu": 10**6, "ty": 10**9, "ti": 10**9}
_NUMBER_WORDS = frozenset({*_DIGIT_WORDS, "muoi", "chuc", "tram", "linh", "le", "ruoi"})
_WORD_RUN = re.compile(r"[a-z]+")


def _group(words: list[str]) -> int | None:
    """A number below 1000 in words: [D trăm] [linh | D mươi | mười] [D] ("sáu trăm năm mươi" → 650)."""
    value, i, n = 0, 0, len(words)
    if i + 1 < n and words[i] in _DIGIT_WORDS and words[i + 1] == "tram":
        value, i = _DIGIT_WORDS[words[i]] * 100, i + 2
    if i < n and words[i] in ("linh", "le"):
        i += 1
    elif i + 1 < n and words[i] in _DIGIT_WORDS and words[i + 1] in ("muoi", "chuc"):
        value, i = value + _DIGIT_WORDS[words[i]] * 10, i + 2
    elif i < n and words[i] == "muoi":
        value, i = value + 10, i + 1
    if i < n and words[i] in _DIGIT_WORDS:
        value, i = value + _DIGIT_WORDS[words[i]], i + 1
    return value if i == n and n else None


def _words_value(words: list[str]) -> int | None:
    value, scale = 0, 0
    current: list[str] = []
    for w in words:
        if w in _WORD_SCALES:
            group = _group(current)
            if group is None:
                return None
            scale = _WORD_SCALES[w]
            value, current = value + group * scale, []
        elif w == "ruoi":  # "hai triệu rưỡi": half of the unit just said
            if not scale or current:
                return None
            value += scale // 2
        else:
            current.append(w)
    if current:  # "một tỷ hai" is 1.2 tỷ, "năm triệu hai trăm" is 5.2 triệu
        group = _group(current)
        if group is None or not scale:
            return None
        value += group * scale // 10 if len(current) == 1 else group * (scale // 1000)
    return value if scale and 0 < value < _MAX_DONG else None


def _word_amounts(folded: str) -> Iterator[tuple[int, int, int]]:
    words = list(_WORD_RUN.finditer(folded))
    i = 0
    while i < len(words):
        j = i
        while j < len(words) and (words[j].group() in _NUMBER_WORDS or words[j].group() in _WORD_SCALES) and (
                j == i or folded[words[j - 1].end() : words[j].start()].strip() == ""):
            j += 1
        run = [w.group() for w in words[i:j]]
        # Trim to the last scale word (or "rưỡi"/a remainder right after one), then read the run.
        while run and run[-1] not in _WORD_SCALES and not (len(run) > 1 and run[-2] in _WORD_SCALES):
            run.pop()
        if run and (run[0] in _DIGIT_WORDS or run[0] == "muoi"):
            value = _words_value(run)
            if value is not None:
                yield words[i].start(), words[i + len(run) - 1].end(), value
                i += len(run)
                continue
        i += 1


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
            taken.append((m.start(1), m.end(1)))
            yield m.start(1), m.end(1), int(num)
    for start, end, value in _word_amounts(folded):
        if not any(s < end and start < e for s, e in taken):
            yield start, end, value
