"""Forgiving school-name matching: diacritics, "Trường", the school type and partial names are optional.

A name is split into its *type* ("thcs", "th" for tiểu học, …) and its *core* ("nguyen trai"). The
directory stores both (``name_key``, ``type_key``) so the database can pre-select candidates; the
choice among them happens here, in one place, the same for import and check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from nlu.normalize import fold

# Long forms → the short code people also write. Longest first, so "pho thong dan toc noi tru" wins
# over anything shorter inside it.
_TYPE_PHRASES = (
    ("pho thong dan toc noi tru", "ptdtnt"),
    ("pho thong dan toc ban tru", "ptdtbt"),
    ("trung hoc pho thong", "thpt"),
    ("trung hoc co so", "thcs"),
    ("giao duc thuong xuyen", "gdtx"),
    ("tieu hoc", "th"),
    ("mam non", "mn"),
    ("mau giao", "mg"),
    ("nha tre", "nt"),
    ("lien cap", "lc"),
)
TYPE_CODES = frozenset({code for _phrase, code in _TYPE_PHRASES} | {"pt"})
_CONNECTORS = frozenset({"va", "&"})
_LEADING = frozenset({"truong", "tr"})  # "Tr." is how a busy parent writes "Trường"
# Words of an address that carry no identity of their own.
_PLACE_WORDS = frozenset({"xa", "phuong", "dac", "khu", "tinh", "thanh", "pho", "tp", "thi", "tran", "huyen", "quan"})
_NON_WORD = re.compile(r"[^a-z0-9&]+")


@dataclass(frozen=True, slots=True)
class NameKey:
    """A school name reduced for matching."""

    core: str  # "nguyen trai" ("" when the name was only a type)
    types: frozenset[str]  # {"th", "thcs"} for "TH&THCS"

    @property
    def type_key(self) -> str:
        return " ".join(sorted(self.types))

    @property
    def padded(self) -> str:
        """The core with a space either side, so SQL ``LIKE '% x %'`` matches whole words."""
        return f" {self.core} "


def _words(text: str) -> list[str]:
    folded = " " + _NON_WORD.sub(" ", fold(text).replace("&", " & ")) + " "
    for phrase, code in _TYPE_PHRASES:
        folded = folded.replace(f" {phrase} ", f" {code} ")
    return folded.split()


def name_key(name: str) -> NameKey:
    """Split a school name into type and core. Type words are taken from either end only, so a name that
    merely contains one ("THCS Trường Chinh") keeps it."""
    words = _words(name)
    types: set[str] = set()
    if words and words[0] in _LEADING:
        words = words[1:]
    while words and (words[0] in TYPE_CODES or (types and words[0] in _CONNECTORS)):
        if words[0] in TYPE_CODES:
            types.add(words[0])
        words = words[1:]
    while words and (words[-1] in TYPE_CODES or words[-1] in _CONNECTORS):
        if words[-1] in TYPE_CODES:
            types.add(words[-1])
        words = words[:-1]
    return NameKey(" ".join(words), frozenset(types))


def sub_phrases(key: NameKey, max_words: int = 12) -> list[str]:
    """Every run of consecutive words of the core, padded: the keys a school named inside the query
    ("nguyen trai tan thanh" → " nguyen trai ", …) can have. Looked up exactly, through an index."""
    words = key.core.split()[:max_words]
    return [f" {' '.join(words[i:j])} " for i in range(len(words)) for j in range(i + 1, len(words) + 1)]


def place_words(*places: str) -> frozenset[str]:
    """The words of a school's province and commune, which a parent may add to its name."""
    words: set[str] = set(_PLACE_WORDS)
    for place in places:
        words.update(_NON_WORD.sub(" ", fold(place)).split())
    return frozenset(words)


class Candidate(Protocol):
    """A school the database pre-selected for a name query (``storage.reference.SchoolRecord`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def name_key(self) -> str: ...  # the stored padded core
    @property
    def type_key(self) -> str: ...
    @property
    def province(self) -> str: ...
    @property
    def commune(self) -> str: ...


C = TypeVar("C", bound=Candidate)


def _rank(query: NameKey, cand: Candidate) -> int | None:
    """0 exact core, 1 core plus place words, 2 partial (whole words); None: not this school."""
    if query.types and not query.types <= set(cand.type_key.split()):
        return None
    core = cand.name_key.strip()
    if not core or not query.core:
        return None
    if core == query.core:
        return 0
    padded_q, padded_c = f" {query.core} ", f" {core} "
    if padded_c in padded_q:
        rest = padded_q.replace(padded_c, " ", 1).split()
        return 1 if set(rest) <= place_words(cand.province, cand.commune) else None
    if padded_q in padded_c:
        return 2
    return None


def choose(query: NameKey, candidates: Sequence[C]) -> list[C]:
    """The best-matching candidates: one means a match, several mean the name is ambiguous."""
    ranked: dict[int, list[C]] = {}
    for cand in candidates:
        rank = _rank(query, cand)
        if rank is not None:
            ranked.setdefault(rank, []).append(cand)
    if not ranked:
        return []
    return sorted(ranked[min(ranked)], key=lambda c: c.id)
