"""Events/s through the Zalo webhook path: journaled (signature checked, stored durably, 200) and processed.

The Hotline side (POST /webhooks/zalo + ZaloService on SQLite) runs in its own process; this process plays
Zalo: it signs events like Zalo (``mac = sha256(app_id + body + timestamp + OA secret)``) and POSTs them over
20 connections, each connection carrying its own chats in order, and serves the fake OA API that receives
the replies. Zalo wants every webhook answered within 2 seconds, so the latency figures are the ones to watch.
Sending is unpaced by default (the fake has no limits; with pacing on, ``zalo.messages_per_second`` = 10
caps replies by design). Loopback only, bounded in time.
Usage: python bench/bench_zalo.py [--chats 200] [--seconds 60] [--paced]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.loadgen import Stats  # noqa: E402
from tests.e2e.zalo.fakezalo import FakeZalo, free_port  # noqa: E402

CONNECTIONS = 20
# One parent's walk into a report (10 events): typed text, and button presses — on Zalo a press is a hidden
# text event carrying the button's payload.
WALK: list[tuple[str, str]] = [
    ("text", "xin chào"), ("button", "report"), ("button", "call"), ("text", "0377 123 999"),
    ("text", "hôm qua 9h"), ("button", "homeroom_teacher"), ("text", "THCS Nguyễn Du"), ("button", "install_app"),
    ("text", "otp, stk"), ("text", "sll-vnedu.com/app.apk"),
]


def _event(fake: FakeZalo, n: int, chat: int, kind: str, value: str) -> tuple[bytes, str]:
    text = f"#hl:{value}" if kind == "button" else value
    body, headers = fake.signed({"event_name": "user_send_text", "sender": {"id": str(10_000 + chat)},
                                 "recipient": {"id": fake.oa_id}, "message": {"msg_id": f"b{n}", "text": text}})
    return body, headers["X-ZEvent-Signature"]


class Conn:
    """Keep-alive HTTP/1.1 POSTs with the signature header (cheap: the load generator must not be the limit)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.io: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes, mac: str) -> int:
        if self.io is None:
            self.io = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.io
        writer.write((f"POST /webhooks/zalo HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                      f"X-ZEvent-Signature: {mac}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.io is not None:
            self.io[1].close()
            await self.io[1].wait_closed()


def _pending(db_path: Path) -> tuple[int, int]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10) as db:
        events = db.execute("SELECT count(*) FROM channel_events WHERE processed_at IS NULL").fetchone()[0]
        outgoing = db.execute("SELECT count(*) FROM channel_outgoing WHERE status = 'pending'").fetchone()[0]
    return int(events), int(outgoing)


async def drive(fake: FakeZalo, port: int, chats: int, db_path: Path, deadline: float, *, label: str,
                process: bool) -> None:
    plan: list[list[tuple[bytes, str]]] = [[] for _ in range(CONNECTIONS)]
    for step, (kind, value) in enumerate(WALK):
        for chat in range(chats):
            plan[chat % CONNECTIONS].append(_event(fake, 1 + step * chats + chat, chat, kind, value))
    total = sum(len(p) for p in plan)
    stats = Stats()

    async def sender(events: list[tuple[bytes, str]]) -> None:
        conn = Conn(port)
        try:
            for body, mac in events:
                if time.monotonic() > deadline:
                    return
                t0 = time.perf_counter()
                if await conn.post(body, mac) != 200:
                    stats.errors += 1
                stats.latencies.append(time.perf_counter() - t0)
        finally:
            await conn.close()

    started = time.monotonic()
    await asyncio.gather(*(sender(p) for p in plan))
    figures = stats.report(label, time.monotonic() - started)
    over = sum(1 for x in stats.latencies if x >= 2.0)
    print(f"{'  answered within Zalo’s 2 s':<34} {len(stats.latencies) - over}/{len(stats.latencies)} "
          f"(p99 {figures['p99_ms']:.0f} ms)")
    if not process:
        return
    while time.monotonic() < deadline:
        events, outgoing = await asyncio.to_thread(_pending, db_path)
        if events == 0 and outgoing == 0:
            break
        await asyncio.sleep(0.05)
    answered = time.monotonic() - started
    events, outgoing = await asyncio.to_thread(_pending, db_path)
    done = total - events
    print(f"{'  processed and answered':<34} {done / answered:8.0f} ev/s    ({done}/{total} in {answered:.1f} s; "
          f"{'all replies sent' if outgoing == 0 else f'{outgoing} replies still queued'})")


def serve(port: int, config: dict[str, Any], work: Path, *, paced: bool, process: bool) -> None:
    """The Hotline side: webhook route (+ ZaloService when ``process``), as `hotline serve` runs them."""
    import uvicorn
    from fastapi import FastAPI

    from bot.channels.zalo import ZaloChannel, ZaloService, make_router
    from bot.channels.zalo.client import TokenPair
    from bot.runtime import build_runtime, tune_for_serving
    from bot.settings import Settings

    zalo = {**config["zalo"], "messages_per_second": 10 if paced else 1000}
    settings = Settings(database={"url": f"sqlite+aiosqlite:///{work / 'hotline.db'}"}, data_dir=str(work / "data"),
                        security={"key_file": str(work / "keys.json")}, logging={"file": None}, zalo=zalo)

    async def main() -> None:
        runtime = await build_runtime(settings)
        channel = runtime.channels.get("zalo")
        assert isinstance(channel, ZaloChannel)
        await channel.tokens.install(TokenPair(config["access"], config["refresh"], 90_000))
        service = ZaloService(runtime, channel)
        app = FastAPI()
        app.include_router(make_router(runtime, channel))
        tune_for_serving()
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop) if process else stop.wait())
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               access_log=False, lifespan="off"))
        try:
            await server.serve()
        finally:
            stop.set()
            await task
            await runtime.close()

    asyncio.run(main())


