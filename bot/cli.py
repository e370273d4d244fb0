"""The ``hotline`` command line."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from storage.db import Database

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Ctx:
    """Lazily loaded settings shared by subcommands (a bad config fails only the commands that need it)."""

    def __init__(self, config: str | None) -> None:
        self.config = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config)
            except ConfigError as exc:
                click.echo(str(exc), err=True)
                sys.exit(2)
        return self._settings


async def open_database(settings: Settings) -> Database:
    """The database for a one-off command; an SQLite file is created and migrated on first use."""
    from storage.db import Database
    from storage.migrate import upgrade

    database = Database(settings.database.url)
    if database.sqlite:
        await upgrade(database)
    return database


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", type=click.Path(dir_okay=False), default=None,
              help="config file (default: $HOTLINE_CONFIG or ./config.yaml)")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """Hotline: report and check school-impersonation scams (web, Telegram, Zalo, terminal)."""
    ctx.obj = Ctx(config)


@cli.command()
@click.option("--host", default=None, help="address to listen on (default from config: 127.0.0.1)")
@click.option("--port", type=int, default=None, help="port (default from config: 8080)")
@click.pass_obj
def serve(obj: Ctx, host: str | None, port: int | None) -> None:
    """Run the bot: HTTP chat API and start page (SQLite is created and upgraded automatically)."""
    import uvicorn

    from bot.intake import build_sinks
    from bot.logsetup import setup_logging
    from bot.runtime import build_runtime, tune_for_serving
    from bot.services import Service, forwarder_service, retention_service, workflow_service
    from bot.web import create_app

    settings = obj.settings
    setup_logging(settings.logging.level, settings.logging.file)

    async def main() -> None:
        runtime = await build_runtime(settings)
        services: list[tuple[str, Service]] = [("retention", retention_service(runtime)),
                                               ("workflow", workflow_service(runtime))]
        telegram = cards = None
        if settings.telegram.token:
            from bot.channels.telegram import TelegramService, TelegramTipCards

            telegram = TelegramService(runtime)
            services.append(("telegram", telegram.run))
            cards = TelegramTipCards(runtime) if "telegram" in settings.intake.sinks else None
        if settings.intake.run_forwarder:
            services.append(("forwarder", forwarder_service(runtime, build_sinks(settings, telegram_cards=cards))))
        app = create_app(runtime, services=services)
        if telegram is not None:
            from bot.channels.telegram import make_router as telegram_router

            app.include_router(telegram_router(runtime, service=telegram))
        tune_for_serving()
        config = uvicorn.Config(app, host=host or settings.server.host, port=port or settings.server.port,
                                log_level="info", access_log=False, lifespan="on")
        click.echo(f"Hotline listening on http://{config.host}:{config.port}/  (Ctrl-C to stop)")
        await uvicorn.Server(config).serve()

    _run(main())


@cli.command()
@click.option("--chat-id", default="local", show_default=True, help="conversation id (resume it later)")
@click.option("--echo/--no-echo", default=None, help="print each input line (default: on when piped)")
@click.pass_obj
def chat(obj: Ctx, chat_id: str, echo: bool | None) -> None:
    """Talk to the bot in this terminal; pipe a file to replay a conversation (one message per line)."""
    from bot.channels.terminal import TerminalChannel
    from bot.logsetup import setup_logging
    from bot.runtime import build_runtime

    settings = obj.settings
    setup_logging("WARNING", settings.logging.file)

    async def main() -> None:
        runtime = await build_runtime(settings)
        try:
            channel = TerminalChannel(runtime, chat_id=chat_id)
            await channel.run(sys.stdin, echo=echo if echo is not None else not sys.stdin.isatty())
        finally:
            await runtime.close()

    _run(main())


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@click.pass_obj
def db_upgrade(obj: Ctx, revision: str) -> None:
    """Apply migrations (PostgreSQL needs this before serve; SQLite does it itself)."""
    from storage.db import Database
    from storage.migrate import current_revision, upgrade

    async def main() -> tuple[str, ...]:
        database = Database(obj.settings.database.url)
        try:
            await upgrade(database, revision)
            return await current_revision(database)
        finally:
            await database.dispose()

    click.echo(f"database at revision {', '.join(_run(main())) or '(empty)'}")


@cli.group()
def flows() -> None:
    """Conversation flows (handlers/flows/*.yaml)."""


@flows.command("validate")
@click.argument("directory", required=False, type=click.Path(file_okay=False, exists=True))
@click.pass_obj
def flows_validate(obj: Ctx, directory: str | None) -> None:
    """Check every flow file; print each error with file, flow, step and how to fix it."""
    from handlers.flowload import DEFAULT_FLOWS_DIR, FlowLoadError, load_flows

    path = Path(directory) if directory else (
        Path(obj.settings.bot.flows_dir) if obj.settings.bot.flows_dir else DEFAULT_FLOWS_DIR)
    try:
        loaded = load_flows(path)
    except FlowLoadError as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        click.echo(f"{len(exc.errors)} error(s) in {path}", err=True)
        sys.exit(1)
    steps = sum(len(f.steps) for f in loaded.flows.values())
    click.echo(f"ok: {len(loaded.flows)} flows, {steps} steps, {len(loaded.option_sets)} option sets in {path}")


@cli.group()
def tips() -> None:
    """Submitted tips."""


@tips.command("list")
@click.option("--limit", default=20, show_default=True)
@click.pass_obj
def tips_list(obj: Ctx, limit: int) -> None:
    """The newest tips."""
    from storage.tips import list_tips

    async def main() -> list[dict[str, Any]]:
        database = await open_database(obj.settings)
        try:
            return await database.run(list_tips, limit=limit)
        finally:
            await database.dispose()

    rows = _run(main())
    if not rows:
        click.echo("no tips yet")
    for row in rows:
        flag = "URGENT " if row["urgent"] else ""
        click.echo(f"{row['reference']}  {row['created_at']:%Y-%m-%d %H:%M}  {row['channel']:<9} "
                   f"{row['status']:<8} {flag}")


@tips.command("show")
@click.argument("reference")
@click.pass_obj
def tips_show(obj: Ctx, reference: str) -> None:
    """One tip with its attachments and outbox rows, as JSON."""
    from bot.runtime import build_cipher
    from storage.tips import get_tip

    async def main() -> dict[str, Any] | None:
        database = await open_database(obj.settings)
        cipher = build_cipher(obj.settings)
        try:
            return await database.run(get_tip, reference=reference, cipher=cipher)
        finally:
            await database.dispose()

    tip = _run(main())
    if tip is None:
        click.echo(f"no tip {reference}", err=True)
        sys.exit(1)
    click.echo(json.dumps(tip, ensure_ascii=False, indent=2, default=str))


def _register() -> None:
    from bot.cli_check import blocklist_group, check_command, import_group
    from bot.cli_intake import forwarder_command, outbox_group, units_import_command
    from bot.cli_nlu import nlu_group
    from bot.cli_privacy import (
        audit_command,
        blocks,
        export_subject_command,
        keys,
        retention,
    )
    from bot.cli_telegram import telegram_group

    import_group.add_command(units_import_command)  # hotline import units FILE.csv
    for command in (check_command, import_group, blocklist_group, forwarder_command, outbox_group, telegram_group,
                    nlu_group,
                    keys, retention, export_subject_command, blocks, audit_command):
        cli.add_command(command)


_register()


def main() -> None:
    cli()
