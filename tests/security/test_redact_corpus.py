"""The redactor decides by context: a labelled corpus of real-looking sentences, both directions.

Regression for issue 16 point 10: "Mã xác thực … là 551177", "OTP: 773-399" and "4111.1111.1111.1111" got
through, while "Vietcombank số tài khoản 0071000123456" (Luhn-valid) and student codes were hidden — the police
lost the scammer's account. tests/data/redact_corpus.tsv: ``expected<TAB>value<TAB>sentence``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.redact import CARD_MARK, OTP_MARK, redact

CORPUS = Path(__file__).resolve().parents[1] / "data" / "redact_corpus.tsv"
MARKS = {"otp_code": OTP_MARK, "card_number": CARD_MARK}


def corpus() -> list[tuple[str, str, str]]:
    rows = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, value, sentence = line.split("\t")
            rows.append((kind, value, sentence))
    return rows


def test_corpus_is_large_and_two_sided() -> None:
    rows = corpus()
    kinds = [k for k, _, _ in rows]
    assert len(rows) >= 200
    assert kinds.count("keep") >= 80 and kinds.count("otp_code") >= 50 and kinds.count("card_number") >= 50


@pytest.mark.parametrize(("kind", "value", "sentence"), corpus(), ids=lambda v: str(v)[:40])
def test_redactor_misses_no_secret_and_hides_no_evidence(kind: str, value: str, sentence: str) -> None:
    clean, kinds = redact(sentence)
    if kind == "keep":
        assert value in clean and not kinds, clean
    else:
        assert value not in clean and MARKS[kind] in clean, clean
        assert kind in kinds


@pytest.mark.parametrize("sentence", [
    "Mã xác thực gửi cho phụ huynh hôm nay là 551177", "đọc mã xác thực được gửi về điện thoại là 662288",
    "OTP: 773-399", "4111.1111.1111.1111", "mã OTP của tôi đã gửi cho họ là 483920",
])
def test_the_reported_secrets_are_hidden(sentence: str) -> None:
    clean, _ = redact(sentence)
    assert not any(ch.isdigit() for ch in clean), clean


def test_a_luhn_valid_bank_account_is_kept() -> None:
    assert redact("Vietcombank số tài khoản 0071000123456") == ("Vietcombank số tài khoản 0071000123456", [])
