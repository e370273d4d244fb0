"""What a message or a caller asked for, read from free text (with or without diacritics, teencode).

Rules, not a model: each asked code has phrases; a phrase counts unless the sentence has already said
"do not" or is describing scammers before it ("không cung cấp mã OTP cho bất kỳ ai", "thủ đoạn giả mạo
nhà trường yêu cầu cài ứng dụng"), and a fresh request ("vui lòng", "hãy gửi…") re-opens the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from handlers.checks.urls import find_urls
from nlu.normalize import normalize

_VERB = (r"(?:cung cap|gui|chia se|dua|tiet lo|doc|bao|nhap|dien|chuyen|cai|tai|bam|nhan|click|truy cap"
         r"|lam theo|nghe theo|tin|cho)")

# Matched on normalised text: folded, teencode expanded ("stk" → "so tai khoan", "ck" → "chuyen khoan").
PATTERNS: Final[dict[str, re.Pattern[str]]] = {
    "otp": re.compile(r"\botp\b|\bma (?:xac thuc|xac nhan|bao mat|kich hoat)\b"),
    "bank_account": re.compile(
        r"\bso tai khoan\b|\btai khoan ngan hang\b|\bthong tin (?:ngan hang|the|tai khoan)\b|\bso the\b"
        r"|\bthe (?:atm|tin dung|ngan hang|ghi no)\b|\binternet banking\b|\bbank account\b"
    ),
    "money_transfer": re.compile(
        r"\bchuyen (?:tien|khoan|gap|ngay|\d)|\b(?:nop|dong|nap|dat|gui) (?:tien|coc|phi|hoc phi)\b"
        r"|\bthanh toan\b|\btransfer\b"
    ),
    "install_app": re.compile(
        r"\b(?:cai(?: dat)?|tai(?! khoan)(?: ve| xuong)?|download|install|cap nhat)\b(?: [\w.]+){0,6}? "
        r"(?:ung dung|app|apk|phan mem|phien ban|so lien lac)\b|\.apk\b"
    ),
    "personal_info": re.compile(
        r"\b(?:thong tin ca nhan|cccd|can cuoc|cmnd|chung minh nhan dan|ngay sinh|ho ten|anh chan dung"
        r"|bo sung ho so|cap nhat (?:thong tin|ho so)|cung cap thong tin)\b"
    ),
    "student_id_code": re.compile(
        r"\bma (?:so )?dinh danh\b|\bdinh danh (?:dien tu|muc 2|cho (?:con|chau|em|hoc sinh)|hoc sinh)\b"
        r"|\bma (?:so )?hoc sinh\b"
    ),
    "click_link": re.compile(
        r"\b(?:bam|nhan|click|an|truy cap|vao) (?:vao )?(?:link|duong link|duong dan|trang web)\b"
    ),
}

# Open a "not a request" stretch: a negated verb, or words that describe scams rather than make requests.
# "dung" is also "đúng"/"sử dụng" once folded, so it only counts before a verb; "neu khong" is a threat.
_OPEN = re.compile(
    rf"(?<!neu )\bkhong (?:nen |duoc |the |bao gio |bao h )?{_VERB}\b|\bdung {_VERB}\b|\bkhong bao gio\b"
    rf"|\btuyet doi khong\b|\bchang {_VERB}\b|\bcam {_VERB}\b|\bnever\b|\bdo not\b|\bdon ?t\b"
    r"|\blua dao\b|\bgia mao\b|\bmao danh\b|\bthu doan\b|\bke gian\b|\bcanh bao\b|\bcanh giac\b|\bscam\b"
)
# Close it again: a fresh request. "hay" is both "hãy" (do) and "hay" (or), so it needs a verb after it.
_CLOSE = re.compile(rf"\bvui long\b|\bhay {_VERB}\b|\bxin\b|\bphai {_VERB}\b|\bnhung\b|\btuy nhien\b|\bplease\b")
# "Mã OTP của quý khách là …" delivers a code; it does not ask for one.
_DELIVERY = re.compile(r"\b(?:otp|ma xac thuc|ma xac nhan)\b(?: \w+){0,4}? la\b")

_SENTENCE = re.compile(r"[.!?;]+(?:\s|$)|\n+")


def _sentences(text: str, links: Sequence[tuple[int, int, str]] | None) -> list[str]:
    # Links are blanked first: their dots are not sentence ends and their words are not requests.
    out, pos = [], 0
    for start, end, _link in find_urls(text) if links is None else links:
        out.append(text[pos:start])
        out.append(" link ")
        pos = end
    out.append(text[pos:])
    return [normalize(s) for s in _SENTENCE.split("".join(out)) if s.strip()]


def _requested(sentence: str, start: int) -> bool:
    # Cues are matched on the whole sentence (a cue may run into the phrase: "dung cai ung dung").
    opened = [m.start() for m in _OPEN.finditer(sentence) if m.start() < start]
    if not opened:
        return True
    closed = [m.start() for m in _CLOSE.finditer(sentence) if m.start() < start]
    return bool(closed) and closed[-1] > opened[-1]


def asked_in_text(text: str, links: Sequence[tuple[int, int, str]] | None = None) -> frozenset[str]:
    """The asked codes (``otp``, ``bank_account``, …) that ``text`` requests.

    ``links`` are ``find_urls(text)`` when the caller already has them.
    """
    found: set[str] = set()
    for sentence in _sentences(text, links):
        for code, pattern in PATTERNS.items():
            if code in found:
                continue
            for m in pattern.finditer(sentence):
                if code == "otp" and _DELIVERY.search(sentence):
                    break
                if _requested(sentence, m.start()):
                    found.add(code)
                    break
    return frozenset(found)
