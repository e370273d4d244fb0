"""The trained engine: parse shape, the boundaries the dialogue relies on, confidence, the quality bar."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from nlu import api, artefact
from nlu.api import DEFAULT_TRAINING_FILE, LOW_CONFIDENCE, NluEngine, default_engine, evaluate
from nlu.model import ModelFormatError
from nlu.normalize import fold

TEST_FILE = DEFAULT_TRAINING_FILE.parent / "test.yml"


def test_parse_returns_rasa_model_parse_shape(engine: NluEngine) -> None:
    text = "số 0377 123 999 gọi xưng cô chủ nhiệm, đòi mã otp, tôi chưa đưa, có thật không"
    out = engine.parse(text).to_rasa()
    assert set(out) == {"text", "intent", "intent_ranking", "entities"}
    assert out["text"] == text
    assert out["intent"] == {"name": "check_call", "confidence": out["intent_ranking"][0]["confidence"]}
    assert out["intent_ranking"][0]["name"] == "check_call"
    assert [r["name"] for r in out["intent_ranking"]] != [] and all(set(r) == {"name", "confidence"}
                                                                 for r in out["intent_ranking"])  # fmt: skip
    assert out["entities"][0] == {"entity": "phone_number", "value": "+84377123999", "start": 3, "end": 15}


def test_ranking_is_a_sorted_probability_distribution_over_all_intents(engine: NluEngine) -> None:
    result = engine.parse("link bit.ly/abc có an toàn không")
    confidences = [c for _, c in result.ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert math.isclose(sum(confidences), 1.0, abs_tol=0.01)
    assert {name for name, _ in result.ranking} == set(engine.intents)
    assert (result.intent, result.confidence) == result.ranking[0]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # Money gone wins even when the app was installed too.
        ("tôi đã cài app theo link rồi bị trừ mất 5 triệu", "money_lost"),
        # Details handed over, money still there.
        ("tôi đã cài app theo link và nhập mật khẩu ngân hàng, tiền vẫn còn", "shared_credentials"),
        # Asked for an OTP, did not give it, asks whether it is real.
        ("người gọi đòi mã otp, tôi không đưa, cái này có phải trường không", "check_call"),
        # The same, but the parent wants to report the number.
        ("người gọi đòi mã otp, tôi không đưa, tôi muốn báo cáo số 0377 123 999", "report_scam"),
        ("kiểm tra giúp link vnedu-capnhat-hs.com", "check_link"),
        ("app sổ liên lạc chính thức tải ở chỗ nào", "ask_official_app"),
        ("co nguoi goi tu xung co giao, that ko", "check_call"),
        ("toi lo ck 2tr cho no r", "money_lost"),
        ("huỷ bỏ đi", "cancel"),
        ("dừng", "cancel"),
        ("đúng", "affirm"),
    ],
)
def test_boundaries_the_dialogue_relies_on(engine: NluEngine, text: str, intent: str) -> None:
    result = engine.parse(text)
    assert result.intent == intent
    assert result.confidence >= LOW_CONFIDENCE


@pytest.mark.parametrize("text", ["xkcd qwzx plmk", "", "   "])
def test_unknown_words_get_a_low_confidence_so_the_bot_asks(engine: NluEngine, text: str) -> None:
    result = engine.parse(text)
    assert result.confidence < LOW_CONFIDENCE
    assert len(result.ranking) == len(engine.intents)  # still a ranking to offer as buttons


def test_held_out_split_meets_the_bar(engine: NluEngine) -> None:
    report = evaluate(engine, TEST_FILE)
    folded = evaluate(engine, TEST_FILE, transform=fold)
    assert report["accuracy"] >= 0.96
    assert report["macro_f1"] >= 0.95
    assert report["accuracy"] - folded["accuracy"] <= 0.02
    assert report["accuracy_when_confident"] >= report["accuracy"]


def test_evaluate_report_counts_by_hand(engine: NluEngine, tmp_path: Path) -> None:
    path = tmp_path / "tiny.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: greet\n  examples: |\n    - xin chào\n    - hủy\n"
        "- intent: cancel\n  examples: |\n    - thôi hủy đi\n",
        encoding="utf-8",
    )
    report = evaluate(engine, path)
    assert report["examples"] == 3
    assert report["accuracy"] == round(2 / 3, 4)
    assert report["per_intent"]["greet"] == {"precision": 1.0, "recall": 0.5, "f1": round(2 / 3, 4), "support": 2}
    assert report["per_intent"]["cancel"] == {"precision": 0.5, "recall": 1.0, "f1": round(2 / 3, 4), "support": 1}
    assert report["macro_f1"] == round(2 / 3, 4)
    assert report["confusions"] == [{"gold": "greet", "predicted": "cancel", "count": 1}]
    assert report["errors"][0]["text"] == "hủy"


def test_save_and_load_give_identical_parses(engine: NluEngine, tmp_path: Path) -> None:
    path = tmp_path / "nested" / "model.npz"
    engine.save(path)
    loaded = NluEngine.load(path)
    assert loaded.intents == engine.intents
    assert loaded.trained_seconds is None
    for text in ("alo", "tôi lỡ đọc mã otp 482913 cho nó rồi", "link sll-vnedu.com thật không"):
        a, b = engine.parse(text), loaded.parse(text)
        assert (a.intent, a.entities) == (b.intent, b.entities)
        np.testing.assert_allclose([c for _, c in a.ranking], [c for _, c in b.ranking], atol=1e-3)


@pytest.mark.parametrize("content", [b"not a zip", b""])
def test_loading_something_else_is_a_model_format_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFormatError, match=str(path)):
        NluEngine.load(path)


def test_default_engine_loads_a_fresh_saved_model(engine: NluEngine, tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    engine.save(path)
    assert default_engine(path).trained_seconds is None  # loaded, not trained


def test_default_engine_retrains_when_the_data_is_newer_or_the_file_is_bad(
    engine: NluEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained: list[Path] = []

    def fake_train(cls: type[NluEngine], path: Path = DEFAULT_TRAINING_FILE) -> NluEngine:
        trained.append(path)
        return engine

    monkeypatch.setattr(api.NluEngine, "train", classmethod(fake_train))
    monkeypatch.setattr(artefact, "ARTEFACT", tmp_path / "not-shipped.npz")  # else the shipped model answers
    stale = tmp_path / "stale.npz"
    engine.save(stale)
    old = DEFAULT_TRAINING_FILE.stat().st_mtime - 3600
    os.utime(stale, (old, old))
    assert default_engine(stale) is engine
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"junk")
    assert default_engine(broken) is engine
    assert default_engine(tmp_path / "missing.npz") is engine
    assert trained == [DEFAULT_TRAINING_FILE] * 3
