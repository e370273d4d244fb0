"""Seconds to the first action and to closing, kept beside the times, and the dashboard index over them.

Revision ID: 0018_handling_seconds
Revises: 0017_dashboard

The dashboard's handling figures bucket every tip of the period by how long it waited; computed from two
timestamps per row and per bucket, that was most of the page's time on SQLite with a month of a province's
tips. Must match :mod:`storage.workflow_schema` and :mod:`storage.alerts_schema`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_handling_seconds"
down_revision = "0017_dashboard"
branch_labels = None
depends_on = None

_OLD = ["created_at", "unit_id", "outcome", "first_action_at", "first_action_due", "closed_at"]
_NEW = ["created_at", "unit_id", "outcome", "first_action_seconds", "close_seconds", "first_action_at",
        "first_action_due"]


def _seconds(dialect: str, end: str) -> str:
    if dialect == "postgresql":
        return f"CAST(round(extract(epoch FROM {end} - created_at)) AS INTEGER)"
    return f"CAST(round((julianday({end}) - julianday(created_at)) * 86400) AS INTEGER)"


def upgrade() -> None:
    with op.batch_alter_table("tip_cases") as batch:
        batch.add_column(sa.Column("first_action_seconds", sa.Integer, nullable=True))
        batch.add_column(sa.Column("close_seconds", sa.Integer, nullable=True))
    dialect = op.get_bind().dialect.name
    op.execute(f"UPDATE tip_cases SET first_action_seconds = {_seconds(dialect, 'first_action_at')} "  # noqa: S608
               "WHERE first_action_at IS NOT NULL")
    op.execute(f"UPDATE tip_cases SET close_seconds = {_seconds(dialect, 'closed_at')} "  # noqa: S608
               "WHERE closed_at IS NOT NULL")
    op.drop_index("ix_tip_cases_dashboard", "tip_cases")
    op.create_index("ix_tip_cases_dashboard", "tip_cases", _NEW)


def downgrade() -> None:
    op.drop_index("ix_tip_cases_dashboard", "tip_cases")
    op.create_index("ix_tip_cases_dashboard", "tip_cases", _OLD)
    with op.batch_alter_table("tip_cases") as batch:
        batch.drop_column("close_seconds")
        batch.drop_column("first_action_seconds")
