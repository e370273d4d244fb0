"""The ``hotline`` command line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from bot.settings import Settings
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
            from bot.settings import ConfigError, load_settings

            try:
                self._settings = load_settings(self.config)
            except ConfigError as exc:
                click.echo(str(exc), err=True)
                sys.exit(2)
        return self._settings


async def open_database(settings: Settings) -> Database:
    """The database for a one-off command; an SQLite file is created and migrated on first use."""
    from bot import dbcheck
    from storage.db import Database
    from storage.migrate import upgrade

    database = Database(settings.database.url)
    try:
        if database.sqlite:
            try:
                await upgrade(database)
            except Exception as exc:
                raise dbcheck.DatabaseUnavailable(dbcheck.explain(database.url, exc)) from None
        await dbcheck.check(database)
    except BaseException:
        await database.dispose()
        raise
    return database


class LazyGroup(click.Group):
    """A group whose subcommands' modules are imported only when one of them runs.

    ``hotline --help`` and ``hotline serve`` must not pay for importing every other command's dependencies
    (checks, imaging, argon2, SQLAlchemy: over a second). Each lazy entry records its one-line help so the
    listing needs no import; tests/perf/test_startup.py checks the recorded lines against the real commands.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, tuple[Callable[[], click.Command], str]] = {}

    def add_lazy(self, name: str, load: Callable[[], click.Command], summary: str) -> None:
        """Register ``name``; ``load()`` imports and returns the command the first time it is needed."""
        self.lazy[name] = (load, summary)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(self.lazy[cmd_name][0](), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names), default=0)
        rows = []
        for name in names:
            if name in self.commands:
                if not self.commands[name].hidden:
                    rows.append((name, self.commands[name].get_short_help_str(limit)))
            else:
                rows.append((name, click.Command(name, help=self.lazy[name][1]).get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _lazy(target: str) -> Callable[[], click.Command]:
    """``"module:attribute"`` → a loader importing it on first use."""

    def load() -> click.Command:
        import importlib

        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command), target
        return command

    return load


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", type=click.Path(dir_okay=False), default=None,
              help="config file (default: $HOTLINE_CONFIG or ./config.yaml)")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """Hotline: report and check school-impersonation scams (web, Telegram, Zalo, terminal)."""
    # Everything this process creates (database, WAL, logs, keys, attachments) is the owner's alone.
    os.umask(0o077)
    ctx.obj = Ctx(config)


@cli.command()
@click.option("--host", default=None, help="address to listen on (default from config: 127.0.0.1)")
@click.option("--port", type=int, default=None, help="port (default from config: 8080)")
@click.option("--cpu", type=click.IntRange(min=0), default=None,
              help="run on this CPU only (default from config: server.cpu, none); one per process when several "
                   "serve one database")
