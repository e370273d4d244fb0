"""Webhook mode: the secret, durable storage before 200, duplicates, and updates left over from a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from storage.db import Database
from storage.schema import inbound_messages
from tests.e2e.telegram.conftest import SECRET, make_settings, open_runtime, running, serving, webhook_app
from tests.e2e.telegram.fakebot import FakeBotAPI
from tests.e2e.telegram.people import UPDATES, Person, settled, texts, wait_until

HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def _rows(db: Database, table: sa.FromClause) -> list[Any]:
    return list(await db.run(lambda conn: conn.execute(sa.select(table)).mappings().all()))


async def test_forged_or_missing_secret_gets_401_and_nothing_is_stored(tmp_path: Path, fake: FakeBotAPI) -> None:
    async with open_runtime(make_settings(tmp_path, fake, mode="webhook")) as runtime, \
            serving(webhook_app(runtime)) as base, httpx.AsyncClient(base_url=base) as client:
        update = {"update_id": 1, **Person(fake, runtime.db, 6001).text("xin chào")}
        assert (await client.post("/telegram/webhook", json=update)).status_code == 401
        forged = await client.post("/telegram/webhook", json=update, headers={HEADER: SECRET[:-1] + "X"})
        assert forged.status_code == 401
        assert (await client.post("/telegram/webhook", json=update, headers={HEADER: ""})).status_code == 401
        assert await _rows(runtime.db, UPDATES) == []
        bad = await client.post("/telegram/webhook", content=b"{not json", headers={HEADER: SECRET})
        assert bad.status_code == 400


async def test_webhook_without_configured_secret_refuses_everything(tmp_path: Path, fake: FakeBotAPI) -> None:
    settings = make_settings(tmp_path, fake, mode="webhook", secret_token="")
    async with open_runtime(settings) as runtime, serving(webhook_app(runtime)) as base, \
            httpx.AsyncClient(base_url=base) as client:
        for secret in ("", SECRET):
            r = await client.post("/telegram/webhook", json={"update_id": 1}, headers={HEADER: secret})
            assert r.status_code == 401


async def test_update_is_committed_before_200_and_processed_after_a_restart(tmp_path: Path,
                                                                            fake: FakeBotAPI) -> None:
    settings = make_settings(tmp_path, fake, mode="webhook")
    async with open_runtime(settings) as runtime, serving(webhook_app(runtime)) as base, \
            httpx.AsyncClient(base_url=base) as client:
        # No service running: the process "crashed" right after answering Telegram.
        update = {"update_id": 42, **Person(fake, runtime.db, 6002).text("xin chào")}
        assert (await client.post("/telegram/webhook", json=update, headers={HEADER: SECRET})).status_code == 200
        [row] = await _rows(runtime.db, UPDATES)
        assert row["event_id"] == "42" and row["processed_at"] is None
        assert "xin" not in row["payload"]  # sealed at rest
    # A new process over the same database picks the update up and answers it.
    async with open_runtime(settings) as runtime, running(runtime):
        await settled(runtime.db, 42)
        assert "Bạn cần giúp gì" in texts([m for _, m in fake.events(6002)])
        [row] = await _rows(runtime.db, UPDATES)
        assert row["processed_at"] is not None and row["payload"] is None


async def test_duplicate_update_is_answered_200_and_processed_once(tmp_path: Path, fake: FakeBotAPI) -> None:
    settings = make_settings(tmp_path, fake, mode="webhook")
    # Wired as `hotline serve` does by default: the route does not know the service, the sweep finds the work.
    async with open_runtime(settings) as runtime, running(runtime), serving(webhook_app(runtime)) as base:
        async with httpx.AsyncClient() as client:
            r = await client.post(f"{fake.base}/bot{fake.token}/setWebhook",
                                  json={"url": f"{base}/telegram/webhook", "secret_token": SECRET})
            assert r.json()["ok"]
        parent = Person(fake, runtime.db, 6003)
        first = await parent.say("/start")
        update_id = fake.webhook_statuses[-1][0]
        # Telegram did not see our 200 (say) and sends the same update again, twice.
        fake.push(parent.text("/start"), update_id=update_id)
        async with httpx.AsyncClient(base_url=base) as client:
            again = await client.post("/telegram/webhook", headers={HEADER: SECRET},
                                      json={"update_id": update_id, **parent.text("/start")})
        assert again.status_code == 200
        await wait_until(lambda: len([s for u, s in fake.webhook_statuses if u == update_id]) == 2)
        await settled(runtime.db)
        assert [s for u, s in fake.webhook_statuses if u == update_id] == [200, 200]
        assert len(first) == 1 and parent.new_messages() == []  # no second answer
        assert len(await _rows(runtime.db, UPDATES)) == 1
        assert len(await _rows(runtime.db, inbound_messages)) == 1  # the engine ran the step once


async def test_an_update_that_does_not_parse_is_set_aside_without_blocking_the_chat(tmp_path: Path,
                                                                                   fake: FakeBotAPI) -> None:
    settings = make_settings(tmp_path, fake, mode="webhook")
    async with open_runtime(settings) as runtime, running(runtime) as service, \
            serving(webhook_app(runtime, service)) as base, httpx.AsyncClient(base_url=base) as client:
        parent = Person(fake, runtime.db, 6004)
        broken = {"update_id": 500, "message": {"chat": {"id": 6004, "type": "private"}, "text": "no date, no sender"}}
        assert (await client.post("/telegram/webhook", json=broken, headers={HEADER: SECRET})).status_code == 200
        good = await client.post("/telegram/webhook", headers={HEADER: SECRET},
                                 json={"update_id": 501, **parent.text("/start")})
        assert good.status_code == 200
        await settled(runtime.db, 501)
        rows = {r["event_id"]: r for r in await _rows(runtime.db, UPDATES)}
        assert rows["500"]["processed_at"] is not None and rows["500"]["attempts"] == 0
        assert "Bạn cần giúp gì" in texts(parent.new_messages())
