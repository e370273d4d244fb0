"""Statements run on every chat message, executed on SQLite without SQLAlchemy's per-execution machinery.

A Core statement built once (see ``storage/conversations.py``) still pays, on every execution, for the execution
context, parameter processing, result metadata and events: about 40 µs here, as much as SQLite takes to run the
statement itself, and a message runs seven of them (dedupe, load, hand-off, save, reply record, two deliveries).
:class:`Hot` compiles its statement once per dialect and, on SQLite, hands the SQL and the processed parameters
straight to the driver connection — inside the caller's transaction, since the writer thread's connection
controls transactions itself (``BEGIN IMMEDIATE``, savepoints: :mod:`storage.db`). Values go through the very
bind and result processors SQLAlchemy would apply, so the stored form is the same byte for byte. On PostgreSQL
(asyncpg under ``run_sync``) the statement simply runs through ``Connection.execute``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # bind names in positional order
    fixed: Mapping[str, Any]  # literal values of the statement's own binds ("pending", a LIMIT)
    binds: tuple[Callable[[Any], Any] | None, ...]
    results: tuple[Callable[[Any], Any] | None, ...]
    keys: tuple[str, ...]


class HotRow(tuple):  # type: ignore[type-arg]
    """A result row with attribute access by column name, like SQLAlchemy's ``Row``."""

    __slots__ = ()
    _keys: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[type(self)._keys.index(name)]
        except ValueError:
            raise AttributeError(name) from None

    @property
    def _mapping(self) -> dict[str, Any]:
        return dict(zip(type(self)._keys, self, strict=True))


class Hot:
    """One statement with named ``sa.bindparam`` parameters; see the module docstring."""

    def __init__(self, statement: sa.Select[Any] | sa.Insert | sa.Update | sa.Delete) -> None:
        self.statement = statement
        self._sqlite: _Compiled | None = None
        self._row: type[HotRow] | None = None

    def _compile(self, conn: sa.Connection) -> _Compiled:
        compiled: Any = self.statement.compile(dialect=conn.dialect)
        names = tuple(compiled.positiontup or ())
        processors = compiled._bind_processors
        fixed = {name: bind.value for name, bind in compiled.binds.items()
                 if not bind.required and bind.callable is None}
        keys: tuple[str, ...] = ()
        results: tuple[Callable[[Any], Any] | None, ...] = ()
        if isinstance(self.statement, sa.Select):
            columns = list(self.statement.selected_columns)
            keys = tuple(str(c.key) for c in columns)
            results = tuple(c.type._cached_result_processor(conn.dialect, None) for c in columns)
            self._row = type("Row", (HotRow,), {"__slots__": (), "_keys": keys})
        return _Compiled(compiled.string, names, fixed, tuple(processors.get(n) for n in names), results, keys)

    def _params(self, compiled: _Compiled, params: Mapping[str, Any]) -> list[Any]:
        out = []
        for name, bind in zip(compiled.names, compiled.binds, strict=True):
            value = params[name] if name in params else compiled.fixed[name]
            out.append(bind(value) if bind is not None and value is not None else value)
        return out

    def rows(self, conn: sa.Connection, params: Mapping[str, Any]) -> Sequence[Any]:
        """Every row of a SELECT (attribute access by column name)."""
        driver = _plain_sqlite(conn)
        if driver is None:
            return conn.execute(self.statement, dict(params)).all()
        compiled = self._sqlite or self._prepare(conn)
        raw = _execute(driver, compiled.sql, self._params(compiled, params)).fetchall()
        row = self._row
        assert row is not None
        procs = compiled.results
        return [row(p(v) if p is not None and v is not None else v for p, v in zip(procs, r, strict=True))
                for r in raw]

    def first(self, conn: sa.Connection, params: Mapping[str, Any]) -> Any | None:
        found = self.rows(conn, params)
        return found[0] if found else None

    def run(self, conn: sa.Connection, params: Mapping[str, Any]) -> int:
        """An INSERT / UPDATE / DELETE; returns the rows it touched."""
        driver = _plain_sqlite(conn)
        if driver is None:
            return int(conn.execute(self.statement, dict(params)).rowcount)
        compiled = self._sqlite or self._prepare(conn)
        return int(_execute(driver, compiled.sql, self._params(compiled, params)).rowcount)

    def _prepare(self, conn: sa.Connection) -> _Compiled:
        self._sqlite = self._compile(conn)
        return self._sqlite


def _plain_sqlite(conn: sa.Connection) -> sqlite3.Connection | None:
    """The writer thread's pysqlite connection; None elsewhere (PostgreSQL, or SQLite through aiosqlite, whose
    connection object is asynchronous)."""
    if conn.dialect.name != "sqlite":
        return None
    driver = conn.connection.driver_connection
    return driver if isinstance(driver, sqlite3.Connection) else None


def _execute(driver: sqlite3.Connection, sql: str, params: list[Any]) -> sqlite3.Cursor:
    try:
        return driver.execute(sql, params)
    except sqlite3.Error as exc:  # the same exception classes as through SQLAlchemy (IntegrityError, …)
        raise sa.exc.DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc
