"""The queue's indexes carry the filterable facets, so a filter is decided inside the index.

Revision ID: 0011_queue_facets
Revises: 0007_workflow

Walking ``(is_open, priority, created_at, tip_id)`` in order and testing "money lost" or "kind = handoff" used to
read every tip's row; with the facets as trailing columns the test is made on the index entry, and only the
rows shown are read (measured in bench/bench_console.py: a rare filter at a million tips).
"""

from alembic import op

revision = "0011_queue_facets"
down_revision = "0007_workflow"
branch_labels = None
depends_on = None

FACETS = ["money_lost", "kind", "pretext", "verdict", "channel", "assignee_id", "reply_received"]


def upgrade() -> None:
    with op.batch_alter_table("tip_cases") as batch:
        batch.drop_index("ix_tip_cases_queue")
        batch.drop_index("ix_tip_cases_unit_queue")
        batch.create_index("ix_tip_cases_queue", ["is_open", "priority", "created_at", "tip_id", *FACETS])
        batch.create_index("ix_tip_cases_unit_queue", ["unit_id", "is_open", "priority", "created_at", "tip_id",
                                                       *FACETS])


def downgrade() -> None:
    with op.batch_alter_table("tip_cases") as batch:
        batch.drop_index("ix_tip_cases_queue")
        batch.drop_index("ix_tip_cases_unit_queue")
        batch.create_index("ix_tip_cases_queue", ["is_open", "priority", "created_at", "tip_id"])
        batch.create_index("ix_tip_cases_unit_queue", ["unit_id", "is_open", "priority", "created_at", "tip_id"])
