"""Pieces of the chat benchmark: closed-loop parents over several servers, server processes, their CPU and
memory, and a sampled profile split into named costs."""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import Conn
from tests.e2e.servers import env_for, free_port

TICK = os.sysconf("SC_CLK_TCK")
HOT_PHONE = "0912 000 111"  # bench.console_data.HOT_NUMBER as a parent types it: every walked report joins its cluster

# One full report with free-text answers, as in bench/bench_messages.py, naming the hot number.
WALK: list[dict[str, str]] = [
    {"text": "xin chào"}, {"payload": "report"}, {"payload": "call"}, {"text": HOT_PHONE},
    {"text": "hôm qua 9h"}, {"payload": "homeroom_teacher"}, {"text": "THCS Nguyễn Du"},
    {"payload": "install_app"}, {"text": "otp, stk, cài app"}, {"text": "sll-vnedu.com/app.apk"},
    {"text": "bỏ qua"}, {"payload": "!done"}, {"payload": "no"}, {"payload": "nothing"},
    {"text": "Phường 5"}, {"payload": "anonymous"}, {"payload": "!submit"},
]


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    walks: int = 0
    seconds: float = 0.0

    def pct(self, q: float) -> float:
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(len(lat) * q))] * 1000 if lat else float("nan")

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def line(self, label: str) -> str:
        return (f"{label:<44} {self.rate:7.0f} msg/s  p50 {self.pct(.5):6.1f}  p95 {self.pct(.95):6.1f}  "
                f"p99 {self.pct(.99):6.1f} ms  n={len(self.latencies)} errors={self.errors} walks={self.walks}")


