"""Police intake: police units, the commune → unit map, and each tip's routing.

Revision ID: 0004_intake
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_intake"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "police_units",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("province_code", sa.String(16), nullable=False, server_default=""),
        sa.Column("provincial", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_police_units"),
    )
    op.create_table(
        "unit_communes",
        sa.Column("commune_code", sa.String(16), nullable=False),
        sa.Column("commune_name", sa.String(255), nullable=False),
        sa.Column("name_key", sa.String(255), nullable=False),
        sa.Column("full_key", sa.String(255), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=False),
        sa.Column("province_code", sa.String(16), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("commune_code", name="pk_unit_communes"),
        sa.ForeignKeyConstraint(["unit_id"], ["police_units.id"], name="fk_unit_communes_unit_id_police_units",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_unit_communes_name_key", "unit_communes", ["name_key"])
    op.create_index("ix_unit_communes_full_key", "unit_communes", ["full_key"])
    op.create_table(
        "tip_routing",
        sa.Column("tip_id", sa.Integer, nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=True),
        sa.Column("commune_code", sa.String(16), nullable=True),
        sa.Column("province_code", sa.String(16), nullable=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("routed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tip_id", name="pk_tip_routing"),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name="fk_tip_routing_tip_id_tips", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["police_units.id"], name="fk_tip_routing_unit_id_police_units",
                                ondelete="SET NULL"),
    )
    op.create_index("ix_tip_routing_unit_id", "tip_routing", ["unit_id"])


def downgrade() -> None:
    op.drop_index("ix_tip_routing_unit_id", table_name="tip_routing")
    op.drop_table("tip_routing")
    op.drop_index("ix_unit_communes_full_key", table_name="unit_communes")
    op.drop_index("ix_unit_communes_name_key", table_name="unit_communes")
    op.drop_table("unit_communes")
    op.drop_table("police_units")
