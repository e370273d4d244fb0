"""Content admins keep current (flow versions, FAQ, blocklist sources, reference domains, CSV imports) and
awareness broadcasts (subscriptions, broadcasts, one delivery row per recipient, sender leases).

Revision ID: 0013_content
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_content"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "flow_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("file", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("note", sa.String(255), nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_flow_versions"),
        sa.UniqueConstraint("file", "number", name="uq_flow_versions_file_number"),
    )
    op.create_table(
        "flow_publications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("file", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("published_by", sa.String(128), nullable=False),
        sa.Column("published_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_flow_publications"),
        sa.ForeignKeyConstraint(["version_id"], ["flow_versions.id"],
                                name="fk_flow_publications_version_id_flow_versions", ondelete="CASCADE"),
    )
    op.create_index("ix_flow_publications_file", "flow_publications", ["file", "id"])
    op.create_table(
        "faq_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("keywords", sa.Text, nullable=False, server_default=""),
        sa.Column("language", sa.String(8), nullable=False, server_default="vi"),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_faq_entries"),
    )
    op.create_table(
        "blocklist_sources",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("tip_reference", sa.String(32), nullable=True),
        sa.Column("added_by", sa.String(128), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("kind", "value", name="pk_blocklist_sources"),
    )
    op.create_table(
        "reference_domains",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("note", sa.String(255), nullable=True),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("kind", "value", name="pk_reference_domains"),
    )
    op.create_table(
        "content_imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("inserted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
        sa.Column("problems", sa.JSON, nullable=False),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_content_imports"),
    )
    op.create_table(
        "content_meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_content_meta"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("chat", sa.Text, nullable=True),
        sa.Column("locale", sa.String(8), nullable=False, server_default="vi"),
        sa.Column("school_id", sa.String(64), nullable=True),
        sa.Column("school_name", sa.String(255), nullable=True),
        sa.Column("commune_code", sa.String(16), nullable=True),
        sa.Column("commune_key", sa.String(128), nullable=True),
        sa.Column("commune_name", sa.String(128), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("consent_at", TS, nullable=False),
        sa.Column("consent_wording", sa.String(32), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        sa.UniqueConstraint("channel", "chat_ref", name="uq_subscriptions_channel_chat"),
    )
    op.create_index("ix_subscriptions_school", "subscriptions", ["status", "school_id"])
    op.create_index("ix_subscriptions_commune", "subscriptions", ["status", "commune_code", "commune_key"])
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("text_vi", sa.Text, nullable=False),
        sa.Column("text_en", sa.Text, nullable=True),
        sa.Column("audience", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("scheduled_at", TS, nullable=True),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_broadcasts"),
    )
    op.create_index("ix_broadcasts_status", "broadcasts", ["status", "scheduled_at"])
    op.create_table(
        "broadcast_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("broadcast_id", sa.Integer, nullable=False),
        sa.Column("subscription_id", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("recipient_ref", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure", sa.String(24), nullable=True),
        sa.Column("detail", sa.String(255), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("claimed_by", sa.String(32), nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_broadcast_deliveries"),
        sa.UniqueConstraint("broadcast_id", "subscription_id", name="uq_broadcast_deliveries_recipient"),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcasts.id"],
                                name="fk_broadcast_deliveries_broadcast_id_broadcasts", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscription_id"], ["subscriptions.id"],
                                name="fk_broadcast_deliveries_subscription_id_subscriptions", ondelete="CASCADE"),
    )
    op.create_index("ix_broadcast_deliveries_queue", "broadcast_deliveries",
                    ["channel", "status", "next_attempt_at", "id"])
    op.create_index("ix_broadcast_deliveries_broadcast", "broadcast_deliveries", ["broadcast_id", "status"])
    op.create_index("ix_broadcast_deliveries_recipient", "broadcast_deliveries", ["recipient_ref", "status"])
    op.create_table(
        "broadcast_leases",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("channel", name="pk_broadcast_leases"),
    )


def downgrade() -> None:
    for table in ("broadcast_leases", "broadcast_deliveries", "broadcasts", "subscriptions", "content_meta",
                  "content_imports", "reference_domains", "blocklist_sources", "faq_entries", "flow_publications",
                  "flow_versions"):
        op.drop_table(table)
