"""Tip clusters: tips that name the same caller number, link domain or bank account.

Computed from ``tip_indicators`` (one row per thing a tip names, indexed by kind and blind index), never from
the sealed reports; only the batch's own indicator values are opened, to name the keys.
A cluster here is one hop — the tips sharing at least one key with this tip — which is what
an officer needs next to the tip; chains of tips linked through other tips are the console's business.

Batch-first: the forwarder builds up to a few hundred tips per trip, and popular keys (one scam number
reported a thousand times) are then aggregated once per batch instead of once per tip.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from storage import indicators
from storage.crypto import Cipher
from storage.schema import tip_indicators

_t = tip_indicators.c
_mine = tip_indicators.alias("mine")
_other = tip_indicators.alias("other")
_IDS: sa.BindParameter[list[int]] = sa.bindparam("ids", expanding=True)
# Every key the batch names, aggregated once however many of the batch's tips name it. A join on both columns
# rather than a row-value IN: SQLite then seeks (kind, value_key) in ix_tip_indicators_kind_key whatever other
# index starts with kind (with IN it took the dashboard's and read every row of the kind).
_KEYS = (sa.select(_mine.c.kind, _mine.c.value_key).where(_mine.c.tip_id.in_(_IDS), _mine.c.value_key.is_not(None))
         .distinct().subquery("keys"))
_PER_KEY = (
    sa.select(_t.kind, _t.value_key, sa.func.count(sa.distinct(_t.tip_id)),
              sa.func.count(sa.distinct(_t.reporter_key)), sa.func.min(_t.created_at), sa.func.max(_t.created_at))
    .select_from(_KEYS.join(tip_indicators, sa.and_(_t.kind == _KEYS.c.kind, _t.value_key == _KEYS.c.value_key)))
    .group_by(_t.kind, _t.value_key)
)
# The size of each tip's whole cluster: distinct tips over all of its keys (the union, not the sum).
_UNION_SIZE = (
    sa.select(_mine.c.tip_id, sa.func.count(sa.distinct(_other.c.tip_id)))
    .select_from(_mine.join(_other, sa.and_(_other.c.kind == _mine.c.kind,
                                            _other.c.value_key == _mine.c.value_key)))
    .where(_mine.c.tip_id.in_(_IDS))
    .group_by(_mine.c.tip_id)
)


@dataclass(frozen=True, slots=True)
class ClusterKey:
    kind: str
    value: str
    size: int  # tips naming it, this one included
    reporters: int  # distinct reporters among them
    first_seen: datetime
    last_seen: datetime

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True, slots=True)
class Cluster:
    """``keys`` sorted by kind and value; the whole cluster is the union of their tips."""

    keys: tuple[ClusterKey, ...]
    size: int
    first_seen: datetime | None
    last_seen: datetime | None


def utc(value: datetime) -> datetime:
    """SQLite hands timestamps back naive; they were written in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def tip_clusters(conn: sa.Connection, *, tip_ids: Sequence[int], cipher: Cipher) -> dict[int, Cluster]:
    """The cluster of each tip (every id gets one; a tip naming nothing is a cluster of one).

    Three statements per batch whatever its size, the counting done by the database on the blind index;
    ``cipher`` opens the batch's own values to name the keys.
    """
    ids = list(tip_ids)
    keys_of: dict[int, set[tuple[str, str]]] = defaultdict(set)
    value_of: dict[tuple[str, str], str] = {}
    for tip_id, named in indicators.named_by(conn, cipher=cipher, tip_ids=ids).items():
        for n in named:
            keys_of[tip_id].add((n.kind, n.value))
            value_of[(n.kind, n.key)] = n.value
    if not keys_of:
        return {tip_id: Cluster((), 1, None, None) for tip_id in ids}
    stats = {(kind, value_of[(kind, key)]): ClusterKey(kind, value_of[(kind, key)], size, reporters, utc(first),
                                                        utc(last))
             for kind, key, size, reporters, first, last in conn.execute(_PER_KEY, {"ids": ids})
             if (kind, key) in value_of}
    # The union only needs counting when two or more of a tip's keys are shared with other tips; otherwise
    # it is the largest key's size (the other keys name this tip alone). Saves the costliest query mostly.
    needs_union = [t for t, keys in keys_of.items() if sum(1 for k in keys if k in stats and stats[k].size > 1) > 1]
    sizes: dict[int, int] = {}
    if needs_union:
        sizes = {int(tip_id): int(n) for tip_id, n in conn.execute(_UNION_SIZE, {"ids": needs_union})}
    out: dict[int, Cluster] = {}
    for tip_id in ids:
        keys = tuple(stats[k] for k in sorted(keys_of.get(tip_id, ())) if k in stats)
        if not keys:
            out[tip_id] = Cluster((), 1, None, None)
            continue
        size = sizes.get(tip_id) or max(k.size for k in keys)
        out[tip_id] = Cluster(keys, size, min(k.first_seen for k in keys), max(k.last_seen for k in keys))
    return out


def tip_cluster(conn: sa.Connection, *, tip_id: int, cipher: Cipher) -> Cluster:
    """One tip's cluster (the console's view of a single tip)."""
    return tip_clusters(conn, tip_ids=[tip_id], cipher=cipher)[tip_id]
