"""Abuse blocks, the audit log and tip closure times (retention).

Revision ID: 0005_security
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_security"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "blocks",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("lifted_by", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("channel", "chat_ref", name="pk_blocks"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "tip_closures",
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.Column("closed_at", TS, nullable=False),
        sa.Column("anonymised_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("tip_id", name="pk_tip_closures"),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name="fk_tip_closures_tip_id_tips", ondelete="CASCADE"),
    )
    op.create_index("ix_tip_closures_closed_at", "tip_closures", ["closed_at"])


def downgrade() -> None:
    op.drop_table("tip_closures")
    op.drop_table("audit_log")
    op.drop_table("blocks")
