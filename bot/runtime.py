"""Wiring: build the database, flows, checker and engine from settings (one place, no globals)."""

from __future__ import annotations

import asyncio
import gc
import sys
from dataclasses import dataclass
from pathlib import Path

from bot.settings import Settings
from handlers.checking import AsksChecker, Checker
from handlers.engine import Engine, EngineConfig
from handlers.flowload import DEFAULT_FLOWS_DIR, FlowRegistry
from storage.db import Database
from storage.migrate import upgrade


@dataclass
class Runtime:
    settings: Settings
    db: Database
    flows: FlowRegistry
    engine: Engine
    data_dir: Path

    async def close(self) -> None:
        await self.db.dispose()


def tune_for_serving() -> None:
    """Interpreter settings for a long-running server (measured with bench/bench_messages.py)."""
    # Everything loaded so far lives as long as the process: keep the collector from rescanning it, and
    # collect the young generation less often (allocation-heavy request handling hurts p99 otherwise).
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    # The SQLite writer thread runs dialogue turns while the event loop serves HTTP; a shorter GIL switch
    # interval (default 5 ms) stops one from stalling the other for whole milliseconds at a time.
    sys.setswitchinterval(0.0005)


def build_checker(settings: Settings) -> Checker:
    return AsksChecker()


async def build_runtime(settings: Settings, *, migrate: bool | None = None) -> Runtime:
    """Open everything ``hotline serve`` / ``hotline chat`` need. SQLite is migrated automatically."""
    db = Database(settings.database.url, echo=settings.database.echo, pool_size=settings.database.pool_size)
    if migrate if migrate is not None else db.sqlite:
        await upgrade(db)
    flows = FlowRegistry(Path(settings.bot.flows_dir) if settings.bot.flows_dir else DEFAULT_FLOWS_DIR)
    province = settings.province
    config = EngineConfig(
        default_locale=settings.bot.default_locale,
        max_text_chars=settings.bot.max_text_chars,
        reference_prefix=settings.bot.reference_prefix,
        variables={"police_name": province.police_name, "province_name": province.name,
                   "province_hotline": province.hotline, "province_email": province.email},
    )
    engine = Engine(db, flows, checker=build_checker(settings), config=config)
    data_dir = Path(settings.data_dir)
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    return Runtime(settings=settings, db=db, flows=flows, engine=engine, data_dir=data_dir)
