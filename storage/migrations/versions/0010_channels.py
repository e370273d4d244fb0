"""One channel layer: the inbound journal, outgoing queue, leases, state and reachability keyed by channel.

Revision ID: 0010_channels
Revises: 0003_telegram

It follows the Telegram migration because these tables generalise Telegram's (``telegram_updates`` →
``channel_events`` and so on). Telegram's own tables and rows are left exactly as they are: its adapter still
reads them, so nothing is copied (a copy would be processed twice once it moves).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_channels"
down_revision = "0003_telegram"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_events",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("processed_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_channel_events"),
        sa.UniqueConstraint("channel", "event_id", name="uq_channel_events_channel_event"),
    )
    op.create_index("ix_channel_events_pending", "channel_events", ["channel", "processed_at", "chat_ref", "id"])
    op.create_index("ix_channel_events_received_at", "channel_events", ["received_at"])
    op.create_table(
        "channel_outgoing",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=True),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("not_before", TS, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_channel_outgoing"),
    )
    op.create_index("ix_channel_outgoing_pending", "channel_outgoing", ["channel", "status", "chat_ref", "id"])
    op.create_table(
        "channel_leases",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("channel", "chat_ref", name="pk_channel_leases"),
    )
    op.create_table(
        "channel_state",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("channel", "key", name="pk_channel_state"),
    )
    op.create_table(
        "channel_recipients",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(255), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("channel", "chat_ref", name="pk_channel_recipients"),
    )


def downgrade() -> None:
    op.drop_table("channel_recipients")
    op.drop_table("channel_state")
    op.drop_table("channel_leases")
    op.drop_index("ix_channel_outgoing_pending", table_name="channel_outgoing")
    op.drop_table("channel_outgoing")
    op.drop_index("ix_channel_events_received_at", table_name="channel_events")
    op.drop_index("ix_channel_events_pending", table_name="channel_events")
    op.drop_table("channel_events")
