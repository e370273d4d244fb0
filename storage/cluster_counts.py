"""Cluster counts kept as tips are filed, so a scam wave (thousands of tips naming one number) costs a tip's
cluster a few primary-key reads instead of a rescan of every tip naming it.

Per key (kind, blind index): tips, distinct reporters, first and last seen (``cluster_keys``; each reporter's
tips per key in ``cluster_reporters``, so the distinct count stays exact). Per set of two or
more keys one tip names: how many tips name them all (``cluster_sets``). A tip's whole cluster — the distinct
tips sharing at least one key with it — is then the inclusion–exclusion sum over its shared keys' subsets
(:func:`union_sizes`). Exact, not estimated: :func:`rebuild` recomputes everything from ``tip_indicators`` and a
property test holds the two equal.

Kept in the unit of work that writes the rows: :func:`add` when a tip is filed (``storage.tips.create_tip``),
:func:`replace_reporter` when retention or an erasure unlinks a tip from its reporter, :func:`rebuild` when rows
change wholesale (migration 0020, the pre-0014 conversion, bulk loads). Tips are never deleted (retention
anonymises them); code that deletes ``tip_indicators`` rows must call :func:`rebuild`.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations, groupby

import sqlalchemy as sa

from storage.cluster_schema import cluster_keys, cluster_reporters, cluster_sets, cluster_wide_tips
from storage.schema import tip_indicators

# A tip naming up to this many keys records every subset (at most 2^6 - 6 - 1 = 57 rows); one naming more is
# "wide" and counted apart. Real reports name one to three (a number, a domain, an account).
SUBSET_KEYS = 6

Key = tuple[str, str]  # (kind, value_key)
_t = tip_indicators.c
_k = cluster_keys.c
_s = cluster_sets.c
_r = cluster_reporters.c


def signature(keys: Iterable[Key]) -> str:
    """The ``cluster_sets`` key of a set of keys (order and repeats do not matter)."""
    lines = "\n".join(sorted({f"{kind}:{value}" for kind, value in keys}))
    return hashlib.sha256(lines.encode()).hexdigest()[:32]  # 128 bits: no two sets of a province's keys collide


def pair(key: Key, reporter_key: str) -> str:
    """The ``cluster_reporters`` key of one reporter of one key."""
    return hashlib.sha256(f"{key[0]}\n{key[1]}\n{reporter_key}".encode()).hexdigest()[:32]


def subsets(keys: Sequence[Key]) -> list[str]:
    """Signatures of every subset of two or more of ``keys``."""
    ordered = sorted(set(keys))
    return [signature(c) for size in range(2, len(ordered) + 1) for c in combinations(ordered, size)]


_UPSERTS: dict[tuple[str, str], sa.Insert] = {}  # (dialect, table) → the statement, built once


def _upsert(conn: sa.Connection, name: str) -> sa.Insert:
    """This dialect's INSERT … ON CONFLICT for ``name`` (built on first use: statement construction costs more
    than its execution here, and the PostgreSQL dialect is not imported on SQLite)."""
    dialect = conn.dialect.name
    if (dialect, name) not in _UPSERTS:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        if name == "keys":
            ins = insert(cluster_keys)
            new = ins.excluded
            stmt: sa.Insert = ins.on_conflict_do_update(index_elements=["kind", "value_key"], set_={
                "tips": _k.tips + new.tips, "reporters": _k.reporters + new.reporters, "wide": _k.wide + new.wide,
                "first_seen": sa.case((new.first_seen < _k.first_seen, new.first_seen), else_=_k.first_seen),
                "last_seen": sa.case((new.last_seen > _k.last_seen, new.last_seen), else_=_k.last_seen)})
        elif name == "sets":
            ins = insert(cluster_sets)
            stmt = ins.on_conflict_do_update(index_elements=["signature"], set_={"tips": _s.tips + ins.excluded.tips})
        else:
            stmt = insert(cluster_reporters).on_conflict_do_update(
                index_elements=["pair"], set_={"tips": _r.tips + 1}).returning(_r.tips)
        _UPSERTS[(dialect, name)] = stmt
    return _UPSERTS[(dialect, name)]


def _one_more(conn: sa.Connection, key: Key, reporter_key: str) -> bool:
    """Count one more tip of this reporter naming this key; True when it is the reporter's first for the key."""
    return int(conn.execute(_upsert(conn, "reporters"), {"pair": pair(key, reporter_key), "tips": 1}).scalar_one()) == 1


