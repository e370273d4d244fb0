"""Supervision: campaign alerts and their counters, awareness drafts, agency (reporter) accounts, directory proposals.

Revision ID: 0012_alerts
Revises: 0007_workflow

Must match :mod:`storage.alerts_schema`. Tips filed before this migration are not counted towards alerts (the
counters start empty): a campaign is about what arrives from now on.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_alerts"
down_revision = "0007_workflow"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_keys",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("recent", sa.Text, nullable=False, server_default="[]"),
        sa.Column("campaigns", sa.Integer, nullable=False, server_default="0"),
        sa.Column("alert_id", sa.Integer, nullable=True),
        sa.Column("alert_last_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name="pk_alert_keys"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value_sealed", sa.Text, nullable=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("pretext", sa.String(32), nullable=True),
        sa.Column("commune_code", sa.String(16), nullable=True),
        sa.Column("threshold", sa.Integer, nullable=False),
        sa.Column("window_minutes", sa.Integer, nullable=False),
        sa.Column("first_tip_at", TS, nullable=False),
        sa.Column("last_tip_at", TS, nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("tips", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("acknowledged_by", sa.String(128), nullable=True),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("post_status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("post_claimed_at", TS, nullable=True),
        sa.Column("post_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("post_error", sa.String(255), nullable=True),
        sa.Column("posted_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("kind", "key", "seq", name="uq_alerts_kind_key_seq"),
    )
    op.create_index("ix_alerts_status_raised", "alerts", ["status", "raised_at"])
    op.create_index("ix_alerts_post", "alerts", ["post_status", "id"])
    op.create_table(
        "alert_tips",
        sa.Column("alert_id", sa.Integer, nullable=False),
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("alert_id", "tip_id", name="pk_alert_tips"),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_alert_tips_alert_id_alerts", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name="fk_alert_tips_tip_id_tips", ondelete="CASCADE"),
    )
    op.create_index("ix_alert_tips_tip", "alert_tips", ["tip_id"])
    op.create_table(
        "awareness_drafts",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("alert_id", sa.Integer, nullable=True),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("audience", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_awareness_drafts"),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_awareness_drafts_alert_id_alerts",
                                ondelete="SET NULL"),
    )
    op.create_index("ix_awareness_drafts_created", "awareness_drafts", ["created_at"])
    op.create_table(
        "agency_accounts",
        sa.Column("user_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("agency_kind", sa.String(16), nullable=False),
        sa.Column("agency_code", sa.String(64), nullable=False),
        sa.Column("agency_name", sa.String(255), nullable=False),
        sa.Column("commune_code", sa.String(16), nullable=True),
        sa.Column("commune_name", sa.String(255), nullable=True),
        sa.Column("bound_by", sa.String(128), nullable=False),
        sa.Column("bound_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_agency_accounts"),
    )
    op.create_table(
        "directory_proposals",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("school_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("proposed_by", sa.Integer, nullable=False),
        sa.Column("proposed_at", TS, nullable=False),
        sa.Column("reviewed_by", sa.Integer, nullable=True),
        sa.Column("reviewed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_directory_proposals"),
    )
    op.create_index("ix_directory_proposals_status", "directory_proposals", ["status", "proposed_at"])
    op.create_index("ix_directory_proposals_school", "directory_proposals", ["school_id", "proposed_at"])


def downgrade() -> None:
    op.drop_table("directory_proposals")
    op.drop_table("agency_accounts")
    op.drop_table("awareness_drafts")
    op.drop_table("alert_tips")
    op.drop_table("alerts")
    op.drop_table("alert_keys")
