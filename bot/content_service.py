"""Keeping every running process on what admins published: flow versions from the database, and the seed
data of a fresh install.

:func:`sync_flows` compares the database's publication stamp with the one this process serves and, when it
moved, hands the published texts to :meth:`handlers.flowload.FlowRegistry.publish` (validated again here:
a set that does not load keeps the last good one serving). :func:`content_services` polls it every
``content.flows_poll_seconds`` inside ``hotline serve``, so with several processes on one PostgreSQL
database a publication is served everywhere within a couple of seconds, without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from bot.runtime import Runtime
from bot.services import Service, sleep_or_stop
from handlers.checks.csv_import import parse_schools_csv
from storage import content_flows, content_seed

log = logging.getLogger(__name__)


class FlowSync:
    """The publication this process serves (``stamp``) and how to catch up with the database's."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.stamp = -1

    async def once(self) -> bool:
        """Catch up now; True when the served flows changed."""
        stamp = await self.runtime.db.run(content_flows.stamp)
        if stamp == self.stamp:
            return False
        texts = await self.runtime.db.run(content_flows.current_texts)
        self.stamp = stamp
        return await asyncio.to_thread(self.runtime.flows.publish, texts)


async def seed_if_new(runtime: Runtime) -> None:
    """A fresh install's FAQ and sample directory (``content.seed_samples``), once per database."""
    if not runtime.settings.content.seed_samples:
        return
    records = parse_schools_csv(content_seed.SAMPLE_FILE.read_bytes()).rows
    done = await runtime.db.run(content_seed.seed, now=datetime.now(UTC), sample_schools=records)
    if done:
        log.info("fresh install seeded: %s", done)


async def prepare(runtime: Runtime) -> FlowSync:
    """Before serving: seed a fresh install and serve the published flows from the first request on."""
    await seed_if_new(runtime)
    sync = FlowSync(runtime)
    await sync.once()
    return sync


def content_services(runtime: Runtime, sync: FlowSync | None = None) -> list[tuple[str, Service]]:
    """What ``hotline serve`` runs for content: the poll for newly published flow versions."""
    poller = sync or FlowSync(runtime)
    every = runtime.settings.content.flows_poll_seconds

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await poller.once()
            except Exception:  # a failed poll (database restarting) must not stop the next one
                log.exception("checking for published flows failed")
            if await sleep_or_stop(stop, every):
                return

    return [("content", run)]
