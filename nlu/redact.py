"""Find and redact secrets a parent may paste: OTP codes, card numbers, passwords.

These must never reach the database or the logs (Law 91/2025: bank and card data are sensitive, and
we have no purpose for them). Redaction runs on every inbound text before anything else sees it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.normalize import fold

OTP_MARK = "[OTP đã ẩn]"
CARD_MARK = "[số thẻ đã ẩn]"
PASSWORD_MARK = "[mật khẩu đã ẩn]"  # noqa: S105  # nosec B105 - a marker, not a password


@dataclass(frozen=True, slots=True)
class Secret:
    kind: str  # "otp_code" | "card_number" | "password"
    start: int
    end: int
    value: str


# Folded text keeps the same length as the original for Vietnamese (one base letter per character after
# NFC), so offsets found on the folded form index the original too. See _same_length guard below.
_OTP = re.compile(
    r"(?:\botp\b|\bma\b|\bcode\b|\bpin\b|\bma xac (?:thuc|nhan)\b)[^0-9\n]{0,24}?(?<!\d)(\d{4,8})(?!\d)"
)
_OTP_AFTER = re.compile(r"(?<!\d)(\d{4,8})(?!\d)\s*(?:la|là)?\s*(?:ma\s+)?otp\b")
_CARD = re.compile(r"(?<![\d])(\d(?:[ -]?\d){12,18})(?![\d])")
_PASSWORD = re.compile(
    r"\b(?:mat khau|password|pass(?:word)?|passwd|pw|mk)\b\s*(?:cua toi|cua em|la|:|=|-)?\s*(?:la|:)?\s*(\S+)"
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def find_secrets(text: str) -> list[Secret]:
    """Every OTP, card number and password in ``text``, with offsets into ``text``."""
    folded = fold(text)
    if len(folded) != len(text):  # exotic combining input: fall back to matching on the text as given
        folded = text.lower()
    found: list[Secret] = []
    for m in _CARD.finditer(folded):
        digits = re.sub(r"\D", "", m.group(1))
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            found.append(Secret("card_number", m.start(1), m.end(1), text[m.start(1) : m.end(1)]))
    for rx in (_OTP, _OTP_AFTER):
        for m in rx.finditer(folded):
            found.append(Secret("otp_code", m.start(1), m.end(1), text[m.start(1) : m.end(1)]))
    for m in _PASSWORD.finditer(folded):
        found.append(Secret("password", m.start(1), m.end(1), text[m.start(1) : m.end(1)]))
    # Our own markers are not secrets: redacting an already-redacted text must change nothing.
    markers = [(m.start(), m.end()) for m in _MARKER.finditer(text)]
    found = [f for f in found if not any(f.start < end and start < f.end for start, end in markers)]
    # Drop overlaps, keeping the earliest (then longest) match.
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    result: list[Secret] = []
    for s in found:
        if result and s.start < result[-1].end:
            continue
        result.append(s)
    return result


_MARKS = {"otp_code": OTP_MARK, "card_number": CARD_MARK, "password": PASSWORD_MARK}
_MARKER = re.compile("|".join(re.escape(m) for m in _MARKS.values()))


def redact(text: str) -> tuple[str, list[str]]:
    """Return ``text`` with secrets replaced by markers, and the kinds that were found."""
    secrets = find_secrets(text)
    if not secrets:
        return text, []
    out: list[str] = []
    pos = 0
    for s in secrets:
        out.append(text[pos : s.start])
        out.append(_MARKS[s.kind])
        pos = s.end
    out.append(text[pos:])
    return "".join(out), sorted({s.kind for s in secrets})
