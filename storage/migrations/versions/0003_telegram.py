"""Telegram channel: stored updates, outgoing calls, chat leases, polling state, tip-card actions.

Revision ID: 0003_telegram
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_telegram"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("processed_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("update_id", name="pk_telegram_updates"),
    )
    op.create_index("ix_telegram_updates_pending", "telegram_updates", ["processed_at", "chat_ref", "update_id"])
    op.create_index("ix_telegram_updates_received_at", "telegram_updates", ["received_at"])
    op.create_table(
        "telegram_outgoing",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("update_id", sa.BigInteger, nullable=True),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("not_before", TS, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_telegram_outgoing"),
    )
    op.create_index("ix_telegram_outgoing_pending", "telegram_outgoing", ["status", "chat_ref", "id"])
    op.create_table(
        "telegram_chat_leases",
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("chat_ref", name="pk_telegram_chat_leases"),
    )
    op.create_table(
        "telegram_state",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_telegram_state"),
    )
    op.create_table(
        "telegram_tip_actions",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("officer_id", sa.String(32), nullable=False, server_default=""),
        sa.Column("officer_name", sa.String(128), nullable=True),
        sa.Column("chat_id", sa.String(32), nullable=True),
        sa.Column("message_id", sa.BigInteger, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_telegram_tip_actions"),
        sa.UniqueConstraint("reference", "action", "officer_id", name="uq_telegram_tip_actions_ref_action_officer"),
    )
    op.create_index("ix_telegram_tip_actions_reference", "telegram_tip_actions", ["reference"])


def downgrade() -> None:
    op.drop_index("ix_telegram_tip_actions_reference", table_name="telegram_tip_actions")
    op.drop_table("telegram_tip_actions")
    op.drop_table("telegram_state")
    op.drop_table("telegram_chat_leases")
    op.drop_index("ix_telegram_outgoing_pending", table_name="telegram_outgoing")
    op.drop_table("telegram_outgoing")
    op.drop_index("ix_telegram_updates_received_at", table_name="telegram_updates")
    op.drop_index("ix_telegram_updates_pending", table_name="telegram_updates")
    op.drop_table("telegram_updates")
