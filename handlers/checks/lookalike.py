"""Does a link that is not official imitate one? (``url_lookalike``)

Five tricks, each with its own explanation: an official domain used as user-info (``vnedu.vn@evil.site``),
an official domain as a left-hand subdomain (``vnedu.vn.evil.com``), homoglyphs or punycode that fold to a
brand (``vnеdu.vn`` with a Cyrillic е, ``vn3du.com``), the brand inside another domain's labels
(``vneduconnect.com``), and a near-miss spelling (``vnedv.vn``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import unquote

from handlers.checks.data import Brand, ReferenceData
from handlers.checks.urls import UrlInfo
from nlu.normalize import fold

# Letters from other scripts that look Latin, and the digit/letter swaps scam domains use. Applied after
# NFKC and diacritic folding, to both sides of a comparison, so "k12online" still equals itself.
_CONFUSABLES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "l", "ј": "j", "ԁ": "d",
    "ѕ": "s", "һ": "h", "к": "k", "м": "m", "н": "h", "т": "t", "в": "b", "ս": "u", "ո": "n", "ԛ": "q",
    "α": "a", "ε": "e", "ο": "o", "ν": "v", "κ": "k", "τ": "t", "ι": "l", "ρ": "p", "υ": "u", "μ": "u",
    "ı": "l", "ł": "l", "ɡ": "g", "ø": "o", "ð": "d",
    "0": "o", "1": "l", "i": "l", "|": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a",
})
_MULTI = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_SPLIT = re.compile(r"[-_]+")


@dataclass(frozen=True, slots=True)
class Lookalike:
    """Which trick, and which official domain it imitates."""

    kind: str  # userinfo | left_subdomain | homoglyph | brand | typo
    target: str


def plain(text: str) -> str:
    """NFKC, lowercase, Vietnamese diacritics removed (ｖｎéｄｕ → vnedu)."""
    return fold(unicodedata.normalize("NFKC", text))


def skeleton(text: str) -> str:
    """What ``text`` looks like: confusable letters and digits collapsed to one representative."""
    out = plain(text).translate(_CONFUSABLES)
    for many, one in _MULTI:
        out = out.replace(many, one)
    return out


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of two neighbours costs 1), cut off above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _contains_brand(label: str, brand: str) -> bool:
    # Short brands must start a label or a hyphenated part ("smas-edu", "smasvn"), else "christmas" fires.
    if len(brand) >= 5:
        return brand in label
    return any(part.startswith(brand) for part in [label, *_SPLIT.split(label)])


def _name_labels(info: UrlInfo) -> list[str]:
    """The host's labels without its public suffix, as people read them."""
    labels = info.host_unicode.split(".")
    suffix_len = len(info.suffix.split(".")) if info.suffix else 0
    return labels[: len(labels) - suffix_len] if suffix_len else labels


def _official_in(text: str, data: ReferenceData) -> str | None:
    for domain in sorted(data.official_domains):
        if domain in text:
            return domain
    for brand in data.brands:
        if brand.name in text:
            return brand.domain
    return None


def _typo(label: str, brand: Brand) -> bool:
    if brand.max_edit_distance == 0:
        return False
    parts = {label, label.replace("-", ""), *_SPLIT.split(label)}
    for part in parts:
        # Very short labels are a near miss of nearly everything short; they are not worth an accusation.
        if len(part) < 4:
            continue
        if 1 <= edit_distance(part, brand.name, brand.max_edit_distance) <= brand.max_edit_distance:
            return True
    return False


def find_lookalike(info: UrlInfo, data: ReferenceData) -> Lookalike | None:
    """The trick ``info`` plays, or None. Call only for links that are not official."""
    if info.is_ip or not info.host:
        return None
    if info.userinfo:
        target = _official_in(plain(unquote(info.userinfo)), data)  # vnedu%2Evn@evil.site
        if target:
            return Lookalike("userinfo", target)
    host = plain(info.host_unicode)
    for domain in sorted(data.official_domains):
        if (host.startswith(domain + ".") or f".{domain}." in host) and info.registrable != domain:
            return Lookalike("left_subdomain", domain)
    labels = _name_labels(info)
    for brand in data.brands:
        for label in labels:
            # As written: a label that only reaches the brand after folding (vnédu) is a homoglyph trick.
            if _contains_brand(label.lower(), brand.name):
                return Lookalike("brand", brand.domain)
    for brand in data.brands:
        brand_skeleton = skeleton(brand.name)
        for label in labels:
            if _contains_brand(skeleton(label), brand_skeleton):
                return Lookalike("homoglyph", brand.domain)
    for brand in data.brands:
        for label in labels:
            if _typo(plain(label), brand):
                return Lookalike("typo", brand.domain)
    return None
