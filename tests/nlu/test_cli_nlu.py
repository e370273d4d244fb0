"""``hotline nlu train | parse | evaluate`` through click's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bot.cli_nlu import nlu_group
from nlu.api import DEFAULT_TRAINING_FILE, NluEngine
from nlu.trainingdata import load_examples

TEST_FILE = DEFAULT_TRAINING_FILE.parent / "test.yml"


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight lines per intent from nlu.yml: enough for a fast, working model."""
    per_intent: dict[str, list[str]] = {}
    for e in load_examples(DEFAULT_TRAINING_FILE):
        if len(per_intent.setdefault(e.intent, [])) < 8:
            per_intent[e.intent].append(e.text)
    data = {"version": "3.1", "nlu": [{"intent": i, "examples": "".join(f"- {t}\n" for t in ts)}
                                      for i, ts in per_intent.items()]}  # fmt: skip
    path = tmp_path_factory.mktemp("data") / "small.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def saved_model(engine: NluEngine, tmp_path: Path) -> Path:
    path = tmp_path / "model.npz"
    engine.save(path)
    return path


def test_train_saves_a_model(small_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "m" / "model.npz"
    result = CliRunner().invoke(nlu_group, ["train", "--data", str(small_data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "trained 18 intents" in result.output
    assert len(NluEngine.load(out).intents) == 18


def test_train_reports_bad_data(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("nlu: 3\n", encoding="utf-8")
    result = CliRunner().invoke(nlu_group, ["train", "--data", str(bad), "--out", str(tmp_path / "m.npz")])
    assert result.exit_code == 1
    assert "expected a mapping" in result.output


def test_parse_json_is_rasa_shaped(saved_model: Path) -> None:
    text = "tôi lỡ ck 2tr cho stk 0123456789 rồi"
    result = CliRunner().invoke(nlu_group, ["parse", text, "--json", "--model", str(saved_model)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["text"] == text
    assert out["intent"]["name"] == "money_lost"
    assert out["intent_ranking"][0] == out["intent"]
    assert {"entity": "money_amount", "value": 2_000_000, "start": 10, "end": 13} in out["entities"]
    assert {"entity": "bank_account", "value": "0123456789", "start": 22, "end": 32} in out["entities"]


def test_parse_readable(saved_model: Path) -> None:
    result = CliRunner().invoke(nlu_group, ["parse", "link bit.ly/abc thật không", "--model", str(saved_model)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("intent: check_link")
    assert "url" in result.output and "'bit.ly/abc'" in result.output


def test_evaluate_json(saved_model: Path) -> None:
    result = CliRunner().invoke(nlu_group, ["evaluate", str(TEST_FILE), "--json", "--model", str(saved_model)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["accuracy"] >= 0.96 and report["macro_f1"] >= 0.95
    assert set(report["per_intent"]["check_call"]) == {"precision", "recall", "f1", "support"}
    assert all(set(c) == {"gold", "predicted", "count"} for c in report["confusions"])


def test_evaluate_table_with_folded_diacritics(saved_model: Path) -> None:
    args = ["evaluate", str(TEST_FILE), "--fold-diacritics", "--errors", "--model", str(saved_model)]
    result = CliRunner().invoke(nlu_group, args)
    assert result.exit_code == 0, result.output
    assert "(diacritics folded)" in result.output
    assert "accuracy 0.9" in result.output
    assert "money_lost" in result.output and "top confusions" in result.output


def test_evaluate_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(nlu_group, ["evaluate", str(tmp_path / "nope.yml")])
    assert result.exit_code == 2
