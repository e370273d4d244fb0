"""``hotline check --image FILE`` / ``--apk FILE``: the check over evidence that reached an officer elsewhere.

The same reading (OCR, QR codes, APK inspection) and the same verdict as the chat and ``POST /api/v1/check``
with a file. Without ``--image``/``--apk`` it is exactly ``hotline check`` (bot/cli_check.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.cli_check import _cipher, _with_db
from bot.cli_check import check_command as plain_check
from handlers.checks import CheckRequest, InvalidRequest
from handlers.checks.result import format_lines
from handlers.evidence.check import check_evidence
from handlers.evidence.limits import Limits
from handlers.evidence.render import describe
from handlers.evidence.work import Reading, read_file


def read_path(path: str, *, kind: str, limits: Limits) -> Reading:
    """Read one file in this process (a CLI has no event loop to keep free). Exits 2 on a wrong kind."""
    data = Path(path).read_bytes()
    if len(data) > max(limits.max_image_bytes, limits.max_apk_bytes):
        raise click.BadParameter(f"{path}: larger than {limits.max_image_bytes // (1024 * 1024)} MB")
    reading = Reading.from_json(read_file(data, Path(path).name, limits))
    if reading.ok and reading.kind != kind:
        raise click.BadParameter(f"{path} is an {reading.kind}, not an {kind}; use --{reading.kind}")
    return reading


@click.command("check")
@click.option("--image", "images", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="a screenshot or photo (text read by OCR, QR codes decoded); repeatable")
@click.option("--apk", "apks", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="an Android app file (inspected, never run); repeatable")
@click.pass_context
def check_command(ctx: click.Context, /, images: tuple[str, ...], apks: tuple[str, ...], **fields: object) -> None:
    """Is this call / link / message / screenshot / app from the school real? Explains; opens nothing."""
    if not images and not apks:
        ctx.invoke(plain_check, **fields)
        return
    limits = Limits()
    readings = [read_path(p, kind="image", limits=limits) for p in images]
    readings += [read_path(p, kind="apk", limits=limits) for p in apks]
    try:
        base = CheckRequest(phone=fields.get("phone") or None, url=fields.get("url") or None,  # type: ignore[arg-type]
                            school=fields.get("school") or None, claimed_role=fields.get("claimed_role") or None,  # type: ignore[arg-type]
                            asked=tuple(fields.get("asked") or ()), text=fields.get("text") or None)  # type: ignore[arg-type]
    except InvalidRequest as exc:
        raise click.UsageError(str(exc)) from None
    cipher = _cipher()
    result = _with_db(lambda db: db.run(check_evidence, readings, base, cipher=cipher))
    if fields.get("as_json"):
        out = {**result.to_json(), "evidence": [r.to_json() for r in readings]}
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        click.echo("\n\n".join(describe(readings, "vi")))
        click.echo("")
        click.echo("\n".join(format_lines(result)))


# Every option of the plain check, on this one too (same names, same help).
for _param in plain_check.params:
    check_command.params.append(_param)
