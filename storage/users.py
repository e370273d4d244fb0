"""Console accounts: create, list, disable, reset passwords, TOTP; the Telegram id link. Sessions and sign-in
limits are in :mod:`storage.users_sessions`.

Every function taking ``conn`` is a synchronous unit of work (``await db.run(fn, ...)``) with keyword-only
arguments. Hashing a password is deliberately slow (argon2id): :func:`hash_password` and
:func:`verify_password` take no connection, so callers run them outside a unit of work (``asyncio.to_thread``
in the server) and never hold the SQLite writer while hashing. Changes are audited as ``user.*`` with the
subject ``user:<id>``; an account is named by its id in the audit log, never by its e-mail.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from storage import audit
from storage.crypto import Cipher
from storage.intake_schema import police_units
from storage.users_schema import console_sessions, console_users

# reporter: a school or commune account that files incidents (bound to its agency in storage/agency.py)
ROLES = ("officer", "supervisor", "admin", "reporter")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; a cap keeps a megabyte "password" from costing anything extra
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TELEGRAM_ID = re.compile(r"^[1-9][0-9]{0,19}$")
# argon2id with the library's defaults (RFC 9106 "second recommended" profile). When these change, a
# stored hash made with the old ones is replaced at the next successful sign-in.
HASHER = PasswordHasher()
TOTP_WINDOW = 1  # one 30-second step either side: a phone clock a little off still works


class UserError(ValueError):
    """Bad input for an account (unknown role or unit, short password, e-mail taken…): the message says why,
    in English (the CLI); ``vi`` says it in Vietnamese for the console."""

    def __init__(self, message: str, *, vi: str | None = None) -> None:
        super().__init__(message)
        self.vi = vi or message

    def say(self, lang: str) -> str:
        return str(self) if lang == "en" else self.vi


@dataclass(frozen=True, slots=True)
class UserRow:
    """An account as the console and the CLI show it (never the password hash or the TOTP secret)."""

    id: int
    email: str
    role: str
    unit_id: str | None
    telegram_user_id: str | None
    totp_enabled: bool
    totp_required: bool
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None


USER_COLUMNS = (console_users.c.id, console_users.c.email, console_users.c.role, console_users.c.unit_id,
            console_users.c.telegram_user_id, console_users.c.totp_secret, console_users.c.totp_required,
            console_users.c.disabled_at, console_users.c.created_at, console_users.c.last_login_at)


def user_from(row: Any) -> UserRow:
    return UserRow(id=row.id, email=row.email, role=row.role, unit_id=row.unit_id,
                   telegram_user_id=row.telegram_user_id, totp_enabled=row.totp_secret is not None,
                   totp_required=bool(row.totp_required), disabled=row.disabled_at is not None,
                   created_at=row.created_at, last_login_at=row.last_login_at)


def subject(user_id: int) -> str:
    return f"user:{user_id}"


# ----- input ------------------------------------------------------------------------------------------------
def normalise_email(value: str) -> str:
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise UserError(f"not an e-mail address: {value.strip()[:80]!r}", vi="Địa chỉ e-mail không hợp lệ.")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters",
                        vi=f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự.")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password must have at most {MAX_PASSWORD} characters",
                        vi=f"Mật khẩu dài tối đa {MAX_PASSWORD} ký tự.")


def normalise_telegram_id(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not _TELEGRAM_ID.match(value):
        raise UserError(f"a Telegram user id is a positive number, not {value[:40]!r}",
                        vi="Mã người dùng Telegram là một số nguyên dương.")
    return value


def _check_role_unit(conn: sa.Connection, role: str, unit_id: str | None) -> str | None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: one of {', '.join(ROLES)}", vi="Vai trò không hợp lệ.")
    unit = unit_id.strip() if unit_id else None
    if role == "officer" and not unit:
        raise UserError("an officer needs --unit: the police unit whose tips they handle",
                        vi="Cán bộ phải thuộc một đơn vị (đơn vị nhận tin báo).")
    if unit and conn.execute(sa.select(police_units.c.id).where(police_units.c.id == unit)).first() is None:
        known = [r.id for r in conn.execute(sa.select(police_units.c.id).order_by(police_units.c.id).limit(20))]
        hint = f"known units: {', '.join(known)}" if known else "no units yet: `hotline import units FILE.csv`"
        raise UserError(f"unknown unit {unit!r} ({hint})", vi=f"Không có đơn vị {unit!r}.")
    return unit


# ----- passwords (slow: no connection) ----------------------------------------------------------------------
def hash_password(password: str) -> str:
    check_password(password)
    return HASHER.hash(password)


@cache
def _dummy_hash() -> str:
    return HASHER.hash("no account has this password, it only costs the same time")


def verify_password(stored: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs rehash). With no stored hash (no such account) a dummy is checked, so an unknown
    e-mail takes as long as a wrong password and timing does not tell which e-mails have accounts."""
    if len(password) > MAX_PASSWORD:
        password = password[:MAX_PASSWORD]
    try:
        HASHER.verify(stored or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    if stored is None:
        return False, False
    return True, HASHER.check_needs_rehash(stored)


# ----- accounts ---------------------------------------------------------------------------------------------
def check_new_user(conn: sa.Connection, *, email: str, role: str, unit_id: str | None,
                   telegram_user_id: str | None = None) -> tuple[str, str | None, str | None]:
    """(e-mail, unit, Telegram id) normalised, or :class:`UserError` (before anyone types a password)."""
    email = normalise_email(email)
    unit = _check_role_unit(conn, role, unit_id)
    telegram = normalise_telegram_id(telegram_user_id)
    if conn.execute(sa.select(console_users.c.id).where(console_users.c.email == email)).first() is not None:
        raise UserError(f"an account with the e-mail {email} exists", vi=f"Đã có tài khoản với e-mail {email}.")
    _check_telegram_free(conn, telegram, None)
    return email, unit, telegram


def add_user(conn: sa.Connection, *, email: str, role: str, unit_id: str | None, password_hash: str,
             actor: str, now: datetime, telegram_user_id: str | None = None) -> UserRow:
    email, unit, telegram = check_new_user(conn, email=email, role=role, unit_id=unit_id,
                                           telegram_user_id=telegram_user_id)
    user_id = conn.execute(sa.insert(console_users).values(
        email=email, password_hash=password_hash, role=role, unit_id=unit, telegram_user_id=telegram,
        created_at=now, updated_at=now, password_changed_at=now).returning(console_users.c.id)).scalar_one()
    audit.record(conn, actor=actor, action="user.create", subject=subject(user_id), now=now,
                 detail=f"role {role}" + (f", unit {unit}" if unit else ""))
    return _get(conn, user_id)


def _check_telegram_free(conn: sa.Connection, telegram: str | None, user_id: int | None) -> None:
    if telegram is None:
        return
    other = conn.execute(sa.select(console_users.c.id).where(console_users.c.telegram_user_id == telegram)).first()
    if other is not None and other.id != user_id:
        raise UserError(f"Telegram user id {telegram} already belongs to another account",
                        vi=f"Mã Telegram {telegram} đã gắn với tài khoản khác.")


_KEEP: Any = object()


def update_user(conn: sa.Connection, *, user_id: int, actor: str, now: datetime, role: str | None = None,
                unit_id: str | None = _KEEP, telegram_user_id: str | None = _KEEP) -> UserRow:
    """Change role, unit or Telegram id (arguments left out stay as they are; an empty value clears)."""
    user = _get(conn, user_id)
    new_role = role or user.role
    unit = _check_role_unit(conn, new_role, user.unit_id if unit_id is _KEEP else unit_id)
    telegram = user.telegram_user_id if telegram_user_id is _KEEP else normalise_telegram_id(telegram_user_id)
    _check_telegram_free(conn, telegram, user_id)
    conn.execute(sa.update(console_users).where(console_users.c.id == user_id)
                 .values(role=new_role, unit_id=unit, telegram_user_id=telegram, updated_at=now))
    changes = [f"{name} {old!r}→{new!r}" for name, old, new in (
        ("role", user.role, new_role), ("unit", user.unit_id, unit),
        ("telegram", user.telegram_user_id is not None, telegram is not None)) if old != new]
    if changes:
        if new_role != user.role or unit != user.unit_id:
            end_user_sessions(conn, user_id=user_id)  # what they may see changed: sign in again
        audit.record(conn, actor=actor, action="user.update", subject=subject(user_id), now=now,
                     detail=", ".join(changes))
    return _get(conn, user_id)


def _get(conn: sa.Connection, user_id: int) -> UserRow:
    user = get_user(conn, user_id=user_id)
    if user is None:
        raise UserError(f"no account #{user_id}", vi="Không có tài khoản này.")
    return user


def get_user(conn: sa.Connection, *, user_id: int | None = None, email: str | None = None) -> UserRow | None:
    query = sa.select(*USER_COLUMNS)
    if user_id is not None:
        query = query.where(console_users.c.id == user_id)
    elif email is not None:
        query = query.where(console_users.c.email == email.strip().lower())
    else:
        raise TypeError("get_user needs user_id or email")
    row = conn.execute(query).first()
    return user_from(row) if row is not None else None


def require_user(conn: sa.Connection, *, email: str) -> UserRow:
    user = get_user(conn, email=email)
    if user is None:
        raise UserError(f"no account with the e-mail {email.strip().lower()}", vi="Không có tài khoản với e-mail này.")
    return user


def list_users(conn: sa.Connection) -> list[UserRow]:
    return [user_from(r) for r in conn.execute(sa.select(*USER_COLUMNS).order_by(console_users.c.email))]


def user_by_telegram_id(conn: sa.Connection, *, telegram_user_id: str) -> UserRow | None:
    row = conn.execute(sa.select(*USER_COLUMNS).where(console_users.c.telegram_user_id == str(telegram_user_id),
                                                  console_users.c.disabled_at.is_(None))).first()
    return user_from(row) if row is not None else None


def set_disabled(conn: sa.Connection, *, user_id: int, disabled: bool, actor: str, now: datetime) -> UserRow:
    """Disable (every session of the account ends at once) or enable an account."""
    user = _get(conn, user_id)
    if user.disabled != disabled:
        conn.execute(sa.update(console_users).where(console_users.c.id == user_id)
                     .values(disabled_at=now if disabled else None, updated_at=now))
        if disabled:
            end_user_sessions(conn, user_id=user_id)
        audit.record(conn, actor=actor, action="user.disable" if disabled else "user.enable",
                     subject=subject(user_id), now=now)
    return _get(conn, user_id)


def set_password(conn: sa.Connection, *, user_id: int, password_hash: str, actor: str, now: datetime) -> None:
    """A new password (reset by an admin or the CLI): every session of the account ends."""
    _get(conn, user_id)
    conn.execute(sa.update(console_users).where(console_users.c.id == user_id)
                 .values(password_hash=password_hash, password_changed_at=now, updated_at=now))
    end_user_sessions(conn, user_id=user_id)
    audit.record(conn, actor=actor, action="user.password_reset", subject=subject(user_id), now=now)


def set_totp_required(conn: sa.Connection, *, user_id: int, required: bool, actor: str, now: datetime) -> UserRow:
    user = _get(conn, user_id)
    if user.totp_required != required:
        conn.execute(sa.update(console_users).where(console_users.c.id == user_id)
                     .values(totp_required=required, updated_at=now))
        audit.record(conn, actor=actor, action="user.totp_required" if required else "user.totp_optional",
                     subject=subject(user_id), now=now)
    return _get(conn, user_id)


def end_user_sessions(conn: sa.Connection, *, user_id: int) -> int:
    return conn.execute(sa.delete(console_sessions).where(console_sessions.c.user_id == user_id)).rowcount


# ----- sign-in ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LoginRecord:
    user: UserRow
    password_hash: str


def login_record(conn: sa.Connection, *, email: str) -> LoginRecord | None:
    """What a sign-in needs (the hash is compared outside the unit of work); None for no such account."""
    row = conn.execute(sa.select(*USER_COLUMNS, console_users.c.password_hash)
                       .where(console_users.c.email == email.strip().lower())).first()
    return LoginRecord(user_from(row), row.password_hash) if row is not None else None


def signed_in(conn: sa.Connection, *, user_id: int, now: datetime, new_hash: str | None, old_hash: str) -> None:
    """The last sign-in time; a hash made with old argon2 parameters is replaced (unless it changed since)."""
    conn.execute(sa.update(console_users).where(console_users.c.id == user_id).values(last_login_at=now))
    if new_hash is not None:
        conn.execute(sa.update(console_users).where(console_users.c.id == user_id,
                                                    console_users.c.password_hash == old_hash)
                     .values(password_hash=new_hash))


# ----- TOTP -------------------------------------------------------------------------------------------------
def _totp_aad(user_id: int) -> str:
    return f"console_users.totp_secret:{user_id}"


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def totp_uri(secret: str, *, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code ``code`` is, within :data:`TOTP_WINDOW` of ``now``; None if none is."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for offset in range(-TOTP_WINDOW, TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.at(now, counter_offset=offset), code):
            return int(step + offset)
    return None


def _claim_step(conn: sa.Connection, user_id: int, step: int) -> bool:
    # One UPDATE that succeeds only for a later step than any used: two requests racing with one code
    # cannot both win.
    c = console_users.c
    result = conn.execute(sa.update(console_users).where(
        c.id == user_id, sa.or_(c.totp_last_step.is_(None), c.totp_last_step < step)).values(totp_last_step=step))
    return result.rowcount == 1


def enrol_totp(conn: sa.Connection, *, user_id: int, secret: str, code: str, cipher: Cipher, actor: str,
               now: datetime) -> bool:
    """Turn TOTP on with ``secret`` if ``code`` proves the phone has it; False (nothing changed) otherwise."""
    step = matching_step(secret, code, now)
    if step is None:
        return False
    conn.execute(sa.update(console_users).where(console_users.c.id == user_id).values(
        totp_secret=cipher.seal_text(secret, aad=_totp_aad(user_id)), totp_last_step=step, updated_at=now))
    audit.record(conn, actor=actor, action="user.totp_enrol", subject=subject(user_id), now=now)
    return True


def use_totp(conn: sa.Connection, *, user_id: int, code: str, cipher: Cipher, now: datetime) -> bool:
    """Whether ``code`` is a current code of the account's secret not used before (then it is used up)."""
    sealed = conn.execute(sa.select(console_users.c.totp_secret).where(console_users.c.id == user_id)).scalar()
    if sealed is None:
        return False
    step = matching_step(cipher.open_text(sealed, aad=_totp_aad(user_id)), code, now)
    return step is not None and _claim_step(conn, user_id, step)


def reset_totp(conn: sa.Connection, *, user_id: int, actor: str, now: datetime) -> None:
    """Forget the account's TOTP secret (a lost phone); enrolment starts again at the next sign-in."""
    _get(conn, user_id)
    conn.execute(sa.update(console_users).where(console_users.c.id == user_id)
                 .values(totp_secret=None, totp_last_step=None, updated_at=now))
    end_user_sessions(conn, user_id=user_id)
    audit.record(conn, actor=actor, action="user.totp_reset", subject=subject(user_id), now=now)


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
