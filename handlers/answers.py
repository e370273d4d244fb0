"""Reading a typed answer against a step's options by meaning, not by the first word that matches.

Negation and its scope (:mod:`nlu.negation`): "chưa mất tiền" is the "no" of "Bạn đã bị mất tiền chưa?", and
"không đồng ý" is not "đồng ý". Corrections: "cô chủ nhiệm, à nhầm, thầy hiệu trưởng" is the principal.
Several at once: "đòi số tk và otp" ticks two options; "không đưa OTP, chỉ đưa số tài khoản" ticks one.
A parent who says they do not know or do not have it ("không nhớ", "không có link") is answered by
:func:`declines`, so the step can be skipped or a way out offered instead of asking the same thing again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from handlers.checks.signals import PATTERNS as ASKED_PATTERNS
from handlers.flowspec import Option
from nlu.harm import Harm
from nlu.lexicon import find_roles
from nlu.negation import Span, asserted, corrected, polarity, scopes
from nlu.normalize import normalize
from nlu.textview import FoldedText

Meaning = Callable[[str], Iterable[tuple[str, int, int]]]  # normalised text → (option id, start, end)


def _asked(norm: str) -> Iterable[tuple[str, int, int]]:
    return [(code, m.start(), m.end()) for code, rx in ASKED_PATTERNS.items() for m in rx.finditer(norm)]


def _roles(norm: str) -> Iterable[tuple[str, int, int]]:
    # The entity lexicon knows "cô giáo chủ nhiệm" is one role, not a teacher and a homeroom teacher.
    return [(code, start, end) for start, end, code in find_roles(FoldedText(norm), claimed=True)]


# What an option means beyond its aliases, per option set: the check engine's request phrases, the roles.
MEANINGS: Mapping[str, Meaning] = {"asked": _asked, "claimed_role": _roles}
# Option sets whose options are things the parent did ("what did you give them?"): "họ đòi OTP mà tôi không
# đưa" names the OTP only to deny giving it.
ABOUT_PARENT = frozenset({"shared"})
_YES_ALIASES = frozenset({"co", "yes", "dong y"})
_NO_ALIASES = frozenset({"khong", "no"})
_GIVE_BEFORE = re.compile(r"\b(?:doc|dua|gui|cung cap|nhap|cho|noi|khai|dien|chia se|tiet lo|cai|tai)\b")


@dataclass(frozen=True, slots=True)
class Mention:
    option: Option
    start: int
    end: int
    positive: bool  # said as fact, not inside a negation ("không đưa OTP")


@lru_cache(maxsize=4096)
def _phrase(alias: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9]){re.escape(normalize(alias))}(?![a-z0-9])")


def mentions(options: tuple[Option, ...], norm: str, spans: list[Span], meaning: Meaning | None = None
             ) -> list[Mention]:
    """Where each option is named in ``norm``; a name inside a longer one of another option does not count."""
    found: list[tuple[Option, int, int]] = []
    for o in options:
        for phrase in (*o.aliases, o.label.vi, o.label.en):
            found += [(o, m.start(), m.end()) for m in _phrase(phrase).finditer(norm)]
    if meaning is not None:
        by_id = {o.id: o for o in options}
        found += [(by_id[i], s, e) for i, s, e in meaning(norm) if i in by_id]
    # A name inside a longer one is part of it ("giáo viên" in "giáo viên chủ nhiệm"), whichever option it is.
    kept = {(f[0].id, f[1], f[2]): f for f in found if not any(
        g[1] <= f[1] and f[2] <= g[2] and g[2] - g[1] > f[2] - f[1] for g in found)}
    ordered = sorted(kept.values(), key=lambda f: (f[1], f[2]))
    return [Mention(o, s, e, asserted(spans, s)) for o, s, e in ordered]


def _by_id(options: tuple[Option, ...], option_id: str) -> Option | None:
    return next((o for o in options if o.id == option_id), None)


def _side(options: tuple[Option, ...], answer: str) -> Option | None:
    """The option that stands for "yes" or "no" in a two-way question (by id, else by its aliases)."""
    direct = _by_id(options, answer)
    if direct is not None:
        return direct
    words = _YES_ALIASES if answer == "yes" else _NO_ALIASES
    return next((o for o in options if words & {normalize(a) for a in o.aliases}), None)


@dataclass(frozen=True, slots=True)
class Choice:
    option: Option | None
    unsure: bool = False  # "không chắc", "để tôi kiểm tra": no answer yet, and the parent said so


def is_yes_no(options: tuple[Option, ...]) -> bool:
    return {o.id for o in options} == {"yes", "no"}


def read_choice(options: tuple[Option, ...], norm: str, harm: Harm, set_name: str = "") -> Choice:
    """The one option a typed answer picks (numbers, labels and ids are matched before this)."""
    if not norm:
        return Choice(None)
    spans = scopes(norm)
    facts = list(harm.positions)
    if is_yes_no(options):
        answer = polarity(norm, facts)
        if answer is None and harm.denied:
            answer = "no"  # "tôi đã cảnh giác nên không chuyển": the denied act answers the question
        if answer in ("yes", "no"):
            return Choice(_by_id(options, answer))
        if answer == "unsure":
            return Choice(None, unsure=True)
    named = [m for m in mentions(options, norm, spans, MEANINGS.get(set_name)) if m.positive]
    if named:
        return Choice((named[-1] if corrected(norm) else named[0]).option)
    if len(options) == 2:
        answer = polarity(norm, facts)
        if answer in ("yes", "no"):
            return Choice(_side(options, answer))
        return Choice(None, unsure=answer == "unsure")
    return Choice(None)


@dataclass(frozen=True, slots=True)
class Picked:
    """What a typed answer to a several-answers question adds to the ticks, takes away, or whether it is "none"."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    none: bool = False

    @property
    def understood(self) -> bool:
        return bool(self.add or self.remove or self.none)


