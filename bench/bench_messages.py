"""Messages/s and latency for 50 concurrent parents walking the report flow through /api/v1/messages.

Prints the bot's figures next to a bare endpoint (same FastAPI + SQLAlchemy + aiosqlite stack, one SQLite
write per message) measured in the same run. Target: ≥ 1,000 messages/s and p99 < 100 ms on SQLite.
Usage: python bench/bench_messages.py [--parents 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.loadgen import Conn, Stats  # noqa: E402
from tests.e2e.servers import HOTLINE, env_for, free_port  # noqa: E402

# One full report, as a parent pressing buttons and typing would send it (17 messages, ends with submit).
REPORT_WALK: list[dict[str, str]] = [
    {"text": "xin chào"}, {"payload": "report"}, {"payload": "call"}, {"text": "0377 123 999"},
    {"text": "hôm qua 9h"}, {"payload": "homeroom_teacher"}, {"text": "THCS Nguyễn Du"},
    {"payload": "install_app"}, {"text": "otp, stk, cài app"}, {"text": "sll-vnedu.com/app.apk"},
    {"text": "bỏ qua"}, {"payload": "!done"}, {"payload": "no"}, {"payload": "nothing"},
    {"text": "Phường 5"}, {"payload": "anonymous"}, {"payload": "!submit"},
]


async def wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180  # the first start trains the intent model
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


async def drive(port: int, parents: int, seconds: float, walk: list[dict[str, str]]) -> tuple[Stats, int, float]:
    stats = Stats()
    completed = 0
    stop = time.monotonic() + seconds
    counter = itertools.count()

    async def parent(i: int) -> None:
        nonlocal completed
        conn = Conn("127.0.0.1", port)
        try:
            while time.monotonic() < stop:
                user = f"bench-{i}-{next(counter)}"
                for step in walk:
                    t0 = time.perf_counter()
                    status, _ = await conn.post_json("/api/v1/messages", {"user_id": user, **step})
                    stats.latencies.append(time.perf_counter() - t0)
                    if status != 200:
                        stats.errors += 1
                completed += 1
        finally:
            await conn.close()

    started = time.monotonic()
    await asyncio.gather(*(parent(i) for i in range(parents)))
    return stats, completed, time.monotonic() - started


def run_server(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parents", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"{args.parents} concurrent parents, {args.seconds:.0f} s each run, SQLite in {work}, "
              f"{os.cpu_count()} CPUs; load generator in this process, server in its own process")
        # Bare ceiling first.
        port = free_port()
        bare = run_server([sys.executable, str(REPO / "bench" / "bare_server.py"), str(work / "bare.db"), str(port)],
                          {**os.environ, "PYTHONPATH": str(REPO)}, work)
        try:
            await wait_up(port, bare)
            stats, _, took = await drive(port, args.parents, args.seconds, [{"text": "x"}])
            bare_fig = stats.report("bare endpoint (1 SQLite write/msg)", took)
        finally:
            bare.terminate()
            bare.wait()
        port = free_port()
        # The global inbound limit protects a real deployment; here it would only measure itself.
        env = env_for(work, HOTLINE_LOGGING__LEVEL="WARNING", HOTLINE_SECURITY__GLOBAL_PER_SECOND="1000000",
                      # every simulated parent comes from 127.0.0.1: the per-address limit would refuse them
                      HOTLINE_SECURITY__ADDRESS_BURST="1000000", HOTLINE_SECURITY__ADDRESS_PER_MINUTE="1000000",
                      HOTLINE_NLU__MODEL_PATH=str(REPO / "var" / "nlu" / "model.npz"))  # trained once, kept
        bot = run_server([HOTLINE, "serve", "--port", str(port)], env, work)
        try:
            await wait_up(port, bot)
            stats, completed, took = await drive(port, args.parents, args.seconds, REPORT_WALK)
            bot_fig = stats.report("hotline report flow", took)
        finally:
            bot.terminate()
            bot.wait()
        with sqlite3.connect(work / "hotline.db") as db:
            tips = db.execute("SELECT count(*) FROM tips").fetchone()[0]
            outbox = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        print(f"complete reports walked: {completed}; tips in the database: {tips}; outbox rows: {outbox}")
        if tips != completed or outbox != completed:
            print("MISMATCH: every walked report must have filed exactly one tip and one outbox row")
        print(f"bot / bare ceiling: {bot_fig['rate'] / bare_fig['rate']:.2f}")
        ok = bot_fig["rate"] >= 1000 and bot_fig["p99_ms"] < 100
        print(f"target ≥ 1,000 msg/s and p99 < 100 ms: {'MET' if ok else 'NOT MET'}")


if __name__ == "__main__":
    asyncio.run(main())
