"""Talking back to the parent: outbound notices, the tip's transcript, open threads, open web chats.

Revision ID: 0008_notices
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_notices"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _tip_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=f"fk_{table}_tip_id_tips", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("recipient_ref", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("failure", sa.String(24), nullable=True),
        sa.Column("detail", sa.String(255), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("claimed_by", sa.String(32), nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
        sa.UniqueConstraint("tip_id", "key", name="uq_notices_tip_key"),
        _tip_fk("notices"),
    )
    op.create_index("ix_notices_status_due", "notices", ["status", "next_attempt_at"])
    op.create_index("ix_notices_recipient", "notices", ["recipient_ref", "status"])
    op.create_index("ix_notices_tip", "notices", ["tip_id", "id"])
    op.create_table(
        "tip_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("attachment_id", sa.Integer, nullable=True),
        sa.Column("notice_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tip_messages"),
        _tip_fk("tip_messages"),
        sa.ForeignKeyConstraint(["attachment_id"], ["tip_attachments.id"],
                                name="fk_tip_messages_attachment_id_tip_attachments", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name="fk_tip_messages_notice_id_notices",
                                ondelete="SET NULL"),
    )
    op.create_index("ix_tip_messages_tip", "tip_messages", ["tip_id", "id"])
    op.create_table(
        "tip_threads",
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("notice_id", sa.Integer, nullable=True),
        sa.Column("officer_id", sa.Integer, nullable=True),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("last_activity_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("tip_id", name="pk_tip_threads"),
        _tip_fk("tip_threads"),
        sa.ForeignKeyConstraint(["notice_id"], ["notices.id"], name="fk_tip_threads_notice_id_notices",
                                ondelete="SET NULL"),
    )
    op.create_index("ix_tip_threads_chat", "tip_threads", ["chat_ref", "mode"])
    op.create_index("ix_tip_threads_expiry", "tip_threads", ["mode", "expires_at"])
    op.create_table(
        "chat_presence",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("channel", "chat_ref", name="pk_chat_presence"),
    )
    op.create_index("ix_chat_presence_owner", "chat_presence", ["owner"])


def downgrade() -> None:
    for table in ("chat_presence", "tip_threads", "tip_messages", "notices"):
        op.drop_table(table)