async def drive(ports: list[int], parents: int, seconds: float, walk: list[dict[str, str]] = WALK,
                tag: str = "p") -> Run:
    """``parents`` closed-loop users spread over ``ports``, each walking ``walk`` again and again (with message
    ids, as every real channel sends them) until ``seconds`` pass."""
    run = Run()
    stop = time.monotonic() + seconds
    counter = itertools.count()

    async def parent(i: int) -> None:
        conn = Conn("127.0.0.1", ports[i % len(ports)])
        try:
            while time.monotonic() < stop:
                user = f"{tag}-{i}-{next(counter)}"
                for k, step in enumerate(walk):
                    t0 = time.perf_counter()
                    try:
                        status, _ = await conn.post_json("/api/v1/messages", {"user_id": user, "message_id": f"{k}",
                                                                              **step})
                    except (OSError, asyncio.IncompleteReadError, ValueError):
                        run.errors += 1
                        await conn.close()
                        conn = Conn("127.0.0.1", ports[i % len(ports)])
                        continue
                    run.latencies.append(time.perf_counter() - t0)
                    if status != 200:
                        run.errors += 1
                run.walks += 1
        finally:
            await conn.close()

    started = time.monotonic()
    await asyncio.gather(*(parent(i) for i in range(parents)))
    run.seconds = time.monotonic() - started
    return run


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def hotline_env(tree: Path, work: Path, **extra: str) -> dict[str, str]:
    env = env_for(work, HOTLINE_LOGGING__LEVEL="WARNING", HOTLINE_SECURITY__GLOBAL_PER_SECOND="1000000",
                  # Every simulated parent comes from 127.0.0.1: the per-address limit would refuse them.
                  HOTLINE_SECURITY__ADDRESS_BURST="1000000", HOTLINE_SECURITY__ADDRESS_PER_MINUTE="1000000",
                  HOTLINE_SECURITY__USER_BURST="1000", HOTLINE_NLU__MODEL_PATH=str(work / "nlu-model.npz"),
                  PYTHONPATH=str(tree), **extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def start(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def serve_cmd(port: int, cpu: int | None = None) -> list[str]:
    pinned = ["--cpu", str(cpu)] if cpu is not None else []
    return [sys.executable, "-c", "from bot.cli import main; main()", "serve", "--port", str(port), *pinned]


def wait_answering(port: int, proc: subprocess.Popen[bytes], timeout: float = 300, log: Path | None = None) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = log.read_text(errors="replace").strip().splitlines()[-15:] if log and log.exists() else []
            raise RuntimeError(f"server on {port} exited with {proc.returncode}" + "".join(f"\n  | {x}" for x in said))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", "/api/v1/messages", b'{"user_id": "warm-up", "text": "menu"}',
                         {"Content-Type": "application/json"})
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
        finally:
            conn.close()
    raise RuntimeError(f"server on {port} did not answer")


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def servers(tree: Path, work: Path, count: int, *, pinned: bool = False,
            **env: str) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    """``count`` servers on one database; ``pinned``: each on a CPU of its own (``--cpu``), from the last one down
    (the first server gets the last CPU, so that a single one leaves CPU 0 to the load generator's start)."""
    ports = [free_port() for _ in range(count)]
    logs = [work / f"serve-{port}.log" for port in ports]  # what a server that dies at start-up said
    cpus = sorted(os.sched_getaffinity(0), reverse=True) if pinned else []
    procs = []
    for i, (port, log) in enumerate(zip(ports, logs, strict=True)):
        cpu = cpus[i % len(cpus)] if pinned else None
        with log.open("wb") as out:
            procs.append(subprocess.Popen(serve_cmd(port, cpu), env=hotline_env(tree, work, **env), cwd=work,
                                          stdout=subprocess.DEVNULL, stderr=out))
    try:
        for port, proc, log in zip(ports, procs, logs, strict=True):
            wait_answering(port, proc, log=log)
    except BaseException:
        stop(procs)
        raise
    return procs, ports


# Named costs of a py-spy profile: a sample goes to the first of these met walking from the leaf to the root.
COSTS: list[tuple[str, tuple[str, ...]]] = [
    # The writer's own lines are its raw SAVEPOINT/RELEASE calls into sqlite3.
    ("SQLite (execute, commit)", ("do_execute", "do_commit", "sqlite3", "_call_batch (storage/db.py")),
    ("encryption (AES-GCM, blind index)", ("storage/crypto.py", "cryptography/")),
    ("SQLAlchemy's Python (compile, parameters, savepoints)", ("sqlalchemy/",)),
    ("HTTP layer (uvicorn, Starlette/FastAPI, middleware)", ("uvicorn/", "starlette/", "fastapi/", "httptools",
                                                             "bot/web.py", "bot/clientaddr.py", "bot/errors.py",
                                                             "pydantic", "asyncio/")),
    ("NLU (nlu/)", ("nlu/",)),
    ("notices/broadcasts for the next reply (bot/delivery.py pull)", ("bot/delivery.py", "storage/notices.py",
                                                                       "storage/broadcasts.py")),
    ("two-way hand-off check (handlers/handoff.py)", ("handlers/handoff", "storage/transcript.py")),
    ("forwarder and clusters (bot/intake/)", ("bot/intake/",)),
    ("dialogue and checks (handlers/)", ("handlers/",)),
    ("storage code (storage/)", ("storage/",)),
]


_WAITING = ("_worker (concurrent/futures/thread.py", "_connection_worker_thread (aiosqlite/")


def split_profile(raw: Path) -> list[tuple[str, float]]:
    """Shares of the named costs in a py-spy ``--format raw`` file (collapsed stacks), largest first."""
    shares: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        frames = stack.split(";")
        if any(frames[-1].startswith(w) for w in _WAITING):
            continue  # a pool thread blocked on its queue: py-spy counts it as active while it takes the GIL back
        total += int(n)
        for frame in reversed(frames):
            name = next((label for label, marks in COSTS if any(m in frame for m in marks)), None)
            if name:
                shares[name] += int(n)
                break
        else:
            shares["other"] += int(n)
    return [(k, v / total) for k, v in shares.most_common()] if total else []
