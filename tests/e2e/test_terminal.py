"""``hotline chat`` driven from stdin, as a user replaying a conversation would."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.e2e.servers import HOTLINE, env_for

SCRIPT = """xin chào
1
1
0377 123 999
hôm qua 20h
Giáo viên chủ nhiệm
THCS Lê Lợi
3
1 2
bit.ly/sll-app
bỏ qua
xong
không
chưa đưa gì
Phường 7
1
gửi
"""


@pytest.mark.slow  # ~4 s: a `hotline chat` run
def test_chat_from_stdin_files_a_tip(tmp_path: Path) -> None:
    result = subprocess.run([HOTLINE, "chat", "--chat-id", "cli-parent"], input=SCRIPT, text=True,
                            capture_output=True, cwd=tmp_path, env=env_for(tmp_path), timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "  1. 🚨 Báo cáo" in result.stdout  # buttons rendered as numbered options
    assert "Đã nhận báo cáo, mã số TG-" in result.stdout
    with sqlite3.connect(tmp_path / "hotline.db") as db:
        reference, sealed = db.execute("SELECT reference, data FROM tips").fetchone()
        (sink,), = db.execute("SELECT sink FROM outbox").fetchall()
    assert "bit.ly" not in sealed and sink == "console"
    shown = subprocess.run([HOTLINE, "tips", "show", reference], capture_output=True, text=True, cwd=tmp_path,
                           env=env_for(tmp_path), timeout=30, check=True)
    slots = json.loads(shown.stdout)["data"]["slots"]
    assert slots["link"] == "bit.ly/sll-app" and slots["claimed_role"] == "homeroom_teacher"
    assert slots["pretext"] == "install_app" and slots["asked"] == ["otp", "bank_account"]


@pytest.mark.slow  # ~5 s: two `hotline chat` runs
def test_chat_resumes_the_same_conversation(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    subprocess.run([HOTLINE, "chat"], input="báo cáo\n1\n", text=True, capture_output=True, cwd=tmp_path, env=env,
                   timeout=60, check=True)
    again = subprocess.run([HOTLINE, "chat"], input="0377123999\n", text=True, capture_output=True, cwd=tmp_path,
                           env=env, timeout=60, check=True)
    assert "lúc nào" in again.stdout
