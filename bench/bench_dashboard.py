"""Dashboard benchmark: server time of the dashboard with a million tips, and what campaign-alert counting costs
each tip as it is filed — SQLite and PostgreSQL.

    .venv/bin/python bench/bench_dashboard.py [--tips 1000000] [--requests 20] [--filed 1000] [--sqlite-only]
                                              [--reuse-sqlite PATH] [--reuse-postgres URL]

The tips are generated into a migrated database by ``bench/console_data.py`` (cases with plain facets,
indicators with blind index and sealed value, spread over 330 days: ~3,000 a day), then the dashboard is
requested through the real ASGI app (session check, every ``GROUP BY`` of ``storage.stats``, SVG charts,
Jinja2) with ``httpx.ASGITransport``: server time without a network. Printed per backend: p50 / p95 of wall
and CPU time of the page for the last 30 days (province, one unit, an officer), 7 and 90 days, the JSON and the
XLSX export; target: page p95 < 300 ms. Then ``--filed`` tips are filed with ``create_tip`` one transaction each, with
alert counting on and off (interleaved, same database), for the cost per tip — also for tips that all name one
number (a running campaign: the join path) — and the alerts those tips raised.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: the repository is the root

from bench.bench_console import accounts, drop_postgres, fill, postgres_url, settings_for  # noqa: E402
from bot.console.auth import COOKIE  # noqa: E402
from bot.runtime import build_runtime  # noqa: E402
from bot.web import create_app  # noqa: E402
from storage.alerts import AlertRules  # noqa: E402
from storage.alerts_schema import alerts  # noqa: E402
from storage.cases import CaseTargets  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.keys import ConversationKey  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.stats import rebuild_daily  # noqa: E402
from storage.tips import Indicator, create_tip  # noqa: E402
from storage.workflow_schema import tip_cases  # noqa: E402

TARGET_MS = 300.0


async def create_postgres(url: str) -> None:
    """CREATE DATABASE for ``--reuse-postgres`` unless it exists."""
    import asyncpg

    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    try:
        name = url.rsplit("/", 1)[1]
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
END = datetime(2026, 11, 26, tzinfo=UTC)  # inside the generated span (1/1 … ~27/11/2026)


async def timed(client: httpx.AsyncClient, url: str, n: int) -> tuple[list[float], list[float], int]:
    """Wall time and this process's CPU time (the server's work, whatever else the machine runs) per request."""
    walls, cpus = [], []
    status = 0
    for _ in range(n):
        wall, cpu = time.perf_counter(), time.process_time()
        answer = await client.get(url)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        status = answer.status_code
    return walls, cpus, status


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def line(name: str, walls: list[float], cpus: list[float], status: int, *, target: bool) -> str:
    verdict = ("PASS" if p95(walls) < TARGET_MS else "FAIL") if target else "    "
    if status != 200:
        verdict = f"ERROR ({status})"
    return (f"  {name:40s} wall p50 {statistics.median(walls):6.0f} p95 {p95(walls):6.0f} ms · CPU p50 "
            f"{statistics.median(cpus):6.0f} p95 {p95(cpus):6.0f} ms  {verdict}")


def days(n: int, unit: str | None = None) -> str:
    first = (END - timedelta(days=n - 1)).date()
    return f"from={first}&to={END.date()}" + (f"&unit={unit}" if unit else "")


def file_one(conn: sa.Connection, *, n: int, number: str, rules: AlertRules, cipher: Any, now: datetime) -> str:
    data = {"slots": {"contact_channel": "call", "caller_number": number, "pretext": "install_app", "asked": ["otp"],
                      "money_lost": "no", "message_text": "Cài ứng dụng Sổ liên lạc điện tử"}, "locale": "vi"}
    return create_tip(conn, key=ConversationKey("web", f"bench-alert-{n}"), user_id=f"bench-alert-{n}", urgent=False,
                      data=data, attachments=[], indicators=[Indicator("phone", number)], sinks=["console"],
                      prefix="TG", now=now, cipher=cipher, targets=CaseTargets(alerts=rules))


async def filing_cost(db: Database, cipher: Any, count: int, *, same_number: bool, label: str) -> None:
    """Mean server time of filing one tip with and without alert counting (interleaved, so both see the same
    database and cache); the difference is what the counting costs."""
    on, off = AlertRules(), AlertRules(enabled=False)
    times: dict[bool, list[float]] = {True: [], False: []}
    # After every tip already filed (an earlier run's too): in time order, as a live intake files them.
    latest = await db.run(lambda c: c.execute(sa.select(sa.func.max(tip_cases.c.created_at))).scalar_one())
    start = max(datetime.now(UTC), latest.replace(tzinfo=UTC) + timedelta(seconds=1))
    before = await db.run(lambda c: c.execute(sa.select(sa.func.count()).select_from(alerts)).scalar_one())
    base = int(time.time() * 1000) % 10**6 * 10**4
    campaign = f"+8491299{base // 10**4 % 10**4:04d}"  # a new number each run: raised once, then joined
    for i in range(count):
        counted = i % 2 == 0
        number = campaign if same_number else f"+8498{(base + i) % 10**7:07d}"
        now = start + timedelta(seconds=i * (2 if same_number else 1))
        t0 = time.perf_counter()
        await db.run(file_one, n=base + i, number=number, rules=on if counted else off, cipher=cipher, now=now)
        times[counted].append((time.perf_counter() - t0) * 1e6)
    after = await db.run(lambda c: c.execute(sa.select(sa.func.count()).select_from(alerts)).scalar_one())
    with_, without = statistics.mean(times[True]), statistics.mean(times[False])
    print(f"  {label:44s} filing a tip: {with_:7.0f} µs counted, {without:7.0f} µs not → alert counting "
          f"{with_ - without:+6.0f} µs per tip (alerts raised: {after - before})", flush=True)


async def measure(url: str, workdir: Path, args: argparse.Namespace, label: str) -> None:
    settings = settings_for(url, workdir)
    db = Database(url)
    await upgrade(db)
    runtime = await build_runtime(settings)
    have = await db.run(lambda conn: conn.execute(sa.text("SELECT count(*) FROM tip_cases")).scalar_one())
    if have < args.tips:
        print(f"{label}: generating {args.tips:,} tips …", flush=True)
        seconds = await fill(db, settings, args.tips, 1000, runtime.cipher)
        print(f"{label}: generated in {seconds:.0f} s")
        # The generator writes tips around create_tip: count their days as migration 0017 would, and (it gives
        # explicit ids) move PostgreSQL's id sequence past them for the tips filed below.
        await db.run(rebuild_daily)
        if not db.sqlite:
            await db.run(lambda c: c.execute(sa.text(
                "SELECT setval(pg_get_serial_sequence('tips', 'id'), (SELECT max(id) FROM tips))")))
            await db.run(lambda c: c.execute(sa.text("ANALYZE")))
    tokens = await accounts(db, settings, runtime.cipher)
    app = create_app(runtime, close_on_shutdown=False)
    transport = httpx.ASGITransport(app=app)
    total = await db.run(lambda conn: conn.execute(sa.text("SELECT count(*) FROM tip_cases")).scalar_one())
    per_day = await db.run(lambda conn: conn.execute(sa.text(
        "SELECT count(*) FROM tip_cases WHERE created_at >= :a AND created_at < :b"),
        {"a": END - timedelta(days=30), "b": END}).scalar_one())
    print(f"\n{label}: {total:,} tips ({per_day:,} in the last 30 days), {args.requests} requests per line")
    cases = [
        ("supervisor", "page, 30 days, whole province", f"/console/dashboard?{days(30)}", True),
        ("supervisor", "page, 30 days, one unit", f"/console/dashboard?{days(30, 'CA-TL')}", True),
        ("officer", "page, 30 days, the officer's unit", f"/console/dashboard?{days(30)}", True),
        ("supervisor", "page, 7 days, whole province", f"/console/dashboard?{days(7)}", True),
        ("supervisor", "page, 90 days, whole province", f"/console/dashboard?{days(90)}", False),
        ("supervisor", "dashboard.json, 30 days (audited)", f"/console/dashboard.json?{days(30)}", False),
        ("supervisor", "all.xlsx export, 30 days (audited)", f"/console/dashboard/export/all.xlsx?{days(30)}", False),
    ]
    for role, name, path, target in cases:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", cookies={COOKIE: tokens[role]},
                                     follow_redirects=False) as client:
            await client.get(path)  # warm
            walls, cpus, status = await timed(client, path, args.requests)
            print(line(f"{role}: {name}", walls, cpus, status, target=target), flush=True)
    await filing_cost(db, runtime.cipher, args.filed, same_number=False, label="new numbers (key rows inserted)")
    await filing_cost(db, runtime.cipher, args.filed, same_number=True, label="one number (a running campaign)")
    await runtime.close()
    await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tips", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--filed", type=int, default=1000, help="tips filed for the alert-counting cost")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--reuse-sqlite", type=Path, help="keep the generated SQLite file here and reuse it")
    parser.add_argument("--reuse-postgres", metavar="URL",
                        help="keep the generated PostgreSQL database at this URL and reuse it (created if missing)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"target: dashboard page p95 < {TARGET_MS:.0f} ms; machine: {os.cpu_count()} CPU(s), load average {load:.1f}"
          " (CPU time is the server's own work: on a busy machine wall time waits for a core)")
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        workdir = Path(tmp)
        sqlite_file = args.reuse_sqlite or workdir / "hotline.db"
        if args.reuse_sqlite:
            workdir = args.reuse_sqlite.parent  # the keys must match the reused database
        await measure(f"sqlite+aiosqlite:///{sqlite_file}", workdir, args, "SQLite")
        if not args.sqlite_only and args.reuse_postgres:
            await create_postgres(args.reuse_postgres)
            keys = (args.reuse_sqlite.parent if args.reuse_sqlite else Path(tmp))  # the keys the data was sealed with
            await measure(args.reuse_postgres, keys, args, "PostgreSQL")
        elif not args.sqlite_only:
            url = await postgres_url()
            try:
                await measure(url, Path(tmp), args, "PostgreSQL")
            finally:
                await drop_postgres(url)


if __name__ == "__main__":
    asyncio.run(main())
