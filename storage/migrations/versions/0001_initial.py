"""Initial schema: conversations, inbound message ids, tips, attachments, outbox.

Revision ID: 0001_initial
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("who", sa.Text, nullable=False),
        sa.Column("locale", sa.String(8), nullable=False, server_default="vi"),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
        sa.UniqueConstraint("channel", "chat_ref", name="uq_conversations_channel_chat"),
    )
    op.create_table(
        "inbound_messages",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("replies", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("channel", "chat_ref", "message_id", name="pk_inbound_messages"),
    )
    op.create_index("ix_inbound_messages_created_at", "inbound_messages", ["created_at"])
    op.create_table(
        "tips",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("reference", sa.String(32), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("reporter_ref", sa.String(64), nullable=False),
        sa.Column("reporter", sa.Text, nullable=True),
        sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(16), nullable=False, server_default="new"),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tips"),
        sa.UniqueConstraint("reference", name="uq_tips_reference"),
    )
    op.create_index("ix_tips_reporter_ref", "tips", ["reporter_ref"])
    op.create_index("ix_tips_created_at", "tips", ["created_at"])
    op.create_table(
        "tip_attachments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("mime_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.String(512), nullable=True),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tip_attachments"),
        sa.ForeignKeyConstraint(
            ["tip_id"], ["tips.id"], name="fk_tip_attachments_tip_id_tips", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_tip_attachments_tip_id", "tip_attachments", ["tip_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.Column("sink", sa.String(32), nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name="fk_outbox_tip_id_tips", ondelete="CASCADE"),
        sa.UniqueConstraint("sink", "idempotency_key", name="uq_outbox_sink_key"),
    )
    op.create_index("ix_outbox_tip_id", "outbox", ["tip_id"])
    op.create_index("ix_outbox_status_next", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "tip_indicators",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("reporter_key", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tip_indicators"),
        sa.ForeignKeyConstraint(
            ["tip_id"], ["tips.id"], name="fk_tip_indicators_tip_id_tips", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_tip_indicators_tip_id", "tip_indicators", ["tip_id"])
    op.create_index("ix_tip_indicators_kind_value", "tip_indicators",
                    ["kind", "value", "tip_id", "reporter_key", "created_at"])


def downgrade() -> None:
    op.drop_table("tip_indicators")
    op.drop_table("outbox")
    op.drop_table("tip_attachments")
    op.drop_table("tips")
    op.drop_table("inbound_messages")
    op.drop_table("conversations")
