"""Shared fixtures: a migrated database on SQLite (always) and PostgreSQL (when the server is reachable)."""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database
from storage.migrate import upgrade
from tests.migrated import create_pg_copy, seeded_url

PG_HOST = os.environ.get("HOTLINE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("HOTLINE_TEST_PG_PORT", "5432"))


def postgres_reachable() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    if not postgres_reachable():
        pytest.skip(f"no PostgreSQL server reachable on {PG_HOST}:{PG_PORT}")
    return f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/test"


async def _create_pg_database(admin_url: str, *, template: str | None = None) -> str:
    """A new throwaway database on the server of ``admin_url`` (a copy of ``template`` when given); its URL."""
    import asyncpg  # only needed when PostgreSQL is in play

    name = f"hotline_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def _drop_pg_database(admin_url: str, url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


REPO = Path(__file__).resolve().parents[1]
# One intent model for the whole test run, handed to every in-process runtime and every `hotline` subprocess
# (tests/e2e/servers.py env_for sets HOTLINE_NLU__MODEL_PATH from it). It is the model shipped in nlu/model/ when
# that one matches the code; in a tree whose nlu/ was edited it is trained once here, under a lock so parallel
# workers (pytest -n) share one training, and saved to this path.
TEST_NLU_MODEL = REPO / "var" / "test-nlu-model.npz"


@pytest.fixture(scope="session", autouse=True)
def _trained_nlu_model() -> None:
    import fcntl

    from bot.runtime import load_nlu

    TEST_NLU_MODEL.parent.mkdir(parents=True, exist_ok=True)
    with (TEST_NLU_MODEL.parent / "test-nlu-model.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        load_nlu(TEST_NLU_MODEL)
    os.environ["HOTLINE_TEST_NLU_MODEL"] = str(TEST_NLU_MODEL)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(seeded_url(tmp_path / "hotline.db"))  # a copy of the migrated file (tests/migrated.py)
    await upgrade(db)
    yield db
    await db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A freshly migrated database; the PostgreSQL case gets its own throwaway database."""
    if request.param == "sqlite":
        db = Database(seeded_url(tmp_path / "hotline.db"))
        await upgrade(db)
        yield db
        await db.dispose()
        return
    admin_url = request.getfixturevalue("pg_admin_url")
    url = await create_pg_copy(admin_url)  # of a migrated template (tests/migrated.py)
    db = Database(url)
    try:
        await upgrade(db)
        yield db
    finally:
        await db.dispose()
        await _drop_pg_database(admin_url, url)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests build their own settings; a developer's HOTLINE_* variables must not leak in.
    for key in list(os.environ):
        if key.startswith("HOTLINE_") and not key.startswith("HOTLINE_TEST_"):
            monkeypatch.delenv(key, raising=False)


# The `slow` set — CI's `./dev test` runs everything, `./dev test fast` (the developer loop) leaves it out — is
# the tests marked by hand, the Hypothesis tests configured for thousands of examples (the full-strength fuzz
# runs of tests/security), and whole files that drive real Chromium or kill and restart `hotline serve`
# processes (seconds of CPU each, most of the loop's time); none of their files has to carry the marker.
FULL_STRENGTH_EXAMPLES = 1000
SLOW_FILES = re.compile(r"(^|_)browser\.py$|^test_(serve_)?crash\.py$")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        chosen = getattr(getattr(item, "obj", None), "_hypothesis_internal_use_settings", None)
        full_strength = chosen is not None and chosen.max_examples >= FULL_STRENGTH_EXAMPLES
        if full_strength or SLOW_FILES.search(item.path.name):
            item.add_marker(pytest.mark.slow)
