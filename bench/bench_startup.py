"""Start-up: `hotline --help`, the first and the second `hotline serve` (time to the first answered chat message,
and the server's CPU seconds until then), and the two ways the issue names to avoid training at start.

    .venv/bin/python bench/bench_startup.py [--runs 3] [--before REV] [--chat-seconds 8]

Option A (chosen) ships the trained model in nlu/model/intent.npz: loading it is the figure "artefact load".
Option B would serve a rules-only understanding while training in the background: its cost is the training
window (wall and CPU) and what that CPU does to the chat on a 2-core machine, measured here by walking the
report flow with 10 parents with and without a training running beside the server.
``--before REV`` runs the same start-up figures, in the same run, on that revision (exported with git archive and
run with this venv), so before and after share the machine's load. Every figure carries the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_messages import REPORT_WALK, drive  # noqa: E402
from bench.report_figures import export_tree, figure, load, machine  # noqa: E402
from tests.e2e.servers import env_for, free_port  # noqa: E402

HELLO = '{"user_id": "startup", "text": "xin chào"}'.encode()
TICK = os.sysconf("SC_CLK_TCK")


def _env(tree: Path, workdir: Path) -> dict[str, str]:
    env = env_for(workdir, HOTLINE_NLU__MODEL_PATH=str(workdir / "nlu-model.npz"), HOTLINE_LOGGING__LEVEL="WARNING",
                  HOTLINE_SECURITY__GLOBAL_PER_SECOND="1000000", HOTLINE_SECURITY__ADDRESS_BURST="1000000",
                  HOTLINE_SECURITY__ADDRESS_PER_MINUTE="1000000", PYTHONPATH=str(tree))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a real install keeps its bytecode cache
    return env


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _post_hello(port: int, timeout: float) -> bool:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/api/v1/messages", HELLO, {"Content-Type": "application/json"})
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def help_time(tree: Path, workdir: Path, runs: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(runs):
        before = os.times()
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from bot.cli import main; main()", "--help"], cwd=workdir,
                       env=_env(tree, workdir), capture_output=True, check=True)
        walls.append(time.perf_counter() - t0)
        after = os.times()
        cpus.append(after.children_user + after.children_system - before.children_user - before.children_system)
    return statistics.median(walls), statistics.median(cpus)


def serve_start(tree: Path, workdir: Path) -> dict[str, float | bool]:
    """Start `serve`, poll until a chat message is answered; also whether "listening" came before an answer."""
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", "serve", "--port", str(port)],
                            cwd=workdir, env=_env(tree, workdir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    said: dict[str, float | bool] = {}

    def watch() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "listening" in line and "listening" not in said:
                said["listening"] = time.perf_counter() - t0
                said["answered_at_listening"] = _post_hello(port, timeout=5)  # one try, no retry
    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    try:
        while not _post_hello(port, timeout=300):
            if proc.poll() is not None:
                raise RuntimeError(f"serve exited with {proc.returncode}")
            time.sleep(0.05)
        answered = time.perf_counter() - t0
        cpu = _cpu_seconds(proc.pid)
        reader.join(timeout=10)
        return {"answer_s": answered, "cpu_s": cpu, "listening_s": said.get("listening", float("nan")),
                "answered_at_listening": bool(said.get("answered_at_listening", False))}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


def startup_figures(label: str, tree: Path, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wall, cpu = help_time(tree, work, runs)
        figure(f"[{label}] hotline --help", wall, "s", note=f"CPU {cpu:.2f} s")
        first = serve_start(tree, work)
        figure(f"[{label}] first serve: first answer", first["answer_s"], "s",
               target="≤ 10 s", met=float(first["answer_s"]) <= 10,
               note=f"CPU {first['cpu_s']:.2f} s; 'listening' at {first['listening_s']:.2f} s, answered then: "
                    f"{'yes' if first['answered_at_listening'] else 'NO'}")
        seconds = [serve_start(tree, work) for _ in range(runs)]
        answer = statistics.median(float(s["answer_s"]) for s in seconds)
        figure(f"[{label}] second serve: first answer (median of {runs})", answer, "s", target="≤ 2 s",
               met=answer <= 2, note=f"CPU {statistics.median(float(s['cpu_s']) for s in seconds):.2f} s; "
                                     f"answered at 'listening': {all(s['answered_at_listening'] for s in seconds)}")


def train_in_subprocess() -> subprocess.Popen[bytes]:
    code = "from nlu.api import NluEngine; NluEngine.train()"
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})


def answering_server(work: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", "from bot.cli import main; main()", "serve", "--port", str(port)],
                            cwd=work, env=_env(REPO, work), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not _post_hello(port, timeout=60):
        if proc.poll() is not None:
            raise RuntimeError("serve exited")
        time.sleep(0.05)
    return proc


async def chat_beside_training(chat_seconds: float) -> None:
    """Option B's cost to the chat: 10 parents walking the report flow, alone and while a model trains."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = free_port()
        proc = await asyncio.to_thread(answering_server, work, port)
        try:
            alone, _, took = await drive(port, 10, chat_seconds, REPORT_WALK)
            fig = alone.report("  chat, 10 parents, nothing else", took)
            figure("option B: chat p99 with no training", fig["p99_ms"], "ms", quiet=True)
            t0 = time.perf_counter()
            c0 = os.times()
            trainer = train_in_subprocess()
            beside, _, took = await drive(port, 10, chat_seconds, REPORT_WALK)
            fig = beside.report("  chat, 10 parents, model training", took)
            figure("option B: chat p99 while training", fig["p99_ms"], "ms", quiet=True)
            await asyncio.to_thread(trainer.wait)
            c1 = os.times()
            figure("option B: training window (rules-only meanwhile)", time.perf_counter() - t0, "s",
                   note=f"CPU {c1.children_user + c1.children_system - c0.children_user - c0.children_system:.1f} s")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def artefact_load() -> None:
    from nlu import artefact
    from nlu.api import NluEngine

    t0 = time.perf_counter()
    engine = NluEngine.load(artefact.ARTEFACT)
    ok = artefact.matches(engine.fingerprint)
    figure("option A: artefact load + fingerprint check", time.perf_counter() - t0, "s",
           note=f"{artefact.ARTEFACT.stat().st_size / 1e6:.1f} MB, current: {'yes' if ok else 'NO (rebuild)'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--before", help="also measure start-up on this git revision, in the same run")
    ap.add_argument("--chat-seconds", type=float, default=8.0)
    args = ap.parse_args()
    info = machine()
    print(f"{info['date']}  {info['cpu']}, {info['cores']} cores, Python {info['python']}; load {load()}")
    with tempfile.TemporaryDirectory() as tmp:
        trees = [("now", REPO)]
        if args.before:
            trees.append((f"before {args.before}", export_tree(args.before, Path(tmp) / "before")))
        for label, tree in trees:
            startup_figures(label, tree, args.runs)
    artefact_load()
    asyncio.run(chat_beside_training(args.chat_seconds))


if __name__ == "__main__":
    main()
