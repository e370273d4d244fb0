"""Console sessions (server-side) and sign-in limits, both kept in the database so that a restart, or a second
server process, changes nothing.

A session id is 256 random bits; the cookie carries it and the table only its SHA-256, so a copy of the
database signs nobody in. A session ends after ``idle`` without a request, after ``max_age`` whatever
happens, when its user signs out (or out everywhere), is disabled, or gets a new password or role.

Sign-in limits count failures per account and per client address in fixed one-hour windows. The account
key is a keyed hash of the e-mail *as typed*, whether or not an account has it, so a lockout looks the same
for every e-mail and tells nothing about which ones exist.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.users import USER_COLUMNS, UserRow, user_from, utc
from storage.users_schema import console_login_limits, console_sessions, console_users

# last_seen_at is written at most this often: a page view is then usually a read, and the idle timeout
# (minutes) loses nothing by it.
TOUCH_EVERY = timedelta(seconds=15)
PENDING_MAX = timedelta(minutes=5)  # between a right password and the TOTP code
LIMIT_WINDOW = timedelta(hours=1)
FULL, PENDING_TOTP = "full", "totp"


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: timedelta
    max_age: timedelta


@dataclass(frozen=True, slots=True)
class Session:
    id_hash: str
    user: UserRow
    csrf: str
    stage: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session(conn: sa.Connection, *, user_id: int, stage: str, now: datetime, policy: SessionPolicy,
                replaces: str | None = None) -> tuple[str, str]:
    """A new session; returns (cookie token, CSRF token). ``replaces`` (the token the browser had) ends, so
    every step of a sign-in gets a fresh id and a planted or stolen earlier id is worth nothing."""
    if replaces:
        conn.execute(sa.delete(console_sessions).where(console_sessions.c.id_hash == token_hash(replaces)))
    # Sessions that ran out are deleted here, so the table holds only live ones.
    conn.execute(sa.delete(console_sessions).where(sa.or_(console_sessions.c.last_seen_at < now - policy.idle,
                                                          console_sessions.c.created_at < now - policy.max_age)))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    conn.execute(sa.insert(console_sessions).values(id_hash=token_hash(token), user_id=user_id, csrf=csrf,
                                                    stage=stage, created_at=now, last_seen_at=now))
    return token, csrf


_SESSION = (sa.select(console_sessions.c.id_hash, console_sessions.c.csrf, console_sessions.c.stage,
                      console_sessions.c.created_at.label("session_created"), console_sessions.c.last_seen_at,
                      *USER_COLUMNS)
            .select_from(console_sessions.join(console_users, console_users.c.id == console_sessions.c.user_id))
            .where(console_sessions.c.id_hash == sa.bindparam("h")))


def session_for(conn: sa.Connection, *, token: str, now: datetime, policy: SessionPolicy,
                stage: str = FULL) -> Session | None:
    """The live session of ``token`` at ``stage`` (touched: the idle clock restarts), or None."""
    if not token:
        return None
    row = conn.execute(_SESSION, {"h": token_hash(token)}).first()
    if row is None:
        return None
    created, seen = utc(row.session_created), utc(row.last_seen_at)
    if (row.disabled_at is not None or created <= now - policy.max_age or seen <= now - policy.idle
            or (row.stage == PENDING_TOTP and created <= now - PENDING_MAX)):
        conn.execute(sa.delete(console_sessions).where(console_sessions.c.id_hash == row.id_hash))
        return None
    if row.stage != stage:
        return None
    if now - seen >= TOUCH_EVERY:
        conn.execute(sa.update(console_sessions).where(console_sessions.c.id_hash == row.id_hash)
                     .values(last_seen_at=now))
    return Session(id_hash=row.id_hash, user=user_from(row), csrf=row.csrf, stage=row.stage)


def end_session(conn: sa.Connection, *, token: str) -> int | None:
    """Sign out: the session is deleted; returns its user's id (None if there was no such session)."""
    h = token_hash(token)
    user_id = conn.execute(sa.select(console_sessions.c.user_id).where(console_sessions.c.id_hash == h)).scalar()
    conn.execute(sa.delete(console_sessions).where(console_sessions.c.id_hash == h))
    return user_id