def _given_before(norm: str, start: int, spans: list[Span]) -> bool:
    clause_start = max(norm.rfind(p, 0, start) for p in (",", ".", ";", " nhung ", " chi ", " chu "))
    return any(asserted(spans, m.start()) for m in _GIVE_BEFORE.finditer(norm, max(clause_start, 0), start))


def read_many(options: tuple[Option, ...], set_name: str, norm: str, harm: Harm) -> Picked:
    """Options a typed answer names as true, names as not true, or "none of these"."""
    numbers = re.findall(r"\d+", norm)
    if numbers and re.fullmatch(r"[\d\s,;.va&+]+", norm):
        return Picked(tuple(dict.fromkeys(options[int(n) - 1].id for n in numbers if 1 <= int(n) <= len(options))))
    spans = scopes(norm)
    found = mentions(options, norm, spans, MEANINGS.get(set_name))
    about_parent = set_name in ABOUT_PARENT
    positive = [m for m in found if m.positive and not m.option.exclusive]
    if about_parent and harm.denied:
        positive = [m for m in positive if _given_before(norm, m.start, spans)]
    add = [m.option.id for m in positive]
    if about_parent:
        add += [o.id for o in options if o.id in harm.shared]
    add = list(dict.fromkeys(add))
    remove = [m.option.id for m in found if not m.positive and m.option.id not in add and not m.option.exclusive]
    if add:
        return Picked(tuple(add), tuple(dict.fromkeys(remove)))
    exclusive = next((o for o in options if o.exclusive), None)
    said_none = any(m.positive and m.option.exclusive for m in found) or polarity(norm) == "no" or (
        about_parent and harm.denied)
    return Picked((), tuple(dict.fromkeys(remove)), none=exclusive is not None and said_none)


# ----- "I don't know" / "I don't have it" -------------------------------------------------------------------
_DECLINE_CLAUSE = re.compile(
    r"^(?:(?:toi|minh|em|ho|no|chung toi|that su|thi|a|da|u|cung|con|nha|nguoi ta)\s+){0,3}"
    r"(?:chi\s+\w+\s+)?(?:khong|chua|chang|cha)\s+(?:he\s+|con\s+|the\s+|duoc\s+)?"
    r"(?:co|biet|nho|ro|muon|thay|gui|nhan|noi|de lai|dua ra|hien|xem|kiem tra|chac|tra loi|cho biet|dam|bit|de y)\b"
)
_DECLINE_ANYWHERE = re.compile(
    r"\b(?:quen|so an|an so|giau so|khong hien so|private number|don'?t know|no idea|not sure|khong nho ro)\b")
_BARE = frozenset({"khong", "chua", "khong co", "chua co", "none", "khong a", "chua a", "khong co a", "nope"})
_CLAUSES = re.compile(r"[,.;!?…]+|\bnhung\b")


def declines(norm: str, *, max_words: int = 10) -> bool:
    """ "không biết", "không nhớ", "không có link", "họ chỉ gọi, không nhắn gì", "số ẩn": nothing to give here."""
    text = norm.strip(" .!?")
    if not text or len(text.split()) > max_words:
        return False
    if text in _BARE or _DECLINE_ANYWHERE.search(text):
        return True
    return any(_DECLINE_CLAUSE.search(c.strip()) for c in _CLAUSES.split(text) if c.strip())
