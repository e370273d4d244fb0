"""A migrated SQLite database, built once per test process and copied for each test.

Migrating a new file through every Alembic revision costs ~0.6 s of CPU; about a thousand tests start on a fresh
database, so the developer loop spent minutes migrating. A copy of one migrated file is the same database
(``storage.migrate.upgrade`` finds it at the heads and returns at once) for a few milliseconds. Tests of the
migrations themselves still start from an empty file or downgrade what they are given.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_template: Path | None = None


def _build(path: Path) -> None:
    from storage.db import Database
    from storage.migrate import upgrade

    async def migrate() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(db)
        finally:
            await db.dispose()

    _in_thread(migrate)  # a loop of its own: callers may be inside a running event loop (async fixtures)
    with sqlite3.connect(path) as conn:  # everything in the main file, so that copying it alone is enough
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def template() -> Path:
    """The migrated file of this process (built on first use)."""
    global _template
    with _lock:
        if _template is None:
            folder = tempfile.mkdtemp(prefix="hotline-migrated-")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            path = Path(folder) / "hotline.db"
            _build(path)
            _template = path
        return _template


def seed_sqlite(path: Path) -> Path:
    """Put a copy of the migrated database at ``path`` unless a database is already there; returns ``path``."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template(), path)
        os.chmod(path, 0o600)  # as storage.db creates it: private to the service's user
    return path


def seeded_url(path: Path) -> str:
    """The SQLAlchemy URL of a seeded copy at ``path``."""
    return f"sqlite+aiosqlite:///{seed_sqlite(path)}"


# ----- PostgreSQL: CREATE DATABASE … TEMPLATE copies a migrated database in a few tens of milliseconds ---------
_pg_templates: dict[str, str] = {}


def _in_thread(fn: Any) -> Any:
    """Run a coroutine function to completion on a loop of its own (callers may be inside a running loop)."""
    out: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            out.append(asyncio.run(fn()))
        except BaseException as exc:  # re-raised in the caller
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return out[0] if out else None


def pg_template(admin_url: str) -> str:
    """The name of this process's migrated template database on the server of ``admin_url`` (built once,
    dropped when the process ends)."""
    from tests.conftest import _create_pg_database, _drop_pg_database

    with _lock:
        if admin_url not in _pg_templates:
            from storage.db import Database
            from storage.migrate import upgrade

            async def build() -> str:
                url = await _create_pg_database(admin_url)
                db = Database(url)
                try:
                    await upgrade(db)
                finally:
                    await db.dispose()  # no session may stay on a template that is being copied
                return url

            url = _in_thread(build)
            atexit.register(lambda: _in_thread(lambda: _drop_pg_database(admin_url, url)))
            _pg_templates[admin_url] = url.rsplit("/", 1)[1]
        return _pg_templates[admin_url]


async def create_pg_copy(admin_url: str) -> str:
    """A new database copied from the migrated template; returns its URL (drop it with ``_drop_pg_database``)."""
    from tests.conftest import _create_pg_database

    return await _create_pg_database(admin_url, template=pg_template(admin_url))
