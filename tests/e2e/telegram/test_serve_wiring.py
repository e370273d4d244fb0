"""`hotline serve` with only a token runs the Telegram channel (polling) — the README's one-liner."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.servers import running_server
from tests.e2e.telegram.fakebot import FakeBotAPI


@pytest.mark.slow  # ~4 s: a server process
def test_serve_with_a_token_answers_on_telegram(tmp_path: Path) -> None:
    fake = FakeBotAPI().start()
    try:
        with running_server(tmp_path, HOTLINE_TELEGRAM__TOKEN=fake.token, HOTLINE_TELEGRAM__API_BASE=fake.base):
            chat = {"id": 4242, "type": "private", "first_name": "Lan"}
            fake.push({"message": {"message_id": 1, "date": int(time.time()), "chat": chat,
                                   "from": {"id": 4242, "is_bot": False, "first_name": "Lan"}, "text": "/start"}})
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not fake.calls_to("sendMessage", ok=True):
                time.sleep(0.2)
            sent = [c.params for c in fake.calls_to("sendMessage", ok=True)]
            assert sent, "no reply was sent through the Bot API"
            assert str(sent[0]["chat_id"]) == "4242"
            assert any("Bạn cần giúp gì" in str(p.get("text")) for p in sent)
    finally:
        fake.stop()
