"""Intake commands: ``hotline forwarder``, ``hotline outbox list|retry``, ``hotline import units FILE.csv``.

Attach them to the main group (``cli.add_command(forwarder_command)``, ``cli.add_command(outbox_group)``,
and ``units_import_command`` under an ``import`` group). They use the group's settings when it has loaded
them (``ctx.obj.settings``), else load their own, so each also runs on its own.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from storage.db import Database

T = TypeVar("T")


def _settings() -> Settings:
    obj = click.get_current_context().find_root().obj
    if obj is not None and hasattr(obj, "settings"):
        settings: Settings = obj.settings
        return settings
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Open the database (an SQLite file is created and migrated on first use), run ``work``, close it."""
    from storage.db import Database
    from storage.migrate import upgrade

    async def main() -> T:
        database = Database(settings.database.url)
        try:
            if database.sqlite:
                await upgrade(database)
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(main())


# ----- hotline forwarder -------------------------------------------------------------------------------
@click.command("forwarder")
@click.option("--lanes", default=2, show_default=True, help="batches in flight at once")
@click.option("--batch-size", default=200, show_default=True, help="outbox rows claimed per batch")
@click.option("--lease-seconds", type=float, default=None,
              help="how long a claimed row is ours before another forwarder may retake it "
                   "(default: 60 s or 3× the webhook timeout)")
@click.option("--worker-id", default=None, help="name in the logs (default: host:pid:random)")
def forwarder_command(lanes: int, batch_size: int, lease_seconds: float | None, worker_id: str | None) -> None:
    """Deliver confirmed tips to the police sinks until SIGTERM / Ctrl-C (any number may run at once)."""
    from bot.intake.forwarder import Forwarder
    from bot.logsetup import setup_logging
    from bot.runtime import build_runtime

    settings = _settings()
    setup_logging(settings.logging.level, settings.logging.file)
    if "telegram" in settings.intake.sinks:
        # The officers' group lives in `hotline serve` (it needs the bot); this process leaves those rows
        # to it and delivers the rest — forwarders only claim rows of the sinks they have.
        click.echo("telegram rows are left to the forwarder inside `hotline serve`", err=True)
        intake = settings.intake.model_copy(update={"sinks": [s for s in settings.intake.sinks if s != "telegram"]})
        settings = settings.model_copy(update={"intake": intake})

    async def main() -> None:
        runtime = await build_runtime(settings)
        try:
            forwarder = Forwarder(runtime, worker_id=worker_id, lanes=lanes, batch_size=batch_size,
                                  lease_seconds=lease_seconds)
        except ConfigError as exc:
            await runtime.close()
            click.echo(str(exc), err=True)
            sys.exit(2)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        click.echo(f"forwarder {forwarder.worker_id}: sinks {', '.join(forwarder.sinks)} (SIGTERM to stop)")
        try:
            await forwarder.run(stop)
        finally:
            await runtime.close()

    asyncio.run(main())


# ----- hotline outbox ----------------------------------------------------------------------------------
@click.group("outbox")
def outbox_group() -> None:
    """Tips on their way to the police: what is waiting, delivered or dead."""


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value else "-"


@outbox_group.command("list")
@click.option("--status", type=click.Choice(["pending", "inflight", "delivered", "dead"]), default=None)
@click.option("--limit", default=50, show_default=True)
def outbox_list(status: str | None, limit: int) -> None:
    """Outbox rows, newest first, with the last error of each (use --status dead for the dead letters)."""
    from storage import outbox

    async def work(database: Database) -> tuple[dict[str, int], list[dict[str, Any]]]:
        totals = await database.run(outbox.counts)
        return totals, await database.run(outbox.list_rows, status=status, limit=limit)

    totals, rows = _with_database(_settings(), work)
    click.echo("  ".join(f"{s}: {totals.get(s, 0)}" for s in outbox.STATUSES))
    for r in rows:
        error = (r["last_error"] or "").replace("\n", " ")
        click.echo(f"{r['id']:>7}  {r['reference']:<16} {r['sink']:<9} {r['status']:<9} tries {r['attempts']:<3} "
                   f"next {_when(r['next_attempt_at'])}  {error[:100]}")


@outbox_group.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-dead", is_flag=True, help="retry every dead row")
def outbox_retry(ids: tuple[int, ...], all_dead: bool) -> None:
    """Queue dead rows again now, with a fresh attempt budget (by ID, or --all-dead)."""
    from storage import outbox

    if bool(ids) == all_dead:
        raise click.UsageError("give outbox row IDs or --all-dead (not both)")

    async def work(database: Database) -> int:
        return await database.run(outbox.retry, ids=list(ids), all_dead=all_dead, now=datetime.now(UTC))

    changed = _with_database(_settings(), work)
    click.echo(f"{changed} row(s) queued again")
    if ids and changed < len(ids):
        click.echo("some IDs were not dead or waiting (delivered, in flight or unknown) and were left alone",
                   err=True)
        sys.exit(1)


# ----- hotline import units ----------------------------------------------------------------------------
@click.command("units")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="check the file, change nothing")
def units_import_command(file: Path, dry_run: bool) -> None:
    """Police units and the communes each covers (header: unit_id,name,province_code,commune_code,commune_name).

    The unit with a line leaving commune_code and commune_name empty is the provincial one: it gets every tip
    whose commune cannot be matched. The file replaces the commune map; tips already routed keep their unit.
    """
    from bot.intake.units_csv import UnitsFileError, parse_units_csv
    from storage.units import replace_units

    try:
        parsed = parse_units_csv(file.read_bytes())
    except UnitsFileError as exc:
        for problem in exc.problems:
            click.echo(f"{file}: {problem}", err=True)
        sys.exit(1)
    provincial = next(u for u in parsed.units if u.provincial)
    summary = (f"{len(parsed.units)} unit(s), {len(parsed.communes)} commune(s); provincial unit: "
               f"{provincial.id} ({provincial.name})")
    if dry_run:
        click.echo(f"ok (dry run): {summary}")
        return

    async def work(database: Database) -> tuple[int, int]:
        return await database.run(replace_units, units=parsed.units, communes=parsed.communes,
                                  now=datetime.now(UTC))

    _with_database(_settings(), work)
    click.echo(f"imported {summary}")
