"""The message-broker sink: tip.v1 to RabbitMQ, NATS JetStream or Kafka, all through FastStream.

Each publish waits for the broker's acknowledgement before the outbox row counts as delivered:

- **RabbitMQ**: a durable queue named ``intake.broker.subject``, persistent messages, publisher confirms
  and ``mandatory`` (an unroutable message is an error, not a silent drop); ``message_id`` = tip reference.
- **NATS JetStream**: the stream that holds ``subject`` (created as ``HOTLINE_TIPS…`` with a one-hour
  duplicate window if none does); ``Nats-Msg-Id`` = tip reference, so JetStream itself drops a re-send.
- **Kafka**: ``acks=all`` with an idempotent producer, the reference as the record key. Needs the
  ``faststream[kafka]`` extra (aiokafka), which is not a default dependency.

Consumers should still dedupe by reference (the ``Idempotency-Key`` header on every message).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import re
from typing import Any

from bot.intake.model import encode
from bot.intake.sinks import RetryableError
from bot.settings import ConfigError

DUPLICATE_WINDOW_SECONDS = 3600.0  # longer than any lease, so a crashed forwarder's re-send is dropped

log = logging.getLogger(__name__)


def _load_kafka() -> Any:
    try:
        return importlib.import_module("faststream.kafka")
    except ImportError:
        raise ConfigError("config: intake.broker.kind kafka needs the faststream[kafka] extra (aiokafka), "
                          "which is not installed; use rabbit or nats, or install it") from None


class BrokerSink:
    """Publishes through one long-lived FastStream broker connection, opened on first use."""

    def __init__(self, kind: str, url: str, subject: str, *, timeout: float = 10.0) -> None:
        if kind not in ("rabbit", "nats", "kafka"):
            raise ConfigError(f"config: intake.broker.kind {kind!r} is not rabbit, nats or kafka")
        if kind == "kafka":
            _load_kafka()  # fail at start-up, not on the first tip
        self.kind, self.url, self.subject, self.timeout = kind, url, subject, timeout
        self._broker: Any = None
        self._stream: str | None = None
        self._queue: Any = None
        self._lock = asyncio.Lock()

    async def _connected(self) -> Any:
        async with self._lock:
            if self._broker is None:
                self._broker = await self._connect()
            return self._broker

    async def _connect(self) -> Any:
        if self.kind == "rabbit":
            from faststream.rabbit import RabbitBroker, RabbitQueue

            rabbit = RabbitBroker(self.url, logger=None, timeout=self.timeout)
            try:
                await rabbit.connect()
                self._queue = RabbitQueue(self.subject, durable=True)
                await rabbit.declare_queue(self._queue)
            except BaseException:
                await rabbit.stop()
                raise
            return rabbit
        if self.kind == "nats":
            from faststream.nats import NatsBroker

            nats = NatsBroker(self.url, logger=None, connect_timeout=int(max(1, self.timeout)))
            try:
                await nats.connect()
                self._stream = await self._ensure_stream(nats.connection.jetstream())
            except BaseException:
                await nats.stop()
                raise
            return nats
        kafka = _load_kafka().KafkaBroker(self.url, acks="all", enable_idempotence=True, logger=None)
        await kafka.connect()
        return kafka

    async def _ensure_stream(self, js: Any) -> str:
        from nats.js.api import StreamConfig
        from nats.js.errors import NotFoundError

        try:
            return str(await js.find_stream_name_by_subject(self.subject))
        except NotFoundError:
            name = "HOTLINE_TIPS_" + re.sub(r"[^A-Za-z0-9]+", "_", self.subject).upper()
            await js.add_stream(StreamConfig(name=name, subjects=[self.subject],
                                             duplicate_window=DUPLICATE_WINDOW_SECONDS))
            return name

    async def deliver(self, tip: dict[str, Any], *, key: str) -> None:
        body = encode(tip)
        try:
            # One bound on connecting and publishing: nats-py retries a refused first connect for minutes.
            async with asyncio.timeout(self.timeout):
                await self._publish(await self._connected(), body, key)
        except RetryableError:
            raise
        except Exception as exc:  # connection refused, timeouts, nacks: the broker may be back later
            await self._reset()
            raise RetryableError(f"{self.kind} publish failed: {type(exc).__name__}", detail=str(exc) or None) from exc

    async def _publish(self, broker: Any, body: bytes, key: str) -> None:
        headers = {"idempotency-key": key}
        if self.kind == "rabbit":
            from pamqp.commands import Basic

            confirm = await broker.publish(body, queue=self._queue, persist=True, mandatory=True, message_id=key,
                                           headers=headers, content_type="application/json", timeout=self.timeout)
            if not isinstance(confirm, Basic.Ack):  # a Basic.Return (unroutable) or a nack
                raise RetryableError("rabbit did not confirm the message", detail=repr(confirm))
        elif self.kind == "nats":
            await broker.publish(body, self.subject, headers={**headers, "Nats-Msg-Id": key}, stream=self._stream,
                                 timeout=self.timeout)
        else:
            await broker.publish(body, self.subject, key=key.encode(), headers=headers)

    async def _reset(self) -> None:
        """Drop a connection that failed, so the next delivery reconnects (and re-declares) from scratch."""
        async with self._lock:
            broker, self._broker = self._broker, None
        if broker is not None:
            try:
                async with asyncio.timeout(self.timeout):  # draining a dead connection must not hang us
                    await broker.stop()
            except Exception as exc:  # it is already broken; the next attempt reconnects
                log.debug("closing a broken broker connection failed: %s", exc)

    async def aclose(self) -> None:
        await self._reset()
