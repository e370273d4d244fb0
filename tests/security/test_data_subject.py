"""Retention, key rotation and data-subject export, driven through the real CLI on a real database."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bot.runtime import build_cipher
from bot.settings import load_settings
from storage.crypto import new_key
from storage.db import Database
from storage.retention import close_tip, run_retention
from storage.schema import conversations
from tests.chat import TEST_CIPHER, Chat, make_engine, tip_rows
from tests.e2e.servers import HOTLINE, env_for, running_server
from tests.security.test_privacy_scan import walk


def cli(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HOTLINE, *args], capture_output=True, text=True, cwd=workdir, env=env_for(workdir),
                          timeout=60, check=True)


@pytest.mark.slow  # tens of seconds (subprocesses, a generated month, a paced send): CI runs it, `./dev test fast` not
def test_export_rotate_and_audit_through_the_cli(tmp_path: Path) -> None:
    with running_server(tmp_path) as base:
        walk(base, "parent-x")
        exported = json.loads(cli(tmp_path, "export-subject", "--channel", "api", "--user", "parent-x").stdout)
        assert exported["tips"][0]["report"]["slots"]["contact_phone"] == "+84988777666"
        assert exported["conversation"]["state"]["step"] == "menu"
        before = json.loads((tmp_path / "var" / "keys.json").read_text())
        out = cli(tmp_path, "keys", "rotate").stdout
        assert "new key k2 is now current" in out and "re-encrypted" in out
        # The running server never restarted: it still reads old and new rows.
        r = httpx.post(f"{base}/api/v1/messages", json={"user_id": "parent-x", "text": "báo cáo"}, timeout=10)
        assert r.status_code == 200 and "liên lạc" in r.json()["messages"][0]["text"]
        walk(base, "parent-y")
    after = json.loads((tmp_path / "var" / "keys.json").read_text())
    assert set(after["keys"]) == {*before["keys"], "k2"} and after["current"] == "k2"
    with sqlite3.connect(tmp_path / "hotline.db") as db:
        sealed = [row[0] for row in db.execute("SELECT data FROM tips")]
    assert {base64.b64decode(s)[2:4] for s in sealed} == {b"k2"}
    assert "keys.rotate" in cli(tmp_path, "audit").stdout
    assert "export_subject" in cli(tmp_path, "audit").stdout
    exported = json.loads(cli(tmp_path, "export-subject", "--channel", "api", "--user", "parent-x").stdout)
    assert exported["tips"][0]["reference"].startswith("TG-")


async def test_retention_deletes_idle_chats_and_anonymises_closed_tips(sqlite_db: Database, tmp_path: Path) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("báo cáo")
    await chat.press("Cuộc gọi")
    for _ in range(14):
        if "liên hệ lại" in chat.text():
            break
        await chat.send("bỏ qua" if "Bỏ qua" in chat.buttons() else "2")
    await chat.press("Đồng ý")
    await chat.send("0988777666")
    await chat.press("Gửi báo cáo")
    (tip,) = await tip_rows(sqlite_db)
    now = datetime.now(UTC)
    await sqlite_db.run(close_tip, tip_id=tip["id"], now=now - timedelta(days=181))
    later = now + timedelta(days=31)
    report = await sqlite_db.run(run_retention, cipher=TEST_CIPHER, now=later, closed_tip_days=180,
                                 conversation_days=30)
    assert report.tips_anonymised == 1 and report.conversations_deleted == 1
    (tip,) = await tip_rows(sqlite_db)
    slots = tip["data"]["slots"]
    assert "contact_phone" not in slots and tip["reporter"] is None
    assert slots["contact_channel"] == "call"  # statistics survive
    async with sqlite_db.transaction() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(conversations))).scalar_one() == 0
    again = await sqlite_db.run(run_retention, cipher=TEST_CIPHER, now=later, closed_tip_days=180,
                                conversation_days=30)
    assert again.tips_anonymised == 0  # idempotent


def test_key_config_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_SECURITY__KEYS", json.dumps({"prod1": new_key()}))
    monkeypatch.setenv("HOTLINE_SECURITY__CURRENT_KEY", "prod1")
    monkeypatch.setenv("HOTLINE_SECURITY__INDEX_KEY", new_key())
    monkeypatch.setenv("HOTLINE_SECURITY__KEY_FILE", str(tmp_path / "unused.json"))
    cipher = build_cipher(load_settings())
    assert cipher.current == "prod1" and set(cipher.keys) == {"prod1"}
    assert not (tmp_path / "unused.json").exists()  # configured keys: no key file is created


async def test_retention_deletes_a_closed_tips_screenshots_and_free_text(sqlite_db: Database, tmp_path: Path) -> None:
    """PRIVACY.md, "Storage limitation": the screenshot file goes with the tip's personal data; the outbox never
    held any (it names the tip only)."""
    from storage.files import store_attachment
    from storage.keys import ConversationKey
    from storage.schema import outbox, tip_attachments
    from storage.tips import create_tip
    from tests.harden.conftest import PNG

    shot = store_attachment(tmp_path / "data", PNG, cipher=TEST_CIPHER, file_name="s.png")
    assert shot.path and Path(shot.path).exists()
    now = datetime.now(UTC)
    slots = {"contact_channel": "sms", "message_text": "Con tôi học lớp 6A, mã học sinh 0123456", "screenshots": [1]}

    def file(conn: sa.Connection) -> int:
        ref = create_tip(conn, key=ConversationKey("api", "parent-shot"), user_id="parent-shot", urgent=False,
                         data={"slots": slots, "locale": "vi", "consent": {"contact": False}}, attachments=[shot],
                         indicators=[], sinks=["console", "webhook"], prefix="TG", now=now, cipher=TEST_CIPHER)
        tip_id = int(ref.rsplit("-", 1)[1])
        payloads = {str(p) for p in conn.execute(sa.select(outbox.c.payload)).scalars()}
        assert payloads == {str({"reference": ref, "tip_id": tip_id})}
        close_tip(conn, tip_id=tip_id, now=now - timedelta(days=181))
        return tip_id

    tip_id = await sqlite_db.run(file)
    report = await sqlite_db.run(run_retention, cipher=TEST_CIPHER, now=now, closed_tip_days=180,
                                 conversation_days=30, data_dir=tmp_path / "data")
    assert report.tips_anonymised == 1 and report.files_deleted >= 1
    assert not Path(shot.path).exists()
    (tip,) = await tip_rows(sqlite_db)
    assert "message_text" not in tip["data"]["slots"] and "screenshots" not in tip["data"]["slots"]
    assert tip["data"]["slots"]["contact_channel"] == "sms"
    rows = await sqlite_db.run(lambda c: c.execute(sa.select(sa.func.count()).select_from(tip_attachments)
                                                   .where(tip_attachments.c.tip_id == tip_id)).scalar_one())
    assert rows == 0
