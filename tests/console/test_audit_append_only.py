"""The audit log cannot be edited or emptied, not even by a process holding the application's connection
(migration 0016_audit_append_only), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from storage import audit
from storage.db import Database
from storage.schema import audit_log


async def test_audit_rows_are_appended_but_never_changed_or_deleted(database: Database) -> None:
    now = datetime.now(UTC)
    await database.run(audit.record, actor="officer:1", action="tip.view", subject="TG-2026-000001", now=now)
    changes: list[sa.Executable] = [sa.update(audit_log).values(actor="someone else"), sa.delete(audit_log)]
    for change in changes:

        def attempt(conn: sa.Connection, stmt: sa.Executable = change) -> None:
            conn.execute(stmt)

        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            await database.run(attempt)
    rows = await database.run(audit.entries, subject="TG-2026-000001")
    assert [(r["actor"], r["action"]) for r in rows] == [("officer:1", "tip.view")]
