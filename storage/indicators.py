"""What a tip names (caller number, link domain, bank account), sealed: a keyed blind index to match on and a
sealed value to show.

A scammer's bank account or number is still data about a crime and, for a bank account, sensitive data
(Law 91/2025): ``tip_indicators`` keeps no plaintext. ``value_key`` is ``HMAC(index key, "kind:value")``, so
"how many reporters named this number", tip clusters and the dashboard's top numbers are equality lookups and
``GROUP BY``s on an index, never decryption; ``value_sealed`` is the AES-GCM value, bound to its tip and kind,
opened only where a page shows it. Databases from before 0014 carry the value in ``legacy_value``: the start-up
pass :func:`seal_legacy` converts those rows in batches and clears the column, and on SQLite rewrites the file
(``VACUUM``) and truncates the WAL so that no old page keeps the plaintext.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from storage import cluster_counts
from storage.crypto import Cipher
from storage.db import Database
from storage.schema import tip_indicators

log = logging.getLogger(__name__)

PURPOSE = "indicator"
_t = tip_indicators.c


def key_of(cipher: Cipher, kind: str, value: str) -> str:
    """The blind index of one indicator (what every match and count compares)."""
    return cipher.blind_index(f"{kind}:{value}", purpose=PURPOSE)


def value_aad(tip_id: int, kind: str) -> str:
    """Binds a sealed value to its tip and kind: copied to another tip or kind, it no longer opens."""
    return f"tip_indicators.value:{tip_id}:{kind}"


def seal_value(cipher: Cipher, *, tip_id: int, kind: str, value: str) -> str:
    return cipher.seal_text(value, aad=value_aad(tip_id, kind))


def open_value(cipher: Cipher, *, tip_id: int, kind: str, sealed: str) -> str:
    return cipher.open_text(sealed, aad=value_aad(tip_id, kind))


def rows(cipher: Cipher, *, tip_id: int, pairs: Iterable[tuple[str, str]], reporter_key: str,
         origin_key: str | None, created_at: datetime, dismissed: bool = False) -> list[dict[str, Any]]:
    """``tip_indicators`` rows for one tip (repeats dropped), ready for one ``INSERT``."""
    return [{"tip_id": tip_id, "kind": kind, "value_key": key_of(cipher, kind, value),
             "value_sealed": seal_value(cipher, tip_id=tip_id, kind=kind, value=value), "legacy_value": None,
             "reporter_key": reporter_key, "origin_key": origin_key, "dismissed": dismissed,
             "created_at": created_at} for kind, value in dict.fromkeys(pairs)]


@dataclass(frozen=True, slots=True)
class Named:
    """One indicator a tip names: its kind, blind index and opened value."""

    kind: str
    key: str
    value: str


_OF_TIPS = (sa.select(_t.tip_id, _t.kind, _t.value_key, _t.value_sealed)
            .where(_t.tip_id.in_(sa.bindparam("ids", expanding=True)), _t.value_key.is_not(None))
            .order_by(_t.tip_id, _t.id))


def named_by(conn: sa.Connection, *, cipher: Cipher, tip_ids: Sequence[int]) -> dict[int, list[Named]]:
    """Each tip's indicators, opened, one per (kind, value), sorted by kind then value; tips naming nothing
    are left out. Only the rows of these tips are decrypted."""
    found: dict[int, dict[tuple[str, str], Named]] = defaultdict(dict)
    if tip_ids:
        for tip_id, kind, key, sealed in conn.execute(_OF_TIPS, {"ids": list(dict.fromkeys(tip_ids))}):
            if (kind, key) not in found[tip_id]:
                found[tip_id][(kind, key)] = Named(kind, key, open_value(cipher, tip_id=tip_id, kind=kind,
                                                                         sealed=sealed))
    return {tip_id: sorted(named.values(), key=lambda n: (n.kind, n.value)) for tip_id, named in found.items()
            if named}


def of_tip(conn: sa.Connection, *, cipher: Cipher, tip_id: int) -> list[tuple[str, str]]:
    """One tip's indicators as opened ``(kind, value)`` pairs, sorted, without repeats."""
    return [(n.kind, n.value) for n in named_by(conn, cipher=cipher, tip_ids=[tip_id]).get(tip_id, [])]


def tip_names(conn: sa.Connection, *, cipher: Cipher, tip_id: int, kind: str, value: str) -> bool:
    """Does this tip name this indicator? (an index probe, nothing decrypted)"""
    probe = sa.select(_t.id).where(_t.tip_id == tip_id, _t.kind == kind, _t.value_key == key_of(cipher, kind, value))
    return conn.execute(probe.limit(1)).first() is not None


