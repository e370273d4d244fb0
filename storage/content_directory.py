"""The school directory, the blocklist and the reference domains as admins edit them in the console, and
CSV imports in progress. Units of work for ``Database.run``; keyword-only arguments; every change audited.

Values arrive validated and normalised by the caller (the same parsers as the CLI imports: E.164 numbers,
ASCII domains, folded name keys); lookups the checks make stay in :mod:`storage.reference`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage import audit
from storage.content_schema import blocklist_sources, content_imports, reference_domains
from storage.reference import BlocklistEntry, SchoolRecord, add_to_blocklist, get_schools, upsert_schools
from storage.reference_schema import blocklist, school_phones, schools

DOMAIN_KINDS = ("official", "shortener", "unverified")
BLOCK_KINDS = ("phone", "domain", "bank_account")
SOURCES = ("console", "tip", "import", "cli")  # "other": added before sources were kept (CLI, file import)
# The tip a blocklist entry came from, as storage/tip_links.py words its note ("… từ báo cáo TG-2026-000123").
_TIP_REF = re.compile(r"\b([A-Z]{2,4}-\d{4}-\d{6})\b")


# ----- schools ------------------------------------------------------------------------------------------------
def search_schools(conn: sa.Connection, *, words: str = "", phones: Sequence[str] = (), limit: int = 50,
                   offset: int = 0) -> tuple[list[SchoolRecord], int]:
    """Schools whose id or folded name contains ``words`` (already folded), or that list one of ``phones``.
    Returns a page (with phones) and the number of matches."""
    where: list[sa.ColumnElement[bool]] = []
    if words:
        pattern = f"%{words}%"
        where.append(sa.or_(schools.c.name_key.like(pattern), sa.func.lower(schools.c.id).like(pattern)))
    if phones:
        where.append(schools.c.id.in_(sa.select(school_phones.c.school_id)
                                      .where(school_phones.c.phone.in_(list(phones)))))
    condition = sa.or_(*where) if where else sa.true()
    total = int(conn.execute(sa.select(sa.func.count()).select_from(schools).where(condition)).scalar_one())
    ids = list(conn.execute(sa.select(schools.c.id).where(condition).order_by(schools.c.name, schools.c.id)
                            .limit(limit).offset(offset)).scalars())
    found = {s.id: s for s in get_schools(conn, ids=ids)}
    return [found[i] for i in ids if i in found], total


def save_school(conn: sa.Connection, *, record: SchoolRecord, actor: str, now: datetime, new: bool) -> None:
    """Add (``new``) or replace one school, its official numbers included."""
    exists = conn.execute(sa.select(schools.c.id).where(schools.c.id == record.id)).first() is not None
    if new and exists:
        raise KeyError(record.id)
    upsert_schools(conn, records=[record], now=now)
    audit.record(conn, actor=actor, action="directory.add" if new else "directory.update",
                 subject=f"school:{record.id}", now=now,
                 detail=f"{record.name}; numbers {', '.join(record.phones) or '-'}; {record.contact_book_app or '-'}")


def delete_school(conn: sa.Connection, *, school_id: str, actor: str, now: datetime) -> bool:
    done = bool(conn.execute(sa.delete(schools).where(schools.c.id == school_id)).rowcount)
    if done:
        audit.record(conn, actor=actor, action="directory.delete", subject=f"school:{school_id}", now=now)
    return done


def all_schools(conn: sa.Connection) -> list[SchoolRecord]:
    """The whole directory in id order, for the CSV export."""
    ids = list(conn.execute(sa.select(schools.c.id).order_by(schools.c.id)).scalars())
    out: list[SchoolRecord] = []
    for start in range(0, len(ids), 500):
        out += get_schools(conn, ids=ids[start:start + 500])
    return out


# ----- CSV imports with a progress bar -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ImportJob:
    id: int
    kind: str
    file_name: str
    status: str
    total: int
    done: int
    inserted: int
    updated: int
    problems: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    error: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 or self.status != "running" else min(100, 100 * self.done // self.total)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "total": self.total, "done": self.done,
                "inserted": self.inserted, "updated": self.updated, "percent": self.percent,
                "skipped": len(self.problems), "error": self.error}


def start_import(conn: sa.Connection, *, kind: str, file_name: str, total: int, problems: list[dict[str, Any]],
                 warnings: list[dict[str, Any]], actor: str, now: datetime, error: str | None = None) -> int:
    """Record an import about to load ``total`` good rows (``problems``: the rows skipped, by line)."""
    status = "failed" if error else "running"
    job = int(conn.execute(sa.insert(content_imports).returning(content_imports.c.id), {
        "kind": kind, "file_name": file_name[:255], "status": status, "total": total, "problems": problems,
        "warnings": warnings, "error": error, "created_by": actor, "created_at": now, "updated_at": now,
    }).scalar_one())
    audit.record(conn, actor=actor, action=f"{kind}.import", subject=f"import:{job}", now=now,
                 detail=f"{file_name[:100]}: {total} rows to load, {len(problems)} skipped"
                        + (f"; refused: {error[:100]}" if error else ""))
    return job


def load_school_chunk(conn: sa.Connection, *, job_id: int, records: Sequence[SchoolRecord], now: datetime) -> None:
    """Load one chunk of an import and move its progress bar."""
    inserted, updated = upsert_schools(conn, records=records, now=now)
    c = content_imports.c
    conn.execute(sa.update(content_imports).where(c.id == job_id).values(
        done=c.done + len(records), inserted=c.inserted + inserted, updated=c.updated + updated, updated_at=now))


def record_loaded(conn: sa.Connection, *, job_id: int, done: int, inserted: int, now: datetime) -> None:
    """An import loaded in one transaction (the units map is all or nothing): finished at once."""
    conn.execute(sa.update(content_imports).where(content_imports.c.id == job_id).values(
        done=done, inserted=inserted, status="done", updated_at=now))


def finish_import(conn: sa.Connection, *, job_id: int, now: datetime, error: str | None = None) -> None:
    conn.execute(sa.update(content_imports).where(content_imports.c.id == job_id).values(
        status="failed" if error else "done", error=error, updated_at=now))


def get_import(conn: sa.Connection, *, job_id: int) -> ImportJob | None:
    row = conn.execute(sa.select(content_imports).where(content_imports.c.id == job_id)).first()
    if row is None:
        return None
    return ImportJob(**{k: row._mapping[k] for k in ImportJob.__slots__})


def recent_imports(conn: sa.Connection, *, kind: str, limit: int = 5) -> list[ImportJob]:
    rows = conn.execute(sa.select(content_imports).where(content_imports.c.kind == kind)
                        .order_by(content_imports.c.id.desc()).limit(limit))
    return [ImportJob(**{k: r._mapping[k] for k in ImportJob.__slots__}) for r in rows]


# ----- blocklist -----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Blocked:
    kind: str
    value: str
    note: str | None
    created_at: datetime
    source: str
    added_by: str | None
    tip_reference: str | None  # the tip it was confirmed from, when there is one


def blocklist_page(conn: sa.Connection, *, kind: str | None = None, contains: str = "", limit: int = 100,
                   offset: int = 0) -> tuple[list[Blocked], int]:
    """Entries (newest first) with where they came from; entries from tips name the tip."""
    src = blocklist_sources.c
    where: list[sa.ColumnElement[bool]] = []
    if kind:
        where.append(blocklist.c.kind == kind)
    if contains:
        where.append(sa.or_(blocklist.c.value.like(f"%{contains}%"), blocklist.c.note.like(f"%{contains}%")))
    condition = sa.and_(*where) if where else sa.true()
    total = int(conn.execute(sa.select(sa.func.count()).select_from(blocklist).where(condition)).scalar_one())
    rows = conn.execute(sa.select(blocklist, src.source, src.added_by, src.tip_reference)
                        .select_from(blocklist.outerjoin(blocklist_sources, sa.and_(
                            src.kind == blocklist.c.kind, src.value == blocklist.c.value)))
                        .where(condition).order_by(blocklist.c.created_at.desc(), blocklist.c.value)
                        .limit(limit).offset(offset))
    out = []
    for r in rows:
        found = _TIP_REF.search(r.note or "")
        tip = r.tip_reference or (found.group(1) if found else None)
        out.append(Blocked(kind=r.kind, value=r.value, note=r.note, created_at=r.created_at,
                           source=r.source or ("tip" if tip else "other"), added_by=r.added_by, tip_reference=tip))
    return out, total


def block(conn: sa.Connection, *, kind: str, value: str, note: str | None, source: str, actor: str, now: datetime,
          tip_reference: str | None = None) -> bool:
    """Add one (normalised) entry, recording its source; True when it was new. An existing entry gets the note."""
    added, _ = add_to_blocklist(conn, entries=[BlocklistEntry(kind, value, note or None)], now=now)
    stmt = sa.select(blocklist_sources.c.kind).where(blocklist_sources.c.kind == kind,
                                                     blocklist_sources.c.value == value)
    values = {"source": source, "tip_reference": tip_reference, "added_by": actor, "updated_at": now}
    if conn.execute(stmt).first() is None:
        conn.execute(sa.insert(blocklist_sources), {"kind": kind, "value": value, **values})
    else:
        conn.execute(sa.update(blocklist_sources).where(blocklist_sources.c.kind == kind,
                                                        blocklist_sources.c.value == value).values(**values))
    audit.record(conn, actor=actor, action="blocklist.add", subject=tip_reference or "blocklist", now=now,
                 detail=f"{kind} {value} ({source})")
    return bool(added)


def unblock(conn: sa.Connection, *, kind: str, value: str, actor: str, now: datetime) -> bool:
    done = bool(conn.execute(sa.delete(blocklist).where(blocklist.c.kind == kind, blocklist.c.value == value))
                .rowcount)
    conn.execute(sa.delete(blocklist_sources).where(blocklist_sources.c.kind == kind,
                                                    blocklist_sources.c.value == value))
    if done:
        audit.record(conn, actor=actor, action="blocklist.remove", subject="blocklist", now=now,
                     detail=f"{kind} {value}")
    return done


# ----- official domains, shorteners, unverified domains ------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DomainOverride:
    kind: str
    value: str
    enabled: bool  # False: a shipped entry switched off
    note: str | None
    updated_by: str
    updated_at: datetime


def domain_overrides(conn: sa.Connection) -> list[DomainOverride]:
    """What admins added to (enabled) or took out of (disabled) the shipped domain lists."""
    d = reference_domains.c
    return [DomainOverride(r.kind, r.value, r.enabled, r.note, r.updated_by, r.updated_at)
            for r in conn.execute(sa.select(reference_domains).order_by(d.kind, d.value))]


def set_domain(conn: sa.Connection, *, kind: str, value: str, enabled: bool, note: str | None, actor: str,
               now: datetime) -> None:
    """Add a domain to a list (``enabled``) or switch a shipped one off."""
    if kind not in DOMAIN_KINDS:
        raise ValueError(f"kind must be one of {', '.join(DOMAIN_KINDS)}")
    d = reference_domains.c
    values = {"enabled": enabled, "note": (note or None) and note[:255], "updated_by": actor, "updated_at": now}
    if conn.execute(sa.select(d.kind).where(d.kind == kind, d.value == value)).first() is None:
        conn.execute(sa.insert(reference_domains), {"kind": kind, "value": value, **values})
    else:
        conn.execute(sa.update(reference_domains).where(d.kind == kind, d.value == value).values(**values))
    audit.record(conn, actor=actor, action=f"domains.{'add' if enabled else 'disable'}", subject=f"domains:{kind}",
                 now=now, detail=value)


def reset_domain(conn: sa.Connection, *, kind: str, value: str, actor: str, now: datetime) -> bool:
    """Drop an admin's change: an added domain goes, a switched-off shipped one counts again."""
    d = reference_domains.c
    done = bool(conn.execute(sa.delete(reference_domains).where(d.kind == kind, d.value == value)).rowcount)
    if done:
        audit.record(conn, actor=actor, action="domains.reset", subject=f"domains:{kind}", now=now, detail=value)
    return done
