"""Tables of the police talking back to a parent: outbound notices, the tip's transcript, who holds the chat,
and which web chats are open.

- ``notices``: every message the police side sends a parent outside a reply — an officer's question, a live
  hand-off message, the hand-off notices, the closing outcome — as a durable row (sealed text; the recipient
  is resolved from the tip's sealed reporter when it is sent). A delivery worker claims rows, sends them
  through the channel contract once and records what happened (sent, or a failure by meaning).
- ``tip_messages``: the tip's transcript as the parent saw it after filing: police messages, the bot's own
  words in that exchange, and the parent's answers and live messages (sealed).
- ``tip_threads``: the conversation a tip has open with its reporter — a question waiting for its answer or
  a live hand-off — keyed by the chat's keyed hash so the engine finds it with one index lookup per message.
- ``chat_presence``: web chats with an open connection, and which process holds it; an anonymous web chat
  can be reached only while it is open.

Migration ``0008_notices`` creates these tables and must match them.
"""

from __future__ import annotations

import sqlalchemy as sa

from storage.schema import UTCDateTime, metadata

notices = sa.Table(
    "notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), nullable=False),
    # Idempotency key within the tip: a resubmitted form or a repeated close makes one row, not two.
    sa.Column("key", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # question | live | handoff_on | handoff_off | outcome
    sa.Column("channel", sa.String(32), nullable=False),
    # Keyed hash of the reporter's chat (``tips.reporter_ref`` when the row was written): never the chat id.
    sa.Column("recipient_ref", sa.String(64), nullable=False),
    sa.Column("locale", sa.String(8), nullable=False),
    # The message as the parent will see it (OutboundMessage JSON), sealed; dropped once it no longer matters.
    sa.Column("body", sa.Text, nullable=True),
    # pending | claimed | sent | failed | cancelled
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    # Why it failed, by meaning: chat_closed | blocked | out_of_window | invalid_recipient | permanent |
    # gave_up | interrupted | timeout | erased | no_channel | cancelled.
    sa.Column("failure", sa.String(24), nullable=True),
    sa.Column("detail", sa.String(255), nullable=True),  # the channel's own words about a failure (no content)
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("claimed_by", sa.String(32), nullable=True),
    sa.Column("claimed_at", UTCDateTime, nullable=True),
    sa.Column("created_by", sa.String(128), nullable=False),  # officer:<id> | system — never shown to the parent
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("tip_id", "key", name="uq_notices_tip_key"),
    # The worker's scan: one status, in due order (as the intake outbox does).
    sa.Index("ix_notices_status_due", "status", "next_attempt_at"),
    sa.Index("ix_notices_recipient", "recipient_ref", "status"),
    sa.Index("ix_notices_tip", "tip_id", "id"),
)

tip_messages = sa.Table(
    "tip_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("sender", sa.String(16), nullable=False),  # parent | police | bot
    # question | answer | decline | live | photo | handoff_on | handoff_off | outcome | urgent | ended
    sa.Column("kind", sa.String(16), nullable=False),
    # officer:<id> | parent | system: officers see who wrote; the parent never does
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("body", sa.Text, nullable=True),  # sealed text
    sa.Column("attachment_id", sa.Integer, sa.ForeignKey("tip_attachments.id", ondelete="SET NULL"), nullable=True),
    sa.Column("notice_id", sa.Integer, sa.ForeignKey("notices.id", ondelete="SET NULL"), nullable=True),
    sa.Index("ix_tip_messages_tip", "tip_id", "id"),
)

tip_threads = sa.Table(
    "tip_threads",
    metadata,
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("chat_ref", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),  # question | live
    sa.Column("notice_id", sa.Integer, sa.ForeignKey("notices.id", ondelete="SET NULL"), nullable=True),
    sa.Column("officer_id", sa.Integer, nullable=True),  # live: who took it (never shown to the parent)
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("last_activity_at", UTCDateTime, nullable=False),
    # question: until when the next message counts as the answer (set once it was delivered);
    # live: when the chat goes back to the bot if nobody writes.
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Index("ix_tip_threads_chat", "chat_ref", "mode"),
    sa.Index("ix_tip_threads_expiry", "mode", "expires_at"),
)

chat_presence = sa.Table(
    "chat_presence",
    metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("chat_ref", sa.String(64), primary_key=True),
    # The process holding the connection (its delivery worker pushes to it), or "pull" for a chat that
    # polls over plain HTTP (it gets its notices with its next request).
    sa.Column("owner", sa.String(32), nullable=False),
    sa.Column("seen_at", UTCDateTime, nullable=False),
    sa.Index("ix_chat_presence_owner", "owner"),
)

NOTICE_TABLES = (notices, tip_messages, tip_threads, chat_presence)
