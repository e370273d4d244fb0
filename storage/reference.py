"""Repository for the school directory, the blocklist, and report counts from tip indicators.

Values arrive already normalised (E.164 numbers, ASCII lowercase domains, folded name keys): this module
stores and looks up exactly what it is given. Every lookup a check makes is an index probe on a handful of
values (``IN``), never a scan of the blocklist.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from storage.crypto import Cipher
from storage.indicators import key_of
from storage.reference_schema import blocklist, school_phones, schools
from storage.schema import tip_indicators

# Well under SQLite's bound-parameter limit and PostgreSQL's, and small enough to keep plans simple.
CHUNK = 500
T = TypeVar("T")


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class SchoolRecord:
    """One school as stored. ``phones`` are E.164; ``name_key`` is padded (" nguyen trai ")."""

    id: str
    name: str
    province: str = ""
    commune: str = ""
    contact_book_app: str = ""
    website: str | None = None
    website_host: str | None = None
    name_key: str = ""
    type_key: str = ""
    phones: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BlocklistEntry:
    kind: str  # phone | domain
    value: str
    note: str | None = None
    created_at: datetime | None = None


def _school_values(rec: SchoolRecord, now: datetime) -> dict[str, object]:
    return {
        "id": rec.id, "name": rec.name, "province": rec.province, "commune": rec.commune,
        "contact_book_app": rec.contact_book_app, "website": rec.website, "website_host": rec.website_host,
        "name_key": rec.name_key, "type_key": rec.type_key, "updated_at": now,
    }


def upsert_schools(conn: sa.Connection, *, records: Sequence[SchoolRecord], now: datetime) -> tuple[int, int]:
    """Insert new schools and replace existing ones (by id), phones included. Returns (inserted, updated)."""
    existing: set[str] = set()
    for chunk in _chunks([r.id for r in records]):
        rows = conn.execute(sa.select(schools.c.id).where(schools.c.id.in_(chunk)))
        existing.update(rows.scalars())
    new = [_school_values(r, now) for r in records if r.id not in existing]
    if new:
        conn.execute(sa.insert(schools), new)
    for rec in records:
        if rec.id in existing:
            values = _school_values(rec, now)
            del values["id"]
            conn.execute(sa.update(schools).where(schools.c.id == rec.id).values(**values))
    for chunk in _chunks(sorted(existing)):
        conn.execute(sa.delete(school_phones).where(school_phones.c.school_id.in_(chunk)))
    phone_rows = [{"school_id": r.id, "phone": p} for r in records for p in dict.fromkeys(r.phones)]
    if phone_rows:
        conn.execute(sa.insert(school_phones), phone_rows)
    return len(new), len(records) - len(new)


# Statements are built once: constructing a select per call costs more than running it on these tables.
_GET_SCHOOLS = (
    sa.select(schools, school_phones.c.phone)
    .select_from(schools.outerjoin(school_phones, school_phones.c.school_id == schools.c.id))
    .where(schools.c.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(schools.c.id, school_phones.c.phone)
)
_CANDIDATE = sa.select(schools.c.id, schools.c.name, schools.c.name_key, schools.c.type_key, schools.c.province,
                       schools.c.commune)
_BY_NAME_KEYS = _CANDIDATE.where(schools.c.name_key.in_(sa.bindparam("keys", expanding=True))).order_by(schools.c.id)
_BY_NAME_PART = (
    _CANDIDATE.where(schools.c.name_key.like(sa.bindparam("pattern"))).order_by(schools.c.id).limit(sa.bindparam("n"))
)
_PHONE_OWNERS = (
    sa.select(school_phones.c.phone, schools.c.id, schools.c.name)
    .join(schools, schools.c.id == school_phones.c.school_id)
    .where(school_phones.c.phone.in_(sa.bindparam("phones", expanding=True)))
    .order_by(schools.c.id)
)
_HOST_OWNERS = (
    sa.select(schools.c.website_host, schools.c.id, schools.c.name)
    .where(schools.c.website_host.in_(sa.bindparam("hosts", expanding=True)))
    .order_by(schools.c.id)
)
# Kind leads each condition so that both halves probe the (kind, value) primary key.
_BLOCKED = sa.select(blocklist.c.kind, blocklist.c.value).where(sa.or_(
    sa.and_(blocklist.c.kind == "phone", blocklist.c.value.in_(sa.bindparam("phones", expanding=True))),
    sa.and_(blocklist.c.kind == "domain", blocklist.c.value.in_(sa.bindparam("domains", expanding=True))),
))
# Distinct people, not distinct chats: reports from one client address count once, and reports an officer
# dismissed ("not a scam") not at all.
# Indicators are matched by their blind index (storage/indicators.py): nothing is decrypted to count them.
_REPORTS = (
    sa.select(tip_indicators.c.kind, tip_indicators.c.value_key,
              sa.func.count(sa.distinct(sa.func.coalesce(tip_indicators.c.origin_key, tip_indicators.c.reporter_key))))
    .where(tip_indicators.c.kind.in_(("phone", "domain")),
           tip_indicators.c.value_key.in_(sa.bindparam("keys", expanding=True)),
           tip_indicators.c.dismissed.is_(False))
    .group_by(tip_indicators.c.kind, tip_indicators.c.value_key)
)


def _candidate(row: Sequence[Any]) -> SchoolRecord:
    sid, name, name_key, type_key, province, commune = row
    return SchoolRecord(id=sid, name=name, province=province, commune=commune, name_key=name_key, type_key=type_key)


def get_schools(conn: sa.Connection, *, ids: Sequence[str]) -> list[SchoolRecord]:
    """Schools by id, with their phones, in id order (unknown ids are left out)."""
    if not ids:
        return []
    out: dict[str, SchoolRecord] = {}
    phones: dict[str, list[str]] = {}
    for row in conn.execute(_GET_SCHOOLS, {"ids": list(ids)}):
        m = row._mapping
        if m["id"] not in out:
            out[m["id"]] = SchoolRecord(
                id=m["id"], name=m["name"], province=m["province"], commune=m["commune"],
                contact_book_app=m["contact_book_app"], website=m["website"], website_host=m["website_host"],
                name_key=m["name_key"], type_key=m["type_key"],
            )
            phones[m["id"]] = []
        if m["phone"] is not None:
            phones[m["id"]].append(m["phone"])
    return [replace(rec, phones=tuple(phones[sid])) for sid, rec in out.items()]


def schools_with_name_keys(conn: sa.Connection, *, keys: Sequence[str]) -> list[SchoolRecord]:
    """Schools whose padded name key is exactly one of ``keys`` (an index lookup). Phones not loaded."""
    if not keys:
        return []
    return [_candidate(r) for r in conn.execute(_BY_NAME_KEYS, {"keys": list(keys)})]


def schools_with_name_part(conn: sa.Connection, *, padded_core: str, limit: int = 50) -> list[SchoolRecord]:
    """Schools whose name key contains ``padded_core`` as whole words (a LIKE scan). Phones not loaded.

    ``padded_core`` is a folded core with a space either side (only ``[a-z0-9& ]``: no LIKE escaping).
    A directory is one province's schools, a few thousand rows at most, so the scan stays well under a
    millisecond; callers try :func:`schools_with_name_keys` first.
    """
    if not padded_core.strip():
        return []
    return [_candidate(r) for r in conn.execute(_BY_NAME_PART, {"pattern": f"%{padded_core}%", "n": limit})]


def schools_with_phones(conn: sa.Connection, *, phones: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """For each number, the schools (id, name) that list it as official."""
    out: dict[str, list[tuple[str, str]]] = {}
    if phones:
        for phone, school_id, name in conn.execute(_PHONE_OWNERS, {"phones": list(phones)}):
            out.setdefault(phone, []).append((school_id, name))
    return out


def schools_with_hosts(conn: sa.Connection, *, hosts: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """For each host, the schools (id, name) whose website is on it."""
    out: dict[str, list[tuple[str, str]]] = {}
    if hosts:
        for host, school_id, name in conn.execute(_HOST_OWNERS, {"hosts": list(hosts)}):
            out.setdefault(host, []).append((school_id, name))
    return out


def count_schools(conn: sa.Connection) -> int:
    return int((conn.execute(sa.select(sa.func.count()).select_from(schools))).scalar_one())


def blocklisted(conn: sa.Connection, *, phones: Sequence[str], domains: Sequence[str]) -> set[tuple[str, str]]:
    """The (kind, value) pairs among the given numbers and domains that are on the blocklist."""
    if not phones and not domains:
        return set()
    rows = conn.execute(_BLOCKED, {"phones": sorted(set(phones)), "domains": sorted(set(domains))})
    return {(k, v) for k, v in rows}


def report_counts(
    conn: sa.Connection, *, phones: Sequence[str], domains: Sequence[str], cipher: Cipher
) -> dict[tuple[str, str], int]:
    """Distinct reporters per (kind, value) in ``tip_indicators``; values nobody reported are left out.

    ``cipher`` gives the blind index the values are matched by.
    """
    wanted = {key_of(cipher, k, v): (k, v) for k, values in (("phone", phones), ("domain", domains)) for v in values}
    if not wanted:
        return {}
    found = conn.execute(_REPORTS, {"keys": sorted(wanted)})
    return {wanted[key]: int(n) for k, key, n in found if key in wanted and wanted[key][0] == k}


def add_to_blocklist(
    conn: sa.Connection, *, entries: Sequence[BlocklistEntry], now: datetime
) -> tuple[int, int]:
    """Add entries; an entry already listed gets the new note. Returns (added, updated)."""
    unique = list({(e.kind, e.value): e for e in entries}.values())
    existing: set[tuple[str, str]] = set()
    for chunk in _chunks(unique):
        existing |= blocklisted(
            conn, phones=[e.value for e in chunk if e.kind == "phone"],
            domains=[e.value for e in chunk if e.kind == "domain"],
        )
    new = [{"kind": e.kind, "value": e.value, "note": e.note, "created_at": now}
           for e in unique if (e.kind, e.value) not in existing]
    for rows in _chunks(new, 20_000):
        conn.execute(sa.insert(blocklist), list(rows))
    for e in unique:
        if (e.kind, e.value) in existing and e.note is not None:
            conn.execute(
                sa.update(blocklist).where(blocklist.c.kind == e.kind, blocklist.c.value == e.value).values(note=e.note)
            )
    return len(new), len(unique) - len(new)


def remove_from_blocklist(conn: sa.Connection, *, kind: str, value: str) -> bool:
    """Remove one entry; False when it was not listed."""
    result = conn.execute(sa.delete(blocklist).where(blocklist.c.kind == kind, blocklist.c.value == value))
    return bool(result.rowcount)


def list_blocklist(
    conn: sa.Connection, *, kind: str | None = None, limit: int | None = None
) -> list[BlocklistEntry]:
    """Entries ordered by kind and value."""
    stmt = sa.select(blocklist).order_by(blocklist.c.kind, blocklist.c.value)
    if kind is not None:
        stmt = stmt.where(blocklist.c.kind == kind)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = conn.execute(stmt)
    return [BlocklistEntry(r.kind, r.value, r.note, r.created_at) for r in rows]