def _one_less(conn: sa.Connection, key: Key, reporter_key: str) -> bool:
    """Count one tip fewer; True when the reporter no longer names the key in any tip."""
    p = pair(key, reporter_key)
    left = conn.execute(sa.update(cluster_reporters).where(_r.pair == p).values(tips=_r.tips - 1)
                        .returning(_r.tips)).scalar()
    if left is not None and int(left) > 0:
        return False
    conn.execute(sa.delete(cluster_reporters).where(_r.pair == p))
    return left is not None


def add(conn: sa.Connection, *, tip_id: int, keys: Sequence[Key], reporter_key: str, created_at: datetime) -> None:
    """Count a tip just filed (its ``tip_indicators`` rows already inserted) into the cluster counts."""
    unique = sorted(set(keys))
    if not unique:
        return
    wide = len(unique) > SUBSET_KEYS
    conn.execute(_upsert(conn, "keys"), [
        {"kind": kind, "value_key": value, "tips": 1, "wide": int(wide), "first_seen": created_at,
         "last_seen": created_at,
         "reporters": int(_one_more(conn, (kind, value), reporter_key))}
        for kind, value in unique])
    if wide:
        conn.execute(sa.insert(cluster_wide_tips), {"tip_id": tip_id})
    elif len(unique) > 1:
        conn.execute(_upsert(conn, "sets"), [{"signature": s, "tips": 1} for s in subsets(unique)])


def replace_reporter(conn: sa.Connection, *, tip_id: int, reporter_key: str) -> None:
    """Give a tip's indicator rows a new reporter hash (retention, erasure) and keep the reporter counts true:
    the new hash is a reporter of its own; the old one stops counting for a key it named in no other tip."""
    old = conn.execute(sa.select(_t.kind, _t.value_key, _t.reporter_key)
                       .where(_t.tip_id == tip_id, _t.value_key.is_not(None))).all()
    conn.execute(sa.update(tip_indicators).where(_t.tip_id == tip_id).values(reporter_key=reporter_key,
                                                                               origin_key=None))
    change: Counter[Key] = Counter()
    for kind, value, was in {(r.kind, r.value_key, r.reporter_key) for r in old}:
        if was == reporter_key:
            continue
        change[(kind, value)] += int(_one_more(conn, (kind, value), reporter_key)) - int(
            _one_less(conn, (kind, value), was))
    for (kind, value), delta in change.items():
        if delta:
            conn.execute(sa.update(cluster_keys).where(_k.kind == kind, _k.value_key == value)
                         .values(reporters=_k.reporters + delta))


def rebuild(conn: sa.Connection, *, chunk: int = 50_000) -> None:
    """Recompute every count from ``tip_indicators`` (migration 0020, bulk loads, after rows changed wholesale)."""
    conn.execute(sa.delete(cluster_sets))
    conn.execute(sa.delete(cluster_reporters))
    conn.execute(sa.delete(cluster_wide_tips))
    conn.execute(sa.delete(cluster_keys))
    per_key = (sa.select(_t.kind, _t.value_key, sa.func.count(sa.distinct(_t.tip_id)).label("tips"),
                         sa.func.count(sa.distinct(_t.reporter_key)).label("reporters"),
                         sa.literal(0).label("wide"), sa.func.min(_t.created_at).label("first_seen"),
                         sa.func.max(_t.created_at).label("last_seen"))
               .where(_t.value_key.is_not(None)).group_by(_t.kind, _t.value_key))
    conn.execute(sa.insert(cluster_keys).from_select(
        ["kind", "value_key", "tips", "reporters", "wide", "first_seen", "last_seen"], per_key))
    sets: Counter[str] = Counter()
    wide_keys: Counter[Key] = Counter()
    wide_tips: list[int] = []
    rows = conn.execute(sa.select(_t.tip_id, _t.kind, _t.value_key).where(_t.value_key.is_not(None))
                        .order_by(_t.tip_id)).yield_per(chunk)
    for tip_id, named in groupby(rows, key=lambda r: int(r.tip_id)):
        keys = {(r.kind, r.value_key) for r in named}
        if len(keys) > SUBSET_KEYS:
            wide_tips.append(tip_id)
            wide_keys.update(keys)
        elif len(keys) > 1:
            sets.update(subsets(list(keys)))
    reporters = conn.execute(sa.select(_t.kind, _t.value_key, _t.reporter_key, sa.func.count(sa.distinct(_t.tip_id)))
                             .where(_t.value_key.is_not(None)).group_by(_t.kind, _t.value_key, _t.reporter_key)
                             ).yield_per(chunk)
    batch: list[dict[str, object]] = []
    for kind, value, reporter, n in reporters:
        batch.append({"pair": pair((kind, value), reporter), "tips": int(n)})
        if len(batch) >= chunk:
            conn.execute(sa.insert(cluster_reporters), batch)
            batch = []
    if batch:
        conn.execute(sa.insert(cluster_reporters), batch)
    items = list(sets.items())
    for start in range(0, len(items), chunk):
        conn.execute(sa.insert(cluster_sets), [{"signature": s, "tips": n} for s, n in items[start:start + chunk]])
    if wide_tips:
        conn.execute(sa.insert(cluster_wide_tips), [{"tip_id": t} for t in wide_tips])
        for (kind, value), n in wide_keys.items():
            conn.execute(sa.update(cluster_keys).where(_k.kind == kind, _k.value_key == value).values(wide=n))