@click.pass_obj
def serve(obj: Ctx, host: str | None, port: int | None, cpu: int | None) -> None:
    """Run the bot: HTTP chat API and start page (SQLite is created and upgraded automatically)."""
    from handlers.cpu import PinError, pin

    cpu = cpu if cpu is not None else obj.settings.server.cpu
    if cpu is not None:
        try:
            # Before any thread starts (the SQLite writer's, the executors', numpy's at its import): they inherit it.
            pin(cpu)
        except PinError as exc:
            raise click.UsageError(str(exc)) from None
    import uvicorn

    from bot import dbcheck
    from bot.intake import build_sinks
    from bot.keywatch import key_watch_service
    from bot.logsetup import UVICORN_LOGGING, setup_logging
    from bot.runtime import build_runtime, tune_for_serving
    from bot.services import Service, forwarder_service, retention_service, workflow_service
    from bot.startup import hand_signals_to_the_server, honour_signals_while_starting
    from bot.web import create_app

    settings = obj.settings
    setup_logging(settings.logging.level, settings.logging.file)
    honour_signals_while_starting()  # until uvicorn takes the signals over, SIGTERM/SIGINT stop us at once

    async def main() -> None:
        try:
            runtime = await build_runtime(settings)
        except dbcheck.DatabaseUnavailable:
            raise
        except Exception as exc:
            if not _database_fault(exc):
                raise
            raise dbcheck.DatabaseUnavailable(dbcheck.explain(settings.database.url, exc)) from None
        try:
            await dbcheck.check(runtime.db)  # "listening" only once the database answers and is migrated
        except BaseException:
            await runtime.close()
            raise
        services: list[tuple[str, Service]] = [("retention", retention_service(runtime)),
                                               ("keys", key_watch_service(runtime)),
                                               ("workflow", workflow_service(runtime))]
        from bot.content_service import content_services, prepare

        # Published flow versions served from the first request on, and polled for (issue 13).
        services += content_services(runtime, await prepare(runtime))
        telegram = cards = None
        if settings.telegram.token:
            from bot.channels.telegram import TelegramService, TelegramTipCards
            from bot.channels.telegram.channel import TelegramChannel

            telegram = TelegramService(runtime)
            services.append(("telegram", telegram.run))
            runtime.channels.register(TelegramChannel(telegram))  # officers' questions and notices go out here
            cards = TelegramTipCards(runtime) if "telegram" in settings.intake.sinks else None
        zalo = runtime.channels.get("zalo")
        if zalo is not None:
            from bot.channels.zalo import ZaloChannel, ZaloService

            if isinstance(zalo, ZaloChannel):  # its webhook route is mounted by create_app
                services.append(("zalo", ZaloService(runtime, zalo).run))
        zalo_bot = runtime.channels.get("zalo_bot")
        if zalo_bot is not None:
            from bot.channels.zalo_bot import ZaloBotChannel, ZaloBotService

            if isinstance(zalo_bot, ZaloBotChannel):  # its webhook route is mounted by create_app
                services.append(("zalo_bot", ZaloBotService(runtime, zalo_bot).run))
        if settings.intake.run_forwarder:
            services.append(("forwarder", forwarder_service(runtime, build_sinks(settings, telegram_cards=cards))))
        from bot.delivery import delivery_services

        services += delivery_services(runtime)  # questions, hand-off and outcome notices to parents
        from bot.console.alerts_telegram import alert_services

        services += alert_services(runtime)  # new campaign alerts to the officers' Telegram group
        app = create_app(runtime, services=services)
        if telegram is not None:
            from bot.channels.telegram import make_router as telegram_router

            app.include_router(telegram_router(runtime, service=telegram))
        tune_for_serving()
        config = uvicorn.Config(app, host=host or settings.server.host, port=port or settings.server.port,
                                log_level="info", lifespan="on", **UVICORN_LOGGING)

        class Announcing(uvicorn.Server):
            async def startup(self, sockets: list[Any] | None = None) -> None:
                await super().startup(sockets)
                if self.started:  # bound, and the app's start-up has run: a request now gets its answer
                    click.echo(f"Hotline listening on http://{config.host}:{config.port}/  (Ctrl-C to stop)")

        hand_signals_to_the_server()
        await Announcing(config).serve()

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
            from bot.content_service import prepare

            await prepare(runtime)  # the flow versions admins published, as `serve` uses them
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
    from bot import dbcheck
    from storage.db import Database
    from storage.migrate import current_revision, upgrade

    async def main() -> tuple[str, ...]:
        database = Database(obj.settings.database.url)
        try:
            await dbcheck.ping(database)
            try:
                await upgrade(database, revision)
                return await current_revision(database)
            except Exception as exc:
                if not _database_fault(exc):
                    raise
                raise dbcheck.DatabaseUnavailable(dbcheck.explain(database.url, exc)) from None
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
    from datetime import UTC, datetime

    from bot.cli_users import cli_actor
    from bot.runtime import build_cipher
    from storage import audit
    from storage.tips import get_tip

    def work(conn: Any, cipher: Any) -> dict[str, Any] | None:
        tip = get_tip(conn, reference=reference, cipher=cipher)
        if tip is not None:  # reading a tip's personal data on the server is an access like any other
            audit.record(conn, actor=cli_actor(), action="tip.view", subject=reference, now=datetime.now(UTC),
                         detail="hotline tips show")
        return tip

    async def main() -> dict[str, Any] | None:
        database = await open_database(obj.settings)
        cipher = build_cipher(obj.settings)
        try:
            return await database.run(work, cipher)
        finally:
            await database.dispose()

    tip = _run(main())
    if tip is None:
        click.echo(f"no tip {reference}", err=True)
        sys.exit(1)
    click.echo(json.dumps(tip, ensure_ascii=False, indent=2, default=str))


