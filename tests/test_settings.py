"""config.yaml + HOTLINE_* environment, validated at start with a one-line error."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings
from tests.e2e.servers import HOTLINE, env_for

REPO = Path(__file__).resolve().parents[1]


def test_shipped_config_is_valid_and_matches_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(str(REPO / "config.yaml"))
    assert settings.database.url == "sqlite+aiosqlite:///./var/hotline.db"
    assert settings.server.port == 8080 and settings.bot.default_locale == "vi"


def test_env_overrides_file_with_nested_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("server:\n  port: 9000\n", encoding="utf-8")
    monkeypatch.setenv("HOTLINE_SERVER__PORT", "9100")
    monkeypatch.setenv("HOTLINE_PROVINCE__HOTLINE", "0290 123 456")
    settings = load_settings(str(cfg))
    assert settings.server.port == 9100 and settings.province.hotline == "0290 123 456"


@pytest.mark.parametrize(
    ("yaml_text", "fragment"),
    [
        ("server:\n  port: 99999\n", "config: server.port: Input should be less than or equal to 65535"),
        ("database:\n  url: mysql://x\n", "config: database.url: Value error, must start with"),
        ("bot:\n  default_locale: fr\n", "config: bot.default_locale:"),
        ("servr:\n  port: 1\n", "config: servr: Extra inputs are not permitted"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, yaml_text: str, fragment: str) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(str(cfg))
    assert str(info.value).startswith(fragment)
    assert "\n" not in str(info.value)


@pytest.mark.slow  # ~3 s: `hotline serve` runs
def test_bad_value_stops_serve_with_one_line(tmp_path: Path) -> None:
    env = env_for(tmp_path, HOTLINE_SERVER__PORT="not-a-port")
    result = subprocess.run([HOTLINE, "serve"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=30,
                            check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "config: server.port: Input should be a valid integer, unable to parse string as an integer"]
