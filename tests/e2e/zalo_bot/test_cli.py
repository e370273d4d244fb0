"""``hotline zalo-bot set-webhook / info / delete-webhook`` against the fake Zalo Bot API."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.channels.zalo_bot.cli import zalo_bot_group
from tests.e2e.zalo_bot.conftest import SECRET
from tests.e2e.zalo_bot.fakebot import FakeZaloBot

URL = "https://hotline.example.vn/webhooks/zalo-bot"


@pytest.fixture
def configured(fake: FakeZaloBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeZaloBot:
    monkeypatch.setenv("HOTLINE_ZALO_BOT__TOKEN", fake.token)
    monkeypatch.setenv("HOTLINE_ZALO_BOT__API_BASE", fake.base)
    monkeypatch.setenv("HOTLINE_ZALO_BOT__SECRET_TOKEN", SECRET)
    monkeypatch.setenv("HOTLINE_ZALO_BOT__WEBHOOK_URL", URL)
    monkeypatch.setenv("HOTLINE_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    monkeypatch.setenv("HOTLINE_SECURITY__KEY_FILE", str(tmp_path / "keys.json"))
    monkeypatch.setenv("HOTLINE_LOGGING__FILE", "")
    return fake


def test_set_webhook_info_and_delete(configured: FakeZaloBot) -> None:
    runner = CliRunner()
    result = runner.invoke(zalo_bot_group, ["set-webhook"])
    assert result.exit_code == 0, result.output
    assert configured.webhook == {"url": URL, "secret_token": SECRET}

    result = runner.invoke(zalo_bot_group, ["info"])
    assert result.exit_code == 0, result.output
    assert "bot.HotlineThu" in result.output and f"webhook: {URL}" in result.output
    assert "queued: 0 updates, 0 messages, 0 refused" in result.output

    result = runner.invoke(zalo_bot_group, ["delete-webhook"])
    assert result.exit_code == 0, result.output
    assert "webhook: (none)" in runner.invoke(zalo_bot_group, ["info"]).output


def test_refuses_without_secret_or_token_and_reports_zalo_errors(configured: FakeZaloBot,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_ZALO_BOT__SECRET_TOKEN", "")
    result = CliRunner().invoke(zalo_bot_group, ["set-webhook"])
    assert result.exit_code == 2 and "secret_token" in result.output
    monkeypatch.setenv("HOTLINE_ZALO_BOT__TOKEN", "")
    assert CliRunner().invoke(zalo_bot_group, ["info"]).exit_code == 2
    monkeypatch.setenv("HOTLINE_ZALO_BOT__TOKEN", "1:wrong")
    result = CliRunner().invoke(zalo_bot_group, ["info"])
    assert result.exit_code == 1 and "Zalo refused: Zalo Bot 401" in result.output
    assert configured.webhook["url"] == ""