@dataclass(frozen=True, slots=True)
class IndicatorCount:
    """How often one number / domain / account was named in a period."""

    kind: str
    value: str
    tips: int  # distinct tips naming it
    reporters: int  # distinct people (a client address counts once), as the check engine counts them
    first_seen: datetime
    last_seen: datetime


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def top_indicators(conn: sa.Connection, *, cipher: Cipher, kinds: Sequence[str], since: datetime | None = None,
                   until: datetime | None = None, limit: int = 10,
                   include_dismissed: bool = False) -> list[IndicatorCount]:
    """The indicators named by the most tips filed in ``[since, until)`` (either end open when None), most
    first, with opened values: the dashboard's "top numbers".

    Counted inside the covering ``ix_tip_indicators_kind_key`` (one range per kind, nothing read from the table);
    only one sealed value per result row is opened. Reports an officer dismissed ("not a scam") are left out
    unless ``include_dismissed``.
    """
    if not kinds or limit <= 0:
        return []
    where: list[sa.ColumnElement[bool]] = [_t.kind.in_(list(kinds)), _t.value_key.is_not(None)]
    if since is not None:
        where.append(_t.created_at >= since)
    if until is not None:
        where.append(_t.created_at < until)
    if not include_dismissed:
        where.append(_t.dismissed.is_(False))
    tips_n = sa.func.count(sa.distinct(_t.tip_id))
    top = conn.execute(
        sa.select(_t.kind, _t.value_key, tips_n, sa.func.min(_t.created_at), sa.func.max(_t.created_at),
                  sa.func.max(_t.id))
        .where(*where).group_by(_t.kind, _t.value_key)
        .order_by(tips_n.desc(), sa.func.max(_t.created_at).desc(), _t.kind, _t.value_key).limit(limit)).all()
    if not top:
        return []
    # Distinct reporters for these few keys only (the covering kind/key index), not for every group.
    reporters = {(k, key): int(n) for k, key, n in conn.execute(
        sa.select(_t.kind, _t.value_key, sa.func.count(sa.distinct(sa.func.coalesce(_t.origin_key, _t.reporter_key))))
        .where(*where, sa.tuple_(_t.kind, _t.value_key).in_([(r[0], r[1]) for r in top]))
        .group_by(_t.kind, _t.value_key))}
    sealed = {row_id: (tip_id, kind, token) for row_id, tip_id, kind, token in conn.execute(
        sa.select(_t.id, _t.tip_id, _t.kind, _t.value_sealed).where(_t.id.in_([r[5] for r in top])))}
    out = []
    for kind, key, n, first, last, row_id in top:
        tip_id, _kind, token = sealed[row_id]
        out.append(IndicatorCount(kind, open_value(cipher, tip_id=tip_id, kind=kind, sealed=token), int(n),
                                  reporters.get((kind, key), 0), _utc(first), _utc(last)))
    return out


# ----- databases from before 0014 ----------------------------------------------------------------------------
def seal_legacy_batch(conn: sa.Connection, *, cipher: Cipher, batch: int = 500) -> int:
    """Seal up to ``batch`` rows still holding a plaintext ``legacy_value``; returns how many (0: done).

    Idempotent, and safe with several processes starting at once: a row another process converted meanwhile
    no longer matches the ``UPDATE``.
    """
    legacy = conn.execute(sa.select(_t.id, _t.tip_id, _t.kind, _t.legacy_value)
                          .where(_t.legacy_value.is_not(None)).order_by(_t.id).limit(batch)).all()
    for row_id, tip_id, kind, value in legacy:
        conn.execute(sa.update(tip_indicators).where(_t.id == row_id, _t.legacy_value.is_not(None)).values(
            value_key=key_of(cipher, kind, value), legacy_value=None,
            value_sealed=seal_value(cipher, tip_id=tip_id, kind=kind, value=value)))
    return len(legacy)


def scrub_sqlite_file(path: Path) -> None:
    """Rewrite an SQLite database so freed pages keep nothing, and empty its WAL.

    ``VACUUM`` writes every page afresh (the pages that held plaintext before conversion are overwritten or cut
    off) and ``wal_checkpoint(TRUNCATE)`` leaves a zero-length WAL (older frames would otherwise stay in the file
    until overwritten). Needs its own connection: neither runs inside a transaction.
    """
    con = sqlite3.connect(path, isolation_level=None, timeout=60)
    try:
        con.execute("VACUUM")
        busy, _frames, _done = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            log.warning("the WAL of %s could not be emptied (a reader held it); it is on the next checkpoint", path)
    finally:
        con.close()


async def seal_legacy(db: Database, *, cipher: Cipher, batch: int = 500) -> int:
    """The start-up pass: convert every legacy row (small transactions), then scrub an SQLite file if any was.

    Returns the rows converted; a no-op once done. On PostgreSQL the old row versions stay in the table's dead
    tuples until ``VACUUM FULL tip_indicators`` (and in old WAL segments and backups until they age out).
    """
    total = 0
    while n := await db.run(seal_legacy_batch, cipher=cipher, batch=batch):
        total += n
    if total:
        log.info("tip indicators sealed: %d row(s) converted from plaintext", total)
        await db.run(cluster_counts.rebuild)  # the converted rows now have the blind index the counts key on
        database = make_url(db.url).database
        if db.sqlite and database and database != ":memory:":
            await asyncio.to_thread(scrub_sqlite_file, Path(database))
    return total


# ----- key rotation ------------------------------------------------------------------------------------------
def reseal_batch(conn: sa.Connection, *, cipher: Cipher, after: dict[str, int], batch: int = 200) -> int:
    """Re-seal up to ``batch`` values past ``after["indicator"]`` under the current key (``hotline keys rotate``).

    The blind index stays (it is keyed by the index key, which rotation does not change).
    """
    found = conn.execute(sa.select(_t.id, _t.tip_id, _t.kind, _t.value_sealed)
                         .where(_t.id > after.get("indicator", 0), _t.value_sealed.is_not(None))
                         .order_by(_t.id).limit(batch)).all()
    changed = 0
    for row_id, tip_id, kind, token in found:
        after["indicator"] = row_id
        if cipher.token_key_id(token) == cipher.current:
            continue
        value = open_value(cipher, tip_id=tip_id, kind=kind, sealed=token)
        conn.execute(sa.update(tip_indicators).where(_t.id == row_id).values(
            value_sealed=seal_value(cipher, tip_id=tip_id, kind=kind, value=value)))
        changed += 1
    return changed
