"""Broker sinks against the real RabbitMQ and NATS servers on 127.0.0.1, the Telegram sink, sink config."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.intake.broker import BrokerSink
from bot.intake.forwarder import Forwarder
from bot.intake.model import TipV1
from bot.intake.sinks import ConsoleSink, PermanentError, RetryableError, TelegramSink, build_sinks
from bot.intake.webhook import WebhookSink
from bot.settings import ConfigError
from storage.db import Database
from storage.schema import outbox
from tests.intake.conftest import file_tips, make_settings

RABBIT = "amqp://guest:guest@127.0.0.1:5672/"
NATS = "nats://127.0.0.1:4222"
TIP = {"schema": "tip.v1", "reference": "TG-2026-000001"}


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


needs_rabbit = pytest.mark.skipif(not reachable(5672), reason="no RabbitMQ on 127.0.0.1:5672")
needs_nats = pytest.mark.skipif(not reachable(4222), reason="no NATS on 127.0.0.1:4222")


@pytest.fixture
async def rabbit_queue() -> AsyncIterator[str]:
    import aio_pika

    name = f"hotline.test.{uuid.uuid4().hex[:8]}"
    yield name
    connection = await aio_pika.connect(RABBIT)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


@pytest.fixture
async def nats_subject() -> AsyncIterator[str]:
    import nats

    subject = f"hotline.test.{uuid.uuid4().hex[:8]}"
    yield subject
    client = await nats.connect(NATS)
    js = client.jetstream()
    try:
        await js.delete_stream(await js.find_stream_name_by_subject(subject))
    finally:
        await client.close()


async def forward_all(db: Database, runtime: Any, sinks: Mapping[str, Any]) -> Forwarder:
    forwarder = Forwarder(runtime, sinks=sinks)
    for _ in range(200):
        if await forwarder.run_once() == 0:
            break
    return forwarder


async def statuses(db: Database) -> list[tuple[str, str]]:
    def read(conn: sa.Connection) -> list[tuple[str, str]]:
        return [(r.sink, r.status) for r in conn.execute(sa.select(outbox.c.sink, outbox.c.status))]

    return await db.run(read)


@needs_rabbit
async def test_rabbitmq_publishes_confirmed_persistent_tips_consumed_back(
        sqlite_db: Database, runtime_for: Any, rabbit_queue: str) -> None:
    import aio_pika

    refs = await file_tips(sqlite_db, 5, sinks=["console", "broker"])
    runtime = await runtime_for(sqlite_db, sinks=["console", "broker"],
                                broker={"kind": "rabbit", "url": RABBIT, "subject": rabbit_queue})
    sinks = build_sinks(runtime.settings)
    await forward_all(sqlite_db, runtime, sinks)
    await sinks["broker"].aclose()
    assert {s for _, s in await statuses(sqlite_db)} == {"delivered"}
    got: dict[str, dict[str, Any]] = {}
    connection = await aio_pika.connect(RABBIT)
    async with connection:
        queue = await (await connection.channel()).get_queue(rabbit_queue)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
            assert message.message_id == message.headers["idempotency-key"]
            got[str(message.message_id)] = json.loads(message.body)
    assert set(got) == set(refs)
    for key, body in got.items():
        assert TipV1.model_validate(body).reference == key


@needs_nats
async def test_nats_jetstream_publishes_with_msg_id_and_drops_a_resend(sqlite_db: Database, runtime_for: Any,
                                                                     nats_subject: str) -> None:
    import nats

    refs = await file_tips(sqlite_db, 4, sinks=["broker"])
    runtime = await runtime_for(sqlite_db, sinks=["broker"],
                                broker={"kind": "nats", "url": NATS, "subject": nats_subject})
    sinks = build_sinks(runtime.settings)
    await forward_all(sqlite_db, runtime, sinks)
    # A forwarder that crashed after the broker's ack sends the same tip again: JetStream drops it.
    await sinks["broker"].deliver({"schema": "tip.v1", "reference": refs[0]}, key=refs[0])
    await sinks["broker"].aclose()
    assert {s for _, s in await statuses(sqlite_db)} == {"delivered"}
    client = await nats.connect(NATS)
    try:
        js = client.jetstream()
        stream = await js.find_stream_name_by_subject(nats_subject)
        assert (await js.stream_info(stream)).state.messages == len(refs)
        sub = await js.pull_subscribe(nats_subject, durable=None, stream=stream)
        messages = await sub.fetch(len(refs), timeout=5)
        got = {m.headers["Nats-Msg-Id"]: json.loads(m.data) for m in messages}  # type: ignore[index]
        for m in messages:
            await m.ack()
    finally:
        await client.close()
    assert set(got) == set(refs) and all(TipV1.model_validate(b).reference == k for k, b in got.items())


async def test_a_broker_that_is_down_is_a_retryable_failure(sqlite_db: Database, runtime_for: Any) -> None:
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    dead_url = f"amqp://guest:guest@127.0.0.1:{port.getsockname()[1]}/"
    port.close()
    sink = BrokerSink("rabbit", dead_url, "hotline.nowhere", timeout=2)
    with pytest.raises(RetryableError, match="rabbit publish failed"):
        await sink.deliver(TIP, key="TG-2026-000001")
    await sink.aclose()
    nats_sink = BrokerSink("nats", dead_url.replace("amqp://guest:guest@", "nats://"), "hotline.nowhere", timeout=1)
    with pytest.raises(RetryableError, match="nats publish failed"):
        await nats_sink.deliver(TIP, key="TG-2026-000001")
    await nats_sink.aclose()


class RecordingCards:
    """Stands in for the Telegram engineer's ``TelegramTipCards``: same method, records the cards."""

    def __init__(self, fail_first: int = 0) -> None:
        self.cards: list[Mapping[str, Any]] = []
        self.fail_first = fail_first

    async def send_card(self, tip: Mapping[str, Any]) -> None:
        if self.fail_first:
            self.fail_first -= 1
            raise RetryableError("telegram: 429 Too Many Requests", retry_after=0.01)
        self.cards.append(tip)


