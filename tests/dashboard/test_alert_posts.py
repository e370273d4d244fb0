"""New campaign alerts reach the officers' Telegram group (a local fake Bot API over real HTTP): one message per
alert even with two posters at once, nothing twice, a refused chat marks the post dead, and the service only
exists when the telegram sink and the officers' group are configured."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.console.alerts_telegram import AlertPoster, alert_services
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from storage.alerts_schema import alerts
from tests.dashboard.month import CAMPAIGN_NUMBER, file_specs, generate, load_units
from tests.e2e.telegram.fakebot import FakeBotAPI
from tests.migrated import seeded_url

GROUP = "-100123456"


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    server = FakeBotAPI().start()
    yield server
    server.stop()


def settings_for(tmp_path: Path, fake: FakeBotAPI, **alerts_section: object) -> Settings:
    return Settings.model_validate({
        "database": {"url": seeded_url(tmp_path / "hotline.db")}, "data_dir": str(tmp_path / "data"),
        "security": {"key_file": str(tmp_path / "keys.json")}, "logging": {"file": None},
        "nlu": {"model_path": str(tmp_path / "model.npz")}, "intake": {"sinks": ["telegram"], "run_forwarder": False},
        "telegram": {"token": fake.token, "api_base": fake.base, "officers_chat_id": GROUP},
        "server": {"public_url": "https://hotline.example.vn"}, "alerts": alerts_section})


@pytest.fixture
async def runtime(tmp_path: Path, fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    monkeypatch.setenv("HOTLINE_NLU__MODEL_PATH", str(Path("var/test-nlu-model.npz").resolve()))
    built = await build_runtime(settings_for(tmp_path, fake))
    await built.db.run(load_units)
    specs = generate(background=0).specs
    # Both campaigns moved to the last hours: older alerts are not posted (a group configured later is not
    # flooded with old news).
    now = datetime.now(UTC)
    recent = []
    for tag, end in (("A", now - timedelta(hours=3)), ("B", now - timedelta(minutes=5))):
        group = [s for s in specs if s.tag == tag]
        recent += [replace(s, when=s.when + (end - group[-1].when)) for s in group]
    await built.db.run(file_specs, specs=recent, cipher=built.cipher)
    yield built
    await built.close()


async def test_each_alert_is_posted_once_even_by_two_posters(runtime: Runtime, fake: FakeBotAPI) -> None:
    first, second = AlertPoster(runtime), AlertPoster(runtime)
    try:
        posted = await asyncio.gather(first.post_pending(), second.post_pending())
        assert sum(posted) == 2
        assert await first.post_pending() == 0
    finally:
        await first.aclose()
        await second.aclose()
    sent = fake.calls_to("sendMessage", ok=True)
    assert len(sent) == 2 and {c.chat_id for c in sent} == {GROUP}
    texts = sorted(str(c.params["text"]) for c in sent)
    assert any(CAMPAIGN_NUMBER in t and "CẢNH BÁO CHIẾN DỊCH" in t for t in texts)
    assert any("xác nhận mã định danh" in t and "Xã Tân Lộc" in t for t in texts)
    assert all("https://hotline.example.vn/console/alerts/" in t for t in texts)
    states = await runtime.db.run(lambda c: c.execute(sa.select(alerts.c.post_status)).scalars().all())
    assert states == ["posted", "posted"]


async def test_a_refused_chat_marks_the_post_dead(runtime: Runtime, fake: FakeBotAPI) -> None:
    fake.fail("sendMessage", 400, times=10)
    poster = AlertPoster(runtime)
    try:
        assert await poster.post_pending() == 0
    finally:
        await poster.aclose()
    rows = await runtime.db.run(lambda c: c.execute(sa.select(alerts.c.post_status, alerts.c.post_error)).all())
    assert [r.post_status for r in rows] == ["dead", "dead"] and all("refused" in (r.post_error or "") for r in rows)


def test_the_service_runs_only_where_the_group_is_configured(tmp_path: Path, fake: FakeBotAPI) -> None:
    class Holder:
        def __init__(self, settings: Settings) -> None:
            self.settings = settings

    assert len(alert_services(Holder(settings_for(tmp_path, fake))))  # type: ignore[arg-type]
    assert alert_services(Holder(settings_for(tmp_path, fake, telegram=False))) == []  # type: ignore[arg-type]
    plain = Settings.model_validate({"telegram": {"token": fake.token}})
    assert alert_services(Holder(plain)) == []  # type: ignore[arg-type]
