"""Phone numbers: normalise to E.164 with ``phonenumbers`` (default region VN), classify, find in text.

Numbers are compared only after normalisation, so ``0296 384 1234``, ``+84 296 3841 234`` and
``02963841234`` are one number everywhere (directory, blocklist, tip indicators).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import Leniency, NumberParseException, PhoneNumberFormat, PhoneNumberMatcher, PhoneNumberType

REGION = "VN"

# Characters people put inside numbers; anything else (letters, "@") makes the input not a number.
_NUMBER_CHARS = re.compile(r"^[\d\s+().\-/]+$")


@dataclass(frozen=True, slots=True)
class PhoneInfo:
    """One number as given, and what ``phonenumbers`` makes of it."""

    raw: str
    e164: str | None  # None when the input cannot be read as a number at all
    valid: bool
    foreign: bool
    premium: bool  # 1900 numbers: premium rate, never a school's official line

    @property
    def display(self) -> str:
        """How to show the number to a parent: national form for VN, international otherwise."""
        return display_number(self.e164) if self.e164 else self.raw.strip()


def parse_phone(raw: str) -> PhoneInfo:
    """Read one number in any common written form. Never raises: bad input is ``valid=False``."""
    text = raw.strip()
    if not text or not _NUMBER_CHARS.match(text) or sum(ch.isdigit() for ch in text) < 3:
        return PhoneInfo(raw, None, False, False, False)
    if text.startswith("00"):  # international prefix dialled from Vietnam
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, REGION)
    except NumberParseException:
        return PhoneInfo(raw, None, False, False, False)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    valid = phonenumbers.is_valid_number(number)
    foreign = number.country_code != 84
    premium = not foreign and (
        phonenumbers.number_type(number) == PhoneNumberType.PREMIUM_RATE
        or str(number.national_number).startswith("1900")
    )
    return PhoneInfo(raw, e164, valid, foreign, premium)


def normalize_phone(raw: str) -> str | None:
    """The E.164 form of a valid number (``+84912000111``), or None when it is not one."""
    info = parse_phone(raw)
    return info.e164 if info.valid else None


def display_number(e164: str) -> str:
    """``+842963841234`` → ``0296 3841 234``; foreign numbers in international form."""
    try:
        number = phonenumbers.parse(e164, REGION)
    except NumberParseException:
        return e164
    fmt = PhoneNumberFormat.NATIONAL if number.country_code == 84 else PhoneNumberFormat.INTERNATIONAL
    return str(phonenumbers.format_number(number, fmt))


def find_phones(text: str) -> list[str]:
    """Every valid number written in ``text`` (raw spelling), in order, without repeats.

    Only numbers ``phonenumbers`` considers valid are taken, so amounts ("500.000đ"), OTP codes and
    account numbers are not mistaken for phones. Callers blank out links first (digits in a URL path
    are not a number someone should call).
    """
    found: list[str] = []
    seen: set[str] = set()
    for match in PhoneNumberMatcher(text, REGION, leniency=Leniency.VALID):
        e164 = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
        if e164 not in seen:
            seen.add(e164)
            found.append(match.raw_string)
    return found
