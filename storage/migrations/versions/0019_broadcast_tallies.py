"""Counts of broadcast deliveries whose per-recipient rows retention dropped (``broadcast_tallies``).

Revision ID: 0019_broadcast_tallies
Revises: 0013_content

Must match :data:`storage.content_schema.broadcast_tallies`. Nothing to fill: no row was folded before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_broadcast_tallies"
down_revision = "0013_content"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcast_tallies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("broadcast_id", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure", sa.String(24), nullable=True),
        sa.Column("sent_hour", sa.DateTime(timezone=True), nullable=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_broadcast_tallies"),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcasts.id"],
                                name="fk_broadcast_tallies_broadcast_id_broadcasts", ondelete="CASCADE"),
    )
    op.create_index("ix_broadcast_tallies_broadcast", "broadcast_tallies", ["broadcast_id"])
    op.create_index("ix_broadcast_tallies_sent", "broadcast_tallies", ["status", "sent_hour"])


def downgrade() -> None:
    op.drop_index("ix_broadcast_tallies_sent", "broadcast_tallies")
    op.drop_index("ix_broadcast_tallies_broadcast", "broadcast_tallies")
    op.drop_table("broadcast_tallies")
