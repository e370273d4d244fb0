"""Broadcasts reach parents who cannot be pushed to (the HTTP API) with their next request, once; the button
under the warning stops them; the CLI sends, lists, follows and steers; web chats open on this process are
pushed to (presence)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx
import pytest

from handlers.messages import ConversationKey
from storage import broadcasts, notices
from storage.conversations import chat_ref
from storage.db import Database
from storage.subscriptions import Audience
from tests.broadcast.helpers import now, subscribe_many
from tests.chat import TEST_CIPHER
from tests.console.conftest import Console
from tests.e2e.servers import HOTLINE, env_for


async def say(api: httpx.AsyncClient, user: str, text: str | None = None, payload: str | None = None) -> list[dict]:
    body = {"user_id": user, **({"text": text} if text else {}), **({"payload": payload} if payload else {})}
    r = await api.post("/api/v1/messages", json=body)
    assert r.status_code == 200, r.text
    messages: list[dict] = r.json()["messages"]
    return messages


async def test_an_http_parent_gets_the_warning_with_the_next_reply_and_the_button_stops_it(
        content_console: Console) -> None:
    async with httpx.AsyncClient(base_url=content_console.base_url, timeout=30) as api:
        await say(api, "p-1", "menu")
        await say(api, "p-1", payload="subscribe")
        await say(api, "p-1", "bỏ qua")
        await say(api, "p-1", "bỏ qua")
        done = await say(api, "p-1", payload="sub_yes")
        assert any("Đã đăng ký" in m["text"] for m in done)
        bid = await content_console.db.run(broadcasts.create, title="", text_vi="Cảnh báo mới: đừng cài app lạ.",
                                           text_en=None, audience=Audience(), actor="officer:1", now=now())
        progress = await content_console.db.run(broadcasts.progress, broadcast_id=bid, now=now())
        assert (progress.waiting, progress.percent) == (1, 100)  # nothing to push: waiting for the next visit
        reply = await say(api, "p-1", "menu")
        warning = next(m for m in reply if "đừng cài app lạ" in m["text"])
        assert warning["buttons"] == [{"id": "!unsubscribe", "label": "🔕 Ngừng nhận cảnh báo"}]
        assert not any("đừng cài app lạ" in m["text"] for m in await say(api, "p-1", "menu"))  # once
        stopped = await say(api, "p-1", payload="!unsubscribe")
        assert "Đã ngừng gửi cảnh báo" in stopped[0]["text"]
        await content_console.db.run(broadcasts.create, title="", text_vi="Lần hai", text_en=None,
                                     audience=Audience(), actor="officer:1", now=now())
        assert not any("Lần hai" in m["text"] for m in await say(api, "p-1", "menu"))


async def test_a_web_chat_open_on_this_process_is_pushed_to(sqlite_db: Database) -> None:
    await subscribe_many(sqlite_db, TEST_CIPHER, channel="web", chat_ids=["session-1", "session-2"])
    bid = await sqlite_db.run(broadcasts.create, title="", text_vi="A", text_en=None, audience=Audience(),
                              actor="x", now=now())
    ref = chat_ref(TEST_CIPHER, ConversationKey("web", "session-1"))
    await sqlite_db.run(notices.touch_presence, channel="web", chat_ref=ref, owner="proc-1", now=now())
    assert await sqlite_db.run(broadcasts.claim_present, channel="web", owner="proc-2", now=now(),
                               cipher=TEST_CIPHER) == []
    (item,) = await sqlite_db.run(broadcasts.claim_present, channel="web", owner="proc-1", now=now(),
                                  cipher=TEST_CIPHER)
    assert item.chat_id == "session-1"
    progress = await sqlite_db.run(broadcasts.progress, broadcast_id=bid, now=now())
    assert (progress.remaining, progress.waiting) == (1, 1)


def cli(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HOTLINE, *args], cwd=workdir, env=env_for(workdir), capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.mark.slow  # ~7 s: several `hotline` runs
def test_cli_sends_lists_follows_and_steers(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")

    async def setup() -> None:
        from storage.migrate import upgrade

        await upgrade(db)
        await subscribe_many(db, TEST_CIPHER, channel="api", chat_ids=["a", "b"], school_id="S1")
        await subscribe_many(db, TEST_CIPHER, channel="telegram", chat_ids=["1"], school_id="S2")

    asyncio.run(setup())
    text = tmp_path / "canh-bao.txt"
    text.write_text("Cảnh báo: kẻ gian giả danh nhà trường.\n", encoding="utf-8")
    bad = cli(tmp_path, "broadcast", "send", "--audience", "lop:1", "--text-file", str(text))
    assert bad.returncode == 2 and "use all, school:ID or commune:NAME" in bad.stderr
    sent = cli(tmp_path, "broadcast", "send", "--audience", "school:S1", "--text-file", str(text))
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("broadcast 1: 2 recipient(s) (api 2)")
    # Followed to the end: nothing a platform can be pushed to is left (no server marked it done yet).
    assert "sending: 100%" in sent.stdout and "waiting for a visit 2" in sent.stdout
    later = cli(tmp_path, "broadcast", "send", "--text-file", str(text), "--at", "2099-01-01 08:00")
    assert "scheduled for 2099-01-01T08:00:00+07:00" in later.stdout
    listed = cli(tmp_path, "broadcast", "status")
    assert "scheduled" in listed.stdout and "sending" in listed.stdout
    assert cli(tmp_path, "broadcast", "pause", "2").stdout.strip() == "broadcast 2: paused"
    assert cli(tmp_path, "broadcast", "resume", "2").stdout.strip() == "broadcast 2: scheduled"
    assert cli(tmp_path, "broadcast", "cancel", "2").stdout.strip() == "broadcast 2: cancelled"
    again = cli(tmp_path, "broadcast", "cancel", "2")
    assert again.returncode == 1 and "cannot be cancel" in again.stderr
    assert cli(tmp_path, "broadcast", "status", "99").returncode == 1

    async def audit_actions() -> list[str]:
        rows = await db.run(lambda c: c.exec_driver_sql("SELECT action, actor FROM audit_log").all())
        await db.dispose()
        return [f"{a} {actor.split(':')[0]}" for a, actor in rows]

    assert "broadcast.create cli" in asyncio.run(audit_actions())
