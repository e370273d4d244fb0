"""The labelled turns (tests/data/turns_*.yml) through the real dialogue: accuracy may not drop below the baseline
(tests/data/turns_baseline.yml), and the urgent path never fires on a plain denial nor misses a plain admission."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from handlers.turnset import ADMISSION, DENIAL, Outcome, TurnSet, load_turnset, report, run_all, seed
from storage.db import Database
from tests.chat import make_engine

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "tests" / "data" / "turns_baseline.yml"


@pytest.fixture(scope="module")
def turnset() -> TurnSet:
    return load_turnset(sorted((ROOT / "tests" / "data").glob("turns_*.yml")))


@pytest.fixture
async def outcomes(sqlite_db: Database, turnset: TurnSet) -> list[Outcome]:
    await sqlite_db.run(seed, turnset)
    return await sqlite_db.run(run_all, make_engine(sqlite_db).dialogue, turnset)


def _failures(outcomes: list[Outcome], klass: str | None = None) -> str:
    return "\n".join(f"{o.turn.where}: {o.turn.text!r}: {'; '.join(o.failures)}" for o in outcomes
                     if not o.ok and (klass is None or o.turn.klass == klass))


def test_the_set_is_large_and_typed_the_way_parents_type(turnset: TurnSet) -> None:
    turns = turnset.turns
    assert len(turns) >= 600
    assert sum(t.no_diacritics for t in turns) >= len(turns) / 3
    assert sum(t.teencode for t in turns) >= len(turns) / 10
    classes = {t.klass for t in turns}
    assert {DENIAL, ADMISSION, "hedge", "correction", "two_slots", "money", "time", "out_of_scope"} <= classes


def test_accuracy_on_the_labelled_turns_does_not_drop(outcomes: list[Outcome]) -> None:
    baseline = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    result = report(outcomes)
    assert result.accuracy >= baseline["accuracy"], _failures(outcomes)
    for klass, wanted in baseline["per_class"].items():
        _n, got = result.per_class[klass]
        assert got >= wanted, f"{klass}: {got:.4f} < {wanted:.4f}\n{_failures(outcomes, klass)}"


def test_urgent_path_no_false_alarm_on_a_plain_denial_no_miss_on_a_plain_admission(
        outcomes: list[Outcome]) -> None:
    result = report(outcomes)
    assert result.false_alarms == []
    assert result.misses == []