async def test_telegram_sink_hands_each_tip_to_the_cards_once(sqlite_db: Database, runtime_for: Any,
                                                              tmp_path: Path) -> None:
    refs = await file_tips(sqlite_db, 3, sinks=["console", "telegram"])
    cards = RecordingCards(fail_first=1)
    runtime = await runtime_for(sqlite_db, sinks=["console", "telegram"])
    sinks = build_sinks(runtime.settings, telegram_cards=cards)
    assert isinstance(sinks["telegram"], TelegramSink)
    forwarder = Forwarder(runtime, sinks=sinks)
    for _ in range(100):
        await forwarder.run_once()
        if len(cards.cards) == 3:
            break
        await asyncio.sleep(0.02)
    assert sorted(c["reference"] for c in cards.cards) == sorted(refs)
    assert all(TipV1.model_validate(c).schema_ == "tip.v1" for c in cards.cards)


def test_sink_configuration_errors_name_the_key(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    assert set(build_sinks(make_settings(url, tmp_path))) == {"console"}
    assert isinstance(build_sinks(make_settings(url, tmp_path))["console"], ConsoleSink)
    with pytest.raises(ConfigError, match=r"intake\.webhook\.url and intake\.webhook\.secret"):
        build_sinks(make_settings(url, tmp_path, sinks=["webhook"]))
    with pytest.raises(ConfigError, match=r"intake\.broker\.url"):
        build_sinks(make_settings(url, tmp_path, sinks=["broker"]))
    with pytest.raises(ConfigError, match="no officers' group"):
        build_sinks(make_settings(url, tmp_path, sinks=["telegram"]))
    with pytest.raises(ConfigError, match=r"faststream\[kafka\]"):
        build_sinks(make_settings(url, tmp_path, sinks=["broker"], broker={"kind": "kafka", "url": "127.0.0.1:9092"}))


async def test_webhook_sink_maps_transport_errors_to_retryable() -> None:
    sink = WebhookSink("http://127.0.0.1:9/tips", "s", timeout=1)  # port 9 (discard): nothing listens
    with pytest.raises(RetryableError, match="webhook unreachable"):
        await sink.deliver(TIP, key="TG-2026-000001")
    await sink.aclose()
    assert issubclass(PermanentError, Exception) and not issubclass(PermanentError, RetryableError)
