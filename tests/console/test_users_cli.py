"""``hotline users …`` as an operator runs it, and the audit rows of ``tips show`` and ``blocklist add/remove``."""

from __future__ import annotations

import asyncio
import getpass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from bot.runtime import build_cipher
from bot.settings import load_settings
from storage import audit, users
from storage.db import Database
from storage.keys import ConversationKey
from storage.migrate import upgrade
from storage.tips import Indicator, create_tip
from storage.users_sessions import FULL, SessionPolicy, new_session, session_count

UNITS = """unit_id,name,province_code,commune_code,commune_name
CA-96,Công an tỉnh Cà Mau,96,,
CA-TT,Công an phường Tân Thành,96,31993,Phường Tân Thành
"""
PASSWORD = "mật khẩu đủ dài 12+"
ACTOR = f"cli:{getpass.getuser()}"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text("# defaults\n", encoding="utf-8")
    for key, value in {"HOTLINE_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}",
                       "HOTLINE_CONFIG": str(config), "HOTLINE_DATA_DIR": str(tmp_path / "data"),
                       "HOTLINE_SECURITY__KEY_FILE": str(tmp_path / "keys.json"),
                       "HOTLINE_LOGGING__FILE": str(tmp_path / "hotline.log")}.items():
        monkeypatch.setenv(key, value)
    units = tmp_path / "units.csv"
    units.write_text(UNITS, encoding="utf-8")
    assert run("import", "units", str(units)).exit_code == 0
    return tmp_path


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def in_db(fn: Any, **kwargs: Any) -> Any:
    async def main() -> Any:
        db = Database(load_settings(None).database.url)
        try:
            await upgrade(db)
            return await db.run(fn, **kwargs)
        finally:
            await db.dispose()

    return asyncio.run(main())


