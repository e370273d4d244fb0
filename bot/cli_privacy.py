"""Personal-data commands: keys, retention, data-subject export, abuse blocks, the audit log."""

from __future__ import annotations

import asyncio
import getpass
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bot.settings import Settings


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.find_root().obj.settings
    return settings


@click.group()
def keys() -> None:
    """Encryption keys for personal data at rest."""


@keys.command("status")
@click.pass_context
def keys_status(ctx: click.Context) -> None:
    """Which key seals new data, which keys are known, and which key each running process uses."""
    from bot.cli import open_database
    from bot.runtime import build_cipher
    from storage import keystate

    settings = _settings(ctx)
    cipher = build_cipher(settings)
    click.echo(f"current key: {cipher.current}; known keys: {', '.join(sorted(cipher.keys))}")

    async def main() -> tuple[Any, list[dict[str, Any]]]:
        db = await open_database(settings)
        try:
            now = datetime.now(UTC)
            return await db.run(keystate.published), await db.run(keystate.running, now=now)
        finally:
            await db.dispose()

    published, procs = asyncio.run(main())
    if published is not None:
        click.echo(f"made current by `keys rotate`: {published[0]} at {published[1]:%Y-%m-%d %H:%M:%S}")
    if not procs:
        click.echo("running processes: none seen in the last few seconds")
    for p in procs:
        behind = "" if p["key_id"] == cipher.current else "  (NOT the current key)"
        click.echo(f"running process {p['process']}: seals with {p['key_id']}{behind}")


@keys.command("rotate")
@click.option("--batch", default=200, show_default=True, help="rows per transaction")
@click.option("--wait", default=15.0, show_default=True, help="seconds to wait for running servers to switch")
@click.pass_context
def keys_rotate(ctx: click.Context, batch: int, wait: float) -> None:
    """Make a new key current (key file) and re-encrypt everything under it, without stopping the bot.

    With keys in configuration, first add the new key and set security.current_key (restart or let the
    processes pick it up), then run this to convert the old rows.
    """
    from bot.cli import open_database
    from bot.runtime import build_cipher
    from storage import audit, keystate
    from storage.crypto import add_key_to_file
    from storage.rekey import rekey_batch, rekey_file, rekey_replies, sealed_files

    settings = _settings(ctx)
    if not settings.security.keys:
        kid = add_key_to_file(Path(settings.security.key_file))
        click.echo(f"new key {kid} is now current in {settings.security.key_file}")
    cipher = build_cipher(settings)

    async def main() -> tuple[int, int]:
        db = await open_database(settings)
        try:
            # Running servers switch to the new key within seconds (bot/keywatch.py); converting old rows
            # before they have would leave the rows they write meanwhile under the old key.
            await db.run(keystate.publish_current, key_id=cipher.current, now=datetime.now(UTC))
            lagging = await _wait_for_processes(db, cipher.current, wait)
            for process in lagging:
                click.echo(f"warning: running process {process} still seals with an older key "
                           "(is the new key in its configuration?)", err=True)
            after: dict[str, int] = {}
            total = 0
            while True:  # small transactions: the bot keeps writing between them
                before = dict(after)
                total += await db.run(rekey_batch, cipher=cipher, after=after, batch=batch)
                if after == before:
                    break
            total += await db.run(rekey_replies, cipher=cipher)
            files = sum([await asyncio.to_thread(rekey_file, cipher, p)
                         for p in await asyncio.to_thread(sealed_files, Path(settings.data_dir))])
            await db.run(lambda c: audit.record(c, actor=_actor(), action="keys.rotate", subject=cipher.current,
                                                now=datetime.now(UTC), detail=f"{total} values, {files} files"))
            return total, files
        finally:
            await db.dispose()

    values, files = asyncio.run(main())
    click.echo(f"re-encrypted {values} values and {files} files under key {cipher.current}")


async def _wait_for_processes(db: Any, key_id: str, seconds: float) -> list[str]:
    """Wait until every running process reports ``key_id``; returns those that did not in time."""
    from storage import keystate

    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        procs = await db.run(keystate.running, now=datetime.now(UTC))
        lagging = [p["process"] for p in procs if p["key_id"] != key_id]
        if not lagging or asyncio.get_running_loop().time() >= deadline:
            return lagging
        await asyncio.sleep(0.5)


@click.group()
def retention() -> None:
    """Keep personal data only as long as needed."""


