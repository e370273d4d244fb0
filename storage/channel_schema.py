"""Tables every push channel shares, keyed by channel (SQLAlchemy Core on the shared ``metadata``).

The durable inbound journal, the outgoing queue and the chat leases are one implementation for every
platform ("telegram", "zalo", "zalo_bot"). A row names its channel and its chat by the keyed hash used
everywhere (``chat_ref``), never by the platform's id. ``storage/migrations/versions/0010_channels.py``
creates these tables and must match them; ``0015_telegram_channels.py`` moved Telegram's rows here from its
former ``telegram_updates`` / ``telegram_outgoing`` / ``telegram_chat_leases`` / ``telegram_state``.
"""

from __future__ import annotations

import sqlalchemy as sa

from storage.schema import UTCDateTime, metadata

# Every platform event we mean to act on, stored (and committed) before the platform gets its 2xx. The
# platform's own id for the event is the dedupe key: platforms re-send what they think we missed.
channel_events = sa.Table(
    "channel_events",
    metadata,
    # Arrival order: a chat's events are processed in the order they were stored.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("event_id", sa.String(128), nullable=False),
    sa.Column("chat_ref", sa.String(64), nullable=False),
    # The raw event, sealed; set to NULL once processed so what the parent wrote does not linger here.
    sa.Column("payload", sa.Text, nullable=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("processed_at", UTCDateTime, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.UniqueConstraint("channel", "event_id", name="uq_channel_events_channel_event"),
    sa.Index("ix_channel_events_pending", "channel", "processed_at", "chat_ref", "id"),
    sa.Index("ix_channel_events_received_at", "received_at"),
)

# Platform calls waiting to be made, written in the same transaction that marks their event processed:
# a crash between "the engine answered" and "the platform got it" loses nothing.
channel_outgoing = sa.Table(
    "channel_outgoing",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("chat_ref", sa.String(64), nullable=False),
    sa.Column("event_id", sa.String(128), nullable=True),
    # The rendered call (recipient id, text, buttons), sealed: it names the parent and repeats what they said.
    sa.Column("payload", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),  # pending | dead
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("not_before", UTCDateTime, nullable=False),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_channel_outgoing_pending", "channel", "status", "chat_ref", "id"),
)

# Who works on a chat right now. With several processes on one database a chat is served by one of them
# at a time, so its replies keep their order. Also used for channel-wide locks (a token refresh).
channel_leases = sa.Table(
    "channel_leases",
    metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("chat_ref", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(32), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

# Small per-channel state: OAuth tokens, PKCE verifiers, the numbered menu a chat was last shown, a polling
# offset. Values that are secrets or describe a person are sealed by the caller (the offset is plain).
channel_state = sa.Table(
    "channel_state",
    metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Parents we could not reach and why (unfollowed, outside the interaction window, no such user), so an
# officer sees it on the tip instead of waiting for an answer that cannot come. No content, only the reason.
channel_recipients = sa.Table(
    "channel_recipients",
    metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("chat_ref", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),  # a FailureReason value: blocked | out_of_window | …
    sa.Column("detail", sa.String(255), nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

CHANNEL_TABLES = (channel_events, channel_outgoing, channel_leases, channel_state, channel_recipients)