def _import_group() -> click.Command:
    from bot.cli_check import import_group
    from bot.cli_intake import units_import_command

    import_group.add_command(units_import_command)  # hotline import units FILE.csv
    return import_group


# Commands defined in other modules: name → (where it lives, its one-line help). A new command is added here;
# tests/perf/test_startup.py fails if a line no longer matches the command's own help.
LAZY_COMMANDS: dict[str, tuple[str | Callable[[], click.Command], str]] = {
    "agency": ("bot.cli_report:agency_group", "Reporter accounts of schools and communes."),
    "apikeys": ("bot.cli_apikeys:apikeys_group", "API keys of integrations (POST /api/v1/messages)."),
    "audit": ("bot.cli_privacy:audit_command", "The newest audit-log entries."),
    "blocklist": ("bot.cli_check:blocklist_group", "The police-confirmed blocklist of scam numbers and domains."),
    "blocks": ("bot.cli_privacy:blocks", "Chats blocked for abuse."),
    "broadcast": ("bot.cli_broadcast:broadcast_group",
                  "Awareness warnings to subscribed parents (sent by the running `hotline serve`)."),
    "check": ("bot.cli_evidence:check_command",
              "Is this call / link / message / screenshot / app from the school real? Explains; opens nothing."),
    "export-subject": ("bot.cli_privacy:export_subject_command",
                       "Print, as JSON, everything held about one person (data-subject access request)."),
    "forwarder": ("bot.cli_intake:forwarder_command",
                  "Deliver confirmed tips to the police sinks until SIGTERM / Ctrl-C (any number may run at once)."),
    "import": (_import_group, "Load reference data from CSV files (UTF-8; bad rows are reported and skipped)."),
    "keys": ("bot.cli_privacy:keys", "Encryption keys for personal data at rest."),
    "nlu": ("bot.cli_nlu:nlu_group",
            "Intents and entities: train the classifier, parse a message, evaluate on a Rasa-format file."),
    "outbox": ("bot.cli_intake:outbox_group", "Tips on their way to the police: what is waiting, delivered or dead."),
    "report": ("bot.cli_report:report_group", "Reports to the provincial People's Committee."),
    "retention": ("bot.cli_privacy:retention", "Keep personal data only as long as needed."),
    "telegram": ("bot.cli_telegram:telegram_group", "Telegram channel: webhook registration and bot status."),
    "users": ("bot.cli_users:users_group",
              "Console accounts (officers, supervisors, admins) who sign in at /console/login."),
    "zalo": ("bot.cli_zalo:zalo_group", "Zalo Official Account channel: authorisation, tokens and status."),
    "zalo-bot": ("bot.channels.zalo_bot.cli:zalo_bot_group",
                 "Zalo Bot Platform channel: webhook registration and bot status."),
}


def _register() -> None:
    assert isinstance(cli, LazyGroup)
    for name, (target, summary) in LAZY_COMMANDS.items():
        cli.add_lazy(name, _lazy(target) if isinstance(target, str) else target, summary)


_register()


def _database_fault(exc: BaseException) -> bool:
    """A failure to reach or open the database (rather than a bug): said in one line, not a traceback."""
    import sqlalchemy as sa

    return isinstance(exc, (OSError, TimeoutError, sa.exc.OperationalError, sa.exc.InterfaceError)) or (
        type(exc).__module__.startswith("asyncpg"))


def main() -> None:
    try:
        cli()
    except Exception as exc:
        # Imported only on the way out: `hotline --help` must not load SQLAlchemy or cryptography.
        from bot.dbcheck import DatabaseUnavailable
        from bot.settings import ConfigError
        from storage.crypto import CryptoError

        if isinstance(exc, ConfigError):  # raised after settings loaded (e.g. a sink missing its URL)
            click.echo(str(exc).splitlines()[0], err=True)
            sys.exit(2)
        if isinstance(exc, CryptoError):  # keys from configuration that do not decode
            click.echo(f"config: security: {exc}", err=True)
            sys.exit(2)
        if isinstance(exc, DatabaseUnavailable):
            click.echo(str(exc), err=True)
            sys.exit(1)
        raise
