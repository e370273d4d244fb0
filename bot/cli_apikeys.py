"""``hotline apikeys add/list/revoke``: who may use ``POST /api/v1/messages``."""

from __future__ import annotations

import asyncio
import getpass
from datetime import UTC, datetime
from typing import Any

import click


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _with_db(ctx: click.Context, fn: Any, **kwargs: Any) -> Any:
    from bot.cli import open_database

    async def main() -> Any:
        db = await open_database(ctx.find_root().obj.settings)
        try:
            return await db.run(fn, **kwargs)
        finally:
            await db.dispose()

    return asyncio.run(main())


@click.group("apikeys")
def apikeys_group() -> None:
    """API keys of integrations (POST /api/v1/messages). With none, the API answers loopback only."""


@apikeys_group.command("add")
@click.argument("name")
@click.option("--user-prefix", required=True,
              help="the key may only send for user_id values starting with this, e.g. 'zalo-oa:'")
@click.pass_context
def apikeys_add(ctx: click.Context, name: str, user_prefix: str) -> None:
    """Create a key NAME and print it once (it is stored only as a hash)."""
    from storage import audit
    from storage.apikeys import ApiKeyError, add_key

    now = datetime.now(UTC)

    def work(conn: Any) -> str:
        token = add_key(conn, name=name, user_prefix=user_prefix, now=now)
        audit.record(conn, actor=_actor(), action="apikey.add", subject=name, now=now, detail=f"prefix {user_prefix}")
        return token

    try:
        token = _with_db(ctx, work)
    except ApiKeyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(token)
    click.echo(f"key {name!r} for user ids starting with {user_prefix!r}; send it as "
               "'Authorization: Bearer <key>'. It is not shown again.", err=True)


@apikeys_group.command("list")
@click.pass_context
def apikeys_list(ctx: click.Context) -> None:
    """Every key: name, user-id prefix, created, revoked (never the key itself)."""
    from storage.apikeys import list_keys

    rows = _with_db(ctx, list_keys)
    if not rows:
        click.echo("no API keys: POST /api/v1/messages answers loopback clients only")
    for r in rows:
        state = f"revoked {r['revoked_at']:%Y-%m-%d %H:%M}" if r["revoked_at"] else "active"
        click.echo(f"{r['name']:<24} hk_{r['key_id']}_…  prefix {r['user_prefix']!r:<20} "
                   f"created {r['created_at']:%Y-%m-%d %H:%M}  {state}")


@apikeys_group.command("revoke")
@click.argument("name")
@click.pass_context
def apikeys_revoke(ctx: click.Context, name: str) -> None:
    """Revoke key NAME (running servers refuse it within seconds)."""
    from storage import audit
    from storage.apikeys import revoke

    now = datetime.now(UTC)

    def work(conn: Any) -> bool:
        done = revoke(conn, name=name, now=now)
        if done:
            audit.record(conn, actor=_actor(), action="apikey.revoke", subject=name, now=now)
        return done

    if not _with_db(ctx, work):
        raise click.ClickException(f"no active key named {name!r}")
    click.echo(f"key {name!r} revoked")
