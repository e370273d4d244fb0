"""The HTTP chat endpoint against a real ``hotline serve`` process and its SQLite file."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import HOTLINE, env_for, running_server

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    workdir = tmp_path_factory.mktemp("serve")
    with running_server(workdir) as base:
        yield base, workdir


def say(base: str, user: str, text: str | None = None, payload: str | None = None, **extra: object) -> dict:
    body: dict[str, object] = {"user_id": user, **extra}
    if text is not None:
        body["text"] = text
    if payload is not None:
        body["payload"] = payload
    r = httpx.post(f"{base}/api/v1/messages", json=body, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def find(reply: dict, label: str) -> str:
    for m in reply["messages"]:
        for b in m["buttons"]:
            if label.lower() in b["label"].lower():
                return b["id"]
    raise AssertionError(f"no {label!r} in {reply}")


@pytest.mark.slow  # ~8 s with its server's start
def test_scripted_report_files_tip_with_outbox_row(server: tuple[str, Path]) -> None:
    base, workdir = server
    u = "parent-http-1"
    r = say(base, u, "xin chao")
    r = say(base, u, payload=find(r, "Báo cáo"))
    r = say(base, u, payload=find(r, "Cuộc gọi"))
    for text in ("0377 123 999", "hôm qua 9h"):
        r = say(base, u, text)
    r = say(base, u, payload=find(r, "Hiệu trưởng"))
    r = say(base, u, "Trường THCS Nguyễn Du")
    r = say(base, u, payload=find(r, "mã định danh"))
    r = say(base, u, "otp, stk")
    r = say(base, u, "vneduconnect.com")
    r = say(base, u, "bỏ qua")
    r = say(base, u, attachments=[{"file_name": "a.png", "content_base64": base64.b64encode(PNG).decode()}])
    assert "Đã nhận 1" in r["messages"][0]["text"]
    r = say(base, u, payload=find(r, "Xong"))
    r = say(base, u, payload=find(r, "Không, chưa"))
    r = say(base, u, payload=find(r, "Chưa đưa"))
    r = say(base, u, "Xã Tân Lộc")
    r = say(base, u, payload=find(r, "ẩn danh"))
    r = say(base, u, payload=find(r, "Gửi báo cáo"))
    text = r["messages"][0]["text"]
    reference = text.split("mã số ")[1].split(".")[0]
    with sqlite3.connect(workdir / "hotline.db") as db:
        tip = db.execute("SELECT id, data FROM tips WHERE reference = ?", (reference,)).fetchone()
        outbox = db.execute("SELECT sink, idempotency_key, status FROM outbox WHERE tip_id = ?", (tip[0],)).fetchall()
        files = db.execute("SELECT mime_type FROM tip_attachments WHERE tip_id = ?", (tip[0],)).fetchall()
    assert "84377123999" not in tip[1]  # sealed at rest
    # The forwarder inside `serve` may already have picked the row up (console delivers at once).
    assert [(sink, ref) for sink, ref, _status in outbox] == [("console", reference)]
    assert outbox[0][2] in ("pending", "inflight", "delivered")
    assert files == [("image/png",)]
    # What an operator sees: the CLI opens the tip with the server's keys.
    shown = subprocess.run([HOTLINE, "tips", "show", reference], capture_output=True, text=True, cwd=workdir,
                           env=env_for(workdir), timeout=30, check=True)
    data = json.loads(shown.stdout)["data"]["slots"]
    assert data["caller_number"] == "+84377123999" and data["link"] == "vneduconnect.com"


def test_retry_with_same_message_id_gets_same_answer_once(server: tuple[str, Path]) -> None:
    base, _ = server
    u = "parent-http-2"
    say(base, u, "báo cáo")
    first = say(base, u, payload="call", message_id="c-1")
    second = say(base, u, payload="call", message_id="c-1")
    assert first == second
    r = say(base, u, "0377123999", message_id="c-2")
    assert "lúc nào" in r["messages"][0]["text"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "fragment"),
    [
        (b"{not json", "application/json", 400, "malformed JSON"),
        (b"\xff\xfe\x00junk", "application/json", 400, "UTF-8"),
        (b"[1, 2]", "application/json", 422, "body"),
        (b'{"text": "hi"}', "application/json", 422, "user_id"),
        (b'{"user_id": "a b c", "text": "hi"}', "application/json", 422, "user_id"),
        (b'{"user_id": "u"}', "application/json", 422, "send `text`"),
        (b"", "application/json", 400, "malformed JSON"),
    ],
)
def test_bad_requests_get_400_with_a_message(server: tuple[str, Path], body: bytes, content_type: str, status: int,
                                             fragment: str) -> None:
    base, _ = server
    r = httpx.post(f"{base}/api/v1/messages", content=body, headers={"content-type": content_type}, timeout=10)
    assert r.status_code == status
    assert fragment in r.json()["error"]["message"]


def test_oversized_body_is_413_and_100kb_text_is_answered(server: tuple[str, Path]) -> None:
    base, _ = server
    r = httpx.post(f"{base}/api/v1/messages", content=b'{"user_id":"u","text":"' + b"a" * 300_000 + b'"}',
                   headers={"content-type": "application/json"}, timeout=10)
    assert r.status_code == 413
    r = httpx.post(f"{base}/api/v1/messages", json={"user_id": "big", "text": "á" * 50_000}, timeout=10)
    assert r.status_code == 200  # 100 KB of UTF-8, inside the body limit, cut to the text limit
    assert "quá dài" in r.json()["messages"][0]["text"]
    r = httpx.post(f"{base}/api/v1/messages", json={"user_id": "junk", "text": "\x00\x07\x1b[31m\u202e"}, timeout=10)
    assert r.status_code == 200
    r = httpx.post(f"{base}/api/v1/messages", json={"user_id": "btn", "payload": "zz-unknown"}, timeout=10)
    assert r.status_code == 200 and r.json()["messages"]


def test_start_page_and_health(server: tuple[str, Path]) -> None:
    base, _ = server
    assert "Hotline" in httpx.get(base + "/", timeout=5).text
    assert httpx.get(base + "/healthz", timeout=5).json() == {"status": "ok"}
