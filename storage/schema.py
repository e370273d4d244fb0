"""Table definitions (SQLAlchemy Core). Migrations in ``storage/migrations`` must match these."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

UTCDateTime = sa.DateTime(timezone=True)

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    # Chat ids identify a person (a Telegram chat id is the user's id): only a keyed hash is stored for
    # lookups, and the ids themselves sealed (to answer the parent later, e.g. an officer's question).
    sa.Column("chat_ref", sa.String(64), nullable=False),
    sa.Column("who", sa.Text, nullable=False),
    sa.Column("locale", sa.String(8), nullable=False, server_default="vi"),
    # The whole dialogue state (current flow/step, slots, pending edits), sealed JSON: schemaless on
    # purpose, so that adding a slot to a flow never needs a migration.
    sa.Column("state", sa.Text, nullable=False),
    # Optimistic locking: every save bumps it, and a save against a stale version fails loudly.
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("channel", "chat_ref", name="uq_conversations_channel_chat"),
)

inbound_messages = sa.Table(
    "inbound_messages",
    metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("chat_ref", sa.String(64), primary_key=True),
    sa.Column("message_id", sa.String(128), primary_key=True),
    # The replies we gave (sealed), so a retried request gets the same answer without re-running the step.
    sa.Column("replies", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, index=True),
)

tips = sa.Table(
    "tips",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reference", sa.String(32), nullable=True, unique=True),
    sa.Column("channel", sa.String(32), nullable=False),
    # Keyed hash of (channel, chat id): "this parent's tips" without storing who they are.
    sa.Column("reporter_ref", sa.String(64), nullable=False, index=True),
    # Sealed {"chat_id", "user_id"} so officers' follow-up questions can reach the parent; erased on "forget".
    sa.Column("reporter", sa.Text, nullable=True),
    sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.String(16), nullable=False, server_default="new"),
    # The structured report (slots after redaction), sealed JSON. Never contains an OTP, card or password.
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, index=True),
)

tip_attachments = sa.Table(
    "tip_attachments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("mime_type", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("path", sa.String(512), nullable=True),
    sa.Column("file_name", sa.String(255), nullable=True),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("sink", sa.String(32), nullable=False),
    sa.Column("idempotency_key", sa.String(64), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),  # pending|delivered|dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("sink", "idempotency_key", name="uq_outbox_sink_key"),
    sa.Index("ix_outbox_status_next", "status", "next_attempt_at"),
)

# What a tip names (caller number, link domain, bank account), one row each: "how many distinct reporters
# named this number" and tip clusters are index lookups here instead of scans over JSON. No plaintext: the
# value is matched by its keyed blind index and shown from its sealed form (storage/indicators.py).
tip_indicators = sa.Table(
    "tip_indicators",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # phone | domain | bank_account
    # HMAC of "kind:value" under the index key; NULL only on a row from before 0014 not yet converted.
    sa.Column("value_key", sa.String(64), nullable=True),
    # The value sealed with AAD "tip_indicators.value:<tip_id>:<kind>"; NULL only like value_key.
    sa.Column("value_sealed", sa.Text, nullable=True),
    # Plaintext of rows written before 0014, converted and cleared at start-up (storage.indicators.seal_legacy).
    sa.Column("legacy_value", sa.String(255), nullable=True),
    # A keyed hash of the reporter (channel + chat), so distinct reporters can be counted without naming them.
    sa.Column("reporter_key", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    # An officer dismissed this report ("not a scam"): it no longer counts towards the number's reputation.
    sa.Column("dismissed", sa.Boolean, nullable=False, server_default=sa.false()),
    # Keyed hash of the reporter's client address where the channel knows it (web chat, HTTP API), so one
    # person with many chat identities is counted once.
    sa.Column("origin_key", sa.String(64), nullable=True),
    # Covering: cluster sizes, distinct-reporter counts and moderated crowd counts from the index alone.
    sa.Index("ix_tip_indicators_kind_key", "kind", "value_key", "tip_id", "reporter_key", "created_at",
             "origin_key", "dismissed"),
)

# Chats blocked for abuse (rate-limit violations); officers see and lift them (`hotline blocks`).
blocks = sa.Table(
    "blocks",
    metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("chat_ref", sa.String(64), primary_key=True),
    sa.Column("reason", sa.String(255), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("lifted_by", sa.String(128), nullable=True),
)

# Who did what to personal data: officers' access, erasures, exports, key rotations, retention runs.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False, index=True),
    sa.Column("actor", sa.String(128), nullable=False),  # "officer:<id>", "parent", "system", "cli:<user>"
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(128), nullable=False),  # a tip reference or a chat_ref — never plaintext ids
    sa.Column("detail", sa.Text, nullable=True),
)

# When a tip was closed: retention counts from here.
tip_closures = sa.Table(
    "tip_closures",
    metadata,
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("closed_at", UTCDateTime, nullable=False, index=True),
    sa.Column("anonymised_at", UTCDateTime, nullable=True),
)
