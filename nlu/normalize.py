"""Text normalisation for matching: NFC, lowercase, diacritics folded, teencode expanded.

Matching always happens on folded text; what we store and show keeps the parent's own spelling.
"""

from __future__ import annotations

import re
import unicodedata

_D_MAP = str.maketrans({"đ": "d", "Đ": "D"})

# Common abbreviations parents type (folded forms). Expanded as whole words only.
TEENCODE: dict[str, str] = {
    "ko": "khong",
    "k": "khong",
    "kh": "khong",
    "hok": "khong",
    "hong": "khong",
    "khg": "khong",
    "kg": "khong",
    "dc": "duoc",
    "dk": "duoc",
    "j": "gi",
    "r": "roi",
    "sdt": "so dien thoai",
    "stk": "so tai khoan",
    "ck": "chuyen khoan",
    "gvcn": "giao vien chu nhiem",
    "bgh": "ban giam hieu",
    "ph": "phu huynh",
    "hs": "hoc sinh",
    "ng": "nguoi",
    "mk": "mat khau",
    "tk": "tai khoan",
    "nh": "ngan hang",
    "vs": "voi",
    "bn": "bao nhieu",
    "tr": "trieu",
    "cx": "cung",
    "ns": "noi",
    "oki": "ok",
    "okie": "ok",
    # Added with the intent classifier: spellings seen in parents' messages.
    "hem": "khong",
    "khum": "khong",
    "mun": "muon",
    "dt": "dien thoai",
    "dth": "dien thoai",
    "nhiu": "nhieu",
    "trc": "truoc",
    "ntn": "nhu the nao",
    "z": "vay",
    "ms": "moi",
    "lm": "lam",
    "tn": "tin nhan",
    "mik": "minh",
    "mn": "moi nguoi",
    "bh": "bao gio",
    "kq": "ket qua",
    "wa": "qua",
    # Added with the labelled dialogue turns (issue 17): days and "biết" as parents shorten them.
    "hqua": "hom qua",
    "hnay": "hom nay",
    "bit": "biet",
    "bik": "biet",
}

_WORD = re.compile(r"[a-z0-9]+")
_REPEAT = re.compile(r"([a-z])\1{2,}")


def fold(text: str) -> str:
    """NFC, lowercase, strip Vietnamese diacritics (đ → d). Keeps punctuation and spacing."""
    text = unicodedata.normalize("NFC", text).translate(_D_MAP).lower()
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def expand_teencode(folded: str) -> str:
    """Replace teencode words in already-folded text by their full forms."""
    return _WORD.sub(lambda m: TEENCODE.get(m.group(0), m.group(0)), folded)


def normalize(text: str) -> str:
    """The canonical matching form: folded, repeated letters squeezed, teencode expanded, spaces collapsed."""
    folded = _REPEAT.sub(r"\1", fold(text))
    return " ".join(expand_teencode(folded).split())
