"""``hotline telegram …``: register or remove the webhook, and show what Telegram knows about the bot."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from bot.settings import ConfigError, Settings, load_settings

T = TypeVar("T")


def _settings(ctx: click.Context) -> Settings:
    # Under `hotline`, the group's --config is on the context object; standalone, the defaults apply.
    config = getattr(ctx.find_root().obj, "config", None)
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    if not settings.telegram.token:
        click.echo("telegram.token is not set (config.yaml or HOTLINE_TELEGRAM__TOKEN)", err=True)
        sys.exit(2)
    return settings


def _call(settings: Settings, action: Callable[[Any], Awaitable[T]]) -> T:
    """Run one Bot API conversation; a Telegram error ends the command with its message."""
    from telegram.error import TelegramError

    from bot.channels.telegram.api import make_bot

    async def main() -> T:
        async with make_bot(settings.telegram, pool_size=2) as bot:
            return await action(bot)

    try:
        return asyncio.run(main())
    except TelegramError as exc:
        click.echo(f"Telegram: {exc}", err=True)
        sys.exit(1)


@click.group("telegram")
def telegram_group() -> None:
    """Telegram channel: webhook registration and bot status."""


@telegram_group.command("set-webhook")
@click.option("--url", default=None, help="public https URL of /telegram/webhook (default: telegram.webhook_url)")
@click.option("--drop-pending-updates", is_flag=True, help="discard updates Telegram is still holding")
@click.option("--max-connections", type=click.IntRange(1, 100), default=40, show_default=True)
@click.pass_context
def set_webhook(ctx: click.Context, url: str | None, drop_pending_updates: bool, max_connections: int) -> None:
    """Point Telegram at our webhook route, with the secret token and the update types we handle."""
    from bot.channels.telegram.api import ALLOWED_UPDATES

    settings = _settings(ctx)
    target = url or settings.telegram.webhook_url
    if not target:
        click.echo("no URL: pass --url or set telegram.webhook_url", err=True)
        sys.exit(2)
    if not settings.telegram.secret_token:
        click.echo("telegram.secret_token is not set: the webhook route refuses every request without it", err=True)
        sys.exit(2)

    async def action(bot: Any) -> bool:
        return bool(await bot.set_webhook(
            target, secret_token=settings.telegram.secret_token, allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=drop_pending_updates, max_connections=max_connections))

    _call(settings, action)
    click.echo(f"webhook set: {target} (updates: {', '.join(ALLOWED_UPDATES)})")


@telegram_group.command("delete-webhook")
@click.option("--drop-pending-updates", is_flag=True, help="discard updates Telegram is still holding")
@click.pass_context
def delete_webhook(ctx: click.Context, drop_pending_updates: bool) -> None:
    """Remove the webhook (needed before long polling, which `hotline serve` also does itself)."""
    settings = _settings(ctx)

    async def action(bot: Any) -> bool:
        return bool(await bot.delete_webhook(drop_pending_updates=drop_pending_updates))

    _call(settings, action)
    click.echo("webhook deleted")


@telegram_group.command("info")
@click.pass_context
def info(ctx: click.Context) -> None:
    """The bot's name and its webhook status as Telegram sees it."""
    settings = _settings(ctx)

    async def action(bot: Any) -> tuple[Any, Any]:
        return bot.bot, await bot.get_webhook_info()

    me, hook = _call(settings, action)
    click.echo(f"bot: @{me.username} (id {me.id})")
    click.echo(f"configured mode: {settings.telegram.mode}; API: {settings.telegram.api_base}")
    click.echo(f"webhook: {hook.url or '(none: long polling)'}")
    click.echo(f"pending updates at Telegram: {hook.pending_update_count}")
    if hook.allowed_updates:
        click.echo(f"allowed updates: {', '.join(hook.allowed_updates)}")
    if hook.last_error_message:
        click.echo(f"last error: {hook.last_error_message} ({hook.last_error_date:%Y-%m-%d %H:%M} UTC)")
