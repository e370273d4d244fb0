"""Tables of console access: officers' and admins' accounts, their server-side sessions, sign-in limits.

Migration ``0006_users`` creates them. Nothing here is a secret on its own: passwords are argon2id hashes,
session ids are stored only as their SHA-256 (the cookie holds the id itself), the TOTP secret is sealed with
the data keys, and the sign-in limits are keyed by keyed hashes of the e-mail typed and the client address.
"""

from __future__ import annotations

import sqlalchemy as sa

from storage.schema import UTCDateTime, metadata

console_users = sa.Table(
    "console_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),  # normalised: stripped, lower-case
    sa.Column("password_hash", sa.String(255), nullable=False),  # argon2id, PHC string with its parameters
    sa.Column("role", sa.String(16), nullable=False),  # officer | supervisor | admin
    # The police unit (storage.units) whose tips an officer sees; checked by the code (the units table is on
    # another migration branch, so no foreign key).
    sa.Column("unit_id", sa.String(64), nullable=True),
    # The officer's Telegram user id, so a press on a Telegram tip card acts as this console account.
    sa.Column("telegram_user_id", sa.String(32), nullable=True, unique=True),
    sa.Column("totp_secret", sa.Text, nullable=True),  # sealed base32 secret; null until enrolled
    # The last TOTP time step accepted: a code of that step or earlier is refused (no replay).
    sa.Column("totp_last_step", sa.BigInteger, nullable=True),
    sa.Column("totp_required", sa.Boolean, nullable=False, server_default=sa.false()),  # set by an admin
    sa.Column("disabled_at", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("password_changed_at", UTCDateTime, nullable=False),
    sa.Column("last_login_at", UTCDateTime, nullable=True),
)

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),  # SHA-256 of the 256-bit id in the cookie
    sa.Column("user_id", sa.Integer, sa.ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("csrf", sa.String(64), nullable=False),  # the token every form of this session carries
    # "full": signed in; "totp": the password was right and the second factor is still to come.
    sa.Column("stage", sa.String(8), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("last_seen_at", UTCDateTime, nullable=False),
)

# Failed sign-ins, per account ("account", keyed hash of the e-mail typed, whether or not it exists, so a
# lockout says nothing about which e-mails have accounts) and per client address ("address").
console_login_limits = sa.Table(
    "console_login_limits",
    metadata,
    sa.Column("kind", sa.String(8), primary_key=True),  # account | address
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_start", UTCDateTime, nullable=False),
    sa.Column("locked_until", UTCDateTime, nullable=True),
)

USERS_TABLES = (console_users, console_sessions, console_login_limits)
