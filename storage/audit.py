"""The audit log: one row per access to or change of personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage.schema import audit_log

_INSERT = sa.insert(audit_log)


def record(conn: sa.Connection, *, actor: str, action: str, subject: str, now: datetime,
           detail: str | None = None) -> None:
    """Append an entry. ``subject`` is a tip reference or a chat's keyed hash, never a plaintext id."""
    conn.execute(_INSERT, {"at": now, "actor": actor, "action": action, "subject": subject, "detail": detail})


def entries(conn: sa.Connection, *, subject: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if subject is not None:
        query = query.where(audit_log.c.subject == subject)
    return [dict(r) for r in conn.execute(query).mappings()]
