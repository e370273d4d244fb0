"""The dashboard's daily counts (stats_daily, filled from the tips already filed) and the indexes its other
figures are read from.

Revision ID: 0017_dashboard
Revises: 0014_sealed_indicators

After 0014 because one index covers ``tip_indicators.value_key``. Must match :mod:`storage.alerts_schema`.
The counts of earlier tips come from their plain facets in ``tip_cases`` (nothing sealed is needed).
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_dashboard"
down_revision = "0014_sealed_indicators"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stats_daily",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("commune_code", sa.String(16), nullable=False),
        sa.Column("pretext", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("tips", sa.Integer, nullable=False),
        sa.Column("urgent", sa.Integer, nullable=False),
        sa.Column("harm_now", sa.Integer, nullable=False),
        sa.Column("money_lost_tips", sa.Integer, nullable=False),
        sa.Column("money_lost_vnd", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("day", "unit_id", "commune_code", "pretext", "channel", "kind", name="pk_stats_daily"),
    )
    op.create_index("ix_tip_cases_dashboard", "tip_cases",
                    ["created_at", "unit_id", "outcome", "first_action_at", "first_action_due", "closed_at"])
    op.create_index("ix_tip_indicators_dashboard", "tip_indicators",
                    ["kind", "created_at", "value_key", "dismissed", "tip_id"])
    bind = op.get_bind()
    day = ("to_char(timezone('Asia/Ho_Chi_Minh', created_at), 'YYYY-MM-DD')" if bind.dialect.name == "postgresql"
           else "date(created_at, '+7 hours')")
    op.execute(f"""
        INSERT INTO stats_daily (day, unit_id, commune_code, pretext, channel, kind, tips, urgent, harm_now,
                                 money_lost_tips, money_lost_vnd)
        SELECT {day}, coalesce(unit_id, ''), coalesce(commune_code, ''), coalesce(pretext, ''), channel, kind,
               count(*), sum(CASE WHEN urgent THEN 1 ELSE 0 END), sum(CASE WHEN priority >= 2 THEN 1 ELSE 0 END),
               sum(CASE WHEN money_lost THEN 1 ELSE 0 END),
               sum(CASE WHEN money_lost THEN coalesce(amount_vnd, 0) ELSE 0 END)
        FROM tip_cases
        GROUP BY {day}, coalesce(unit_id, ''), coalesce(commune_code, ''), coalesce(pretext, ''), channel, kind
    """)  # noqa: S608 - the only interpolation is one of two fixed expressions


def downgrade() -> None:
    op.drop_index("ix_tip_indicators_dashboard", "tip_indicators")
    op.drop_index("ix_tip_cases_dashboard", "tip_cases")
    op.drop_table("stats_daily")
