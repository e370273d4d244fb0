"""Entity extraction with offsets into the original text; needs no trained model.

Every finder proposes candidates; overlaps are settled by keeping the longest span (then the kind earlier in
``_PRIORITY``), so "sll-vnedu.com" is one url rather than a url with an app name inside, and "2.000.000đ" is
money rather than an account number.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import phonenumbers

from nlu.datetimes import find_datetimes
from nlu.lexicon import find_apps, find_roles, find_schools
from nlu.money import find_money
from nlu.redact import find_secrets
from nlu.textview import FoldedText
from nlu.types import Entity

ENTITY_KINDS: tuple[str, ...] = (
    "card_number",
    "otp_code",
    "url",
    "money_amount",
    "bank_account",
    "phone_number",
    "date_time",
    "app_name",
    "school_name",
    "claimed_role",
)
_PRIORITY = {kind: i for i, kind in enumerate(ENTITY_KINDS)}

_URL = re.compile(
    r"""(?<![\w@.\-/])(?:
        (?:https?|ftp)://[^\s<>"']+
      | www\.[^\s<>"']+
      | (?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?:/[^\s<>"']*)?
      | (?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}(?::\d{1,5})?(?:/[^\s<>"']*)?
    )""",
    re.IGNORECASE | re.VERBOSE | re.ASCII,
)
_URL_TRAILING = ".,;:!?)]}'\"…“”"

# Many Vietnamese banks let the phone number be the account number, so a number right after "stk" is an
# account even when it is phone-shaped; elsewhere the same digits are a phone number.
_ACCOUNT = re.compile(
    r"\b(?:stk|so tai khoan|so tk|tai khoan|tk|account(?: number| no)?|acc|acct)\b"
    # The gap may not name a card: in "stk và số thẻ 4111…" the digits are the card.
    r"(?:(?!\bthe\b|\bcard\b)[^\d\n]){0,30}?(?<!\d)(\d(?:[ .-]?\d){5,18})(?!\d)"
)
# Card numbers are 16 or 19 digits; a 13-digit number after "stk" that happens to pass Luhn (one in ten do)
# is a Vietcombank-style account number.
_CARD_LENGTHS = (16, 19)
_DIGIT_RUN = re.compile(r"(?<![\d+])\+?\(?\d+\)?(?:[ .\-]\(?\d+\)?)*(?!\d)")
_MAX_PHONE_DIGITS = 13
# At most this many phonenumbers.parse calls per message: a real message holds a handful of numbers, and a
# hostile one of thousands of digit groups must not cost more than a few milliseconds.
_PARSE_BUDGET = 64
_DIGIT_GROUP = re.compile(r"\+?\(?\d+\)?")


@functools.cache
def _suffix_extractor() -> Any:
    import tldextract  # deferred: only URL validation needs it

    # The bundled public-suffix snapshot only: never fetch the list over the network at run time.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _plausible_url(candidate: str) -> bool:
    if "://" in candidate or candidate.lower().startswith("www."):
        return True
    host = re.split(r"[/:]", candidate, maxsplit=1)[0]
    if re.fullmatch(r"[\d.]+", host):
        # "2.000.000.000" is money: real dotted quads do not write leading zeros.
        return all(int(p) <= 255 and (p == "0" or not p.startswith("0")) for p in host.split("."))
    parts = _suffix_extractor()(host)
    return bool(parts.suffix and parts.domain)


def _urls(text: str) -> Iterator[tuple[str, int, int, Any]]:
    for m in _URL.finditer(text):
        raw = m.group().rstrip(_URL_TRAILING)
        if raw and _plausible_url(raw):
            yield "url", m.start(), m.start() + len(raw), raw


def _phones(text: str) -> Iterator[tuple[str, int, int, Any]]:
    # phonenumbers' own matcher gives up on a whole run such as "0377 123 999 500k" and wants a non-letter
    # before the number ("số0377123999"), so we split digit runs into groups ourselves and let phonenumbers
    # judge the longest group sequence from each position.
    budget = _PARSE_BUDGET
    for run in _DIGIT_RUN.finditer(text):
        groups = [(g.start(), g.end(), re.sub(r"\D", "", g.group())) for g in _DIGIT_GROUP.finditer(run.group())]
        base = run.start()
        i = 0
        while i < len(groups) and budget > 0:
            # No number has more than 13 digits: bounding the window keeps a hostile "1 1 1 1 …" linear.
            window = [groups[i][2]]  # digits of the candidate ending at each group
            while i + len(window) < len(groups):
                longer = window[-1] + groups[i + len(window)][2]
                if len(longer) > _MAX_PHONE_DIGITS:
                    break
                window.append(longer)
            for j in range(i + len(window), i, -1):
                start, end = base + groups[i][0], base + groups[j - 1][1]
                if not _plausible_phone(window[j - i - 1], text[start] == "+"):
                    continue
                budget -= 1
                e164 = _valid_phone(text[start:end])
                if e164:
                    yield "phone_number", start, end, e164
                    i = j
                    break
            else:
                i += 1


def _plausible_phone(digits: str, plus: bool) -> bool:
    """Cheap shape test before phonenumbers: national 0… (10–11 digits), 1800/1900, +84/84…, or +foreign."""
    if plus and not digits.startswith("84"):
        return 8 <= len(digits) <= _MAX_PHONE_DIGITS
    if digits.startswith("84"):
        return len(digits) in (11, 12)
    if digits.startswith(("1800", "1900")):
        return len(digits) in (8, 10)
    # A bare "377123999" is more likely a code than a phone number written without its leading 0.
    return digits.startswith("0") and len(digits) in (10, 11)


def _valid_phone(candidate: str) -> str | None:
    try:
        number = phonenumbers.parse(candidate, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _accounts(view: FoldedText) -> Iterator[tuple[str, int, int, Any]]:
    for m in _ACCOUNT.finditer(view.folded):
        digits = re.sub(r"\D", "", m.group(1))
        if 6 <= len(digits) <= 19:
            yield ("bank_account", *view.span(m.start(1), m.end(1)), digits)


def _in_original(
    view: FoldedText, kind: str, found: Iterable[tuple[int, int, Any]]
) -> Iterator[tuple[str, int, int, Any]]:
    for start, end, value in found:
        yield (kind, *view.span(start, end), value)


def _candidates(text: str, now: datetime | None) -> Iterator[tuple[str, int, int, Any]]:
    view = FoldedText(text)
    for s in find_secrets(text):
        if s.kind in ("otp_code", "card_number"):
            yield s.kind, s.start, s.end, re.sub(r"\D", "", s.value)
    yield from _urls(text)
    yield from _phones(text)
    yield from _accounts(view)
    yield from _in_original(view, "money_amount", find_money(view.folded))
    yield from _in_original(view, "date_time", find_datetimes(view, now))
    yield from _in_original(view, "claimed_role", find_roles(view))
    yield from _in_original(view, "app_name", find_apps(view))
    yield from _in_original(view, "school_name", find_schools(view))


def extract_entities(text: str, now: datetime | None = None) -> list[Entity]:
    """All entities in ``text``, non-overlapping, in text order; ``now`` anchors relative dates (default: now)."""
    candidates = list(_candidates(text, now))
    accounts = {(s, e) for kind, s, e, _ in candidates if kind == "bank_account"}
    candidates = [
        c
        for c in candidates
        if not (c[0] == "card_number" and (c[1], c[2]) in accounts and len(c[3]) not in _CARD_LENGTHS)
    ]
    chosen: list[tuple[str, int, int, Any]] = []
    ranked = sorted(candidates, key=lambda c: (c[1] - c[2], _PRIORITY[c[0]], c[1]))
    for cand in ranked:
        _, start, end, _ = cand
        if start < end and all(end <= s or start >= e for _, s, e, _ in chosen):
            chosen.append(cand)
    chosen.sort(key=lambda c: c[1])
    return [Entity(kind, value, start, end, text[start:end]) for kind, start, end, value in chosen]
