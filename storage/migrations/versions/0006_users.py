"""Console accounts, server-side sessions and sign-in limits (storage/users_schema.py).

Revision ID: 0006_users
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_users"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("unit_id", sa.String(64), nullable=True),
        sa.Column("telegram_user_id", sa.String(32), nullable=True),
        sa.Column("totp_secret", sa.Text, nullable=True),
        sa.Column("totp_last_step", sa.BigInteger, nullable=True),
        sa.Column("totp_required", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("disabled_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("password_changed_at", TS, nullable=False),
        sa.Column("last_login_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_console_users"),
        sa.UniqueConstraint("email", name="uq_console_users_email"),
        sa.UniqueConstraint("telegram_user_id", name="uq_console_users_telegram_user_id"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(8), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name="pk_console_sessions"),
        sa.ForeignKeyConstraint(["user_id"], ["console_users.id"], name="fk_console_sessions_user_id_console_users",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_console_sessions_user_id", "console_sessions", ["user_id"])
    op.create_table(
        "console_login_limits",
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.PrimaryKeyConstraint("kind", "key", name="pk_console_login_limits"),
    )


def downgrade() -> None:
    op.drop_table("console_login_limits")
    op.drop_index("ix_console_sessions_user_id", table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
