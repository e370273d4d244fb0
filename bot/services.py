"""Background work `hotline serve` runs beside the web server: each service is `run(stop)`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from bot.intake import Forwarder, Sink
from bot.runtime import Runtime
from storage.retention import run_retention
from storage.workflow import release_idle

log = logging.getLogger(__name__)

Service = Callable[[asyncio.Event], Awaitable[None]]


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds``; True if ``stop`` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


def retention_service(runtime: Runtime) -> Service:
    """The scheduled retention job (also `hotline retention run`)."""
    settings = runtime.settings.retention

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                report = await runtime.db.run(
                    run_retention, cipher=runtime.cipher, now=datetime.now(UTC),
                    closed_tip_days=settings.closed_tip_days, conversation_days=settings.conversation_days,
                    open_tip_days=settings.open_tip_max_days, data_dir=runtime.data_dir,
                    subscription_days=settings.subscription_days,
                    broadcast_recipient_days=settings.broadcast_recipient_days)
                log.info("retention: %s", report)
            except Exception:  # a failed pass must not stop the next one
                log.exception("retention pass failed")
            if await sleep_or_stop(stop, settings.run_every_minutes * 60):
                return

    return run


def workflow_service(runtime: Runtime, *, every_seconds: float = 60) -> Service:
    """Gives back to the queue tips whose officer went idle on them (workflow.release_idle_minutes)."""
    minutes = runtime.settings.workflow.release_idle_minutes

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                released = await runtime.db.run(release_idle, now=datetime.now(UTC), idle_minutes=minutes)
                if released:
                    log.info("released %d idle tip(s) back to the queue", released)
            except Exception:  # a failed pass must not stop the next one
                log.exception("releasing idle tips failed")
            if await sleep_or_stop(stop, every_seconds):
                return

    return run


class Supervisor:
    """Starts services as tasks and stops them together; a crashed service is logged and restarted."""

    def __init__(self, services: list[tuple[str, Service]]) -> None:
        self.services = services
        self.stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._keep(name, svc), name=name) for name, svc in self.services]

    async def _keep(self, name: str, service: Service) -> None:
        while not self.stop.is_set():
            try:
                await service(self.stop)
                return
            except Exception:
                log.exception("service %s crashed; restarting in 5 s", name)
                if await sleep_or_stop(self.stop, 5):
                    return

    async def close(self) -> None:
        self.stop.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=15)
        for task in self._tasks:
            task.cancel()


def forwarder_service(runtime: Runtime, sinks: Mapping[str, Sink]) -> Service:
    """Delivers outbox rows to the configured sinks (also alone as `hotline forwarder`)."""
    settings = runtime.settings
    base_url = settings.server.public_url or f"http://{settings.server.host}:{settings.server.port}"

    async def run(stop: asyncio.Event) -> None:
        await Forwarder(runtime, sinks=sinks, base_url=base_url).run(stop)

    return run
