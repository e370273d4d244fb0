"""``hotline report monthly`` (the report to the People's Committee, DOCX or PDF) and ``hotline agency bind``
(a reporter account's school or commune)."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bot.cli_users import cli_actor

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _run_db(ctx: click.Context, fn: Any, *, with_cipher: bool = False) -> Any:
    """``fn`` as one unit of work on the configured database (with the data keys as ``cipher=`` if asked)."""
    from bot.cli import open_database
    from bot.runtime import build_cipher

    settings = ctx.find_root().obj.settings

    async def main() -> Any:
        db = await open_database(settings)
        try:
            if with_cipher:
                return await db.run(fn, cipher=await asyncio.to_thread(build_cipher, settings))
            return await db.run(fn)
        finally:
            await db.dispose()

    return asyncio.run(main())


@click.group("report")
def report_group() -> None:
    """Reports to the provincial People's Committee."""


@report_group.command("monthly")
@click.option("--month", "month_text", required=True, help="the month, YYYY-MM (e.g. 2026-11)")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="FILE.docx or FILE.pdf (the ending chooses the format)")
@click.option("--font", default=None, type=click.Path(dir_okay=False, exists=True),
              help="a .ttf with Vietnamese letters for the PDF (default: DejaVu or Noto from the system)")
@click.pass_context
def monthly(ctx: click.Context, month_text: str, out: str, font: str | None) -> None:
    """The month's counts by commune and pretext, money lost, urgent cases, outcomes, blocked numbers and
    domains, awareness warnings, follow-ups, against the month before. No personal data."""
    from bot.reports import FontMissing, build_report, render_docx, render_pdf
    from storage import audit

    found = _MONTH.match(month_text.strip())
    if found is None:
        click.echo(f"--month: {month_text!r} is not YYYY-MM (e.g. 2026-11)", err=True)
        sys.exit(2)
    path = Path(out)
    if path.suffix.lower() not in (".docx", ".pdf"):
        click.echo("--out: the file must end in .docx or .pdf", err=True)
        sys.exit(2)
    year, month = int(found.group(1)), int(found.group(2))
    settings = ctx.find_root().obj.settings

    def work(conn: Any, *, cipher: Any) -> Any:
        report = build_report(conn, year=year, month=month, cipher=cipher, province=settings.province.name,
                              police_name=settings.province.police_name, pretext_labels=_pretext_labels(settings))
        audit.record(conn, actor=cli_actor(), action="report.monthly", subject=f"report:{year}-{month:02d}",
                     now=datetime.now(UTC), detail=path.suffix.lower().lstrip("."))
        return report

    report = _run_db(ctx, work, with_cipher=True)
    try:
        body = render_pdf(report, font=font) if path.suffix.lower() == ".pdf" else render_docx(report)
    except FontMissing as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    path.write_bytes(body)
    total = report.summary[0].current if report.summary else 0
    click.echo(f"wrote {path} (tháng {report.label}: {total} tin báo)")


def _pretext_labels(settings: Any) -> dict[str, str]:
    from handlers.flowload import DEFAULT_FLOWS_DIR, FlowRegistry

    flows = FlowRegistry(Path(settings.bot.flows_dir) if settings.bot.flows_dir else DEFAULT_FLOWS_DIR).get()
    return {o.id: o.label.get("vi") for o in flows.option_sets.get("pretext", ())}


@click.group("agency")
def agency_group() -> None:
    """Reporter accounts of schools and communes."""


@agency_group.command("bind")
@click.argument("email")
@click.option("--school", default=None, help="the school's id in the directory")
@click.option("--commune", default=None, help="the commune's code (from the units import)")
@click.pass_context
def bind(ctx: click.Context, email: str, school: str | None, commune: str | None) -> None:
    """Bind a reporter account (hotline users add EMAIL --role reporter) to its school or commune."""
    from storage import agency, users

    if bool(school) == bool(commune):
        click.echo("give exactly one of --school ID or --commune CODE", err=True)
        sys.exit(2)

    def work(conn: Any) -> agency.Agency:
        user = users.require_user(conn, email=email)
        return agency.bind(conn, user_id=user.id, kind="school" if school else "commune", code=school or commune or "",
                           actor=cli_actor(), now=datetime.now(UTC))

    try:
        bound = _run_db(ctx, work)
    except users.UserError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(f"{email} reports for {bound.name} ({bound.kind} {bound.code})")
