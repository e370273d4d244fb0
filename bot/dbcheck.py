"""Is the database there, and is its schema ours? One clear line when not, never a traceback.

An unreachable or missing database used to let ``serve`` print "listening" and answer bare 500s, and made
``db upgrade`` print 150 lines. Every command that needs the database checks it through here first.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from storage.db import Database

CONNECT_TIMEOUT = 5.0


class DatabaseUnavailable(Exception):
    """The message is one line: the URL (password hidden), what is wrong, what to do."""


def safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return "(unparseable database.url)"


def explain(url: str, exc: BaseException) -> str:
    where = safe_url(url)
    text = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
    name = type(getattr(exc, "orig", None) or exc).__name__
    if "InvalidCatalogName" in name or ("does not exist" in text and "database" in text):
        return (f"database {where} does not exist: create it (e.g. `createdb {make_url(url).database}`), "
                "then run `hotline db upgrade`")
    if "InvalidPassword" in name or "authentication" in text:
        return f"database {where} refused the login ({text}): check the user and password in database.url"
    if isinstance(exc, (OSError, TimeoutError)) or "connect" in text.lower() or "refused" in text:
        return (f"database {where} is unreachable ({text or name}): start the database server or fix "
                "database.url (HOTLINE_DATABASE__URL)")
    if isinstance(getattr(exc, "orig", None), sqlite3.Error) or "sqlite" in where:
        return f"database {where} cannot be opened ({text}): check the path and its permissions"
    return f"database {where} is not usable ({name}: {text}): check database.url and the server's log"


async def ping(db: Database, seconds: float = CONNECT_TIMEOUT) -> None:
    """SELECT 1 within ``seconds``; raises :class:`DatabaseUnavailable`."""
    async def go() -> None:
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    try:
        await asyncio.wait_for(go(), seconds)
    except (Exception, TimeoutError) as exc:
        raise DatabaseUnavailable(explain(db.url, exc)) from None


async def schema_problem(db: Database) -> str | None:
    """None when every migration head is applied, else what to run."""
    from storage.migrate import current_revision, declared_heads

    current = set(await current_revision(db))
    missing = set(declared_heads()) - current
    if not missing:
        return None
    return (f"database {safe_url(db.url)} is not at the code's schema (missing {', '.join(sorted(missing))}): "
            "run `hotline db upgrade`")


async def check(db: Database, *, schema: bool = True) -> None:
    """Reachable and (``schema``) migrated; raises :class:`DatabaseUnavailable` with one line."""
    await ping(db)
    if schema:
        try:
            problem = await schema_problem(db)
        except Exception as exc:
            raise DatabaseUnavailable(explain(db.url, exc)) from None
        if problem:
            raise DatabaseUnavailable(problem)


def describe(exc: Any, url: str) -> str:
    return str(exc) if isinstance(exc, DatabaseUnavailable) else explain(url, exc)
