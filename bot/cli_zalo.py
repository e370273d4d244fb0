"""``hotline zalo …``: authorise the OA (OAuth v4 with PKCE), refresh its token, show the channel's state."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from bot.settings import ConfigError, Settings, load_settings

T = TypeVar("T")


def _settings(ctx: click.Context, *, need: tuple[str, ...] = ("app_id",)) -> Settings:
    # Under `hotline`, the group's --config is on the context object; standalone, the defaults apply.
    config = getattr(ctx.find_root().obj, "config", None)
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    missing = [f"zalo.{key}" for key in need if not getattr(settings.zalo, key)]
    if missing:
        envs = ", ".join("HOTLINE_" + m.upper().replace(".", "__") for m in missing)
        click.echo(f"{', '.join(missing)} not set (config.yaml or {envs})", err=True)
        sys.exit(2)
    return settings


def _run(settings: Settings, action: Callable[[Any, Any, Any], Awaitable[T]]) -> T:
    """``action(db, cipher, client)`` with the database open; a Zalo or token error ends the command."""
    from bot.channels.zalo.client import OAuthRefused, ZaloClient, ZaloUnavailable
    from bot.channels.zalo.tokens import NotAuthorised
    from bot.cli import open_database
    from bot.runtime import build_cipher

    async def main() -> T:
        db = await open_database(settings)
        client = ZaloClient(settings.zalo)
        try:
            return await action(db, build_cipher(settings), client)
        finally:
            await client.aclose()
            await db.dispose()

    try:
        return asyncio.run(main())
    except OAuthRefused as exc:
        click.echo(f"Zalo refused: {exc}", err=True)
        sys.exit(1)
    except (ZaloUnavailable, NotAuthorised) as exc:
        click.echo(f"Zalo: {exc}", err=True)
        sys.exit(1)


def _until(when: datetime) -> str:
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    seconds = int((aware - datetime.now(UTC)).total_seconds())
    if seconds <= 0:
        return "expired"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@click.group("zalo")
def zalo_group() -> None:
    """Zalo Official Account channel: authorisation, tokens and status."""


@zalo_group.command("auth-url")
@click.pass_context
def auth_url(ctx: click.Context) -> None:
    """Print the link an OA admin opens to grant Hotline access (valid 10 minutes)."""
    from bot.channels.zalo.tokens import start_authorisation

    settings = _settings(ctx, need=("app_id", "app_secret", "redirect_uri"))
    url = _run(settings, start_authorisation)
    click.echo("Open this link as an admin of the Official Account, choose the OA and allow access:")
    click.echo(url)
    click.echo("Zalo then redirects to zalo.redirect_uri with ?code=…&state=…; run within 10 minutes:")
    click.echo("  hotline zalo exchange CODE --state STATE")


@zalo_group.command("exchange")
@click.argument("code")
@click.option("--state", "state_param", default=None, help="the state from the callback URL (checked when given)")
@click.pass_context
def exchange(ctx: click.Context, code: str, state_param: str | None) -> None:
    """Exchange the authorisation CODE from the callback for the OA's tokens (stored sealed)."""
    from bot.channels.zalo.tokens import finish_authorisation

    settings = _settings(ctx, need=("app_id", "app_secret"))

    async def action(db: Any, cipher: Any, client: Any) -> Any:
        return await finish_authorisation(db, cipher, client, code.strip(), state_param=state_param)

    tokens = _run(settings, action)
    click.echo(f"Zalo OA authorised: access token valid for {_until(tokens.access_expires_at)}; "
               "Hotline refreshes it by itself from now on.")


@zalo_group.command("refresh")
@click.pass_context
def refresh(ctx: click.Context) -> None:
    """Refresh the access token now (the running bot also does this before it expires)."""
    from bot.channels.zalo.tokens import NotAuthorised, TokenManager

    settings = _settings(ctx, need=("app_id", "app_secret"))

    async def action(db: Any, cipher: Any, client: Any) -> Any:
        manager = TokenManager(db, cipher, client)
        current = await manager.current()
        if current is None:
            raise NotAuthorised("the OA is not authorised yet: run `hotline zalo auth-url`")
        return await manager.refresh(current.access_token)

    tokens = _run(settings, action)
    click.echo(f"refreshed: access token valid for {_until(tokens.access_expires_at)} "
               f"(generation {tokens.generation})")


@zalo_group.command("info")
@click.pass_context
def info(ctx: click.Context) -> None:
    """Configuration, token state, queued work and parents who could not be reached."""
    from bot.channels.zalo.tokens import CHANNEL
    from storage import channel_state, channel_store

    settings = _settings(ctx, need=())
    z = settings.zalo
    click.echo(f"channel: {'on' if z.enabled else 'off (set zalo.app_id and zalo.secret_key)'}; "
               f"API: {z.api_base}; OAuth: {z.oauth_base}")

    async def action(db: Any, cipher: Any, client: Any) -> tuple[Any, Any, Any, str]:
        tokens = await db.run(channel_state.load_tokens, channel=CHANNEL, cipher=cipher)
        counts = await db.run(channel_store.pending_counts, channel=CHANNEL)
        unreachable = await db.run(channel_state.unreachable_count, channel=CHANNEL)
        oa = ""
        if tokens is not None and z.app_id:
            from bot.channels.zalo.client import ZaloUnavailable

            try:
                reply = await client.oa_info(tokens.access_token)
                oa = str(reply.data.get("name", "")) if reply.code == 0 else f"(Zalo {reply.code}: {reply.message})"
            except ZaloUnavailable as exc:
                oa = f"(unreachable: {exc})"
        return tokens, counts, unreachable, oa

    tokens, counts, unreachable, oa = _run(settings, action)
    if tokens is None:
        click.echo("tokens: none — authorise with `hotline zalo auth-url`")
    else:
        click.echo(f"tokens: generation {tokens.generation}, access token {_until(tokens.access_expires_at)}"
                   + (f", refresh token {_until(tokens.refresh_expires_at)}" if tokens.refresh_expires_at else ""))
        if tokens.reauth_reason:
            click.echo(f"NEEDS RE-AUTHORISATION: {tokens.reauth_reason}")
    if oa:
        click.echo(f"official account: {oa}")
    click.echo(f"queue: {counts['events']} events to process, {counts['outgoing']} messages to send, "
               f"{counts['dead']} refused")
    if unreachable:
        click.echo("unreachable parents: " + ", ".join(f"{k} {v}" for k, v in sorted(unreachable.items())))
