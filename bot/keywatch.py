"""The service inside ``hotline serve`` that follows key rotations (see :mod:`storage.keystate`)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from bot.runtime import Runtime
from bot.services import Service, sleep_or_stop
from storage import keystate

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 2.0


def key_watch_service(runtime: Runtime, *, interval: float = INTERVAL_SECONDS,
                      process: str = keystate.PROCESS) -> Service:
    started_at = datetime.now(UTC)

    async def run(stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await runtime.db.run(keystate.sync, cipher=runtime.cipher, process=process,
                                         started_at=started_at, now=datetime.now(UTC))
                except Exception:  # the database may be away for a moment; the next round tries again
                    log.exception("key watch round failed")
                if await sleep_or_stop(stop, interval):
                    break
        finally:
            try:
                await runtime.db.run(keystate.forget_process, process=process)
            except Exception:  # stopping anyway; `keys status` stops counting us after a few seconds
                log.debug("could not remove this process from key_users", exc_info=True)

    return run