def session_count(conn: sa.Connection, *, user_id: int) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(console_sessions)
                            .where(console_sessions.c.user_id == user_id)).scalar_one())


# ----- sign-in limits ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LoginLimits:
    max_failures: int  # per account within LIMIT_WINDOW, then locked for ``lock``
    lock: timedelta
    address_per_hour: int  # failures from one client address per LIMIT_WINDOW, then refused


ACCOUNT, ADDRESS = "account", "address"


def _limit_row(conn: sa.Connection, kind: str, key: str) -> Any:
    return conn.execute(sa.select(console_login_limits).where(console_login_limits.c.kind == kind,
                                                              console_login_limits.c.key == key)).first()


def login_refused(conn: sa.Connection, *, account_key: str, address_key: str, now: datetime,
                  limits: LoginLimits) -> str | None:
    """``"account"`` while the e-mail typed is locked, ``"address"`` while the address is over its limit."""
    account = _limit_row(conn, ACCOUNT, account_key)
    if account is not None and account.locked_until is not None and utc(account.locked_until) > now:
        return ACCOUNT
    address = _limit_row(conn, ADDRESS, address_key)
    if (address is not None and utc(address.window_start) > now - LIMIT_WINDOW
            and address.failures >= limits.address_per_hour):
        return ADDRESS
    return None


def _count(conn: sa.Connection, kind: str, key: str, now: datetime) -> Any:
    values = {"kind": kind, "key": key, "failures": 0, "window_start": now, "locked_until": None}
    insert = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(console_login_limits)
    # Two failures at once for a new key: one inserts, the other finds the row; both then count.
    conn.execute(insert.values(values).on_conflict_do_nothing(index_elements=["kind", "key"]))
    query = sa.select(console_login_limits).where(console_login_limits.c.kind == kind,
                                                  console_login_limits.c.key == key)
    row = conn.execute(query.with_for_update() if conn.dialect.name == "postgresql" else query).one()
    expired_lock = row.locked_until is not None and utc(row.locked_until) <= now
    if utc(row.window_start) <= now - LIMIT_WINDOW or expired_lock:
        conn.execute(sa.update(console_login_limits).where(console_login_limits.c.kind == kind,
                                                           console_login_limits.c.key == key)
                     .values(failures=1, window_start=now, locked_until=None))
        return 1
    conn.execute(sa.update(console_login_limits).where(console_login_limits.c.kind == kind,
                                                       console_login_limits.c.key == key)
                 .values(failures=console_login_limits.c.failures + 1))
    return row.failures + 1


def login_failed(conn: sa.Connection, *, account_key: str, address_key: str, now: datetime,
                 limits: LoginLimits) -> bool:
    """Count a failed sign-in (wrong password or code); True when this one locked the account."""
    # Rows whose window and lock are long over say nothing any more.
    conn.execute(sa.delete(console_login_limits).where(
        console_login_limits.c.window_start < now - 24 * LIMIT_WINDOW,
        sa.or_(console_login_limits.c.locked_until.is_(None), console_login_limits.c.locked_until < now)))
    _count(conn, ADDRESS, address_key, now)
    if _count(conn, ACCOUNT, account_key, now) < limits.max_failures:
        return False
    conn.execute(sa.update(console_login_limits).where(console_login_limits.c.kind == ACCOUNT,
                                                       console_login_limits.c.key == account_key)
                 .values(locked_until=now + limits.lock, failures=0))
    return True


def login_succeeded(conn: sa.Connection, *, account_key: str) -> None:
    """The account's count starts again. The address's does not: one valid account must not let its
    owner's address reset the count it is guessing other accounts' passwords with."""
    conn.execute(sa.delete(console_login_limits).where(console_login_limits.c.kind == ACCOUNT,
                                                       console_login_limits.c.key == account_key))
