"""FAQ entries admins keep in the console: units of work for ``Database.run``; every change audited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from storage import audit
from storage.content_schema import faq_entries

LANGUAGES = ("vi", "en")
_F = faq_entries.c
_SPLIT = re.compile(r"[\n,;]+")


class FaqError(ValueError):
    """An entry that cannot be saved; the message says which field and why (Vietnamese in ``vi``)."""

    def __init__(self, message: str, *, vi: str) -> None:
        super().__init__(message)
        self.vi = vi

    def say(self, lang: str) -> str:
        return str(self) if lang == "en" else self.vi


@dataclass(frozen=True, slots=True)
class FaqEntry:
    id: int
    question: str
    answer: str
    keywords: tuple[str, ...]  # phrases as typed
    language: str
    enabled: bool
    position: int
    updated_by: str
    updated_at: datetime


def split_keywords(text: str) -> tuple[str, ...]:
    """Phrases from the form: one per line (commas and semicolons separate too), blanks dropped."""
    return tuple(dict.fromkeys(p.strip() for p in _SPLIT.split(text or "") if p.strip()))


def _entry(r: sa.Row[tuple[object, ...]]) -> FaqEntry:
    m = r._mapping
    return FaqEntry(id=m["id"], question=m["question"], answer=m["answer"], keywords=split_keywords(m["keywords"]),
                    language=m["language"], enabled=m["enabled"], position=m["position"],
                    updated_by=m["updated_by"], updated_at=m["updated_at"])


def entries(conn: sa.Connection, *, enabled_only: bool = False) -> list[FaqEntry]:
    """In the order parents see them (position, then oldest first)."""
    query = sa.select(faq_entries).order_by(_F.position, _F.id)
    if enabled_only:
        query = query.where(_F.enabled.is_(True))
    return [_entry(r) for r in conn.execute(query)]


def get(conn: sa.Connection, *, entry_id: int) -> FaqEntry | None:
    row = conn.execute(sa.select(faq_entries).where(_F.id == entry_id)).first()
    return _entry(row) if row is not None else None


def save(conn: sa.Connection, *, entry_id: int | None, question: str, answer: str, keywords: str, language: str,
         enabled: bool, position: int, actor: str, now: datetime) -> int:
    """Create (``entry_id`` None) or replace an entry. Raises :class:`FaqError` for a bad field."""
    question, answer = question.strip(), answer.strip()
    if not question or len(question) > 300:
        raise FaqError("question: 1 to 300 characters", vi="Câu hỏi: từ 1 đến 300 ký tự.")
    if not answer or len(answer) > 3000:
        raise FaqError("answer: 1 to 3000 characters", vi="Câu trả lời: từ 1 đến 3000 ký tự.")
    if language not in LANGUAGES:
        raise FaqError("language: vi or en", vi="Ngôn ngữ: vi hoặc en.")
    phrases = split_keywords(keywords)
    if len(phrases) < 2:
        # One phrase alone would answer too much ("sổ liên lạc" is in many reports): two must match.
        raise FaqError("keywords: give at least two phrases, one per line",
                       vi="Từ khóa: ít nhất hai cụm từ, mỗi dòng một cụm.")
    values = {"question": question, "answer": answer, "keywords": "\n".join(phrases), "language": language,
              "enabled": enabled, "position": position, "updated_by": actor, "updated_at": now}
    if entry_id is None:
        entry_id = int(conn.execute(sa.insert(faq_entries).returning(_F.id), values).scalar_one())
        action = "faq.add"
    else:
        if not conn.execute(sa.update(faq_entries).where(_F.id == entry_id).values(**values)).rowcount:
            raise FaqError("no such entry", vi="Không có mục này.")
        action = "faq.update"
    audit.record(conn, actor=actor, action=action, subject=f"faq:{entry_id}", now=now, detail=question[:200])
    return entry_id


def delete(conn: sa.Connection, *, entry_id: int, actor: str, now: datetime) -> bool:
    done = bool(conn.execute(sa.delete(faq_entries).where(_F.id == entry_id)).rowcount)
    if done:
        audit.record(conn, actor=actor, action="faq.delete", subject=f"faq:{entry_id}", now=now)
    return done
