"""Which encryption key running processes seal with, and the one `hotline keys rotate` asks them to use.

``keys rotate`` publishes the new current key id here; every process (``hotline serve`` on any machine
sharing the database) checks every few seconds, switches to it (re-reading its key file when the key is new
to it), and reports the key it now uses — so ``keys status`` can say which processes still use an old key,
and ``keys rotate`` re-encrypts only after they have all moved on.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.crypto import Cipher
from storage.harden_schema import key_state, key_users

log = logging.getLogger(__name__)

PROCESS = f"{socket.gethostname()}:{os.getpid()}"[:128]
ALIVE_SECONDS = 15  # a process not seen for this long is not counted as running


def _upsert(conn: sa.Connection, table: sa.Table, values: dict[str, Any], key: str) -> None:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(table).values(**values)
    conn.execute(stmt.on_conflict_do_update(index_elements=[key],
                                            set_={k: v for k, v in values.items() if k != key}))


def publish_current(conn: sa.Connection, *, key_id: str, now: datetime) -> None:
    _upsert(conn, key_state, {"id": 1, "current_key": key_id, "changed_at": now}, "id")


def published(conn: sa.Connection) -> tuple[str, datetime] | None:
    row = conn.execute(sa.select(key_state.c.current_key, key_state.c.changed_at).where(key_state.c.id == 1)).first()
    return (row.current_key, row.changed_at) if row else None


def report_use(conn: sa.Connection, *, process: str, key_id: str, now: datetime) -> None:
    _upsert(conn, key_users, {"process": process, "key_id": key_id, "seen_at": now}, "process")


def forget_process(conn: sa.Connection, *, process: str) -> None:
    conn.execute(sa.delete(key_users).where(key_users.c.process == process))


def running(conn: sa.Connection, *, now: datetime) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(key_users).where(key_users.c.seen_at >= now - timedelta(seconds=ALIVE_SECONDS))
                        .order_by(key_users.c.process))
    return [dict(r) for r in rows.mappings()]


def sync(conn: sa.Connection, *, cipher: Cipher, process: str, started_at: datetime, now: datetime) -> str:
    """Adopt the published key (if published after this process started), report the key in use."""
    target = published(conn)
    if target is not None and target[1].tzinfo is None:  # SQLite hands back naive UTC
        target = (target[0], target[1].replace(tzinfo=UTC))
    if target is not None and target[1] >= started_at and target[0] != cipher.current:
        key_id = target[0]
        if key_id not in cipher.keys and cipher.reload is not None:
            try:
                cipher.keys = cipher.reload().keys
            except Exception as exc:  # a half-written key file: try again on the next round
                log.warning("could not re-read the keys: %s", exc)
        if key_id in cipher.keys:
            cipher.current = key_id
            log.info("encryption: now sealing new data with key %s", key_id)
        else:
            log.warning("encryption: key %s was made current but this process does not have it; still using %s",
                        key_id, cipher.current)
    report_use(conn, process=process, key_id=cipher.current, now=now)
    return cipher.current
