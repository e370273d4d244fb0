"""Normalisation and the classifier's views and cue tokens."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlu.cues import cue_tokens
from nlu.entities import extract_entities
from nlu.features import views
from nlu.normalize import fold, normalize

VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"


@settings(deadline=None)
@given(st.text(alphabet=VIETNAMESE + VIETNAMESE.upper() + " 0123456789.,?!", max_size=60))
def test_fold_keeps_the_length_of_nfc_vietnamese(text: str) -> None:
    text = unicodedata.normalize("NFC", text)
    assert len(fold(text)) == len(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tui KHUM bít j hếtttt", "tui khong biet gi het"),  # "bít" is how "biết" is shortened
        ("ko dc r", "khong duoc roi"),
        ("gvcn ns z", "giao vien chu nhiem noi vay"),
        ("sđt của bgh", "so dien thoai cua ban giam hieu"),
        ("ph hs lớp 5 mún hỏi", "phu huynh hoc sinh lop 5 muon hoi"),
    ],
)
def test_normalize_expands_teencode_and_squeezes_repeats(text: str, expected: str) -> None:
    assert normalize(text) == expected


def cues(text: str) -> list[str]:
    return [t for t in cue_tokens(normalize(text)) if t.startswith("zcue_")]


def test_money_gone_cue_respects_not_yet() -> None:
    assert "zcue_money_gone" in cues("tôi đã chuyển tiền cho nó")
    assert "zcue_money_gone" in cues("bị trừ sạch tiền")
    assert "zcue_money_gone" not in cues("tôi chưa mất tiền")
    assert "zcue_not_done" in cues("tôi chưa chuyển tiền")


def test_gave_cue_and_stop_cue() -> None:
    assert "zcue_gave" in cues("tôi lỡ đọc mã otp rồi")
    assert "zcue_gave" not in cues("tôi chưa đọc mã")
    assert "zcue_stop" in cues("thôi không báo nữa")


def test_views_mask_entities_and_keep_diacritics_only_in_the_tone_view() -> None:
    text = "Đã CK 2tr cho số 0377 123 999 qua link bit.ly/x"
    v = views(text, extract_entities(text))
    assert v.char == "da chuyen khoan zmoney cho so zphone qua link zurl"
    assert v.word.startswith(v.char + " ") and "zcue_money_gone" in v.word.split()
    assert v.tone.split()[:3] == ["đã", "ck", "zmoney"]
