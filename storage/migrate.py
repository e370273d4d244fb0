"""Run Alembic migrations programmatically (``hotline db upgrade`` and SQLite auto-upgrade on serve).

Alembic itself (its import, its environment, reading every revision script) took ~0.3 s of each ``hotline serve``
start even when there was nothing to do. :func:`upgrade` therefore first compares the database's
``alembic_version`` rows with the heads declared in ``migrations/versions`` (read as plain text,
:func:`declared_heads`; a test holds it equal to Alembic's own answer) and only loads Alembic when they differ.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from storage.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_ASSIGNED = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(sync_conn: Any, revision: str) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)


def _current(sync_conn: Any) -> tuple[str, ...]:
    """The revisions recorded in ``alembic_version`` (none for an empty database)."""
    if not sa.inspect(sync_conn).has_table("alembic_version"):
        return ()
    return tuple(sorted(r[0] for r in sync_conn.execute(sa.text("SELECT version_num FROM alembic_version"))))


async def upgrade(db: Database, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (default: every head) in one transaction.

    Feature areas (reference data, Telegram, intake) each branch from the initial revision, so "heads"
    rather than "head": their migrations do not depend on one another.
    """
    if revision == "heads" and set(await current_revision(db)) == set(declared_heads()):
        return  # already there: no need to load Alembic
    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


async def current_revision(db: Database) -> tuple[str, ...]:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)


def head_revisions() -> tuple[str, ...]:
    """Alembic's own list of heads (loads every revision script)."""
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


@cache
def declared_heads() -> tuple[str, ...]:
    """The heads as the revision files declare them (``revision`` / ``down_revision`` assignments): every
    revision no other revision names as its parent."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        found: dict[str, str] = {m[1]: m[2] for m in _ASSIGNED.finditer(path.read_text(encoding="utf-8"))}
        if "revision" not in found:
            continue
        revisions.add(str(ast.literal_eval(found["revision"])))
        down = ast.literal_eval(found.get("down_revision", "None"))
        parents.update([down] if isinstance(down, str) else list(down or ()))
    return tuple(sorted(revisions - parents))
