"""Tables of the incremental cluster counts (:mod:`storage.cluster_counts`), kept as tips are filed.

Defined on the shared :data:`storage.schema.metadata`; migration ``0020_cluster_counts`` creates and fills them
and must match. Nothing here is in clear: a key is an indicator's blind index (``tip_indicators.value_key``),
a set of keys is a SHA-256 of its sorted blind indexes, and a reporter of a key a SHA-256 of both keyed hashes.
"""

from __future__ import annotations

import sqlalchemy as sa

from storage.schema import UTCDateTime, metadata

# One row per (kind, blind index) any tip ever named: how many tips name it, how many distinct reporters, when
# first and last. ``wide`` counts the tips among them naming more keys than cluster_sets records (see there).
cluster_keys = sa.Table(
    "cluster_keys",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("value_key", sa.String(64), primary_key=True),
    sa.Column("tips", sa.Integer, nullable=False),
    sa.Column("reporters", sa.Integer, nullable=False),
    sa.Column("wide", sa.Integer, nullable=False, server_default="0"),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False),
)

# How many tips name every key of a set of two or more keys: a tip naming n ≤ SUBSET_KEYS keys adds one to each of
# its 2^n - n - 1 subsets. With the single keys' counts this gives a tip's whole cluster (the union of its keys'
# tips) by inclusion–exclusion, a few primary-key reads however big a scam wave grows.
cluster_sets = sa.Table(
    "cluster_sets",
    metadata,
    # The first 128 bits of the SHA-256 of the sorted "kind:value_key" lines, in hex.
    sa.Column("signature", sa.String(32), primary_key=True),
    sa.Column("tips", sa.Integer, nullable=False),
    sqlite_with_rowid=False,  # the key is the row: stored once (a report's stored bytes are budgeted)
)

# How many tips each reporter filed naming each key, so that "distinct reporters" stays exact as tips arrive and
# as retention unlinks them. ``pair`` is the first 128 bits of SHA-256("kind\nvalue_key\nreporter_key") in hex:
# about 40 bytes a row, where an index on the indicator rows' 64-character hashes cost 150.
cluster_reporters = sa.Table(
    "cluster_reporters",
    metadata,
    sa.Column("pair", sa.String(32), primary_key=True),
    sa.Column("tips", sa.Integer, nullable=False),
    sqlite_with_rowid=False,
)

# Tips naming more than SUBSET_KEYS keys (a pasted message full of links): their subsets are not recorded (2^n
# rows), so a cluster counts them apart, from their own indicator rows. Rare, and bounded by such tips.
cluster_wide_tips = sa.Table(
    "cluster_wide_tips",
    metadata,
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), primary_key=True),
)
