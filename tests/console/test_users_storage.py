"""Accounts, sessions, sign-in limits and TOTP against real databases (SQLite and PostgreSQL); the migration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from argon2 import PasswordHasher

from bot.channels.telegram.parse import TipPress
from bot.channels.telegram.tipcards import console_officer
from storage import audit, users
from storage import users_sessions as s
from storage.db import Database
from storage.intake_schema import police_units
from storage.migrate import alembic_config, upgrade
from storage.schema import metadata
from storage.users_schema import USERS_TABLES
from tests.chat import TEST_CIPHER

NOW = datetime(2026, 11, 20, 8, 0, 10, tzinfo=UTC)
POLICY = s.SessionPolicy(idle=timedelta(minutes=30), max_age=timedelta(hours=12))
LIMITS = s.LoginLimits(max_failures=3, lock=timedelta(minutes=15), address_per_hour=5)
HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("x" * 12)  # cheap: only stored here


@pytest.fixture
async def db(database: Database) -> Database:
    await database.run(lambda c: c.execute(sa.insert(police_units), [
        {"id": "CA-TT", "name": "Công an phường Tân Thành", "updated_at": NOW},
        {"id": "CA-TL", "name": "Công an xã Tân Lộc", "updated_at": NOW}]))
    return database


async def add(db: Database, email: str, role: str = "officer", unit: str | None = "CA-TT", **kw: Any) -> users.UserRow:
    return await db.run(users.add_user, email=email, role=role, unit_id=unit, password_hash=HASH, actor="test",
                        now=NOW, **kw)


async def test_accounts(db: Database) -> None:
    officer = await add(db, " Officer@CA.vn ", telegram_user_id="1001")
    chief = await add(db, "chief@ca.vn", "supervisor", None)
    assert (officer.email, officer.unit_id, officer.telegram_user_id) == ("officer@ca.vn", "CA-TT", "1001")
    assert [u.email for u in await db.run(users.list_users)] == ["chief@ca.vn", "officer@ca.vn"]
    with pytest.raises(users.UserError, match="exists"):
        await add(db, "OFFICER@ca.vn")
    with pytest.raises(users.UserError, match="already belongs"):
        await add(db, "other@ca.vn", telegram_user_id="1001")
    with pytest.raises(users.UserError, match="unknown unit"):
        await add(db, "other@ca.vn", unit="CA-XX")
    with pytest.raises(users.UserError, match="unknown role"):
        await add(db, "other@ca.vn", "root")
    moved = await db.run(users.update_user, user_id=officer.id, unit_id="CA-TL", actor="test", now=NOW)
    assert moved.unit_id == "CA-TL" and moved.telegram_user_id == "1001" and moved.role == "officer"
    with pytest.raises(users.UserError, match="needs --unit"):
        await db.run(users.update_user, user_id=officer.id, unit_id=None, actor="test", now=NOW)
    promoted = await db.run(users.update_user, user_id=chief.id, role="admin", actor="test", now=NOW)
    assert promoted.role == "admin"
    assert [e["action"] for e in await db.run(audit.entries, subject=f"user:{officer.id}")] == [
        "user.update", "user.create"]


async def test_console_officer_of_a_card_press(db: Database) -> None:
    officer = await add(db, "officer@ca.vn", telegram_user_id="1001")
    await add(db, "admin@ca.vn", "admin", None, telegram_user_id="1002")

    def press(user_id: str) -> TipPress:
        return TipPress(callback_id="c", action="assign", reference="TG-2026-000001", officer_id=user_id,
                        officer_name="Cán bộ", chat_id=-100, message_id=1, card_text="", keyboard=[],
                        authorised=True)

    viewer = await db.run(lambda c: console_officer(c, press("1001")))
    assert viewer is not None and (viewer.user_id, viewer.role, viewer.unit_id) == (officer.id, "officer", "CA-TT")
    assert await db.run(lambda c: console_officer(c, press("1002"))) is None  # admins handle no tips
    assert await db.run(lambda c: console_officer(c, press("9999"))) is None
    await db.run(users.set_disabled, user_id=officer.id, disabled=True, actor="test", now=NOW)
    assert await db.run(lambda c: console_officer(c, press("1001"))) is None


async def test_sessions(db: Database) -> None:
    officer = await add(db, "officer@ca.vn")
    token, csrf = await db.run(s.new_session, user_id=officer.id, stage=s.FULL, now=NOW, policy=POLICY)
    assert len(token) >= 43 and token != csrf
    stored = await db.run(lambda c: c.execute(sa.text("SELECT id_hash FROM console_sessions")).scalar_one())
    assert stored == s.token_hash(token) and token not in stored  # only the hash is kept
    session = await db.run(s.session_for, token=token, now=NOW + timedelta(minutes=29), policy=POLICY)
    assert session is not None and session.user.id == officer.id and session.csrf == csrf
    # Touched at minute 29: still alive at minute 58, then idle for longer than allowed.
    assert await db.run(s.session_for, token=token, now=NOW + timedelta(minutes=58), policy=POLICY) is not None
    assert await db.run(s.session_for, token=token, now=NOW + timedelta(minutes=89), policy=POLICY) is None
    assert await db.run(s.session_count, user_id=officer.id) == 0  # deleted, not just refused

    token, _ = await db.run(s.new_session, user_id=officer.id, stage=s.FULL, now=NOW, policy=POLICY)
    for minutes in range(20, 12 * 60, 20):  # busy all day, never idle
        assert await db.run(s.session_for, token=token, now=NOW + timedelta(minutes=minutes), policy=POLICY)
    assert await db.run(s.session_for, token=token, now=NOW + timedelta(hours=12), policy=POLICY) is None

    pending, _ = await db.run(s.new_session, user_id=officer.id, stage=s.PENDING_TOTP, now=NOW, policy=POLICY)
    assert await db.run(s.session_for, token=pending, now=NOW, policy=POLICY) is None  # not a full session
    assert await db.run(s.session_for, token=pending, now=NOW, policy=POLICY, stage=s.PENDING_TOTP)
    assert await db.run(s.session_for, token=pending, now=NOW + timedelta(minutes=6), policy=POLICY,
                        stage=s.PENDING_TOTP) is None
    full, _ = await db.run(s.new_session, user_id=officer.id, stage=s.FULL, now=NOW, policy=POLICY,
                           replaces=pending)
    assert await db.run(s.session_count, user_id=officer.id) == 1
    assert await db.run(s.end_session, token=full) == officer.id
    assert await db.run(s.session_for, token=full, now=NOW, policy=POLICY) is None
    assert await db.run(s.session_for, token="", now=NOW, policy=POLICY) is None


@pytest.mark.parametrize("change", ["disable", "password", "role", "totp_reset"])
async def test_changes_that_end_every_session(db: Database, change: str) -> None:
    officer = await add(db, "officer@ca.vn")
    for _ in range(2):
        await db.run(s.new_session, user_id=officer.id, stage=s.FULL, now=NOW, policy=POLICY)
    other = await add(db, "other@ca.vn")
    await db.run(s.new_session, user_id=other.id, stage=s.FULL, now=NOW, policy=POLICY)
    if change == "disable":
        await db.run(users.set_disabled, user_id=officer.id, disabled=True, actor="test", now=NOW)
    elif change == "password":
        await db.run(users.set_password, user_id=officer.id, password_hash=HASH, actor="test", now=NOW)
    elif change == "role":
        await db.run(users.update_user, user_id=officer.id, role="supervisor", actor="test", now=NOW)
    else:
        await db.run(users.reset_totp, user_id=officer.id, actor="test", now=NOW)
    assert await db.run(s.session_count, user_id=officer.id) == 0
    assert await db.run(s.session_count, user_id=other.id) == 1


async def test_login_limits(db: Database) -> None:
    def failed(account: str, address: str, at: datetime) -> Any:
        return db.run(s.login_failed, account_key=account, address_key=address, now=at, limits=LIMITS)

    def refused(account: str, address: str, at: datetime) -> Any:
        return db.run(s.login_refused, account_key=account, address_key=address, now=at, limits=LIMITS)

    assert [await failed("acct-a", "addr-1", NOW) for _ in range(3)] == [False, False, True]
    assert await refused("acct-a", "addr-2", NOW + timedelta(minutes=14)) == s.ACCOUNT
    assert await refused("acct-a", "addr-2", NOW + timedelta(minutes=16)) is None  # the lock ran out
    assert not await failed("acct-a", "addr-2", NOW + timedelta(minutes=16))  # and the count started again
    # Two more failures from addr-1 (five in the hour) and the address is refused for every account.
    await failed("acct-b", "addr-1", NOW + timedelta(minutes=1))
    assert await refused("acct-c", "addr-1", NOW + timedelta(minutes=2)) is None
    await failed("acct-c", "addr-1", NOW + timedelta(minutes=2))
    assert await refused("acct-d", "addr-1", NOW + timedelta(minutes=3)) == s.ADDRESS
    assert await refused("acct-d", "addr-1", NOW + timedelta(minutes=61)) is None  # a new hour
    # Success clears the account's count, not the address's.
    await db.run(s.login_succeeded, account_key="acct-b")
    assert [await failed("acct-b", "addr-9", NOW + timedelta(minutes=5)) for _ in range(2)] == [False, False]
    assert await refused("acct-b", "addr-9", NOW + timedelta(minutes=5)) is None


async def test_totp_window_and_replay(db: Database) -> None:
    officer = await add(db, "officer@ca.vn")
    secret = users.new_totp_secret()
    totp = pyotp.TOTP(secret)
    enrol: dict[str, Any] = {"user_id": officer.id, "secret": secret, "cipher": TEST_CIPHER, "actor": "test",
                             "now": NOW}
    assert not await db.run(users.enrol_totp, code="12345", **enrol)
    assert not await db.run(users.enrol_totp, code=totp.at(NOW, counter_offset=3), **enrol)
    assert await db.run(users.enrol_totp, code=totp.at(NOW), **enrol)
    sealed = await db.run(lambda c: c.execute(sa.text("SELECT totp_secret FROM console_users")).scalar_one())
    assert secret not in sealed

    def use(code: str, at: datetime) -> Any:
        return db.run(users.use_totp, user_id=officer.id, code=code, cipher=TEST_CIPHER, now=at)

    later = NOW + timedelta(minutes=5)
    assert not await use(totp.at(NOW), later)  # out of the window
    assert await use(totp.at(later, counter_offset=-1), later)  # one step early: accepted
    assert not await use(totp.at(later, counter_offset=-1), later)  # the same code again: refused
    assert await use(totp.at(later, counter_offset=1)[:3] + " " + totp.at(later, counter_offset=1)[3:], later)
    assert not await use(totp.at(later), later)  # an earlier step than the last one used
    row = await db.run(users.get_user, user_id=officer.id)
    assert row is not None and row.totp_enabled


def test_passwords() -> None:
    stored = users.hash_password("a long enough password")
    assert stored.startswith("$argon2id$")
    assert users.verify_password(stored, "a long enough password") == (True, False)
    assert users.verify_password(stored, "a long enough passworD") == (False, False)
    assert users.verify_password(None, "anything at all here") == (False, False)
    assert users.verify_password(HASH, "x" * 12) == (True, True)  # weaker parameters: rehash at sign-in
    with pytest.raises(users.UserError, match="at least 12"):
        users.hash_password("x" * 11)


async def test_rehash_replaces_only_an_unchanged_hash(db: Database) -> None:
    officer = await add(db, "officer@ca.vn")
    better = users.hash_password("x" * 12)
    await db.run(users.signed_in, user_id=officer.id, now=NOW, new_hash=better, old_hash="something else")
    record = await db.run(users.login_record, email="officer@ca.vn")
    assert record is not None and record.password_hash == HASH and record.user.last_login_at is not None
    await db.run(users.signed_in, user_id=officer.id, now=NOW, new_hash=better, old_hash=HASH)
    record = await db.run(users.login_record, email="officer@ca.vn")
    assert record is not None and record.password_hash == better


MINE = {t.name for t in USERS_TABLES}


async def test_migration_matches_the_table_definitions(database: Database) -> None:
    def diffs(conn: sa.Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(conn), metadata))

    async with database.transaction() as conn:
        found = await conn.run_sync(diffs)

    def mine(diff: Any) -> bool:
        text = repr(diff)
        return any(name in text for name in MINE)

    assert [d for d in found if mine(d)] == []


async def test_downgrade_and_upgrade_again(sqlite_db: Database) -> None:
    def downgrade(conn: sa.Connection) -> set[str]:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006_users-1")
        return set(sa.inspect(conn).get_table_names())

    async with sqlite_db.engine.begin() as conn:
        tables = await conn.run_sync(downgrade)
    assert not tables & MINE and "tips" in tables
    await upgrade(sqlite_db)
    async with sqlite_db.engine.connect() as conn:
        assert await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names())) >= MINE
