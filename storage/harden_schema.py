"""Tables of the hardening work: API keys of integrations, and which encryption key running processes use."""

from __future__ import annotations

import sqlalchemy as sa

from storage.schema import UTCDateTime, metadata

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    # The public half of the key ("hk_<key_id>_<secret>"), for lookup; the secret is kept only as SHA-256.
    sa.Column("key_id", sa.String(32), nullable=False, unique=True),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    # The key may only speak for user ids starting with this (one integration cannot read another's parents).
    sa.Column("user_prefix", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)

# One row per running process: the encryption key it seals with now, refreshed every few seconds.
key_users = sa.Table(
    "key_users",
    metadata,
    sa.Column("process", sa.String(128), primary_key=True),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("seen_at", UTCDateTime, nullable=False),
)

# The key id new data must be sealed with, published by `hotline keys rotate` for every process (id = 1).
key_state = sa.Table(
    "key_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("current_key", sa.String(64), nullable=False),
    sa.Column("changed_at", UTCDateTime, nullable=False),
)