def test_add_list_disable_reset(env: Path) -> None:
    added = run("users", "add", " Can.Bo@CongAn.vn ", "--role", "officer", "--unit", "CA-TT", "--telegram-id",
                "123456789", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "created can.bo@congan.vn (officer, unit CA-TT)" in added.output
    assert run("users", "add", "chief@congan.vn", "--role", "supervisor", "--password-stdin",
               stdin=PASSWORD + "\n").exit_code == 0
    listing = run("users", "list").output.splitlines()
    assert len(listing) == 2 and "can.bo@congan.vn" in listing[0] and "CA-TT" in listing[0]
    assert "supervisor" in listing[1] and "active" in listing[1]

    record = in_db(users.login_record, email="can.bo@congan.vn")
    assert record.password_hash.startswith("$argon2id$")
    assert users.verify_password(record.password_hash, PASSWORD) == (True, False)
    assert in_db(users.user_by_telegram_id, telegram_user_id="123456789").email == "can.bo@congan.vn"

    policy = SessionPolicy(idle=timedelta(hours=1), max_age=timedelta(hours=2))
    in_db(new_session, user_id=record.user.id, stage=FULL, now=datetime.now(UTC), policy=policy)
    reset = run("users", "reset-password", "CAN.BO@congan.vn", "--password-stdin", stdin="a new password, long\n")
    assert reset.exit_code == 0, reset.output
    assert in_db(session_count, user_id=record.user.id) == 0  # a new password ends every session
    record = in_db(users.login_record, email="can.bo@congan.vn")
    assert users.verify_password(record.password_hash, "a new password, long")[0]
    assert not users.verify_password(record.password_hash, PASSWORD)[0]

    in_db(new_session, user_id=record.user.id, stage=FULL, now=datetime.now(UTC), policy=policy)
    disabled = run("users", "disable", "can.bo@congan.vn")
    assert disabled.exit_code == 0 and "disabled" in disabled.output
    assert in_db(session_count, user_id=record.user.id) == 0
    assert "disabled" in run("users", "list").output.splitlines()[0]
    assert in_db(users.user_by_telegram_id, telegram_user_id="123456789") is None  # cards no longer act as it

    trail = [(e["actor"], e["action"]) for e in reversed(in_db(audit.entries, subject=f"user:{record.user.id}"))]
    assert trail == [(ACTOR, "user.create"), (ACTOR, "user.password_reset"), (ACTOR, "user.disable")]


@pytest.mark.parametrize(("args", "message"), [
    (("not-an-email", "--role", "officer", "--unit", "CA-TT"), "not an e-mail address"),
    (("a@b.vn", "--role", "officer"), "an officer needs --unit"),
    (("a@b.vn", "--role", "officer", "--unit", "CA-XX"), "unknown unit 'CA-XX' (known units: CA-96, CA-TT)"),
    (("a@b.vn", "--role", "admin", "--telegram-id", "@someone"), "a Telegram user id is a positive number"),
])
def test_add_refuses_bad_input_before_the_password(env: Path, args: tuple[str, ...], message: str) -> None:
    result = run("users", "add", *args, "--password-stdin", stdin="")  # no password given: never read
    assert result.exit_code == 1 and message in result.output
    assert in_db(users.list_users) == []


def test_short_password_and_duplicate_email(env: Path) -> None:
    short = run("users", "add", "a@b.vn", "--role", "admin", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    assert run("users", "add", "a@b.vn", "--role", "admin", "--password-stdin", stdin=PASSWORD).exit_code == 0
    again = run("users", "add", "A@B.VN", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.exit_code == 1 and "an account with the e-mail a@b.vn exists" in again.output
    unknown = run("users", "disable", "nobody@b.vn")
    assert unknown.exit_code == 1 and "no account with the e-mail nobody@b.vn" in unknown.output


def test_set_role_unit_and_telegram_id(env: Path) -> None:
    assert run("users", "add", "a@b.vn", "--role", "supervisor", "--password-stdin", stdin=PASSWORD).exit_code == 0
    changed = run("users", "set", "a@b.vn", "--role", "officer", "--unit", "CA-TT", "--telegram-id", "42")
    assert changed.exit_code == 0 and "officer" in changed.output and "CA-TT" in changed.output
    assert in_db(users.user_by_telegram_id, telegram_user_id="42").role == "officer"
    cleared = run("users", "set", "a@b.vn", "--telegram-id", "")
    assert cleared.exit_code == 0 and in_db(users.user_by_telegram_id, telegram_user_id="42") is None
    assert run("users", "set", "a@b.vn", "--unit", "").exit_code == 1  # an officer keeps a unit


def test_tips_show_and_blocklist_changes_are_audited(env: Path) -> None:
    settings = load_settings(None)
    cipher = build_cipher(settings)

    def file_tip(conn: Any) -> str:
        return create_tip(conn, key=ConversationKey("api", "parent-1"), user_id="parent-1", urgent=False,
                          data={"slots": {"message_text": "cuộc gọi lạ"}, "locale": "vi"}, attachments=[],
                          indicators=[Indicator("phone", "+84912345678")], sinks=["console"], prefix="TG",
                          now=datetime.now(UTC), cipher=cipher)

    reference = in_db(file_tip)
    shown = run("tips", "show", reference)
    assert shown.exit_code == 0 and reference in shown.output
    assert [(e["actor"], e["action"]) for e in in_db(audit.entries, subject=reference)] == [(ACTOR, "tip.view")]
    assert run("tips", "show", "TG-0000-000000").exit_code == 1  # nothing opened, nothing to audit

    assert run("blocklist", "add", "--kind", "phone", "0912 345 678", "--note", "vụ 12/2026").exit_code == 0
    assert run("blocklist", "remove", "--kind", "phone", "0912345678").exit_code == 0
    assert run("blocklist", "remove", "--kind", "phone", "0912345678").exit_code == 1  # not listed: no row
    rows = [(e["actor"], e["action"], e["detail"]) for e in reversed(in_db(audit.entries, subject="blocklist:phone"))]
    assert rows == [(ACTOR, "blocklist.add", "+84912345678 (vụ 12/2026)"),
                    (ACTOR, "blocklist.remove", "+84912345678")]
