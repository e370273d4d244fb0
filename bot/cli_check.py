"""``hotline check``, ``hotline import schools|blocklist`` and ``hotline blocklist add|remove|list``.

Each command opens the configured database, brings its schema up to date (idempotent) and runs one unit
of work. ``asyncio.run`` happens here, at the CLI edge, and nowhere below.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.cli_users import cli_actor
from bot.settings import ConfigError, Settings, load_settings
from handlers.checks import ASKED, ROLES, CheckRequest, InvalidRequest, check
from handlers.checks.csv_import import (
    CsvFileError,
    Parsed,
    parse_blocklist_csv,
    parse_blocklist_entry,
    parse_schools_csv,
)
from handlers.checks.result import format_lines
from handlers.checks.urls import parse_url
from storage import audit, reference
from storage.crypto import Cipher
from storage.db import Database
from storage.migrate import upgrade

T = TypeVar("T")


def _settings() -> Settings:
    # The root group's --config, when given, must win over $HOTLINE_CONFIG and ./config.yaml.
    ctx = click.get_current_context(silent=True)
    config = ctx.find_root().params.get("config") if ctx else None
    try:
        return load_settings(config)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _cipher() -> Cipher:
    """The keys; a check needs the index key, since reported numbers are matched by their blind index."""
    from bot.runtime import build_cipher

    return build_cipher(_settings())


def _with_db(work: Callable[[Database], Awaitable[T]]) -> T:
    settings = _settings()

    async def main() -> T:
        db = Database(settings.database.url)
        try:
            await upgrade(db)
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def _asked(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(a.strip() for a in (value or "").split(",") if a.strip()))
    unknown = [a for a in items if a not in ASKED]
    if unknown:
        raise click.BadParameter(f"unknown value {unknown[0]!r}; use any of {','.join(ASKED)}")
    return items


def _url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not parse_url(value).valid:
        raise click.BadParameter(f"{value!r} is not a web address")
    return value


@click.command("check")
@click.option("--phone", help="the number that called or texted (any common form)")
@click.option("--url", callback=_url, help="a link they sent (never opened)")
@click.option("--school", help="the school they named (diacritics, 'Trường', 'THCS' all optional)")
@click.option("--claimed-role", type=click.Choice(ROLES), help="who they claimed to be")
@click.option("--asked", callback=_asked, metavar="A,B,...", help=f"what they asked for: {','.join(ASKED)}")
@click.option("--text", help="the message, or what the caller said (links and numbers in it are checked)")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON (the API's shape)")
def check_command(phone: str | None, url: str | None, school: str | None, claimed_role: str | None,
                  asked: tuple[str, ...], text: str | None, as_json: bool) -> None:
    """Is this call / link / message from the school real? Explains its verdict; opens nothing."""
    if not (phone or url or text or asked):
        raise click.UsageError("give at least one of --phone, --url, --text or --asked")
    try:
        request = CheckRequest(phone=phone, url=url, school=school, claimed_role=claimed_role, asked=asked,
                               text=text)
    except InvalidRequest as exc:
        raise click.UsageError(str(exc)) from None
    cipher = _cipher()
    result = _with_db(lambda db: db.run(check, request, cipher=cipher))
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo("\n".join(format_lines(result)))


@click.group("import")
def import_group() -> None:
    """Load reference data from CSV files (UTF-8; bad rows are reported and skipped)."""


def _report(parsed: Parsed[T], label: str, loaded: int, updated: int) -> None:
    for problem in parsed.skipped:
        click.echo(f"{label}: {problem} — skipped", err=True)
    for warning in parsed.warnings:
        click.echo(f"{label}: {warning} (warning)", err=True)
    click.echo(f"{label}: loaded {loaded}, updated {updated}, skipped {len(parsed.skipped)}")


def _read_csv(path: str, parse: Callable[[bytes], Parsed[T]]) -> Parsed[T]:
    try:
        return parse(Path(path).read_bytes())
    except CsvFileError as exc:
        click.echo(f"{path}: {exc}", err=True)
        sys.exit(1)


@import_group.command("schools")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_schools(file: str) -> None:
    """Import the school directory; re-importing updates schools by school_id.

    Header: school_id,name,province,commune,official_phones,contact_book_app,website
    (official_phones separated by ';').
    """
    parsed = _read_csv(file, parse_schools_csv)
    now = datetime.now(UTC)
    loaded, updated = _with_db(
        lambda db: db.run(lambda conn: reference.upsert_schools(conn, records=parsed.rows, now=now)))
    _report(parsed, file, loaded, updated)


@import_group.command("blocklist")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_blocklist(file: str) -> None:
    """Import police-confirmed numbers and domains. Header: kind,value,note (kind: phone or domain)."""
    parsed = _read_csv(file, parse_blocklist_csv)
    now = datetime.now(UTC)
    loaded, updated = _with_db(
        lambda db: db.run(lambda conn: reference.add_to_blocklist(conn, entries=parsed.rows, now=now)))
    _report(parsed, file, loaded, updated)


@click.group("blocklist")
def blocklist_group() -> None:
    """The police-confirmed blocklist of scam numbers and domains."""


_KIND = click.option("--kind", type=click.Choice(["phone", "domain"]), required=True)


def _normalised(kind: str, value: str) -> str:
    try:
        return parse_blocklist_entry(kind, value)[1]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="VALUE") from None


@blocklist_group.command("add")
@_KIND
@click.argument("value")
@click.option("--note", default=None, help="where the confirmation came from (case number, date)")
def blocklist_add(kind: str, value: str, note: str | None) -> None:
    """Add a number or domain (an existing entry gets the new note)."""
    entry = reference.BlocklistEntry(kind, _normalised(kind, value), note)
    now = datetime.now(UTC)

    def work(conn: Any) -> tuple[int, int]:
        counts = reference.add_to_blocklist(conn, entries=[entry], now=now)
        audit.record(conn, actor=cli_actor(), action="blocklist.add", subject=f"blocklist:{kind}", now=now,
                     detail=f"{entry.value}" + (f" ({note})" if note else ""))
        return counts

    added, _updated = _with_db(lambda db: db.run(work))
    click.echo(f"{'added' if added else 'already listed, note updated:'} {kind} {entry.value}")


@blocklist_group.command("remove")
@_KIND
@click.argument("value")
def blocklist_remove(kind: str, value: str) -> None:
    """Remove a number or domain. Exits 1 when it was not listed."""
    normalised = _normalised(kind, value)

    def work(conn: Any) -> bool:
        done = bool(reference.remove_from_blocklist(conn, kind=kind, value=normalised))
        if done:
            audit.record(conn, actor=cli_actor(), action="blocklist.remove", subject=f"blocklist:{kind}",
                         now=datetime.now(UTC), detail=normalised)
        return done

    removed = _with_db(lambda db: db.run(work))
    if not removed:
        click.echo(f"not listed: {kind} {normalised}", err=True)
        sys.exit(1)
    click.echo(f"removed {kind} {normalised}")


@blocklist_group.command("list")
@click.option("--kind", type=click.Choice(["phone", "domain"]), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="print at most this many")
def blocklist_list(kind: str | None, limit: int | None) -> None:
    """Print entries as tab-separated kind, value, added, note."""
    entries = _with_db(lambda db: db.run(lambda conn: reference.list_blocklist(conn, kind=kind, limit=limit)))
    for e in entries:
        added = e.created_at.date().isoformat() if e.created_at else ""
        click.echo(f"{e.kind}\t{e.value}\t{added}\t{e.note or ''}")
