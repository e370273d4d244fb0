"""The officers' queue: filters over plain indexed facets, search over keyed hashes, keyset paging.

Nothing here decrypts: filters are equality tests on ``tip_cases`` / ``tip_tags`` columns, and a search is
the intersection of ``tip_terms`` rows for the hashed query terms. Pages are keyset-paged (an opaque cursor
holding the last row's sort key), so page 500 costs what page 1 costs, and a tip filed meanwhile does not
shift what the officer is reading.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage.cases import hashed
from storage.crypto import Cipher
from storage.workflow import CASE_COLUMNS, CaseRow, Viewer, case_from_row, visible
from storage.workflow_schema import tip_cases, tip_tags, tip_terms

SORTS: dict[str, tuple[tuple[str, bool], ...]] = {
    # (column, descending)
    "priority": (("priority", True), ("created_at", True), ("tip_id", True)),  # urgent first, then newest
    "waiting": (("priority", True), ("created_at", False), ("tip_id", False)),  # urgent first, then longest waiting
    "newest": (("created_at", True), ("tip_id", True)),
    "oldest": (("created_at", False), ("tip_id", False)),
}
MAX_LIMIT = 200


class QueryError(ValueError):
    """A filter value or cursor that makes no sense (shown to the officer, never a 500)."""


@dataclass(frozen=True)
class QueueFilter:
    """What the officer asked for; every field optional. ``terms`` are unhashed search terms
    (see :func:`handlers.search.query_terms`); ``reference`` finds one tip by its reference."""

    status: tuple[str, ...] = ()  # empty: open tips (everything but closed); ("all",): every status
    unit_id: str | None = None
    commune_code: str | None = None
    verdict: str | None = None
    pretext: str | None = None
    asked: str | None = None
    money_lost: bool | None = None
    channel: str | None = None
    kind: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    assigned: str | None = None  # "me" | "none" | None
    reply_received: bool | None = None
    urgent: bool | None = None
    terms: tuple[str, ...] = field(default_factory=tuple)
    reference: str | None = None
    sort: str = "priority"


@dataclass(frozen=True)
class QueuePage:
    rows: list[CaseRow]
    next_cursor: str | None


def _encode(values: Sequence[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, sort: tuple[tuple[str, bool], ...]) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(sort):
            raise ValueError
        out: list[Any] = []
        for (name, _desc), value in zip(sort, values, strict=True):
            if name == "created_at":
                out.append(datetime.fromisoformat(value))
            elif isinstance(value, int) and not isinstance(value, bool):
                out.append(value)
            else:
                raise ValueError
        return out
    except (ValueError, TypeError, UnicodeDecodeError):
        raise QueryError("invalid page cursor") from None


def _after(sort: tuple[tuple[str, bool], ...], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Rows strictly after ``values`` in ``sort`` order (mixed directions spelled out as OR of ANDs)."""
    clauses = []
    for i, (name, desc) in enumerate(sort):
        column = tip_cases.c[name]
        equal = [tip_cases.c[n] == values[j] for j, (n, _d) in enumerate(sort[:i])]
        clauses.append(sa.and_(*equal, column < values[i] if desc else column > values[i]))
    return sa.or_(*clauses)


def _where(viewer: Viewer, f: QueueFilter, cipher: Cipher) -> list[sa.ColumnElement[bool]]:
    c = tip_cases.c
    where: list[sa.ColumnElement[bool]] = [visible(viewer)]
    if not f.status:
        where.append(c.is_open.is_(True))
    elif "all" not in f.status:
        where.append(c.status.in_(f.status) if len(f.status) > 1 else c.status == f.status[0])
        # Spelled out so the planner can walk the queue index (is_open, priority, created_at) in order
        # instead of sorting every tip with that status.
        if "closed" not in f.status:
            where.append(c.is_open.is_(True))
        elif set(f.status) == {"closed"}:
            where.append(c.is_open.is_(False))
    for name in ("unit_id", "commune_code", "verdict", "pretext", "channel", "kind"):
        value = getattr(f, name)
        if value:
            where.append(c[name] == value)
    if f.money_lost is not None:
        where.append(c.money_lost.is_(f.money_lost))
    if f.reply_received is not None:
        where.append(c.reply_received.is_(f.reply_received))
    if f.urgent is not None:
        where.append(c.urgent.is_(f.urgent))
    if f.created_from is not None:
        where.append(c.created_at >= f.created_from)
    if f.created_to is not None:
        where.append(c.created_at < f.created_to)
    if f.assigned == "me":
        where.append(c.assignee_id == viewer.user_id)
    elif f.assigned == "none":
        where.append(c.assignee_id.is_(None))
    if f.asked:
        # A correlated EXISTS probes the tag's primary key per row while the queue index gives the order;
        # an IN list would collect every tip with a common tag (e.g. "asked for an OTP") and sort them all.
        where.append(sa.exists().where(tip_tags.c.facet == "asked", tip_tags.c.value == f.asked,
                                       tip_tags.c.tip_id == c.tip_id))
    if f.reference:
        where.append(c.reference == f.reference.strip().upper())
    for term in hashed(cipher, f.terms):  # every term must match (AND)
        where.append(c.tip_id.in_(sa.select(tip_terms.c.tip_id).where(tip_terms.c.term == term)))
    return where


def queue(conn: sa.Connection, *, viewer: Viewer, filters: QueueFilter, cursor: str | None = None,
          limit: int = 50, cipher: Cipher) -> QueuePage:
    """One page of the queue for ``viewer``. Raises :class:`QueryError` for a bad sort or cursor."""
    sort = SORTS.get(filters.sort)
    if sort is None:
        raise QueryError(f"unknown sort {filters.sort!r}; expected one of {', '.join(SORTS)}")
    limit = max(1, min(limit, MAX_LIMIT))
    where = _where(viewer, filters, cipher)
    if cursor:
        where.append(_after(sort, _decode(cursor, sort)))
    order = [tip_cases.c[name].desc() if desc else tip_cases.c[name].asc() for name, desc in sort]
    rows = conn.execute(sa.select(*CASE_COLUMNS).where(*where).order_by(*order).limit(limit + 1)).all()
    cases = [case_from_row(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = cases[-1]
        next_cursor = _encode([getattr(last, name) for name, _desc in sort])
    return QueuePage(cases, next_cursor)


def count(conn: sa.Connection, *, viewer: Viewer, filters: QueueFilter, cipher: Cipher, cap: int = 10_000) -> int:
    """How many tips match, counted up to ``cap`` (a count over a million rows is not worth its time)."""
    inner = sa.select(tip_cases.c.tip_id).where(*_where(viewer, filters, cipher)).limit(cap).subquery()
    return int(conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one())
