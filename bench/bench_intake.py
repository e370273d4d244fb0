"""Intake benchmark: outbox drain rate and submit-to-delivered latency to a local webhook, then a large crash run.

    .venv/bin/python bench/bench_intake.py [--tips 5000] [--rate 300] [--seconds 10] [--postgres] [--no-crash]

Everything runs on 127.0.0.1: the webhook receiver is a separate process (``tests/intake/receiver.py``,
verifying every signature and deduping by key), the forwarder runs in this process exactly as in
``hotline serve`` (sharing the one SQLite writer with the producer). Figures are printed as measured, with
the machine's CPU count, and against the targets: drain ≥ 1,000 tips/s on SQLite, p99 latency < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: the repository is the root

from bot.intake.forwarder import Forwarder  # noqa: E402 - imports follow the sys.path fix
from bot.runtime import Runtime, build_runtime, load_nlu  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.tips import Indicator  # noqa: E402
from tests.intake.conftest import file_tip_sync, make_settings, report  # noqa: E402
from tests.intake.crash import crash_run  # noqa: E402
from tests.intake.receiver import SECRET, free_port  # noqa: E402

SINKS = ["console", "webhook"]


def start_receiver() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", f"from tests.intake.receiver import serve_forever; "
                             f"serve_forever({port})"], cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{base}/stats", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("receiver did not start")


async def open_runtime(url: str, workdir: Path, receiver: str) -> Runtime:
    settings = make_settings(url, workdir, sinks=["webhook"], max_attempts=12, base_backoff_seconds=0.5,
                             webhook={"url": f"{receiver}/tips", "secret": SECRET, "timeout_seconds": 5})
    return await build_runtime(settings, migrate=True)


def realistic_tip(conn: Any, rng: random.Random, prefix: str) -> str:
    """One tip as parents file them: a tenth name the same hot scam number, the rest a number of their own."""
    phone = "+84377123999" if rng.random() < 0.1 else f"+849{rng.randrange(10**8):08d}"
    link = f"https://sll-{rng.randrange(200)}.example.com/app"
    slots = report(caller_number=phone, link=link, message_text="Phụ huynh cập nhật thông tin tại " + link)
    return file_tip_sync(conn, slots=slots, sinks=SINKS, prefix=prefix,
                         indicators=[Indicator("phone", phone), Indicator("domain", link.split("/")[2])])


async def file_many(db: Database, n: int, prefix: str, chunk: int = 500) -> list[str]:
    rng = random.Random(1)
    refs: list[str] = []

    def some(conn: Any, k: int) -> list[str]:
        return [realistic_tip(conn, rng, prefix) for _ in range(k)]

    for start in range(0, n, chunk):
        refs += await db.run(some, min(chunk, n - start))
    return refs


async def stats(http: httpx.AsyncClient, base: str, path: str = "/stats") -> dict[str, Any]:
    return dict((await http.get(base + path, timeout=30)).json())


async def drain_phase(url: str, workdir: Path, receiver: str, tips: int, prefix: str) -> dict[str, Any]:
    runtime = await open_runtime(url, workdir, receiver)
    await file_many(runtime.db, tips, prefix)
    forwarder = Forwarder(runtime, worker_id="bench-drain")
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(forwarder.run(stop))
    async with httpx.AsyncClient() as http:
        for _ in range(30_000):  # 300 s at most
            if forwarder.stats["delivered"] >= 2 * tips:
                break
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        stop.set()
        await task
        received = await stats(http, receiver)
    await runtime.close()
    return {"tips": tips, "seconds": elapsed, "rate": tips / elapsed, "received": received}


async def latency_phase(url: str, workdir: Path, receiver: str, rate: float, seconds: float,
                        prefix: str) -> dict[str, Any]:
    runtime = await open_runtime(url, workdir, receiver)
    forwarder = Forwarder(runtime, worker_id="bench-latency")
    stop = asyncio.Event()
    task = asyncio.create_task(forwarder.run(stop))
    submitted: dict[str, float] = {}
    rng = random.Random(2)

    async def submit_one() -> None:
        ref = await runtime.db.run_durable(lambda conn: realistic_tip(conn, rng, prefix))
        submitted[ref] = time.time()  # the moment the parent would see "received"

    pending: set[asyncio.Task[None]] = set()
    started = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):  # an open-loop arrival schedule: a slow forwarder does not slow the producer
        await asyncio.sleep(max(0.0, started + i / rate - time.perf_counter()))
        t = asyncio.create_task(submit_one())
        pending.add(t)
        t.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    async with httpx.AsyncClient() as http:
        for _ in range(1200):  # 60 s at most
            if forwarder.stats["delivered"] >= 2 * total:
                break
            await asyncio.sleep(0.05)
        times = (await stats(http, receiver, "/times"))["times"]
    stop.set()
    await task
    await runtime.close()
    latencies = sorted(times[ref] - at for ref, at in submitted.items() if ref in times)
    missing = len(submitted) - len(latencies)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    return {"tips": total, "rate": rate, "p50": q[49], "p99": q[98], "max": latencies[-1] if latencies else None,
            "missing": missing}


async def postgres_url(phase: str) -> str:
    import asyncpg

    name = f"hotline_bench_{phase}_{os.getpid()}"
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_postgres(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    await conn.close()


async def backend_phases(name: str, make_url: Any, receiver: str, workdir: Path, args: argparse.Namespace) -> None:
    tag = name[0].upper()
    drain = await drain_phase(await make_url("drain"), workdir, receiver, args.tips, f"D{tag}")
    print(f"[{name}] drain: {drain['tips']} tips (a console and a webhook row each) in {drain['seconds']:.2f} s = "
          f"{drain['rate']:,.0f} tips/s (target ≥ 1,000); receiver so far: {drain['received']}")
    lat = await latency_phase(await make_url("latency"), workdir, receiver, args.rate, args.seconds, f"L{tag}")
    print(f"[{name}] submit→delivered, {lat['rate']:.0f} tips/s offered for {args.seconds:.0f} s ({lat['tips']} tips): "
          f"p50 {lat['p50'] * 1000:.0f} ms, p99 {lat['p99'] * 1000:.0f} ms, max {lat['max'] * 1000:.0f} ms "
          f"(target p99 < 1 s); undelivered {lat['missing']}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tips", type=int, default=5000, help="backlog drained in the drain-rate phase")
    parser.add_argument("--rate", type=float, default=300, help="tips/s submitted in the latency phase")
    parser.add_argument("--seconds", type=float, default=10, help="length of the latency phase")
    parser.add_argument("--postgres", action="store_true", help="also run both phases on PostgreSQL")
    parser.add_argument("--no-crash", action="store_true", help="skip the large crash run")
    parser.add_argument("--parents", type=int, default=32, help="crash run: simulated parents")
    parser.add_argument("--tips-per-parent", type=int, default=6)
    parser.add_argument("--kills", type=int, default=10, help="crash run: SIGKILLs of serve, and as many of forwarders")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}; everything on 127.0.0.1")
    # Train the intent model once (as tests/conftest.py does): every process started below would else train
    # its own at start-up, and a server killed while training would train again on restart.
    model = REPO / "var" / "test-nlu-model.npz"
    await asyncio.to_thread(load_nlu, model)
    os.environ["HOTLINE_TEST_NLU_MODEL"] = str(model)
    receiver_proc, receiver = start_receiver()
    created: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
            async def sqlite_url(phase: str) -> str:
                return f"sqlite+aiosqlite:///{Path(tmp) / phase}.db"

            async def pg_url(phase: str) -> str:
                created.append(await postgres_url(phase))
                return created[-1]

            await backend_phases("sqlite", sqlite_url, receiver, Path(tmp), args)
            if args.postgres:
                await backend_phases("postgres", pg_url, receiver, Path(tmp), args)
        if not args.no_crash:
            with tempfile.TemporaryDirectory(prefix="bench-crash-") as tmp:
                r = await crash_run(Path(tmp), parents=args.parents, tips_per_parent=args.tips_per_parent,
                                    serve_kills=args.kills, forwarder_kills=args.kills, deadline_seconds=600)
                ok = r.acked == r.in_db == r.received and r.outbox == {"delivered": 2 * len(r.in_db)}
                print(f"crash: {len(r.acked)} acknowledged tips, {r.serve_kills} serve + {r.forwarder_kills} "
                      f"forwarder SIGKILLs, {r.requests} requests ({r.resends} re-sent) in {r.seconds:.1f} s; "
                      f"stored {len(r.in_db)}, received {len(r.received)} unique in {r.raw_deliveries} deliveries; "
                      f"outbox {r.outbox} -> {'OK' if ok else 'MISMATCH'}")
    finally:
        receiver_proc.kill()
        receiver_proc.wait()
        for url in created:
            await drop_postgres(url)


if __name__ == "__main__":
    asyncio.run(main())
