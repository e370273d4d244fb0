"""Updates/s through the Telegram webhook path: accepted (stored durably, 200) and answered (processed, sent).

The Hotline side (webhook route + TelegramService on SQLite) runs in its own process; this process plays
Telegram: it POSTs updates over 40 connections (Telegram's default ``max_connections``), each connection
carrying its own chats in order, and serves the fake Bot API that receives the replies. Flood pacing is off
by default (the fake has no limits; with Telegram's limits sending is capped at ~28 messages/s by design).
Loopback only, bounded in time. Usage: python bench/bench_telegram.py [--chats 200] [--seconds 60] [--paced]
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
from tests.e2e.telegram.fakebot import FakeBotAPI, free_port  # noqa: E402

SECRET = "bench-secret"  # noqa: S105 - a loopback-only benchmark's webhook secret
CONNECTIONS = 40
# One parent's walk into a report: text, button presses, typed answers (10 updates).
WALK: list[tuple[str, str]] = [
    ("text", "xin chào"), ("data", "report"), ("data", "call"), ("text", "0377 123 999"), ("text", "hôm qua 9h"),
    ("data", "homeroom_teacher"), ("text", "THCS Nguyễn Du"), ("data", "install_app"), ("text", "otp, stk"),
    ("text", "sll-vnedu.com/app.apk"),
]


def _update(update_id: int, chat: int, kind: str, value: str) -> dict[str, Any]:
    user = {"id": chat, "is_bot": False, "first_name": "PH"}
    if kind == "data":
        return {"update_id": update_id, "callback_query": {"id": f"q{update_id}", "from": user,
                                                           "chat_instance": "b", "data": value}}
    return {"update_id": update_id, "message": {"message_id": update_id, "date": int(time.time()), "text": value,
                                                "chat": {"id": chat, "type": "private"}, "from": user}}


class Conn:
    """Keep-alive HTTP/1.1 POSTs with the secret header (cheap: the load generator must not be the limit)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.io: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: dict[str, Any]) -> int:
        if self.io is None:
            self.io = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.io
        data = json.dumps(body).encode()
        writer.write((f"POST /telegram/webhook HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                      f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\nContent-Length: {len(data)}\r\n\r\n").encode()
                     + data)
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
        updates = db.execute("SELECT count(*) FROM channel_events WHERE channel = 'telegram'"
                             " AND processed_at IS NULL").fetchone()[0]
        outgoing = db.execute("SELECT count(*) FROM channel_outgoing WHERE channel = 'telegram'"
                              " AND status = 'pending'").fetchone()[0]
    return int(updates), int(outgoing)


async def drive(port: int, chats: int, db_path: Path, deadline: float, *, label: str, process: bool) -> None:
    plan: list[list[dict[str, Any]]] = [[] for _ in range(CONNECTIONS)]
    for step, (kind, value) in enumerate(WALK):
        for chat in range(chats):
            plan[chat % CONNECTIONS].append(_update(1 + step * chats + chat, 10_000 + chat, kind, value))
    total = sum(len(p) for p in plan)
    stats = Stats()

    async def sender(updates: list[dict[str, Any]]) -> None:
        conn = Conn(port)
        try:
            for body in sorted(updates, key=lambda u: u["update_id"]):
                if time.monotonic() > deadline:
                    return
                t0 = time.perf_counter()
                if await conn.post(body) != 200:
                    stats.errors += 1
                stats.latencies.append(time.perf_counter() - t0)
        finally:
            await conn.close()

    started = time.monotonic()
    await asyncio.gather(*(sender(p) for p in plan))
    stats.report(label, time.monotonic() - started)
    if not process:
        return
    while time.monotonic() < deadline:
        updates, outgoing = await asyncio.to_thread(_pending, db_path)
        if updates == 0 and outgoing == 0:
            break
        await asyncio.sleep(0.05)
    answered = time.monotonic() - started
    updates, outgoing = await asyncio.to_thread(_pending, db_path)
    done = total - updates
    print(f"{'  processed and answered':<34} {done / answered:8.0f} upd/s   ({done}/{total} in {answered:.1f} s; "
          f"{'all replies sent' if outgoing == 0 else f'{outgoing} replies still queued'})")


def serve(port: int, fake_base: str, token: str, work: Path, *, paced: bool, process: bool) -> None:
    """The Hotline side: webhook route (+ TelegramService when ``process``), as `hotline serve` runs them."""
    import uvicorn
    from fastapi import FastAPI

    from bot.channels.telegram import TelegramService, make_router
    from bot.runtime import build_runtime, tune_for_serving
    from bot.settings import Settings

    settings = Settings(database={"url": f"sqlite+aiosqlite:///{work / 'hotline.db'}"}, data_dir=str(work / "data"),
                        security={"key_file": str(work / "keys.json")}, logging={"file": None},
                        telegram={"token": token, "mode": "webhook", "api_base": fake_base, "secret_token": SECRET})

    async def main() -> None:
        runtime = await build_runtime(settings)
        # Unpaced by default: the fake has no limits, and paced sending only measures Telegram's budget.
        service = (TelegramService(runtime) if paced else
                   TelegramService(runtime, overall_per_second=1e6, chat_interval=0.0, group_interval=0.0))
        app = FastAPI()
        app.include_router(make_router(runtime, service=service))
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


async def run_phase(fake: FakeBotAPI, args: argparse.Namespace, *, label: str, process: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = free_port()
        cmd = [sys.executable, __file__, "--serve", str(port), fake.base, fake.token, str(work)]
        cmd += (["--paced"] if args.paced else []) + ([] if process else ["--store-only"])
        with (work / "server.log").open("wb") as log:
            proc = start_server(cmd, work, log)
            try:
                try:
                    await wait_up(port, proc)
                except RuntimeError:
                    print((work / "server.log").read_text()[-3000:])
                    raise
                await drive(port, args.chats, work / "hotline.db", time.monotonic() + args.seconds, label=label,
                            process=process)
            finally:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


async def main(args: argparse.Namespace) -> None:
    fake = FakeBotAPI().start()
    try:
        print(f"{args.chats} chats × {len(WALK)} updates = {args.chats * len(WALK)} updates over {CONNECTIONS} "
              f"connections; SQLite; {os.cpu_count()} CPUs; flood pacing {'on' if args.paced else 'off'}")
        await run_phase(fake, args, label="webhook only (durable store, 200)", process=False)
        await run_phase(fake, args, label="webhook while processing", process=True)
        sent = fake.calls_to("sendMessage", "editMessageText", ok=True)
        answers = fake.calls_to("answerCallbackQuery", ok=True)
        print(f"fake Bot API received {len(sent)} messages/edits and {len(answers)} callback answers")
    finally:
        fake.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3], sys.argv[4], Path(sys.argv[5]), paced="--paced" in sys.argv,
              process="--store-only" not in sys.argv)
    else:
        parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
        parser.add_argument("--chats", type=int, default=200)
        parser.add_argument("--seconds", type=float, default=60.0, help="upper bound on each phase")
        parser.add_argument("--paced", action="store_true", help="Telegram's flood limits on (≈28 msg/s)")
        asyncio.run(main(parser.parse_args()))
