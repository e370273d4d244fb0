"""Run Alembic migrations programmatically (``hotline db upgrade`` and SQLite auto-upgrade on serve)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(sync_conn: Any, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)


def _current(sync_conn: Any) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(sync_conn).get_current_heads())


async def upgrade(db: Database, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (default: every head) in one transaction.

    Feature areas (reference data, Telegram, intake) each branch from the initial revision, so "heads"
    rather than "head": their migrations do not depend on one another.
    """
    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


async def current_revision(db: Database) -> tuple[str, ...]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)


def head_revisions() -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())