@retention.command("run")
@click.pass_context
def retention_run(ctx: click.Context) -> None:
    """Delete idle conversations and anonymise tips past their retention period (closed, or never closed), delete
    ended warning subscriptions and finished broadcasts' per-recipient rows, now."""
    from bot.cli import open_database
    from bot.runtime import build_cipher
    from storage.retention import run_retention

    settings = _settings(ctx)

    async def main() -> Any:
        db = await open_database(settings)
        try:
            return await db.run(run_retention, cipher=build_cipher(settings), now=datetime.now(UTC),
                                closed_tip_days=settings.retention.closed_tip_days,
                                conversation_days=settings.retention.conversation_days,
                                open_tip_days=settings.retention.open_tip_max_days,
                                data_dir=Path(settings.data_dir),
                                subscription_days=settings.retention.subscription_days,
                                broadcast_recipient_days=settings.retention.broadcast_recipient_days)
        finally:
            await db.dispose()

    report = asyncio.run(main())
    click.echo(f"conversations deleted: {report.conversations_deleted}; dedupe records deleted: "
               f"{report.dedupe_records_deleted}; tips anonymised: {report.tips_anonymised}; "
               f"files deleted: {report.files_deleted}; subscriptions deleted: {report.subscriptions_deleted}; "
               f"broadcast recipients dropped: {report.broadcast_recipients_dropped}")


@click.command("export-subject")
@click.option("--channel", required=True, help="telegram, zalo, web, api, terminal")
@click.option("--user", "chat_id", required=True, help="the person's chat id on that channel")
@click.pass_context
def export_subject_command(ctx: click.Context, channel: str, chat_id: str) -> None:
    """Print, as JSON, everything held about one person (data-subject access request)."""
    from bot.cli import open_database
    from bot.runtime import build_cipher
    from handlers.messages import ConversationKey
    from storage.subject import export_subject

    settings = _settings(ctx)

    async def main() -> dict[str, Any]:
        db = await open_database(settings)
        try:
            return await db.run(export_subject, cipher=build_cipher(settings),
                                key=ConversationKey(channel, chat_id), actor=_actor(), now=datetime.now(UTC))
        finally:
            await db.dispose()

    click.echo(json.dumps(asyncio.run(main()), ensure_ascii=False, indent=2, default=str))


@click.group()
def blocks() -> None:
    """Chats blocked for abuse."""


@blocks.command("list")
@click.pass_context
def blocks_list(ctx: click.Context) -> None:
    """Blocks in force."""
    from bot.cli import open_database
    from storage.blocks import active

    async def main() -> list[dict[str, Any]]:
        db = await open_database(_settings(ctx))
        try:
            return await db.run(active, now=datetime.now(UTC))
        finally:
            await db.dispose()

    rows = asyncio.run(main())
    if not rows:
        click.echo("no chat is blocked")
    for r in rows:
        click.echo(f"{r['channel']:<9} {r['chat_ref']}  until {r['expires_at']:%Y-%m-%d %H:%M}  {r['reason']}")


@blocks.command("lift")
@click.argument("channel")
@click.argument("chat_ref")
@click.pass_context
def blocks_lift(ctx: click.Context, channel: str, chat_ref: str) -> None:
    """Lift a block (CHAT_REF as `blocks list` shows it)."""
    from bot.cli import open_database
    from storage import audit
    from storage.blocks import lift

    actor = _actor()

    def work(conn: Any) -> bool:
        done = lift(conn, channel=channel, chat_ref=chat_ref, by=actor)
        if done:
            audit.record(conn, actor=actor, action="unblock", subject=chat_ref, now=datetime.now(UTC))
        return done

    async def main() -> bool:
        db = await open_database(_settings(ctx))
        try:
            return await db.run(work)
        finally:
            await db.dispose()

    if not asyncio.run(main()):
        raise click.ClickException("no such block in force")
    click.echo("block lifted")


@click.command("audit")
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def audit_command(ctx: click.Context, limit: int) -> None:
    """The newest audit-log entries."""
    from bot.cli import open_database
    from storage.audit import entries

    async def main() -> list[dict[str, Any]]:
        db = await open_database(_settings(ctx))
        try:
            return await db.run(entries, limit=limit)
        finally:
            await db.dispose()

    for e in asyncio.run(main()):
        click.echo(f"{e['at']:%Y-%m-%d %H:%M:%S}  {e['actor']:<16} {e['action']:<20} {e['subject']}  "
                   f"{e['detail'] or ''}")
