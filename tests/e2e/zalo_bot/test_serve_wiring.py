"""`hotline serve` with a Zalo Bot token and secret mounts POST /webhooks/zalo-bot and runs the channel."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import running_server
from tests.e2e.zalo_bot.conftest import SECRET
from tests.e2e.zalo_bot.fakebot import FakeZaloBot


@pytest.mark.slow  # ~3 s: a server process
def test_serve_with_a_bot_token_answers_on_zalo(tmp_path: Path) -> None:
    fake = FakeZaloBot().start()
    try:
        with running_server(tmp_path, HOTLINE_ZALO_BOT__TOKEN=fake.token, HOTLINE_ZALO_BOT__SECRET_TOKEN=SECRET,
                            HOTLINE_ZALO_BOT__API_BASE=fake.base) as base:
            update = fake.update("serve-1", "message.text.received", text="xin chào")
            url = f"{base}/webhooks/zalo-bot"
            assert httpx.post(url, json=update, timeout=10).status_code == 401
            signed = httpx.post(url, json=update, headers={"X-Bot-Api-Secret-Token": SECRET}, timeout=10)
            assert signed.status_code == 200
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not fake.messages("serve-1"):
                time.sleep(0.2)
            sent = fake.messages("serve-1")
            assert sent, "no reply was sent through the Zalo Bot API"
            assert any("Bạn cần giúp gì" in s.text for s in sent)
    finally:
        fake.stop()
