"""The Telegram channel's own table (SQLAlchemy Core on the shared ``metadata``): what happened to tip cards.

Telegram's update journal, outgoing queue, chat leases and polling offset live in the shared channel tables
(``storage/channel_schema.py``, channel "telegram") since ``0015_telegram_channels``; only the officers' tip
cards are Telegram's alone. ``storage/migrations/versions/0003_telegram.py`` created this table and must match it.
"""

from __future__ import annotations

import sqlalchemy as sa

from storage.schema import UTCDateTime, metadata

# What happened to tip cards in the officers' group: the card was posted, an officer acknowledged it or
# took it. The card's status lines are drawn from here.
telegram_tip_actions = sa.Table(
    "telegram_tip_actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reference", sa.String(32), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # posted | ack | assign
    sa.Column("officer_id", sa.String(32), nullable=False, server_default=""),  # "" for "posted"
    sa.Column("officer_name", sa.String(128), nullable=True),
    sa.Column("chat_id", sa.String(32), nullable=True),
    sa.Column("message_id", sa.BigInteger, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("reference", "action", "officer_id", name="uq_telegram_tip_actions_ref_action_officer"),
    sa.Index("ix_telegram_tip_actions_reference", "reference"),
)

TELEGRAM_TABLES = (telegram_tip_actions,)
