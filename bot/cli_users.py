"""``hotline users add/set/list/disable/enable/reset-password/reset-totp``: console accounts from the server.

Passwords come from a prompt (asked twice, never echoed) or, with ``--password-stdin``, from the first line
of standard input (for scripts: ``printf '%s\\n' "$PW" | hotline users add …``). Every change is audited
with the actor ``cli:<os user>``.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from datetime import UTC, datetime
from typing import Any

import click

from storage import users


def cli_actor() -> str:
    """The audit log's actor for a command run on the server: ``cli:<os user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


_actor = cli_actor


def _with_db(ctx: click.Context, fn: Any, **kwargs: Any) -> Any:
    from bot.cli import open_database

    async def main() -> Any:
        db = await open_database(ctx.find_root().obj.settings)
        try:
            return await db.run(fn, **kwargs)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
    else:
        password = getpass.getpass("Password (at least 12 characters): ")
        if getpass.getpass("Same password again: ") != password:
            raise click.ClickException("the two passwords differ; nothing was changed")
    try:
        return users.hash_password(password)
    except users.UserError as exc:
        raise click.ClickException(str(exc)) from None


def _line(u: users.UserRow) -> str:
    state = "disabled" if u.disabled else "active"
    totp = "totp" if u.totp_enabled else ("totp-required" if u.totp_required else "-")
    last = f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "never"
    return (f"{u.id:<4} {u.email:<32} {u.role:<10} {u.unit_id or '-':<16} {totp:<13} "
            f"tg:{u.telegram_user_id or '-':<12} {state:<8} last sign-in {last}")


@click.group("users")
def users_group() -> None:
    """Console accounts (officers, supervisors, admins) who sign in at /console/login."""


ROLE = click.Choice(users.ROLES)


@users_group.command("add")
@click.argument("email")
@click.option("--role", type=ROLE, required=True, help="officer: their unit's tips; supervisor: every unit; "
              "admin: accounts and content")
@click.option("--unit", default=None, help="police unit id (see `hotline import units`); required for officers")
@click.option("--telegram-id", default=None, help="their Telegram user id: tip-card presses act as this account")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
@click.pass_context
def users_add(ctx: click.Context, email: str, role: str, unit: str | None, telegram_id: str | None,
              password_stdin: bool) -> None:
    """Create the account EMAIL."""
    # Bad input (e-mail, unit, taken address) is refused before anyone types a password.
    _with_db(ctx, users.check_new_user, email=email, role=role, unit_id=unit, telegram_user_id=telegram_id)
    password_hash = _read_password(password_stdin)
    user = _with_db(ctx, users.add_user, email=email, role=role, unit_id=unit, password_hash=password_hash,
                    telegram_user_id=telegram_id, actor=_actor(), now=datetime.now(UTC))
    click.echo(f"created {user.email} ({user.role}{', unit ' + user.unit_id if user.unit_id else ''}); "
               "they sign in at /console/login")


@users_group.command("set")
@click.argument("email")
@click.option("--role", type=ROLE, default=None)
@click.option("--unit", default=None, help="a police unit id; '' to clear (not for officers)")
@click.option("--telegram-id", default=None, help="their Telegram user id; '' to clear")
@click.pass_context
def users_set(ctx: click.Context, email: str, role: str | None, unit: str | None, telegram_id: str | None) -> None:
    """Change an account's role, unit or Telegram id (their sessions end when role or unit change)."""
    kwargs: dict[str, Any] = {}
    if unit is not None:
        kwargs["unit_id"] = unit or None
    if telegram_id is not None:
        kwargs["telegram_user_id"] = telegram_id or None

    def work(conn: Any) -> users.UserRow:
        user = users.require_user(conn, email=email)
        return users.update_user(conn, user_id=user.id, role=role, actor=_actor(), now=datetime.now(UTC), **kwargs)

    click.echo(_line(_with_db(ctx, work)))


@users_group.command("list")
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """Every account: id, e-mail, role, unit, TOTP, Telegram id, state, last sign-in."""
    rows = _with_db(ctx, users.list_users)
    if not rows:
        click.echo("no console accounts yet: hotline users add EMAIL --role admin")
    for u in rows:
        click.echo(_line(u))


def _state_command(name: str, disabled: bool, doc: str) -> None:
    @users_group.command(name, help=doc)
    @click.argument("email")
    @click.pass_context
    def command(ctx: click.Context, email: str) -> None:
        def work(conn: Any) -> users.UserRow:
            user = users.require_user(conn, email=email)
            return users.set_disabled(conn, user_id=user.id, disabled=disabled, actor=_actor(),
                                      now=datetime.now(UTC))

        user = _with_db(ctx, work)
        click.echo(f"{user.email} {'disabled: signed out everywhere' if disabled else 'enabled'}")


_state_command("disable", True, "Disable the account EMAIL; every session of it ends at once.")
_state_command("enable", False, "Enable the account EMAIL again.")


@users_group.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
@click.pass_context
def users_reset_password(ctx: click.Context, email: str, password_stdin: bool) -> None:
    """Give EMAIL a new password; every session of it ends."""
    _with_db(ctx, users.require_user, email=email)  # an unknown e-mail fails before the prompt
    password_hash = _read_password(password_stdin)

    def work(conn: Any) -> None:
        user = users.require_user(conn, email=email)
        users.set_password(conn, user_id=user.id, password_hash=password_hash, actor=_actor(), now=datetime.now(UTC))

    _with_db(ctx, work)
    click.echo(f"new password set for {email.strip().lower()}; their sessions have ended")


@users_group.command("reset-totp")
@click.argument("email")
@click.pass_context
def users_reset_totp(ctx: click.Context, email: str) -> None:
    """Forget EMAIL's TOTP secret (lost phone); they enrol again at their next sign-in."""
    def work(conn: Any) -> None:
        user = users.require_user(conn, email=email)
        users.reset_totp(conn, user_id=user.id, actor=_actor(), now=datetime.now(UTC))

    _with_db(ctx, work)
    click.echo(f"TOTP reset for {email.strip().lower()}")
