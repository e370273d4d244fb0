"""The dialogue on the labelled turns (tests/data/turns_*.yml), per class, beside the intent model's figures.

    .venv/bin/python bench/bench_dialogue.py            # per-class accuracy, urgent-path errors, NLU figures
    .venv/bin/python bench/bench_dialogue.py --failures # also every turn that went wrong, and why

Each turn is said at its step through the real dialogue on a throwaway SQLite database seeded with the set's
school directory and blocklist; the figures are compared with tests/data/turns_baseline.yml (PASS/FAIL), which
tests/handlers/test_turnset.py enforces.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.turnset import Outcome, default_files, evaluation_dialogue, load_turnset, report, run_all, seed  # noqa: E402
from nlu.api import NluEngine, evaluate  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

BASELINE = ROOT / "tests" / "data" / "turns_baseline.yml"
TRAIN = ROOT / "nlu" / "data" / "nlu.yml"
TEST = ROOT / "nlu" / "data" / "test.yml"


async def _run(engine: NluEngine) -> tuple[list[Outcome], float]:
    turnset = load_turnset(default_files(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        try:
            await upgrade(db)
            await db.run(seed, turnset)
            started = time.perf_counter()
            outcomes = await db.run(run_all, evaluation_dialogue(engine.parse), turnset)
            return outcomes, time.perf_counter() - started
        finally:
            await db.dispose()


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--failures", action="store_true", help="list every turn that went wrong")
    args = parser.parse_args()

    engine = NluEngine.train(TRAIN)
    outcomes, seconds = asyncio.run(_run(engine))
    result = report(outcomes)
    baseline = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))

    print(f"labelled turns: {result.total} in {seconds:.1f} s ({seconds / max(result.total, 1) * 1000:.2f} ms a turn)")
    print(f"  overall accuracy {result.accuracy:.4f}  (baseline {baseline['accuracy']:.4f}: "
          f"{_verdict(result.accuracy >= baseline['accuracy'])})")
    print("\nper class                 turns  accuracy  baseline")
    passed = result.accuracy >= baseline["accuracy"]
    for klass, (n, acc) in sorted(result.per_class.items()):
        wanted = baseline["per_class"].get(klass)
        ok = wanted is None or acc >= wanted
        passed = passed and ok
        shown = f"{wanted:.4f}  {_verdict(ok)}" if wanted is not None else "—  (new class)"
        print(f"  {klass:22s} {n:5d}   {acc:.4f}    {shown}")
    print("\nby way of typing")
    for form, (n, acc) in result.per_form.items():
        print(f"  {form:22s} {n:5d}   {acc:.4f}")
    urgent_ok = not result.false_alarms and not result.misses
    print(f"\nurgent path: {len(result.false_alarms)} false alarms on plain denials, {len(result.misses)} misses on "
          f"plain admissions [{_verdict(urgent_ok)}]")
    for text in result.false_alarms:
        print(f"  false alarm: {text!r}")
    for text in result.misses:
        print(f"  missed: {text!r}")

    nlu = evaluate(engine, TEST)
    print(f"\nintent model on {TEST.name}: accuracy {nlu['accuracy']:.4f}  macro-F1 {nlu['macro_f1']:.4f}  "
          f"(trained in {engine.trained_seconds or 0:.1f} s; bench/bench_nlu.py has the full figures)")

    if args.failures:
        print("\nturns that went wrong:")
        for o in outcomes:
            if not o.ok:
                print(f"  [{o.turn.klass}] {o.turn.where}: {o.turn.text!r}: {'; '.join(o.failures)}")
    return 0 if passed and urgent_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
