"""``hotline broadcast send|status|pause|resume|cancel``: awareness warnings from the command line, the same
jobs the console starts (storage/broadcasts.py). The running ``hotline serve`` processes send them; these
commands create, steer and follow them (a progress bar until every recipient a platform can be pushed to is
settled).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bot.cli_users import cli_actor
from storage import broadcasts, subscriptions
from storage.db import Database
from storage.subscriptions import Audience, AudienceError
from storage.units import commune_keys

_KINDS = {"school": "schools", "commune": "communes"}
_LOCAL = "Asia/Ho_Chi_Minh"


def _settings() -> Any:
    from bot.cli import Ctx

    ctx = click.get_current_context()
    root = ctx.find_root().obj
    return root.settings if isinstance(root, Ctx) else None


def _run(work: Any) -> Any:
    from bot.cli import open_database

    async def main() -> Any:
        database: Database = await open_database(_settings())
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(main())


def parse_audience(values: tuple[str, ...]) -> Audience:
    """``all``, or ``school:ID`` / ``commune:NAME`` (repeat the option for several; one kind at a time)."""
    if not values or values == ("all",):
        return Audience()
    kinds: set[str] = set()
    picked: list[str] = []
    for value in values:
        kind, _, name = value.partition(":")
        if kind not in _KINDS or not name.strip():
            raise click.BadParameter(f"{value!r}: use all, school:ID or commune:NAME", param_hint="--audience")
        kinds.add(_KINDS[kind])
        name = name.strip()
        picked.append(name if kind == "school" or (any(c.isdigit() for c in name) and " " not in name)
                      else commune_keys(name)[1])
    if len(kinds) > 1:
        raise click.BadParameter("one kind per broadcast: schools or communes", param_hint="--audience")
    try:
        return Audience(kinds.pop(), tuple(dict.fromkeys(picked)))
    except AudienceError as exc:
        raise click.BadParameter(str(exc), param_hint="--audience") from None


def _read(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8-sig").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{path}: {exc}") from None


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    from zoneinfo import ZoneInfo

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r}: use YYYY-MM-DD HH:MM (Vietnam time)", param_hint="--at") from None
    return value.replace(tzinfo=ZoneInfo(_LOCAL)) if value.tzinfo is None else value


def _line(p: broadcasts.Progress, status: str) -> str:
    return (f"{status}: {p.percent}% · sent {p.sent} · failed {p.failed} · blocked {p.blocked} · not sure "
            f"{p.uncertain} · remaining {p.remaining} · waiting for a visit {p.waiting} (of {p.total})")


async def follow(database: Database, broadcast_id: int, *, every: float = 1.0) -> tuple[str, broadcasts.Progress]:
    """Draw a progress bar until the broadcast is done, cancelled or paused."""

    async def read() -> tuple[str, broadcasts.Progress]:
        found = await database.run(broadcasts.get, broadcast_id=broadcast_id)
        progress = await database.run(broadcasts.progress, broadcast_id=broadcast_id, now=datetime.now(UTC))
        return (found.status if found else "missing"), progress

    status, progress = await read()
    pushable = max(progress.total - progress.waiting, 0)
    with click.progressbar(length=pushable or 1, label=f"broadcast {broadcast_id}", show_percent=True,
                           show_eta=True, file=sys.stderr) as bar:
        shown = 0
        while True:
            settled = pushable - progress.remaining
            if settled > shown:
                bar.update(settled - shown)
                shown = settled
            if status in ("done", "cancelled", "paused", "missing") or (status == "sending" and not progress.remaining):
                return status, progress
            await asyncio.sleep(every)
            status, progress = await read()


@click.group("broadcast")
def broadcast_group() -> None:
    """Awareness warnings to subscribed parents (sent by the running `hotline serve`)."""


@broadcast_group.command("send")
@click.option("--audience", "audience", multiple=True, default=("all",), show_default=True,
              help="all, school:ID or commune:NAME (repeat for several)")
@click.option("--text-file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="the warning in Vietnamese (UTF-8 text)")
@click.option("--text-en-file", type=click.Path(exists=True, dir_okay=False), help="the English text (optional)")
@click.option("--title", default="", help="a title only staff see")
@click.option("--at", "at", default=None, help="send later: YYYY-MM-DD HH:MM, Vietnam time")
@click.option("--wait/--no-wait", default=True, show_default=True, help="follow the progress until it is done")
def send_command(audience: tuple[str, ...], text_file: str, text_en_file: str | None, title: str, at: str | None,
                 wait: bool) -> None:
    """Queue a warning for every matching subscriber now (or at --at) and follow it."""
    chosen = parse_audience(audience)
    text, text_en, send_at = _read(text_file) or "", _read(text_en_file), _when(at)

    async def create(database: Database) -> tuple[int, dict[str, int]]:
        counts = await database.run(subscriptions.count_audience, audience=chosen)
        broadcast_id = await database.run(broadcasts.create, title=title, text_vi=text, text_en=text_en,
                                          audience=chosen, actor=cli_actor(), now=datetime.now(UTC), send_at=send_at)
        return broadcast_id, counts

    try:
        broadcast_id, counts = _run(create)
    except broadcasts.BroadcastError as exc:
        click.echo(f"not sent: {exc}", err=True)
        sys.exit(1)
    per = ", ".join(f"{channel} {n}" for channel, n in counts.items()) or "nobody subscribed yet"
    click.echo(f"broadcast {broadcast_id}: {sum(counts.values())} recipient(s) ({per})"
               + (f", scheduled for {send_at.isoformat()}" if send_at else ""))
    if wait and not send_at:
        _status_command(broadcast_id, once=False)


def _status_command(broadcast_id: int | None, *, once: bool) -> None:
    if broadcast_id is None:
        rows = _run(lambda database: database.run(broadcasts.recent, limit=20))
        if not rows:
            click.echo("no broadcasts yet")
        for b in rows:
            click.echo(f"{b.id:>5}  {b.created_at:%Y-%m-%d %H:%M}  {b.status:<9}  {b.total:>6} recipient(s)  {b.title}")
        return

    async def work(database: Database) -> tuple[str, broadcasts.Progress]:
        found = await database.run(broadcasts.get, broadcast_id=broadcast_id)
        if found is None:
            return "missing", await database.run(broadcasts.progress, broadcast_id=broadcast_id,
                                                 now=datetime.now(UTC))
        if once:
            return found.status, await database.run(broadcasts.progress, broadcast_id=broadcast_id,
                                                    now=datetime.now(UTC))
        return await follow(database, broadcast_id)

    status, progress = _run(work)
    if status == "missing":
        click.echo(f"no broadcast {broadcast_id}", err=True)
        sys.exit(1)
    click.echo(_line(progress, status))


@broadcast_group.command("status")
@click.argument("broadcast_id", type=int, required=False)
@click.option("--once", is_flag=True, help="print the counts once instead of following")
def status_command(broadcast_id: int | None, once: bool) -> None:
    """The recent broadcasts, or one broadcast's progress (a progress bar until it is done)."""
    _status_command(broadcast_id, once=once)


def _steer(broadcast_id: int, action: str) -> None:
    async def work(database: Database) -> str:
        return await database.run(broadcasts.steer, broadcast_id=broadcast_id, action=action, actor=cli_actor(),
                                  now=datetime.now(UTC))

    try:
        click.echo(f"broadcast {broadcast_id}: {_run(work)}")
    except broadcasts.BroadcastError as exc:
        click.echo(f"broadcast {broadcast_id}: {exc}", err=True)
        sys.exit(1)


@broadcast_group.command("pause")
@click.argument("broadcast_id", type=int)
def pause_command(broadcast_id: int) -> None:
    """Stop sending for now (resume later)."""
    _steer(broadcast_id, "pause")


@broadcast_group.command("resume")
@click.argument("broadcast_id", type=int)
def resume_command(broadcast_id: int) -> None:
    """Go on sending a paused broadcast."""
    _steer(broadcast_id, "resume")


@broadcast_group.command("cancel")
@click.argument("broadcast_id", type=int)
def cancel_command(broadcast_id: int) -> None:
    """Send to nobody else."""
    _steer(broadcast_id, "cancel")
