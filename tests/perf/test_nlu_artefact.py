"""The intent model shipped in nlu/model/: current, reproducible from nlu/data, and never used when stale."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from nlu import artefact
from nlu.api import DEFAULT_TRAINING_FILE, NluEngine, default_engine
from nlu.normalize import fold
from nlu.trainingdata import load_examples

TEST_FILE = DEFAULT_TRAINING_FILE.parent / "test.yml"


@pytest.fixture(scope="module")
def shipped() -> NluEngine:
    return NluEngine.load(artefact.ARTEFACT)


def test_the_shipped_model_matches_this_code_and_data(shipped: NluEngine) -> None:
    assert artefact.matches(shipped.fingerprint), (
        f"{artefact.ARTEFACT} was trained from other nlu/ sources or data: rebuild it with `{artefact.REBUILD}` "
        "and commit it with your nlu/ change")


@pytest.mark.slow  # trains a model (seconds of CPU)
def test_retraining_from_the_data_gives_the_same_predictions(shipped: NluEngine) -> None:
    fresh = NluEngine.train()
    assert fresh.intents == shipped.intents
    texts = [e.text for path in (DEFAULT_TRAINING_FILE, TEST_FILE) for e in load_examples(path)]
    texts += [fold(t) for t in texts] + ["haha", "asdfgh", "", "0377 123 999"]
    for text in texts:
        a, b = fresh.parse(text), shipped.parse(text)
        np.testing.assert_allclose([c for _, c in a.ranking], [c for _, c in b.ranking], atol=1e-4, err_msg=text)
        # Solver round-off (~1e-8) may only reorder intents that are tied to within that tolerance.
        if a.intent != b.intent:
            assert abs(dict(a.ranking)[b.intent] - a.confidence) < 1e-4, text


def test_a_fresh_install_answers_with_the_shipped_model(tmp_path: Path, shipped: NluEngine) -> None:
    engine = default_engine(tmp_path / "no-model-yet.npz")
    assert engine.trained_seconds is None  # loaded, not trained
    assert engine.fingerprint == shipped.fingerprint


def test_a_saved_model_from_other_code_is_not_used(tmp_path: Path, shipped: NluEngine) -> None:
    other = tmp_path / "model.npz"
    shutil.copy(artefact.ARTEFACT, other)
    engine = NluEngine.load(other)
    assert engine.fingerprint is not None
    engine._model.fingerprint = {**engine.fingerprint, "raw": "0" * 64, "code": "1" * 64}
    engine.save(other)
    chosen = default_engine(other)
    assert chosen.fingerprint == shipped.fingerprint  # the shipped one, not the stale file


def test_a_current_saved_model_is_preferred(tmp_path: Path, shipped: NluEngine) -> None:
    mine = tmp_path / "model.npz"
    shutil.copy(artefact.ARTEFACT, mine)
    engine = NluEngine.load(mine)
    engine._model.fingerprint = {**artefact.fingerprint().as_meta(), "marker": "local"}
    engine.save(mine)
    assert (default_engine(mine).fingerprint or {}).get("marker") == "local"


def test_fingerprints_ignore_comments_and_docstrings_but_not_code() -> None:
    base = 'def f(x):\n    """Doc."""\n    return x + 1  # add one\n'
    reworded = '# header\ndef f(x):\n    """Another doc."""\n\n    return x + 1\n'
    changed = 'def f(x):\n    """Doc."""\n    return x + 2\n'
    assert artefact._syntax(base) == artefact._syntax(reworded)
    assert artefact._syntax(base) != artefact._syntax(changed)


def test_recorded_fingerprints_are_checked_field_by_field() -> None:
    now = artefact.fingerprint().as_meta()
    assert artefact.matches(now)
    assert artefact.matches({**now, "raw": "x"})  # bytes differ (a comment), syntax and data the same
    assert not artefact.matches({**now, "raw": "x", "code": "y"})
    assert not artefact.matches({**now, "raw": "x", "data": "z"})
    assert artefact.matches({**now, "raw": "x", "data": "z"}, check_data=False)  # trained on other data on purpose
    assert not artefact.matches(None)


def test_serving_needs_no_scikit_learn_and_training_says_what_is_missing(tmp_path: Path) -> None:
    """scikit-learn is the `train` extra: a server answers without it, and training names the extra."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "sys.modules['sklearn'] = None  # as if the train extra were not installed\n"
        "from pathlib import Path\n"
        "from nlu.api import NluEngine, default_engine\n"
        "from nlu.model import TrainingUnavailable\n"
        f"engine = default_engine(Path({str(tmp_path / 'none.npz')!r}))\n"
        "print(engine.parse('số 0377 123 999 gọi xưng cô chủ nhiệm, có thật không').intent)\n"
        "try:\n"
        "    NluEngine.train()\n"
        "except TrainingUnavailable as exc:\n"
        "    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    intent, message = out.stdout.strip().splitlines()
    assert intent == "check_call"
    assert "scikit-learn" in message and ".[train]" in message
