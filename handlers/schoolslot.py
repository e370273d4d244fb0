"""The school slot: a school's name, matched against the directory — never a fragment of a question.

"THCS Nguyễn Du", "truong nguyen du", "Nguyễn Du" and "họ nói là trường Lê Lợi, có phải trường thật không?" all
name a school; "…có phải của trường thật không?" names none (the parent is asking, and is told so). A name is
matched without diacritics and forgivingly (:mod:`handlers.checks.schools`); a near miss ("Nguyễn Duu") or a
name two schools share ("Trần Hưng Đạo") becomes "did you mean" buttons. A name not in the directory is kept
as typed: it is what the caller said, and the check reports it as unknown.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from handlers.checks.schools import choose, name_key, sub_phrases
from nlu.lexicon import find_schools
from nlu.negation import corrected
from nlu.normalize import normalize
from nlu.textview import FoldedText
from storage.reference import SchoolRecord, get_schools, schools_with_name_keys, schools_with_name_part

MAX_CHOICES = 3
_NEAR = 0.8  # difflib ratio of folded names: "nguyen duu" / "nguyen du" is 0.95, "le loi" / "le lai" 0.83
_QUESTION = re.compile(r"\?|\b(?:co phai|co that|that khong|that ko|dung khong|phai khong|la sao|the nao|ai goi|"
                       r"ai vay|lam sao|co dung|hay khong|gia khong)\b")
_LEAD = re.compile(r"^\s*(?:(?:ho|no|nguoi do|ben do)\s+)?(?:(?:noi|bao|xung|tu xung)\s+)?(?:la\s+)?(?:tu\s+)?",
                   re.IGNORECASE)
_TAIL = re.compile(r"(?:\s+(?:a|nhe|nha|day|do|ah|u|nhé|ạ|á|đó|đấy|nha))+\s*[.!]*\s*$", re.IGNORECASE)
_MARKER = re.compile(r"\b(?:a khong|a nham|nham|y (?:toi |minh |em )?la)\b")
_NOT_A_NAME = re.compile(r"\b(?:khong|chua|toi|minh|em|con|goi|nhan|chuyen|otp|tien|biet|nho)\b|\d{4,}")


@dataclass(frozen=True)
class SchoolAnswer:
    """``value`` is ``{"id", "name"}`` (a directory match) or the name as typed; ``choices`` ask to pick."""

    value: dict[str, Any] | str | None = None
    choices: tuple[SchoolRecord, ...] = ()
    typed: str | None = None
    question: bool = False


def _last_part(text: str) -> str:
    """After "à nhầm" / "à không": the corrected name."""
    view = FoldedText(text)
    marks = list(_MARKER.finditer(view.folded))
    if not marks:
        return text
    start = view.span(marks[-1].end(), marks[-1].end())[0]
    return text[start:].strip(" ,.")


def _as_written(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def candidate_name(text: str) -> tuple[str | None, bool]:
    """The school name in ``text`` (as written) and whether the text asks a question."""
    norm = normalize(text)
    question = _QUESTION.search(norm) is not None
    part = _last_part(text) if corrected(norm) else text
    names = [name for _s, _e, name in find_schools(FoldedText(part))]
    if names:
        return _as_written(names[0]), question
    if question:
        return None, True
    bare = _TAIL.sub("", part)
    view = FoldedText(bare)
    lead = _LEAD.match(view.folded)
    if lead and lead.end():
        bare = bare[view.span(lead.end(), lead.end())[0]:]
    bare = bare.strip(" ,.")
    if not bare or len(bare.split()) > 6 or _NOT_A_NAME.search(normalize(bare)):
        return None, False
    return _as_written(bare), False


def _near_misses(conn: sa.Connection, core: str) -> list[SchoolRecord]:
    seen: dict[str, SchoolRecord] = {}
    for word in {w for w in core.split() if len(w) >= 2}:
        for probe in (f" {word} ", f" {word[:3]}"):
            for rec in schools_with_name_part(conn, padded_core=probe):
                seen.setdefault(rec.id, rec)
    scored = sorted(((difflib.SequenceMatcher(None, core, r.name_key.strip()).ratio(), r) for r in seen.values()),
                    key=lambda x: (-x[0], x[1].id))
    return [r for score, r in scored if score >= _NEAR][:MAX_CHOICES]


def read_school(conn: sa.Connection, text: str) -> SchoolAnswer:
    """What a parent's answer to "which school?" names (see the module docstring)."""
    name, question = candidate_name(text)
    if name is None:
        return SchoolAnswer(question=question)
    key = name_key(name)
    if not key.core:
        return SchoolAnswer(question=question)
    chosen = choose(key, schools_with_name_keys(conn, keys=sub_phrases(key)))
    if not chosen:
        chosen = choose(key, schools_with_name_part(conn, padded_core=key.padded))
    if len(chosen) == 1:
        return SchoolAnswer(value={"id": chosen[0].id, "name": chosen[0].name}, typed=name)
    if chosen:
        return SchoolAnswer(choices=tuple(get_schools(conn, ids=[c.id for c in chosen[:MAX_CHOICES]])), typed=name)
    near = _near_misses(conn, key.core)
    if near:
        return SchoolAnswer(choices=tuple(get_schools(conn, ids=[c.id for c in near])), typed=name)
    return SchoolAnswer(value=name, typed=name)


def school_by_id(conn: sa.Connection, school_id: str) -> dict[str, Any] | None:
    """The slot value for a school picked from "did you mean" buttons."""
    found = get_schools(conn, ids=[school_id])
    return {"id": found[0].id, "name": found[0].name} if found else None
