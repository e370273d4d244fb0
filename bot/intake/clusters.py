"""Tip clusters: tips that name the same caller number, link domain or bank account.

Read from the counts kept as tips are filed (:mod:`storage.cluster_counts`: per key, and per set of keys one
tip names), never by rescanning the tips that name a key, and never from the sealed reports; only the batch's
own indicator values (``tip_indicators``) are opened, to name the keys.
A cluster here is one hop — the tips sharing at least one key with this tip — which is what
an officer needs next to the tip; chains of tips linked through other tips are the console's business.

Batch-first: the forwarder builds up to a few hundred tips per trip in three or four statements, and a scam
wave's key (one number reported ten thousand times) costs the same as a key named twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from storage import cluster_counts, indicators
from storage.crypto import Cipher
from storage.schema import tip_indicators

_mine = tip_indicators.alias("mine")
_other = tip_indicators.alias("other")
_IDS: sa.BindParameter[list[int]] = sa.bindparam("ids", expanding=True)
# The size of a tip's whole cluster counted from the rows: only for a tip with more shared keys than the kept
# counts cover (storage.cluster_counts.SUBSET_KEYS), which no real report reaches.
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

    Three statements per batch whatever its size or its keys' popularity (the batch's rows, its keys' counts,
    the counts of the key sets the union needs); ``cipher`` opens the batch's own values to name the keys.
    """
    ids = list(tip_ids)
    keys_of: dict[int, set[tuple[str, str]]] = defaultdict(set)  # by opened value
    keys_by_index: dict[int, set[tuple[str, str]]] = defaultdict(set)  # by blind index
    value_of: dict[tuple[str, str], str] = {}
    for tip_id, named in indicators.named_by(conn, cipher=cipher, tip_ids=ids).items():
        for n in named:
            keys_of[tip_id].add((n.kind, n.value))
            keys_by_index[tip_id].add((n.kind, n.key))
            value_of[(n.kind, n.key)] = n.value
    if not keys_of:
        return {tip_id: Cluster((), 1, None, None) for tip_id in ids}
    counts = cluster_counts.key_counts(conn, value_of)
    stats = {(kind, value_of[(kind, key)]): ClusterKey(kind, value_of[(kind, key)], c.tips, c.reporters,
                                                        c.first_seen, c.last_seen)
             for (kind, key), c in counts.items()}
    # The union only needs counting when two or more of a tip's keys are shared with other tips; otherwise
    # it is the largest key's size (the other keys name this tip alone).
    shared = {t: [k for k in keys_by_index[t] if k in counts and counts[k].tips > 1] for t in keys_of}
    sizes = cluster_counts.union_sizes(conn, {t: keys for t, keys in shared.items() if len(keys) > 1}, counts)
    if missing := [t for t, n in sizes.items() if n is None]:
        sizes.update({int(tip_id): int(n) for tip_id, n in conn.execute(_UNION_SIZE, {"ids": missing})})
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
