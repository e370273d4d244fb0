"""Versions of the flow files, and which one each file serves: units of work for ``Database.run``.

A file's first version is the YAML shipped in ``handlers/flows`` (recorded the first time an admin saves or
publishes that file); every save that validates adds a version; publishing (or rolling back to) a version
adds a publication row. What a process serves is the latest publication of each file over the shipped
files; :func:`stamp` is the cheap poll that tells a process something was published.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage import audit
from storage.content_schema import flow_publications, flow_versions

SHIPPED = "shipped"
_V, _P = flow_versions.c, flow_publications.c


@dataclass(frozen=True, slots=True)
class FlowVersion:
    id: int
    file: str
    number: int
    text: str
    note: str | None
    created_by: str
    created_at: datetime
    published: bool = False  # the file serves this version now


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _version(row: Any, current: int | None) -> FlowVersion:
    return FlowVersion(id=row.id, file=row.file, number=row.number, text=row.text, note=row.note,
                       created_by=row.created_by, created_at=row.created_at, published=row.id == current)


_COLUMNS = (_V.id, _V.file, _V.number, _V.text, _V.note, _V.created_by, _V.created_at)


def stamp(conn: sa.Connection) -> int:
    """The newest publication's id (0: nothing published yet). Changes whenever any file is published."""
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(_P.id), 0))).scalar_one())


def _latest_publications() -> sa.Subquery:
    return sa.select(_P.file, sa.func.max(_P.id).label("pid")).group_by(_P.file).subquery()


def current_ids(conn: sa.Connection) -> dict[str, int]:
    """File → the version id it serves (files never published are absent: they serve the shipped file)."""
    latest = _latest_publications()
    rows = conn.execute(sa.select(_P.file, _P.version_id).join(latest, latest.c.pid == _P.id))
    return {r.file: int(r.version_id) for r in rows}


def current_texts(conn: sa.Connection) -> dict[str, str]:
    """File → the text it serves, for every file published in the database."""
    latest = _latest_publications()
    rows = conn.execute(sa.select(_P.file, _V.text).join(latest, latest.c.pid == _P.id)
                        .join(flow_versions, _V.id == _P.version_id))
    return {r.file: r.text for r in rows}


def versions(conn: sa.Connection, *, file: str) -> list[FlowVersion]:
    """A file's versions, newest first; ``published`` marks the one it serves."""
    current = current_ids(conn).get(file)
    rows = conn.execute(sa.select(*_COLUMNS).where(_V.file == file).order_by(_V.number.desc()))
    return [_version(r, current) for r in rows]


def get_version(conn: sa.Connection, *, version_id: int) -> FlowVersion | None:
    row = conn.execute(sa.select(*_COLUMNS).where(_V.id == version_id)).first()
    if row is None:
        return None
    return _version(row, current_ids(conn).get(row.file))


def publications(conn: sa.Connection, *, file: str, limit: int = 20) -> list[dict[str, object]]:
    """A file's publications, newest first: who put which version live, and when."""
    rows = conn.execute(sa.select(_P.id, _P.action, _P.published_by, _P.published_at, _V.number)
                        .join(flow_versions, _V.id == _P.version_id).where(_P.file == file)
                        .order_by(_P.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


def _add(conn: sa.Connection, *, file: str, text: str, actor: str, now: datetime, note: str | None) -> int:
    number = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(_V.number), 0)).where(_V.file == file))
                 .scalar_one()) + 1
    return int(conn.execute(sa.insert(flow_versions).returning(_V.id), {
        "file": file, "number": number, "text": text, "sha256": _sha(text), "note": note, "created_by": actor,
        "created_at": now}).scalar_one())


def save_version(conn: sa.Connection, *, file: str, text: str, shipped: str | None, actor: str, now: datetime,
                 note: str | None = None) -> FlowVersion:
    """Store ``text`` (already validated) as the file's next version; the shipped text becomes version 1
    first when the file has none. Saving the text of the newest version again returns that version."""
    if shipped is not None and conn.execute(sa.select(_V.id).where(_V.file == file).limit(1)).first() is None:
        _add(conn, file=file, text=shipped, actor=SHIPPED, now=now, note="shipped file")
    newest = conn.execute(sa.select(_V.id, _V.sha256).where(_V.file == file).order_by(_V.number.desc())
                          .limit(1)).first()
    if newest is not None and newest.sha256 == _sha(text):
        found = get_version(conn, version_id=newest.id)
        assert found is not None
        return found
    version_id = _add(conn, file=file, text=text, actor=actor, now=now, note=(note or None) and note[:255])
    audit.record(conn, actor=actor, action="flow.save", subject=f"flow:{file}", now=now,
                 detail=f"version id {version_id}")
    found = get_version(conn, version_id=version_id)
    assert found is not None
    return found


def publish(conn: sa.Connection, *, version_id: int, actor: str, now: datetime, action: str = "publish") -> None:
    """Make a version the one its file serves (``action``: publish, or rollback to an earlier one)."""
    version = get_version(conn, version_id=version_id)
    if version is None:
        raise LookupError(f"no flow version {version_id}")
    conn.execute(sa.insert(flow_publications), {"file": version.file, "version_id": version_id, "action": action,
                                                "published_by": actor, "published_at": now})
    audit.record(conn, actor=actor, action=f"flow.{action}", subject=f"flow:{version.file}", now=now,
                 detail=f"version {version.number}")
