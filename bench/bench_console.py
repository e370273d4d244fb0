"""Console benchmark: server time of the queue page and of a tip page with a million tips, SQLite and PostgreSQL.

    .venv/bin/python bench/bench_console.py [--tips 1000000] [--hot 1000] [--requests 60]
                                            [--sqlite-only | --postgres-only] [--reuse-sqlite PATH]

The tips are generated into a migrated database (``bench/console_data.py``: cases with plain facets, tags,
keyed search terms, indicators; a few real ``create_tip`` tips for the tip page), then each page is requested
through the real ASGI app (routing, session check, database, Jinja2 rendering) with ``httpx.ASGITransport`` —
server time without a network in between. Printed per backend: p50 / p95 / max of the default queue (an
officer's unit and the whole province), filtered queues, page 2 by cursor, a search for a number named in
``--hot`` tips, and a tip page; target: queue p95 < 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: the repository is the root

from bench.console_data import HOT_NUMBER, batches, insert_batch  # noqa: E402 - imports follow the sys.path fix
from bot.console.auth import COOKIE, session_policy  # noqa: E402
from bot.runtime import build_runtime  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.web import create_app  # noqa: E402
from storage import cluster_counts, users  # noqa: E402
from storage.cases import CaseTargets  # noqa: E402
from storage.db import Database, is_sqlite  # noqa: E402
from storage.intake_schema import police_units  # noqa: E402
from storage.keys import ConversationKey  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.tips import Indicator, create_tip  # noqa: E402
from storage.users_sessions import FULL, new_session  # noqa: E402
from storage.workflow_schema import tip_cases  # noqa: E402

TARGET_MS = 150.0


def settings_for(url: str, workdir: Path) -> Settings:
    return Settings.model_validate({
        "database": {"url": url}, "data_dir": str(workdir / "data"), "logging": {"file": None},
        "security": {"key_file": str(workdir / "keys.json")},
        # The supervisor's session is made directly (no sign-in page), so no TOTP step to require.
        "console": {"cookie_secure": False, "require_totp": []},
        "intake": {"run_forwarder": False}, "nlu": {"model_path": str(workdir / "model.npz")},
    })


async def fill(db: Database, settings: Settings, count: int, hot: int, cipher: Any) -> float:
    started = time.perf_counter()
    for n, rows in enumerate(batches(count=count, hot=hot, cipher=cipher), 1):
        await db.run(insert_batch, rows=rows)
        if n % 10 == 0:
            print(f"  … {n * 20_000:,} tips", flush=True)
    await db.run(cluster_counts.rebuild)  # the rows went in wholesale, not through create_tip
    if is_sqlite(settings.database.url):
        await db.run(lambda conn: conn.execute(sa.text("ANALYZE")))
    else:
        # The generator writes explicit ids: move the sequence past them before create_tip files the real tips.
        await db.run(lambda conn: conn.execute(sa.text(
            "SELECT setval(pg_get_serial_sequence('tips', 'id'), (SELECT max(id) FROM tips))")))
        await db.run(lambda conn: conn.execute(sa.text("ANALYZE")))
    return time.perf_counter() - started


def real_tips(conn: sa.Connection, *, cipher: Any, now: datetime) -> list[str]:
    """A few tips filed the real way (sealed report), naming the hot number: the tip pages measured."""
    refs = []
    for n in range(5):
        data = {"slots": {"contact_channel": "call", "caller_number": "0912000111", "pretext": "install_app",
                          "asked": ["otp"], "money_lost": "no", "message_text": "Cài ứng dụng Sổ liên lạc điện tử"},
                "locale": "vi", "consent": {"contact": True}}
        refs.append(create_tip(conn, key=ConversationKey("web", f"bench-{n}"), user_id=f"bench-{n}", urgent=False,
                               data=data, attachments=[], indicators=[Indicator("phone", HOT_NUMBER)],
                               sinks=["console"], prefix="TG", now=now, cipher=cipher, targets=CaseTargets()))
    # Routed to the benchmark officer's unit (the generated data has units but no commune table to route by).
    conn.execute(sa.update(tip_cases).where(tip_cases.c.reference.in_(refs)).values(unit_id="CA-TT"))
    return refs


async def accounts(db: Database, settings: Settings, cipher: Any) -> dict[str, str]:
    """An officer of CA-TT and a supervisor, each with a signed-in session; returns role → session token."""
    now = datetime.now(UTC)
    hashed = users.hash_password("benchmark password 1")

    def work(conn: sa.Connection) -> dict[str, int]:
        for unit in ("CA-TT", "CA-TL", "CA-96"):
            if conn.execute(sa.select(police_units.c.id).where(police_units.c.id == unit)).first() is None:
                conn.execute(sa.insert(police_units).values(id=unit, name=f"Đơn vị {unit}", updated_at=now))
        made = {}
        roles: tuple[tuple[str, str | None], ...] = (("officer", "CA-TT"), ("supervisor", None))
        for role, unit_of in roles:
            email = f"{role}-{os.getpid()}@bench.vn"
            found = users.get_user(conn, email=email)
            row = found or users.add_user(conn, email=email, role=role, unit_id=unit_of, password_hash=hashed,
                                          telegram_user_id=None, actor="bench", now=now)
            made[role] = row.id
        return made

    ids = await db.run(work)
    tokens = {}
    for role, user_id in ids.items():
        token, _csrf = await db.run(new_session, user_id=user_id, stage=FULL, now=now, policy=session_policy(settings))
        tokens[role] = token
    return tokens


async def timed(client: httpx.AsyncClient, url: str, n: int) -> tuple[list[float], int]:
    times = []
    status = 0
    for _ in range(n):
        started = time.perf_counter()
        answer = await client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        status = answer.status_code
    return times, status


def line(name: str, times: list[float], status: int, *, target: bool) -> str:
    p95 = statistics.quantiles(times, n=20)[18] if len(times) > 1 else times[0]
    verdict = ("PASS" if p95 < TARGET_MS else "FAIL") if target else "    "
    if status != 200:
        verdict = "ERROR (not a 200)"
    return (f"  {name:46s} p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  max {max(times):7.1f} ms"
            f"  [{status}] {verdict}")


async def measure(url: str, workdir: Path, args: argparse.Namespace, label: str) -> None:
    settings = settings_for(url, workdir)
    db = Database(url)
    await upgrade(db)
    runtime = await build_runtime(settings)
    have = await db.run(lambda conn: conn.execute(sa.text("SELECT count(*) FROM tip_cases")).scalar_one())
    if have < args.tips:
        print(f"{label}: generating {args.tips:,} tips …", flush=True)
        seconds = await fill(db, settings, args.tips, args.hot, runtime.cipher)
        print(f"{label}: generated in {seconds:.0f} s")
    refs = await db.run(real_tips, cipher=runtime.cipher, now=datetime.now(UTC))
    tokens = await accounts(db, settings, runtime.cipher)
    app = create_app(runtime, close_on_shutdown=False)
    transport = httpx.ASGITransport(app=app)
    total = await db.run(lambda conn: conn.execute(sa.text("SELECT count(*) FROM tip_cases")).scalar_one())
    print(f"\n{label}: {total:,} tips, {args.requests} requests per line (server time through the ASGI app)")
    for role in ("officer", "supervisor"):
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", cookies={COOKIE: tokens[role]},
                                     follow_redirects=False) as client:
            first = await client.get("/console/queue")
            cursor = first.text.split('rel="next"')[0].rsplit('href="?', 1)[-1].split('"')[0].replace("&amp;", "&")
            cases = [
                ("queue (default: open, urgent first)", "/console/queue", True),
                ("queue page 2 (keyset cursor)", f"/console/queue?{cursor}", True),
                ("queue all statuses, newest", "/console/queue?status=all&sort=newest", True),
                ("queue closed + pretext filter", "/console/queue?status=closed&pretext=emergency", True),
                ("queue asked-for OTP, money lost", "/console/queue?asked=otp&money=yes", True),
                (f"search a number in {args.hot:,} tips", f"/console/queue?status=all&q={HOT_NUMBER[1:]}", True),
                ("tip page (sealed report opened, audited)", f"/console/tips/{refs[0]}", False),
            ]
            print(f" {role}:")
            for name, path, target in cases:
                await client.get(path)  # warm
                times, status = await timed(client, path, args.requests)
                print(line(name, times, status, target=target), flush=True)
    await runtime.close()
    await db.dispose()


async def postgres_url() -> str:
    import asyncpg

    name = f"hotline_bench_console_{os.getpid()}"
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tips", type=int, default=1_000_000)
    parser.add_argument("--hot", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--reuse-sqlite", type=Path, help="keep the generated SQLite file here and reuse it")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPU(s); target: queue p95 < {TARGET_MS:.0f} ms")
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        workdir = Path(tmp)
        sqlite_file = args.reuse_sqlite or workdir / "hotline.db"
        if args.reuse_sqlite:
            workdir = args.reuse_sqlite.parent  # the keys must match the reused database
        if not args.postgres_only:
            await measure(f"sqlite+aiosqlite:///{sqlite_file}", workdir, args, "SQLite")
        if not args.sqlite_only:
            url = await postgres_url()
            try:
                await measure(url, Path(tmp), args, "PostgreSQL")
            finally:
                await drop_postgres(url)


if __name__ == "__main__":
    asyncio.run(main())
