"""``./dev bench``: run every benchmark in bench/ and write bench/report.md and bench/report.json.

    .venv/bin/python bench/run_all.py [--only NAME[,NAME]] [--full] [--out DIR]

Each benchmark runs in its own process, one after another (they would measure each other otherwise), with
sizes chosen so the whole suite takes under 15 minutes on a 2-core machine; ``--full`` uses each script's own
defaults (a million tips and more). Its printed output is kept verbatim, its ``FIGURE`` lines
(bench/report_figures.py) become rows of the report, and the load average before and after it is recorded:
the machine may be shared, and a figure means little without it. A benchmark that fails or overruns its time
is reported as such; the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.report_figures import PREFIX, load, machine, parse_figures  # noqa: E402
from bench.report_md import render  # noqa: E402

# name → (arguments for the suite's sizes, time limit in seconds). Scripts not named here run with their defaults.
PLAN: dict[str, tuple[list[str], int]] = {
    "bench_startup": (["--runs", "2"], 300),
    "bench_chat": (["--seconds", "10"], 420),
    "bench_nlu": ([], 180),
    "bench_dialogue": ([], 180),
    "bench_checks": (["--phones", "200000", "--domains", "20000", "--checks", "2000"], 180),
    "bench_intake": (["--tips", "2000", "--seconds", "5", "--no-crash"], 180),
    "bench_telegram": (["--chats", "100", "--seconds", "20"], 150),
    "bench_zalo": (["--chats", "100", "--seconds", "20"], 150),
    "bench_console": (["--tips", "100000", "--requests", "20", "--sqlite-only"], 240),
    "bench_dashboard": (["--tips", "100000", "--requests", "10", "--filed", "200", "--sqlite-only"], 240),
    "bench_evidence": ([], 180),
    "bench_broadcast": (["--subscribers", "500"], 150),
}
SKIP = {"bench_messages"}  # superseded by bench_chat (same walk, plus the other figures)


def scripts(only: set[str] | None) -> list[Path]:
    found = sorted(p for p in (REPO / "bench").glob("bench_*.py") if p.stem not in SKIP)
    ordered = [p for name in PLAN for p in found if p.stem == name] + [p for p in found if p.stem not in PLAN]
    return [p for p in ordered if only is None or p.stem in only]


def run_one(script: Path, full: bool) -> dict[str, object]:
    args, limit = PLAN.get(script.stem, ([], 180))
    if full:
        args, limit = [], limit * 4
    before = load()
    started = time.perf_counter()
    print(f"== {script.name} {' '.join(args)}  [load {before}]", flush=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        proc = subprocess.run([sys.executable, str(script), *args], cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=limit, check=False)
        output, status = proc.stdout + proc.stderr, ("ok" if proc.returncode == 0 else f"exit {proc.returncode}")
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        output = out.decode(errors="replace") if isinstance(out, bytes) else out
        status = f"stopped after {limit} s"
    seconds = time.perf_counter() - started
    lines = [line for line in output.splitlines() if not line.startswith(PREFIX)]
    for line in lines[-60:]:
        print("   " + line)
    print(f"   -> {status} in {seconds:.0f} s", flush=True)
    return {"name": script.stem, "args": args, "status": status, "seconds": round(seconds, 1), "load_before": before,
            "load_after": load(), "figures": parse_figures(output), "output": lines}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--only", help="comma-separated benchmark names (e.g. bench_chat,bench_startup)")
    ap.add_argument("--full", action="store_true", help="each script's own (larger) defaults")
    ap.add_argument("--out", type=Path, default=REPO / "bench")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    started = time.perf_counter()
    report: dict[str, object] = {"machine": machine(), "suite": "full" if args.full else "default sizes",
                                 "benchmarks": [run_one(s, args.full) for s in scripts(only)]}
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["load_after"] = load()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (args.out / "report.md").write_text(render(report), encoding="utf-8")
    print(f"wrote {args.out / 'report.md'} and report.json in {report['seconds']:.0f} s")


if __name__ == "__main__":
    main()
