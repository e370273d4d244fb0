"""Incremental cluster counts (``cluster_keys``, ``cluster_sets``, ``cluster_reporters``, ``cluster_wide_tips``).

Revision ID: 0020_cluster_counts
Revises: 0018_handling_seconds

Must match :mod:`storage.cluster_schema`. The counts are filled from the tips already filed
(:func:`storage.cluster_counts.rebuild`).
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_cluster_counts"
down_revision = "0018_handling_seconds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_keys",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value_key", sa.String(64), nullable=False),
        sa.Column("tips", sa.Integer, nullable=False),
        sa.Column("reporters", sa.Integer, nullable=False),
        sa.Column("wide", sa.Integer, nullable=False, server_default="0"),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "value_key", name="pk_cluster_keys"),
    )
    op.create_table(
        "cluster_sets",
        sa.Column("signature", sa.String(32), nullable=False),
        sa.Column("tips", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("signature", name="pk_cluster_sets"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "cluster_reporters",
        sa.Column("pair", sa.String(32), nullable=False),
        sa.Column("tips", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("pair", name="pk_cluster_reporters"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "cluster_wide_tips",
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tip_id", name="pk_cluster_wide_tips"),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name="fk_cluster_wide_tips_tip_id_tips", ondelete="CASCADE"),
    )
    from storage.cluster_counts import rebuild  # the one definition of the counts

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("cluster_wide_tips")
    op.drop_table("cluster_reporters")
    op.drop_table("cluster_sets")
    op.drop_table("cluster_keys")