async def wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120  # imports alone take a while on a busy 2-core machine
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("the Hotline side did not start")


def start_server(cmd: list[str], work: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": path}, cwd=work, stdout=log,
                            stderr=subprocess.STDOUT)


async def run_phase(fake: FakeZalo, args: argparse.Namespace, *, label: str, process: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = free_port()
        access, refresh = fake.issue()
        config = {"access": access, "refresh": refresh, "zalo": {
            "app_id": fake.app_id, "secret_key": fake.oa_secret, "app_secret": fake.app_secret,
            "api_base": fake.base, "oauth_base": fake.base}}
        cmd = [sys.executable, __file__, "--serve", str(port), json.dumps(config), str(work)]
        cmd += (["--paced"] if args.paced else []) + ([] if process else ["--store-only"])
        with (work / "server.log").open("wb") as log:
            proc = start_server(cmd, work, log)
            try:
                try:
                    await wait_up(port, proc)
                except RuntimeError:
                    print((work / "server.log").read_text()[-3000:])
                    raise
                await drive(fake, port, args.chats, work / "hotline.db", time.monotonic() + args.seconds,
                            label=label, process=process)
            finally:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


async def main(args: argparse.Namespace) -> None:
    fake = FakeZalo().start()
    try:
        print(f"{args.chats} chats × {len(WALK)} events = {args.chats * len(WALK)} events over {CONNECTIONS} "
              f"connections; SQLite; {os.cpu_count()} CPUs; pacing {'on (10 msg/s)' if args.paced else 'off'}")
        await run_phase(fake, args, label="webhook only (journal, 200)", process=False)
        await run_phase(fake, args, label="webhook while processing", process=True)
        print(f"fake Zalo received {len(fake.sent)} messages "
              f"({sum(1 for s in fake.sent if s.buttons)} with buttons)")
    finally:
        fake.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), json.loads(sys.argv[3]), Path(sys.argv[4]), paced="--paced" in sys.argv,
              process="--store-only" not in sys.argv)
    else:
        parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
        parser.add_argument("--chats", type=int, default=200)
        parser.add_argument("--seconds", type=float, default=60.0, help="upper bound on each phase")
        parser.add_argument("--paced", action="store_true", help="zalo.messages_per_second at its default (10)")
        asyncio.run(main(parser.parse_args()))
