"""Word-list entities: who the caller claimed to be, which school, which app.

Role codes match the check engine's: principal, homeroom_teacher, teacher, school_staff,
education_department, police, bank, other. Everything matches on folded text, so diacritics and case do not
matter; the original spelling only breaks ties where folding merges two words ("trường"/"trưởng").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from nlu.textview import FoldedText

ROLES: tuple[str, ...] = (
    "principal",
    "homeroom_teacher",
    "teacher",
    "school_staff",
    "education_department",
    "police",
    "bank",
    "other",
)

_ROLE_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"(?:pho )?hieu truong|hieu pho|ban giam hieu|bgh|principal|headmaster", "principal"),
    (
        r"(?:(?:co|thay) giao |giao vien |gv |co |thay )?chu nhiem|gvcn|gv ?cn|homeroom teacher"
        r"|giao vien chu nhiem",
        "homeroom_teacher",
    ),
    (r"(?:co|thay) giao|giao vien(?: bo mon)?|gv|teacher", "teacher"),
    (
        r"(?:nhan vien|can bo|ke toan|thu quy|van thu|van phong|y te|giao vu|bao ve)(?: cua)?(?: nha)? truong"
        r"|nha truong|school (?:staff|office)",
        "school_staff",
    ),
    (
        r"(?:phong|so|bo) (?:giao duc(?: (?:va|&) dao tao)?|gd ?(?:&|va|-)? ?dt|gddt|gd)"
        r"|education (?:department|office)|department of education",
        "education_department",
    ),
    (r"(?:can bo |nguoi ben )?(?:cong an|canh sat)(?: (?:phuong|xa|quan|huyen|tinh))?|police", "police"),
    (r"(?:nhan vien )?ngan hang|bank staff|the bank", "bank"),
    (
        r"buu dien|dien luc|toa an|vien kiem sat|nha mang|tong dai(?: vien)?|bao hiem xa hoi|bhxh|bac si|y ta"
        r"|nhan vien (?:viettel|vnpt|mobifone|vinaphone)|co quan thue|chi cuc thue|shipper",
        "other",
    ),
)
_ROLE_RX = tuple((re.compile(rf"\b(?:{p})\b"), code) for p, code in _ROLE_PATTERNS)
# Police, banks and the others are also where parents are told to go ("báo công an", "tài khoản ngân hàng"),
# so for them a claim needs a cue: "xưng là công an", "bên ngân hàng gọi", "giả danh bưu điện".
_NEEDS_CLAIM = frozenset({"police", "bank", "other"})
_CLAIM_BEFORE = re.compile(
    r"\b(?:xung|nhan|gia danh|mao danh|gia lam|gia|la|tu|ben|cua|nguoi|claiming|pretending|from)"
    r"(?:\s+\w+){0,2}\s+$"
)
_CLAIM_AFTER = re.compile(r"^(?:\s+\w+){0,2}?\s+(?:goi|nhan|yeu cau|bao|noi|doi|de nghi|called|said)\b")


def find_roles(view: FoldedText, *, claimed: bool = False) -> Iterator[tuple[int, int, str]]:
    """Yield folded ``(start, end, role_code)`` for each claimed role.

    ``claimed``: the text answers "who did they claim to be?", so "nhân viên ngân hàng" needs no "xưng là".
    """
    folded = view.folded
    for rx, code in _ROLE_RX:
        for m in rx.finditer(folded):
            if code in _NEEDS_CLAIM and not claimed and not (
                _CLAIM_BEFORE.search(folded[max(0, m.start() - 40) : m.start()])
                or _CLAIM_AFTER.match(folded[m.end() : m.end() + 40])
            ):
                continue
            yield m.start(), m.end(), code


APPS: tuple[tuple[str, str], ...] = (
    (r"vn ?edu", "vnEdu"),
    (r"smas", "SMAS"),
    (r"e ?net ?viet", "eNetViet"),
    (r"k12 ?online|k12", "K12Online"),
    (r"misa ?emis|emis|misa", "MISA EMIS"),
    (r"vne ?id", "VNeID"),
    (r"so lien lac(?: dien tu)?|slldt|sll dt", "Sổ liên lạc điện tử"),
)
_APP_RX = tuple((re.compile(rf"\b(?:{p})\b"), name) for p, name in APPS)


def find_apps(view: FoldedText) -> Iterator[tuple[int, int, str]]:
    """Yield folded ``(start, end, canonical_app_name)``."""
    for rx, name in _APP_RX:
        for m in rx.finditer(view.folded):
            yield m.start(), m.end(), name


_LEVELS = (
    "trung hoc co so", "trung hoc pho thong", "mam non", "mau giao", "tieu hoc", "thcs", "thpt", "ptcs",
    "pho thong", "lien cap", "chuyen", "ptdtbt", "ptdtnt", "th", "mn",
)  # fmt: skip
# These qualify a level ("THPT chuyên …") but start no school mention: "chuyển tiền" folds to "chuyen tien".
_QUALIFIERS = frozenset({"chuyen", "pho thong", "lien cap"})
_LEVEL_STARTS = frozenset(level.split()[0] for level in _LEVELS if level not in _QUALIFIERS)
_WRITTEN_LEVEL = {"chuyen": "chuyên"}
# Words that end a lowercase school name: verbs, pronouns, places and particles that follow one in a message.
# fmt: off
_STOP = frozenset({
    "goi", "nhan", "bao", "noi", "yeu", "cau", "cua", "la", "co", "khong", "va", "o", "tai", "ma", "nhe",
    "a", "ah", "oi", "em", "con", "chau", "toi", "minh", "anh", "chi", "lop", "quan", "huyen", "phuong",
    "xa", "tinh", "thanh", "tp", "da", "dang", "vua", "moi", "hom", "sang", "chieu", "nay", "qua", "roi",
    "de", "cho", "den", "ve", "tu", "gui", "sdt", "hoc", "ban", "nguoi", "thay", "giao", "vien", "hieu",
    "truong", "nha", "bi", "duoc", "can", "muon", "xin", "hay", "vay", "the", "nao", "gi", "sao", "kia",
    "do", "day", "ay", "rang", "hoi", "voi", "nhung", "nen", "vi", "neu", "khi", "luc", "ngay", "chuyen",
    "tien", "cai", "link", "app", "doi", "nop", "xac", "lam", "ky",
    # Question words: "có phải của trường thật không?" names no school called "trường thật".
    "that", "thiet", "phai", "ha", "chu", "nhi",
})
# fmt: on
_NOT_SCHOOL_BEFORE = frozenset(
    {"hieu", "lop", "to", "bo", "thi", "moi", "hien", "quang", "chien", "thuong", "pho", "doi"}
)
_TOKEN = re.compile(r"[a-z0-9]+")


def _written(view: FoldedText, start: int, end: int) -> str:
    s, e = view.span(start, end)
    return unicodedata.normalize("NFC", view.text[s:e])


def find_schools(view: FoldedText) -> Iterator[tuple[int, int, str]]:
    """Yield folded ``(start, end, name_as_written)`` for "trường Nguyễn Du", "THCS Lê Lợi", "truong th kim dong"."""
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(view.folded)]
    words = [t[2] for t in tokens]
    i = 0
    while i < len(tokens):
        start_i = i
        if words[i] != "truong" and words[i] not in _LEVEL_STARTS:
            i += 1
            continue
        if words[i] == "truong":
            if (i > 0 and words[i - 1] in _NOT_SCHOOL_BEFORE) or _written(view, *tokens[i][:2]).lower() == "trưởng":
                i += 1
                continue
            i += 1
        level_end = _consume_levels(view, tokens, words, i, after_school_word=start_i != i)
        if level_end == i and start_i == i:
            i += 1
            continue
        name_end = _consume_name(view, tokens, words, level_end)
        if name_end == level_end:
            i = max(level_end, start_i + 1)
            continue
        s, e = tokens[start_i][0], tokens[name_end - 1][1]
        yield s, e, _written(view, s, e)
        i = name_end


def _consume_levels(
    view: FoldedText, tokens: list[tuple[int, int, str]], words: list[str], i: int, *, after_school_word: bool
) -> int:
    first = i
    while i < len(words):
        for level in _LEVELS:
            parts = level.split()
            if words[i : i + len(parts)] == parts:
                if level in _QUALIFIERS and i == first and not after_school_word:
                    continue
                written = _written(view, *tokens[i][:2]).lower()
                if level in _WRITTEN_LEVEL and written != level and written != _WRITTEN_LEVEL[level]:
                    continue
                # "th"/"mn" are also shorthand for other things; only the capitalised forms name a level.
                if level in ("th", "mn") and _written(view, *tokens[i][:2]) != level.upper():
                    continue
                i += len(parts)
                break
        else:
            return i
    return i


def _consume_name(view: FoldedText, tokens: list[tuple[int, int, str]], words: list[str], i: int) -> int:
    j = i
    if j < len(words) and words[j] == "so" and j + 1 < len(words) and words[j + 1].isdigit():
        j += 2  # "THCS số 1"
    first = _written(view, *tokens[j][:2]) if j < len(words) else ""
    if first[:1].isupper():
        while j < len(words) and j - i < 5 and _written(view, *tokens[j][:2])[:1].isupper():
            j += 1
        return j
    while j < len(words) and j - i < 4 and words[j] not in _STOP and words[j].isalpha():
        j += 1
    return j
