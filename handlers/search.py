"""What an officer's search box means: a tip reference, phone numbers, domains, bank accounts, and words.

Turned into the same unhashed terms :mod:`storage.cases` indexes (``phone:+84…``, ``domain:…``,
``bank_account:…``, ``w:<folded word>``), normalised exactly as the check engine and the tip's indicators
are, so "0912 345 678", "+84912345678" and "84-912-345-678" find the same tips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.checks.phones import normalize_phone
from handlers.checks.urls import registrable_domain
from storage.cases import word_terms

_REFERENCE = re.compile(r"^[A-Za-z]{1,8}-\d{4}-\d{1,12}$")
_PHONEISH = re.compile(r"\+?\(?\d[\d\s().-]{6,}\d")
_DOMAINISH = re.compile(r"(?:https?://)?[\w-]+(?:\.[\w-]+)+(?:/\S*)?", re.IGNORECASE)
_DIGITS = re.compile(r"^\d{6,19}$")


@dataclass(frozen=True)
class Query:
    reference: str | None
    terms: tuple[str, ...]


def query_terms(text: str) -> Query:
    """Parse the search box. An empty box is no search."""
    q = " ".join(text.split())[:200]
    if not q:
        return Query(None, ())
    if _REFERENCE.match(q):
        return Query(q.upper(), ())
    terms: list[str] = []
    rest = q
    for match in _PHONEISH.finditer(q):
        number = normalize_phone(match.group())
        if number:
            terms.append(f"phone:{number}")
            rest = rest.replace(match.group(), " ")
    for match in _DOMAINISH.finditer(rest):
        domain = registrable_domain(match.group())
        if domain:
            terms.append(f"domain:{domain}")
            rest = rest.replace(match.group(), " ")
    for token in rest.split():
        if _DIGITS.match(token):
            terms.append(f"bank_account:{token}")
            rest = rest.replace(token, " ")
    terms += word_terms(rest)
    return Query(None, tuple(dict.fromkeys(terms)))
