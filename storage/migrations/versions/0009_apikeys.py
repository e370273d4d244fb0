"""API keys of integrations (POST /api/v1/messages) and the encryption key each running process uses.

Revision ID: 0009_apikeys
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_apikeys"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("user_prefix", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("name", name="uq_api_keys_name"),
        sa.UniqueConstraint("key_id", name="uq_api_keys_key_id"),
    )
    op.create_table(
        "key_users",
        sa.Column("process", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("process", name="pk_key_users"),
    )
    op.create_table(
        "key_state",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("current_key", sa.String(64), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_key_state"),
    )


def downgrade() -> None:
    op.drop_table("key_state")
    op.drop_table("key_users")
    op.drop_table("api_keys")
