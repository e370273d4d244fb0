"""Tables of the Telegram channel (SQLAlchemy Core on the shared ``metadata``).

``storage/migrations/versions/0003_telegram.py`` must match these definitions.
"""

from __future__ import annotations

import sqlalchemy as sa

from storage.schema import UTCDateTime, metadata

# Every update Telegram hands us, stored (and committed) before we acknowledge it. The update id is the
# dedupe key: Telegram re-sends an update it thinks we missed, and it must be processed once.
telegram_updates = sa.Table(
    "telegram_updates",
    metadata,
    sa.Column("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
    # Keyed hash of the chat (as in ``conversations``): updates of one chat are processed in update order.
    sa.Column("chat_ref", sa.String(64), nullable=False),
    # The raw update, sealed; set to NULL once processed so message text does not linger here.
    sa.Column("payload", sa.Text, nullable=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("processed_at", UTCDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Index("ix_telegram_updates_pending", "processed_at", "chat_ref", "update_id"),
    sa.Index("ix_telegram_updates_received_at", "received_at"),
)

# Bot API calls waiting to be made (messages and edits), written in the same transaction that marks their
# update processed: a crash between "the engine answered" and "Telegram got it" loses nothing.
telegram_outgoing = sa.Table(
    "telegram_outgoing",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("chat_ref", sa.String(64), nullable=False),
    sa.Column("update_id", sa.BigInteger, nullable=True),
    # The rendered call (chat id, text, keyboard), sealed: it names the parent and repeats what they said.
    sa.Column("payload", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),  # pending | dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("not_before", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_telegram_outgoing_pending", "status", "chat_ref", "id"),
)

# Who is working on a chat's updates and messages right now. With several processes sharing one database
# (PostgreSQL), a chat is served by one of them at a time, so its replies keep their order and pace.
telegram_chat_leases = sa.Table(
    "telegram_chat_leases",
    metadata,
    sa.Column("chat_ref", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(32), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

# Small key/value state: the long-polling offset (the next update id we want).
telegram_state = sa.Table(
    "telegram_state",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# What happened to tip cards in the officers' group: the card was posted, an officer acknowledged it or
# took it. The console (intake issue) reads this table.
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

TELEGRAM_TABLES = (telegram_updates, telegram_outgoing, telegram_chat_leases, telegram_state, telegram_tip_actions)
