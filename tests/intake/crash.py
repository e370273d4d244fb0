"""Crash harness: parents file tips through ``hotline serve`` while serve and the forwarders are SIGKILLed.

Used by ``tests/intake/test_crash.py`` (small) and ``bench/bench_intake.py`` (large). Each simulated parent
walks the guided report over ``POST /api/v1/messages``; every message carries a ``message_id`` and is
re-sent with the same id until it gets an answer, as a real client would. A tip is *acknowledged* when the
parent sees its reference. At the end every acknowledged tip must be in the database and at the webhook
receiver exactly once after dedupe by ``Idempotency-Key``.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.intake.procs import intake_env, start_forwarder, start_serve, stop
from tests.intake.receiver import Receiver, free_port

# (kind, value): text to type, or a button to press by a part of its label.
WALK: list[tuple[str, str]] = [
    ("text", "xin chao"), ("press", "Báo cáo"), ("press", "Cuộc gọi"), ("text", "{phone}"), ("text", "hôm qua 9h"),
    ("press", "Hiệu trưởng"), ("text", "Trường THCS Nguyễn Du"), ("press", "mã định danh"), ("text", "otp, stk"),
    ("text", "{link}"), ("text", "bỏ qua"), ("text", "bỏ qua"), ("press", "Không, chưa"), ("press", "Chưa đưa"),
    ("text", "Xã Tân Lộc"), ("press", "ẩn danh"), ("press", "Gửi báo cáo"),
]


@dataclass
class CrashResult:
    acked: set[str] = field(default_factory=set)
    in_db: set[str] = field(default_factory=set)
    received: set[str] = field(default_factory=set)
    outbox: dict[str, int] = field(default_factory=dict)  # status -> rows
    raw_deliveries: int = 0  # every 2xx answer, duplicates included
    serve_kills: int = 0
    forwarder_kills: int = 0
    requests: int = 0
    resends: int = 0
    seconds: float = 0.0


def _button(reply: dict[str, Any], label: str) -> str:
    for message in reply["messages"]:
        for button in message["buttons"]:
            if label.lower() in button["label"].lower():
                return str(button["id"])
    raise AssertionError(f"no button {label!r} in {reply}")


class _Cluster:
    """The processes under test, restartable in place (same port, same database)."""

    def __init__(self, workdir: Path, env: dict[str, str], forwarders: int, lease: float) -> None:
        self.workdir, self.env, self.lease = workdir, env, lease
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.serve = start_serve(workdir, env, self.port)
        self.forwarders = [self._forwarder(i) for i in range(forwarders)]

    def _forwarder(self, i: int) -> subprocess.Popen[bytes]:
        return start_forwarder(self.workdir, self.env, "--lease-seconds", str(self.lease), "--worker-id", f"f{i}",
                               tag=str(i))

    async def healthy(self, http: httpx.AsyncClient) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.serve.poll() is not None:
                raise RuntimeError("hotline serve died: " + (self.workdir / "serve.out").read_text()[-2000:])
            try:
                if (await http.get(f"{self.base}/healthz", timeout=1)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
        raise RuntimeError("hotline serve did not come back")

    async def kill_serve(self, http: httpx.AsyncClient) -> None:
        self.serve.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.serve.wait)
        self.serve = start_serve(self.workdir, self.env, self.port)
        await self.healthy(http)

    async def kill_forwarder(self, i: int) -> None:
        self.forwarders[i].send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.forwarders[i].wait)
        self.forwarders[i] = self._forwarder(i)

    def stop_all(self) -> None:
        for proc in [self.serve, *self.forwarders]:
            stop(proc)


async def _parent(http: httpx.AsyncClient, cluster: _Cluster, result: CrashResult, name: str, tips: int,
                  rng: random.Random, deadline: float) -> None:
    async def say(mid: str, **body: str) -> dict[str, Any]:
        while time.monotonic() < deadline:
            result.requests += 1
            try:
                r = await http.post(f"{cluster.base}/api/v1/messages",
                                    json={"user_id": name, "message_id": mid, **body})
                if r.status_code == 200:
                    return dict(r.json())
                if r.status_code < 500 and r.status_code != 429:
                    raise AssertionError(f"{r.status_code}: {r.text}")
            except httpx.TransportError:
                pass  # the server is being killed: the same message id again, as a client would
            result.resends += 1
            await asyncio.sleep(rng.uniform(0.05, 0.25))
        raise AssertionError(f"{name} got no answer before the deadline")

    for t in range(tips):
        reply: dict[str, Any] = {}
        values = {"phone": f"09{rng.randrange(10**8):08d}", "link": f"https://sll-{rng.randrange(50)}.example.com/a"}
        for step, (kind, value) in enumerate(WALK):
            mid = f"{name}-{t}-{step}"
            if kind == "press":
                reply = await say(mid, payload=_button(reply, value))
            else:
                reply = await say(mid, text=value.format(**values))
        text = reply["messages"][0]["text"]
        assert "mã số " in text, text
        result.acked.add(text.split("mã số ")[1].split(".")[0])


async def _killer(http: httpx.AsyncClient, cluster: _Cluster, result: CrashResult, serve_kills: int,
                  forwarder_kills: int, rng: random.Random, parents: asyncio.Future[Any]) -> None:
    plan = ["serve"] * serve_kills + ["forwarder"] * forwarder_kills
    rng.shuffle(plan)
    for target in plan:
        # Strike after a random amount of traffic (not time), so every kill lands while parents are busy.
        start, gap = result.requests, rng.randrange(8, 25)
        for _ in range(100_000):
            if result.requests - start >= gap or parents.done():
                break
            await asyncio.sleep(0.005)
        if parents.done():
            return
        if target == "serve":
            await cluster.kill_serve(http)
            result.serve_kills += 1
        else:
            await cluster.kill_forwarder(rng.randrange(len(cluster.forwarders)))
            result.forwarder_kills += 1


def _database_state(path: Path) -> tuple[set[str], dict[str, int]]:
    with sqlite3.connect(path, timeout=30) as conn:
        refs = {r[0] for r in conn.execute("SELECT reference FROM tips")}
        statuses = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
    return refs, statuses


async def crash_run(workdir: Path, *, parents: int, tips_per_parent: int, serve_kills: int, forwarder_kills: int,
                    forwarders: int = 2, lease_seconds: float = 2.0, seed: int = 7,
                    deadline_seconds: float = 300) -> CrashResult:
    """Run the scenario; returns what was acknowledged, stored and received (the caller asserts)."""
    rng = random.Random(seed)
    result = CrashResult()
    started = time.monotonic()
    deadline = started + deadline_seconds
    with Receiver(keep_bodies=False) as receiver:
        cluster = _Cluster(workdir, intake_env(workdir, receiver.url), forwarders, lease_seconds)
        try:
            limits = httpx.Limits(max_connections=parents + 4, max_keepalive_connections=parents + 4)
            async with httpx.AsyncClient(timeout=10, limits=limits) as http:
                await cluster.healthy(http)
                walkers = asyncio.gather(*(_parent(http, cluster, result, f"parent-{i}", tips_per_parent,
                                                   random.Random(seed * 1000 + i), deadline) for i in range(parents)))
                killer = asyncio.create_task(_killer(http, cluster, result, serve_kills, forwarder_kills, rng, walkers))
                await walkers
                await killer
            # Load and crashes over: the forwarders (restarted ones too) must now deliver everything.
            while time.monotonic() < deadline:
                in_db, statuses = await asyncio.to_thread(_database_state, workdir / "hotline.db")
                if set(statuses) == {"delivered"} and len(receiver.accepted) >= len(in_db):
                    break
                await asyncio.sleep(0.2)
        finally:
            cluster.stop_all()
        result.in_db, result.outbox = _database_state(workdir / "hotline.db")
        with receiver.lock:
            result.received = set(receiver.accepted)
            result.raw_deliveries = len(receiver.accepted) + receiver.duplicates
    result.seconds = time.monotonic() - started
    return result
