"""``hotline zalo-bot …``: register or remove the webhook, and show the bot and its queued work."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from bot.settings import ConfigError, Settings, load_settings

T = TypeVar("T")


def _settings(ctx: click.Context) -> Settings:
    config = getattr(ctx.find_root().obj, "config", None)
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    if not settings.zalo_bot.token:
        click.echo("zalo_bot.token is not set (config.yaml or HOTLINE_ZALO_BOT__TOKEN)", err=True)
        sys.exit(2)
    return settings


def _call(settings: Settings, action: Callable[[Any], Awaitable[T]]) -> T:
    from bot.channels.zalo_bot.client import ZaloBotClient, ZaloBotUnavailable

    async def main() -> T:
        client = ZaloBotClient(settings.zalo_bot)
        try:
            return await action(client)
        finally:
            await client.aclose()

    try:
        return asyncio.run(main())
    except ZaloBotUnavailable as exc:
        click.echo(f"Zalo Bot API: {exc}", err=True)
        sys.exit(1)


def _ok(reply: Any) -> Any:
    if not reply.ok:
        click.echo(f"Zalo refused: {reply.error}", err=True)
        sys.exit(1)
    return reply.result


@click.group("zalo-bot")
def zalo_bot_group() -> None:
    """Zalo Bot Platform channel: webhook registration and bot status."""


@zalo_bot_group.command("set-webhook")
@click.option("--url", default=None, help="public https URL of /webhooks/zalo-bot (default: zalo_bot.webhook_url)")
@click.pass_context
def set_webhook(ctx: click.Context, url: str | None) -> None:
    """Tell Zalo where to POST updates, with our secret token."""
    settings = _settings(ctx)
    target = url or settings.zalo_bot.webhook_url
    if not target:
        click.echo("no URL: pass --url or set zalo_bot.webhook_url", err=True)
        sys.exit(2)
    if not settings.zalo_bot.secret_token:
        click.echo("zalo_bot.secret_token is not set: the webhook route refuses every request without it", err=True)
        sys.exit(2)
    secret = settings.zalo_bot.secret_token
    result = _ok(_call(settings, lambda client: client.set_webhook(target, secret)))
    click.echo(f"webhook set: {(result or {}).get('url', target) if isinstance(result, dict) else target}")


@zalo_bot_group.command("delete-webhook")
@click.pass_context
def delete_webhook(ctx: click.Context) -> None:
    """Stop Zalo posting updates to us."""
    settings = _settings(ctx)
    _ok(_call(settings, lambda client: client.delete_webhook()))
    click.echo("webhook deleted")


@zalo_bot_group.command("info")
@click.pass_context
def info(ctx: click.Context) -> None:
    """The bot as Zalo sees it, its webhook, and the replies waiting in our queue."""
    from bot.channels.zalo_bot.channel import CHANNEL
    from bot.cli import open_database
    from storage import channel_state, channel_store

    settings = _settings(ctx)

    async def both(client: Any) -> tuple[Any, Any]:
        return await client.get_me(), await client.get_webhook_info()

    me, hook = _call(settings, both)
    bot = _ok(me) or {}
    click.echo(f"bot: {bot.get('account_name', '?')} (id {bot.get('id', '?')}); API: {settings.zalo_bot.api_base}")
    click.echo(f"webhook: {(hook.result or {}).get('url') or '(none)'}" if hook.ok else f"webhook: {hook.error}")

    async def queued() -> tuple[dict[str, int], dict[str, int]]:
        db = await open_database(settings)
        try:
            return (await db.run(channel_store.pending_counts, channel=CHANNEL),
                    await db.run(channel_state.unreachable_count, channel=CHANNEL))
        finally:
            await db.dispose()

    counts, unreachable = asyncio.run(queued())
    click.echo(f"queued: {counts['events']} updates, {counts['outgoing']} messages, {counts['dead']} refused")
    if unreachable:
        click.echo("cannot be reached: " + ", ".join(f"{n} {status}" for status, n in sorted(unreachable.items())))
