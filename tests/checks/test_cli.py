"""The click commands, invoked directly (the root group registers them; see bot/cli.py)."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli_check import blocklist_group, check_command, import_group

from .conftest import DIRECTORY


@pytest.fixture
def cli(tmp_path):
    config = tmp_path / "config.yaml"  # an empty config: the developer's ./config.yaml must not leak in
    config.write_text("# test\n", encoding="utf-8")
    env = {"HOTLINE_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", "HOTLINE_CONFIG": str(config)}
    runner = CliRunner()

    def invoke(command, *args):
        return runner.invoke(command, list(args), env=env, catch_exceptions=False)

    return invoke


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_import_schools_then_reimport_updates(cli, tmp_path):
    path = write(tmp_path, "schools.csv", DIRECTORY, encoding="utf-8-sig")
    first = cli(import_group, "schools", path)
    assert first.exit_code == 0, first.output
    assert first.stdout.strip().endswith("loaded 5, updated 0, skipped 0")
    assert "shared platform" in first.stderr  # the Facebook page, loaded with a warning
    changed = DIRECTORY.replace("0290 3831 234;0912.000.111", "0290 3831 999") + "NEW-1,THCS Mới,Cà Mau,,,,\n"
    second = cli(import_group, "schools", write(tmp_path, "s2.csv", changed))
    assert second.stdout.strip().endswith("loaded 1, updated 5, skipped 0")
    old = json.loads(cli(check_command, "--phone", "0912000111", "--school", "THCS Nguyễn Trãi", "--json").stdout)
    assert [r["code"] for r in old["reasons"]] == ["phone_not_official"]
    new = json.loads(cli(check_command, "--phone", "0290 3831 999", "--school", "THCS Nguyễn Trãi", "--json").stdout)
    assert [r["code"] for r in new["reasons"]] == ["phone_official"]


def test_import_reports_bad_rows_and_still_loads_good_ones(cli, tmp_path):
    body = DIRECTORY.splitlines()[0] + "\nA1,THCS A,P,C,0912 000 111,,\nA2,THCS B,P,C,12,,\nA1,THCS A,P,C,,,\n"
    result = cli(import_group, "schools", write(tmp_path, "bad.csv", body))
    assert result.exit_code == 0
    assert "line 3: official_phones: '12' is not a valid phone number — skipped" in result.stderr
    assert "line 4: duplicate school_id 'A1' (first on line 2)" in result.stderr
    assert result.stdout.strip().endswith("loaded 1, updated 0, skipped 2")


@pytest.mark.parametrize("body", ["name,phones\nx,1\n", ""])
def test_unusable_file_exits_non_zero(cli, tmp_path, body):
    result = cli(import_group, "schools", write(tmp_path, "x.csv", body))
    assert result.exit_code == 1
    assert "school_id,name,province,commune,official_phones,contact_book_app,website" in result.stderr


def test_missing_file(cli):
    assert cli(import_group, "schools", "/nonexistent.csv").exit_code == 2


def test_blocklist_import_add_list_remove(cli, tmp_path):
    path = write(tmp_path, "bl.csv", "kind,value,note\nphone,0377 123 999,CA\ndomain,Lua-Dao.com,\nfax,1,\n")
    imported = cli(import_group, "blocklist", path)
    assert imported.stdout.strip().endswith("loaded 2, updated 0, skipped 1")
    assert "line 4: kind 'fax'" in imported.stderr
    assert cli(blocklist_group, "add", "--kind", "phone", "+84 377 123 000", "--note", "vụ 12").stdout.startswith(
        "added phone +84377123000")
    assert "already listed" in cli(blocklist_group, "add", "--kind", "phone", "0377123000").stdout
    listed = cli(blocklist_group, "list").stdout.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [
        ["domain", "lua-dao.com"], ["phone", "+84377123000"], ["phone", "+84377123999"]]
    assert listed[1].endswith("\tvụ 12")
    assert cli(blocklist_group, "list", "--kind", "domain").stdout.count("\n") == 1
    assert cli(blocklist_group, "remove", "--kind", "domain", "https://www.lua-dao.com/x").exit_code == 0
    gone = cli(blocklist_group, "remove", "--kind", "domain", "lua-dao.com")
    assert gone.exit_code == 1 and "not listed" in gone.stderr
    bad = cli(blocklist_group, "add", "--kind", "phone", "12")
    assert bad.exit_code == 2 and "not a valid phone number" in bad.stderr


def test_check_human_and_json_output(cli):
    human = cli(check_command, "--phone", "0377123999", "--asked", "otp,money_transfer", "--claimed-role", "teacher")
    assert human.exit_code == 0
    assert "LỪA ĐẢO" in human.stdout and "asks_otp" in human.stdout
    data = json.loads(cli(check_command, "--url", "vnedu.vn.evil.com", "--json").stdout)
    assert set(data) == {"verdict", "score", "reasons", "school", "advice"}
    assert data["verdict"] == "scam" and data["reasons"][0]["code"] == "url_lookalike"


@pytest.mark.parametrize(("args", "message"), [
    (["--asked", "otp,password"], "unknown value 'password'"),
    (["--phone", "0912000111", "--claimed-role", "janitor"], "janitor"),
    (["--url", "not a link"], "not a web address"),
    (["--school", "THCS A"], "give at least one of"),
])
def test_check_usage_errors(cli, args, message):
    result = cli(check_command, *args)
    assert result.exit_code == 2 and message in result.stderr
