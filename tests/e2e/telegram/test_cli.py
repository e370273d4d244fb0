"""``hotline telegram set-webhook / info / delete-webhook`` against the fake Bot API."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.cli_telegram import telegram_group
from tests.e2e.telegram.conftest import SECRET
from tests.e2e.telegram.fakebot import FakeBotAPI

URL = "https://hotline.example.vn/telegram/webhook"


@pytest.fixture
def configured(fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> FakeBotAPI:
    monkeypatch.setenv("HOTLINE_TELEGRAM__TOKEN", fake.token)
    monkeypatch.setenv("HOTLINE_TELEGRAM__API_BASE", fake.base)
    monkeypatch.setenv("HOTLINE_TELEGRAM__SECRET_TOKEN", SECRET)
    monkeypatch.setenv("HOTLINE_TELEGRAM__WEBHOOK_URL", URL)
    return fake


def test_set_webhook_info_and_delete(configured: FakeBotAPI) -> None:
    runner = CliRunner()
    result = runner.invoke(telegram_group, ["set-webhook", "--drop-pending-updates"])
    assert result.exit_code == 0, result.output
    assert configured.webhook == {"url": URL, "secret_token": SECRET, "allowed_updates": ["message", "callback_query"]}

    result = runner.invoke(telegram_group, ["info"])
    assert result.exit_code == 0, result.output
    assert "@HotlineTestBot" in result.output and f"webhook: {URL}" in result.output
    assert "allowed updates: message, callback_query" in result.output

    result = runner.invoke(telegram_group, ["delete-webhook"])
    assert result.exit_code == 0 and _webhook(configured) is None
    assert "(none: long polling)" in runner.invoke(telegram_group, ["info"]).output


def test_refuses_to_register_a_webhook_without_secret_or_token(configured: FakeBotAPI,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_TELEGRAM__SECRET_TOKEN", "")
    result = CliRunner().invoke(telegram_group, ["set-webhook"])
    assert result.exit_code == 2 and "secret_token" in result.output
    monkeypatch.setenv("HOTLINE_TELEGRAM__TOKEN", "")
    assert CliRunner().invoke(telegram_group, ["info"]).exit_code == 2
    assert _webhook(configured) is None


def _webhook(fake: FakeBotAPI) -> dict[str, object] | None:
    return fake.webhook  # (read through a call: mypy would keep an earlier assert's narrowing)


def test_telegram_errors_end_the_command_with_their_message(configured: FakeBotAPI,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_TELEGRAM__TOKEN", "999:wrong")
    result = CliRunner().invoke(telegram_group, ["info"])
    assert result.exit_code == 1 and "Telegram:" in result.output