def _utc(value: datetime) -> datetime:
    """SQLite hands timestamps back naive; they were written in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ----- reading --------------------------------------------------------------------------------------------------
_KEY_ROWS = sa.select(_k.kind, _k.value_key, _k.tips, _k.reporters, _k.wide, _k.first_seen, _k.last_seen)
_SETS = sa.select(_s.signature, _s.tips).where(_s.signature.in_(sa.bindparam("sigs", expanding=True)))
_wide_rows = tip_indicators.alias("wide_rows")


@dataclass(frozen=True, slots=True)
class KeyCount:
    """One key's counts: tips naming it (``wide`` of them wide), distinct reporters, first and last seen."""

    tips: int
    reporters: int
    wide: int
    first_seen: datetime
    last_seen: datetime


def key_counts(conn: sa.Connection, keys: Iterable[Key]) -> dict[Key, KeyCount]:
    """The counts of these keys (keys no tip names are left out)."""
    wanted = sorted(set(keys))
    out: dict[Key, KeyCount] = {}
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, value in wanted:
        by_kind[kind].append(value)
    if not by_kind:
        return out
    # One statement; per kind a primary-key search (kind = ? AND value_key IN (…)).
    match = sa.or_(*(sa.and_(_k.kind == kind, _k.value_key.in_(values)) for kind, values in by_kind.items()))
    for row in conn.execute(_KEY_ROWS.where(match)):
        out[(row.kind, row.value_key)] = KeyCount(int(row.tips), int(row.reporters), int(row.wide),
                                                  _utc(row.first_seen), _utc(row.last_seen))
    return out


def union_sizes(conn: sa.Connection, shared: dict[int, list[Key]],
                counts: dict[Key, KeyCount]) -> dict[int, int | None]:
    """Each tip's cluster size from the counts: the distinct tips naming at least one of its ``shared`` keys
    (given with their ``key_counts`` rows). ``None`` for a tip with more than SUBSET_KEYS shared keys: the
    caller counts that one from the rows."""
    sigs: set[str] = set()
    for keys in shared.values():
        if len(keys) <= SUBSET_KEYS:
            sigs.update(subsets(keys))
    known = {s: int(n) for s, n in conn.execute(_SETS, {"sigs": sorted(sigs)})} if sigs else {}
    out: dict[int, int | None] = {}
    for tip_id, keys in shared.items():
        if len(keys) > SUBSET_KEYS:
            out[tip_id] = None
            continue
        ordered = sorted(set(keys))
        narrow = 0  # inclusion–exclusion over tips that recorded their subsets
        for size in range(1, len(ordered) + 1):
            sign = 1 if size % 2 else -1
            for combo in combinations(ordered, size):
                if size == 1:
                    narrow += sign * (counts[combo[0]].tips - counts[combo[0]].wide)
                else:
                    narrow += sign * known.get(signature(combo), 0)
        wide = 0
        if any(counts[k].wide for k in ordered):
            wide = _wide_naming_any(conn, ordered)
        out[tip_id] = narrow + wide
    return out


def _wide_naming_any(conn: sa.Connection, keys: Sequence[Key]) -> int:
    w = _wide_rows.c
    match = sa.or_(*(sa.and_(w.kind == kind, w.value_key == value) for kind, value in keys))
    return int(conn.execute(sa.select(sa.func.count(sa.distinct(w.tip_id)))
                            .select_from(_wide_rows.join(cluster_wide_tips, cluster_wide_tips.c.tip_id == w.tip_id))
                            .where(match)).scalar_one())
