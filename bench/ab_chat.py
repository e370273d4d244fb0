"""Interleaved A/B of chat configurations: rounds of every configuration in turn, each round against its own
ceiling, then the means — what decided the changes of 2026-12-03 on a machine whose speed moves between runs.

    .venv/bin/python bench/ab_chat.py [--rounds 3] [--seconds 8] [--configs x1,x1p,x2,x2p] [--parents 50]

A configuration is ``x<processes>`` with ``p`` for pinned (``hotline serve --cpu``, a CPU each). The order of
the configurations alternates between rounds, so that a machine speeding up or slowing down during the run
favours none of them. Not part of ``./dev bench`` (bench/run_all.py runs the ``bench_*.py`` scripts).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository is the root

from bench.bench_chat import REPO, ceiling, measured
from bench.chatload import servers, stop


def parse_config(text: str) -> tuple[int, bool]:
    pinned = text.endswith("p")
    count = int(text.removeprefix("x").removesuffix("p"))
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: at least one process")
    return count, pinned


async def one(count: int, pinned: bool, parents: int, seconds: float) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        procs, ports = await asyncio.to_thread(servers, REPO, Path(tmp), count, pinned=pinned)
        try:
            run, cpu_ms = await measured(procs, ports, parents, seconds, "ab")
        finally:
            stop(procs)
    return run.rate, run.pct(.99), cpu_ms


async def main(args: argparse.Namespace) -> None:
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    results: dict[str, list[tuple[float, float, float]]] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            bare = await ceiling(Path(tmp), min(args.seconds, 6))
            for name in configs if round_no % 2 == 0 else configs[::-1]:
                count, pinned = parse_config(name)
                rate, p99, cpu_ms = await one(count, pinned, args.parents, args.seconds)
                results[name].append((rate / bare, p99, cpu_ms))
                print(f"round {round_no} {name:>4}: {rate:6.0f} msg/s  {rate / bare:.3f} of the ceiling ({bare:.0f})  "
                      f"p99 {p99:5.0f} ms  {cpu_ms:.2f} ms CPU/msg", flush=True)
    print(f"means over {args.rounds} rounds, {args.parents} parents:")
    for name, rows in results.items():
        n = len(rows)
        share, p99, cpu_ms = (sum(r[i] for r in rows) / n for i in range(3))
        print(f"  {name:>4}: {share:.3f} of the ceiling  p99 {p99:5.0f} ms  {cpu_ms:.2f} ms CPU/msg")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--parents", type=int, default=50)
    ap.add_argument("--configs", default="x1,x1p,x2,x2p")
    asyncio.run(main(ap.parse_args()))
