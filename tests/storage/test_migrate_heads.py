"""storage.migrate's fast path: the heads read from the revision files are Alembic's, and an up-to-date database
is left alone without loading Alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from storage.db import Database
from storage.migrate import current_revision, declared_heads, head_revisions, upgrade


def test_declared_heads_are_alembics_heads() -> None:
    assert declared_heads() == tuple(sorted(head_revisions()))
    assert len(declared_heads()) > 1  # feature branches: "heads", not "head"


async def test_upgrade_then_up_to_date(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    try:
        assert await current_revision(db) == ()
        await upgrade(db)
        assert set(await current_revision(db)) == set(declared_heads())
        await upgrade(db)  # nothing to do: returns at once
        assert set(await current_revision(db)) == set(declared_heads())
    finally:
        await db.dispose()


@pytest.mark.slow  # ~3 s: `hotline` runs
def test_an_up_to_date_database_does_not_load_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    probe = (
        "import asyncio, sys\n"
        "from storage.db import Database\n"
        "from storage.migrate import upgrade\n"
        f"db = Database({url!r})\n"
        "asyncio.run(upgrade(db))\n"
        "asyncio.run(db.dispose())\n"
        "print('alembic' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    first = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True)
    assert first.stdout.strip() == "True"  # an empty database: Alembic migrates it
    assert second.stdout.strip() == "False"
