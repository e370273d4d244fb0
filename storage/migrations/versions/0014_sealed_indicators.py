"""Tip indicators sealed: a keyed blind index to match on and a sealed value to show, no plaintext.

Revision ID: 0014_sealed_indicators
Revises: 0007_workflow

A migration cannot open the keys, so the plaintext moves to ``legacy_value`` here and the start-up pass
(``storage.indicators.seal_legacy``, from ``bot/runtime.py``) seals it, clears it and, on SQLite, rewrites the
file so that no freed page keeps it. The index on the plaintext is replaced by one on the blind index.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_sealed_indicators"
down_revision = "0007_workflow"
branch_labels = None
depends_on = None

KEY_INDEX = ["kind", "value_key", "tip_id", "reporter_key", "created_at", "origin_key", "dismissed"]


def upgrade() -> None:
    with op.batch_alter_table("tip_indicators") as batch:
        batch.drop_index("ix_tip_indicators_kind_value")
        batch.alter_column("value", new_column_name="legacy_value", existing_type=sa.String(255),
                           existing_nullable=False, nullable=True)
        batch.add_column(sa.Column("value_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("value_sealed", sa.Text, nullable=True))
        batch.create_index("ix_tip_indicators_kind_key", KEY_INDEX)


def downgrade() -> None:
    sealed = op.get_bind().execute(sa.text("SELECT count(*) FROM tip_indicators WHERE legacy_value IS NULL"))
    if sealed.scalar_one():
        # The plaintext is gone and a migration holds no key to reopen it: going back would lose the rows.
        raise RuntimeError("tip_indicators holds sealed values that a downgrade cannot turn back into plaintext; "
                           "restore a backup taken before 0014_sealed_indicators instead")
    with op.batch_alter_table("tip_indicators") as batch:
        batch.drop_index("ix_tip_indicators_kind_key")
        batch.drop_column("value_sealed")
        batch.drop_column("value_key")
        batch.alter_column("legacy_value", new_column_name="value", existing_type=sa.String(255),
                           existing_nullable=True, nullable=False)
    # Outside the batch: a batch resolves index columns by their names from before its renames.
    op.create_index("ix_tip_indicators_kind_value", "tip_indicators",
                    ["kind", "value", "tip_id", "reporter_key", "created_at"])
