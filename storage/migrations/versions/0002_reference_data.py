"""Reference data: the school directory, its official phones, and the police blocklist.

Revision ID: 0002_reference_data
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_reference_data"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schools",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("province", sa.String(128), nullable=False, server_default=""),
        sa.Column("commune", sa.String(128), nullable=False, server_default=""),
        sa.Column("contact_book_app", sa.String(64), nullable=False, server_default=""),
        sa.Column("website", sa.String(512), nullable=True),
        sa.Column("website_host", sa.String(255), nullable=True),
        sa.Column("name_key", sa.String(255), nullable=False),
        sa.Column("type_key", sa.String(64), nullable=False, server_default=""),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_schools"),
    )
    op.create_index("ix_schools_website_host", "schools", ["website_host"])
    op.create_index("ix_schools_name_key", "schools", ["name_key"])
    op.create_table(
        "school_phones",
        sa.Column("school_id", sa.String(64), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("school_id", "phone", name="pk_school_phones"),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name="fk_school_phones_school_id_schools", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_school_phones_phone", "school_phones", ["phone"])
    op.create_table(
        "blocklist",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("kind", "value", name="pk_blocklist"),
    )


def downgrade() -> None:
    op.drop_table("blocklist")
    op.drop_index("ix_school_phones_phone", table_name="school_phones")
    op.drop_table("school_phones")
    op.drop_index("ix_schools_name_key", table_name="schools")
    op.drop_index("ix_schools_website_host", table_name="schools")
    op.drop_table("schools")
