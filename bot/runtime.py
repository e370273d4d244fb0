"""Wiring: build the database, flows, checker and engine from settings (one place, no globals)."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.channels.base import ChannelRegistry
from bot.settings import Settings
from handlers.checking import Checker
from handlers.checks.dialogue import DirectoryChecker
from handlers.engine import Engine, EngineConfig
from handlers.flowload import DEFAULT_FLOWS_DIR, FlowRegistry
from handlers.handoff import HandoffConfig
from handlers.handoff_texts import WorkingHours
from nlu.api import NluEngine, default_engine
from storage.alerts import AlertRules
from storage.cases import CaseTargets, backfill_cases
from storage.crypto import Cipher, CryptoError, cipher_from_file
from storage.db import Database
from storage.indicators import seal_legacy
from storage.migrate import upgrade
from storage.perms import private_dir

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    flows: FlowRegistry
    engine: Engine
    data_dir: Path
    cipher: Cipher
    nlu: NluEngine

    remote_nlu: Any = None  # nlu.rasa_backend.RasaBackend when nlu.backend is rasa (closed with the runtime)
    # The push channels this process can write to parents through (officers' questions, notices, broadcasts):
    # runtime.channels.get("zalo") is the Zalo OA, .get("zalo_bot") the Zalo Bot, when they are configured.
    channels: ChannelRegistry = field(default_factory=ChannelRegistry)

    async def close(self) -> None:
        if self.remote_nlu is not None:
            await self.remote_nlu.aclose()
        for channel in self.channels:
            closer = getattr(channel, "aclose", None)
            if closer is not None:
                await closer()
        if self.engine.evidence is not None:
            await asyncio.to_thread(self.engine.evidence.close)  # the evidence worker processes
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


def build_cipher(settings: Settings) -> Cipher:
    """Keys from configuration/environment, else the local key file (created on first start)."""
    sec = settings.security
    if sec.keys:
        if not sec.index_key:
            raise CryptoError("security.index_key is required when security.keys is set")
        return Cipher.from_config(sec.keys, sec.current_key or next(iter(sec.keys)), sec.index_key)
    return cipher_from_file(Path(sec.key_file), create=True)


def load_nlu(model_path: Path) -> NluEngine:
    """The saved intent model, or one trained now from the shipped data and saved for the next start."""
    engine = default_engine(model_path)
    if engine.trained_seconds is not None:
        try:
            engine.save(model_path)
        except OSError as exc:  # read-only install: keep serving, train again next time
            log.warning("could not save the trained NLU model to %s: %s", model_path, exc)
    return engine


def build_checker(settings: Settings, cipher: Cipher) -> Checker:
    """The directory-backed check engine (school directory, official domains, blocklist, reports)."""
    return DirectoryChecker(cipher)


def build_evidence(settings: Settings, cipher: Cipher) -> Any:
    """The evidence reader (screenshots, QR codes, APKs), or None when ``evidence.enabled`` is false.

    Imported here, not at the top: the imaging libraries load only when the bot reads files.
    """
    if not settings.evidence.enabled:
        return None
    from handlers.evidence.apps import load_apps
    from handlers.evidence.limits import Limits
    from handlers.evidence.pool import EvidencePool
    from handlers.evidence.reader import EvidenceReader

    ev = settings.evidence
    limits = Limits(workers=ev.workers, queue=ev.queue, job_seconds=ev.job_seconds, ocr_seconds=ev.ocr_seconds,
                    max_pixels=ev.max_pixels, max_apk_bytes=ev.max_apk_mb * 1024 * 1024)
    return EvidenceReader(EvidencePool(limits), cipher, apps=load_apps(ev.official_apps or None))


async def build_runtime(settings: Settings, *, migrate: bool | None = None) -> Runtime:
    """Open everything ``hotline serve`` / ``hotline chat`` need. SQLite is migrated automatically."""
    db = Database(settings.database.url, echo=settings.database.echo, pool_size=settings.database.pool_size)
    if migrate if migrate is not None else db.sqlite:
        await upgrade(db)
    flows = FlowRegistry(Path(settings.bot.flows_dir) if settings.bot.flows_dir else DEFAULT_FLOWS_DIR)
    province = settings.province
    config = EngineConfig(
        sinks=tuple(dict.fromkeys(["console", *settings.intake.sinks])),
        default_locale=settings.bot.default_locale,
        user_burst=settings.security.user_burst,
        user_per_minute=settings.security.user_per_minute,
        global_per_second=settings.security.global_per_second,
        block_after_violations=settings.security.block_after_violations,
        block_minutes=settings.security.block_minutes,
        max_text_chars=settings.bot.max_text_chars,
        reference_prefix=settings.bot.reference_prefix,
        case_targets=CaseTargets(harm_minutes=settings.workflow.first_action_minutes_harm,
                                 urgent_minutes=settings.workflow.first_action_minutes_urgent,
                                 alerts=AlertRules.from_mapping(settings.alerts.model_dump())),
        handoff=HandoffConfig(hours=WorkingHours.parse(settings.console.working_days, settings.console.working_hours),
                              idle_minutes=settings.console.handoff_idle_minutes),
        variables={"police_name": province.police_name, "province_name": province.name,
                   "province_hotline": province.hotline, "province_email": province.email},
    )
    cipher = await asyncio.to_thread(build_cipher, settings)
    nlu_engine = await asyncio.to_thread(load_nlu, Path(settings.nlu.model_path))
    remote = None
    if settings.nlu.backend == "rasa":
        from nlu.rasa_backend import RasaBackend

        remote = RasaBackend(settings.nlu.rasa_url, settings.nlu.timeout_seconds, nlu_engine)
    engine = Engine(db, flows, checker=build_checker(settings, cipher), config=config, cipher=cipher,
                    understand=nlu_engine.parse, low_confidence=settings.nlu.low_confidence,
                    remote_parse=remote.parse if remote is not None else None,
                    evidence=build_evidence(settings, cipher))
    # Indicators stored in clear before 0014 are sealed (and an SQLite file rewritten), then tips filed before the
    # workflow existed get their case rows (their search terms need the opened indicators). No-ops once done.
    try:
        await seal_legacy(db, cipher=cipher)
        while await db.run(backfill_cases, cipher=cipher, now=datetime.now(UTC), targets=config.case_targets):
            pass
    except sa.exc.DBAPIError as exc:  # not migrated yet: /readyz says so, and `db upgrade` fixes it
        log.debug("tip cases not backfilled (database not migrated?): %s", str(exc).splitlines()[0])
    data_dir = Path(settings.data_dir)
    await asyncio.to_thread(private_dir, data_dir)
    runtime = Runtime(settings=settings, db=db, flows=flows, engine=engine, data_dir=data_dir, cipher=cipher,
                      nlu=nlu_engine, remote_nlu=remote)
    if settings.zalo.enabled:
        from bot.channels.zalo import ZaloChannel  # imported only where the channel is configured

        runtime.channels.register(ZaloChannel(settings.zalo, db, cipher))
    if settings.zalo_bot.enabled:
        from bot.channels.zalo_bot import ZaloBotChannel  # the Zalo Bot Platform, when its token is set

        runtime.channels.register(ZaloBotChannel(settings.zalo_bot, db, cipher))
    return runtime
