"""Full conversations with secrets and a reporter's phone, then a scan of everything written to disk."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import running_server

PNG = b"\x89PNG\r\n\x1a\n" + b"SCREENSHOT-MARKER" * 4

OTP, CARD, PASSWORD = "739164", "4111 1111 1111 1111", "Hoa@2026xyz"
REPORTER_PHONE_FORMS = ("0988777666", "84988777666", "988777666", "0988 777 666")


def post(base: str, user: str, **body: object) -> dict:
    r = httpx.post(f"{base}/api/v1/messages", json={"user_id": user, **body}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def walk(base: str, user: str) -> None:
    post(base, user, text="xin chào")
    post(base, user, payload="report")
    post(base, user, payload="call")
    post(base, user, text="0377 123 999")
    post(base, user, text=f"hôm qua 9h, nó bảo đọc mã OTP {OTP} và số thẻ {CARD}")
    for _ in range(5):
        post(base, user, text="bỏ qua")
    post(base, user, text=f"Tin nhắn: mật khẩu: {PASSWORD} - mã xác thực {OTP}")
    post(base, user, attachments=[{"file_name": "s.png", "content_base64": base64.b64encode(PNG).decode()}])
    post(base, user, payload="!done")
    post(base, user, payload="no")
    post(base, user, payload="nothing")
    post(base, user, text="Phường 5")
    post(base, user, payload="contact_ok")
    post(base, user, text="0988 777 666")
    reply = post(base, user, payload="!submit")
    assert "TG-" in reply["messages"][0]["text"]


def scan(root: Path) -> tuple[set[str], bytes]:
    files = [p for p in root.rglob("*") if p.is_file() and p.name != "keys.json"]
    return {p.name for p in files}, b"".join(p.read_bytes() for p in files)


@pytest.mark.slow  # ~6 s: a server walked through every flow
def test_nothing_sensitive_on_disk(tmp_path: Path) -> None:
    with running_server(tmp_path, HOTLINE_LOGGING__LEVEL="DEBUG") as base:
        for i in range(3):
            walk(base, f"parent-{i}")
        live_names, live_raw = scan(tmp_path)  # while running: the WAL holds the newest pages
    assert "hotline.db-wal" in live_names
    names, raw = scan(tmp_path)
    assert {"hotline.db", "hotline.log"} <= names
    raw += live_raw
    for secret in (OTP, CARD, CARD.replace(" ", ""), PASSWORD, *REPORTER_PHONE_FORMS):
        assert secret.encode() not in raw, f"{secret!r} found on disk"
    assert b"SCREENSHOT-MARKER" not in raw  # attachments are sealed too
    # The scammer's number the parents reported: tip_indicators keeps only its blind index and sealed value.
    assert b"377123999" not in raw and b"0377 123 999" not in raw
    for user in ("parent-0", "parent-1"):
        assert user.encode() not in raw  # chat ids are stored only as keyed hashes


@pytest.mark.slow  # ~5 s: a server walked through every flow
def test_log_carries_no_sql_or_message_text(tmp_path: Path) -> None:
    with running_server(tmp_path) as base:  # INFO, the shipped level
        walk(base, "parent-log")
    log = (tmp_path / "hotline.log").read_text(encoding="utf-8")
    assert "tip TG-" in log  # the log does say what happened …
    for leak in ("INSERT INTO", "UPDATE conversations", "Phường 5", "0377"):
        assert leak not in log  # … but never what the parent wrote, nor SQL with its parameters
