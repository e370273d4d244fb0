"""The tip workflow: cases with plain facets, tags, search terms, history, notes, referrals; indicator moderation.

Revision ID: 0007_workflow
Revises: 0001_initial

Existing tips get their case rows at start-up (``storage.workflow.backfill_cases``): their facets live in the
sealed report, which a migration cannot open.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_workflow"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _tip_fk(table: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=f"fk_{table}_tip_id_tips", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "tip_cases",
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, server_default="report"),
        sa.Column("status", sa.String(16), nullable=False, server_default="new"),
        sa.Column("is_open", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("outcome", sa.String(24), nullable=True),
        sa.Column("priority", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("unit_id", sa.String(64), nullable=True),
        sa.Column("commune_code", sa.String(16), nullable=True),
        sa.Column("pretext", sa.String(32), nullable=True),
        sa.Column("verdict", sa.String(16), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("contact_channel", sa.String(16), nullable=True),
        sa.Column("money_lost", sa.Boolean, nullable=True),
        sa.Column("amount_vnd", sa.BigInteger, nullable=True),
        sa.Column("assignee_id", sa.Integer, nullable=True),
        sa.Column("assigned_at", TS, nullable=True),
        sa.Column("assignee_active_at", TS, nullable=True),
        sa.Column("first_action_due", TS, nullable=True),
        sa.Column("first_action_at", TS, nullable=True),
        sa.Column("reply_received", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("handoff_state", sa.String(16), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("tip_id", name="pk_tip_cases"),
        sa.UniqueConstraint("reference", name="uq_tip_cases_reference"),
        _tip_fk("tip_cases"),
    )
    op.create_index("ix_tip_cases_unit_queue", "tip_cases", ["unit_id", "is_open", "priority", "created_at", "tip_id"])
    op.create_index("ix_tip_cases_queue", "tip_cases", ["is_open", "priority", "created_at", "tip_id"])
    op.create_index("ix_tip_cases_created", "tip_cases", ["created_at", "tip_id"])
    op.create_index("ix_tip_cases_assignee", "tip_cases", ["assignee_id", "is_open"])
    op.create_index("ix_tip_cases_commune", "tip_cases", ["commune_code", "created_at"])
    op.create_table(
        "tip_tags",
        sa.Column("facet", sa.String(16), nullable=False),
        sa.Column("value", sa.String(32), nullable=False),
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("facet", "value", "tip_id", name="pk_tip_tags"),
        _tip_fk("tip_tags"),
    )
    op.create_index("ix_tip_tags_tip", "tip_tags", ["tip_id"])
    op.create_table(
        "tip_terms",
        sa.Column("term", sa.String(64), nullable=False),
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("term", "tip_id", name="pk_tip_terms"),
        _tip_fk("tip_terms"),
    )
    op.create_index("ix_tip_terms_tip", "tip_terms", ["tip_id"])
    op.create_table(
        "tip_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tip_events"),
        _tip_fk("tip_events"),
    )
    op.create_index("ix_tip_events_tip", "tip_events", ["tip_id", "id"])
    op.create_table(
        "tip_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.Column("author_id", sa.Integer, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tip_notes"),
        _tip_fk("tip_notes"),
    )
    op.create_index("ix_tip_notes_tip_id", "tip_notes", ["tip_id"])
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("indicator_kind", sa.String(16), nullable=False),
        sa.Column("indicator_key", sa.String(64), nullable=False),
        sa.Column("indicator_sealed", sa.Text, nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tip_id", sa.Integer, nullable=True),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_referrals"),
        _tip_fk("referrals", "SET NULL"),
    )
    op.create_index("ix_referrals_indicator", "referrals", ["indicator_kind", "indicator_key"])
    op.create_index("ix_referrals_status", "referrals", ["status", "requested_at"])
    # Crowd-count moderation: an officer's "not a scam" stops a report counting; distinct client addresses
    # (keyed hash) keep one person with many identities from counting as many reporters.
    with op.batch_alter_table("tip_indicators") as batch:
        batch.add_column(sa.Column("dismissed", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("origin_key", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tip_indicators") as batch:
        batch.drop_column("origin_key")
        batch.drop_column("dismissed")
    for table in ("referrals", "tip_notes", "tip_events", "tip_terms", "tip_tags", "tip_cases"):
        op.drop_table(table)
