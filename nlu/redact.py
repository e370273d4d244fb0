"""Find and redact secrets a parent may paste: OTP codes, card numbers, passwords.

These must never reach the database or the logs (Law 91/2025: bank and card data are sensitive, and
we have no purpose for them). Redaction runs on every inbound text before anything else sees it.

What a run of digits is depends on its context, not on the digits alone (tests/data/redact_corpus.tsv holds
the labelled sentences this is measured on):

- **OTP**: 4–8 digits, also grouped ("773-399", "773 399"), with an OTP word shortly before ("mã OTP", "mã xác
  thực … là", "code", "PIN") or right after ("551177 là mã OTP"). Not when the word names something else
  ("mã học sinh", "mã đơn hàng"), nor an amount ("500000 đồng"), nor when an account or phone word sits between.
- **Card**: 13–19 digits passing Luhn, plain or grouped by spaces, dots or dashes, with a card word nearby
  ("thẻ", "card", "Visa"), or — with no context — card-shaped (15, 16 or 19 digits, or grouped in fours).
- **Kept**: a number next to an account word or a bank's name ("Vietcombank số tài khoản 0071000123456") is
  what the police need to act on the scammer, even when it happens to pass Luhn; a student code stays too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from nlu.normalize import fold

OTP_MARK = "[OTP đã ẩn]"
CARD_MARK = "[số thẻ đã ẩn]"
PASSWORD_MARK = "[mật khẩu đã ẩn]"  # noqa: S105  # nosec B105 - a marker, not a password


@dataclass(frozen=True, slots=True)
class Secret:
    kind: str  # "otp_code" | "card_number" | "password"
    start: int
    end: int
    value: str


# A run of digits, optionally grouped by single spaces, dots or dashes ("4111.1111.1111.1111", "773-399").
_NUMBER = re.compile(r"(?<![\d.,/+-])\d+(?:[ .-]\d+)*(?![\d]|[.,]\d)")

# Words are matched on the folded text (no diacritics, lower case), as whole words.
_OTP_WORDS = re.compile(
    r"\b(?:otp|ma xac (?:thuc|nhan|minh)|ma kich hoat|ma bao mat|ma dang nhap|ma giao dich|ma mot lan|"
    r"pin|passcode|code|verification|one[- ]time|smart ?otp|ma)\b"
)
# "mã" followed by one of these names an identifier, not a one-time code.
_NOT_OTP_AFTER_MA = re.compile(
    r"^\s*(?:so )?(?:hoc sinh|hs|sinh vien|sv|truong|lop|don(?: hang)?|van don|buu (?:chinh|dien)|"
    r"khach hang|kh|nhan vien|nv|so thue|thue|bhxh|bao hiem|the|tai khoan|tk|ho so|cong dan|dinh danh|"
    r"giam gia|khuyen mai|san pham|sp|phong|ve|chuyen (?:bay|tien))\b"
)
_OTP_AFTER = re.compile(r"^\s*(?:la|chinh la|do la|,)?\s*(?:cai\s+)?(?:ma\s+)?(?:otp|xac (?:thuc|nhan|minh)|pin)\b")
_STUDENT = re.compile(r"\b(?:ma (?:so )?(?:hoc sinh|hs|sinh vien|sv)|mshs|mssv|ma dinh danh|so bao danh|sbd|"
                      r"student (?:code|id|number|no))\b")
# "code" after one of these is an identifier ("school code", "postal code"), not a one-time code.
_NOT_OTP_BEFORE_CODE = re.compile(r"\b(?:student|school|postal|zip|order|promo|discount|country|area|class)\s+$")
_ACCOUNT_WORDS = re.compile(
    r"\b(?:stk|so tai khoan|so tk|tai khoan|tk|account(?: number| no)?|acc|acct|"
    r"chuyen (?:tien|khoan) (?:vao|toi|den|qua)|ngan hang|nh|bank|chu tai khoan|ctk)\b"
)
_BANKS = re.compile(
    r"\b(?:vietcombank|vcb|techcombank|tcb|mb ?bank|mb|bidv|agribank|vietinbank|viettinbank|acb|tp ?bank|"
    r"sacombank|vp ?bank|shb|hd ?bank|ocb|msb|maritime ?bank|vib|sea ?bank|eximbank|lpbank|lienvietpostbank|"
    r"nam a ?bank|bac a ?bank|pvcombank|abbank|kienlongbank|scb|baovietbank|vietabank|ncb|pgbank|saigonbank|"
    r"vietbank|gpbank|oceanbank|cake|timo|momo|zalopay|viettel ?money)\b"
)
_CARD_WORDS_FOLDED = re.compile(
    r"\b(?:card|visa|master ?card|jcb|amex|napas|credit|debit|so the|the (?:atm|tin dung|ghi no|visa|master|"
    r"ngan hang|cua|so)|atm)\b"
)
_CARD_WORD_ORIGINAL = re.compile(r"\bthẻ\b")  # with its diacritic: "thể" and "thế" are other words
_PHONE_WORDS = re.compile(r"\b(?:sdt|so dien thoai|dien thoai|so dt|dt|hotline|goi|zalo|phone)\b")
_MONEY_AFTER = re.compile(r"^\s*(?:d\b|đ|dong|vnd|k\b|nghin|ngan|trieu|tr\b|ty|usd|\$|%)")
_PASSWORD = re.compile(
    r"\b(?:mat khau|password|pass(?:word)?|passwd|pw|mk)\b\s*(?:cua toi|cua em|la|:|=|-)?\s*(?:la|:)?\s*(\S+)"
)

OTP_WINDOW = 60  # characters between the OTP word and the code ("mã xác thực gửi cho phụ huynh hôm nay là …")
CARD_WINDOW = 40
ACCOUNT_WINDOW = 40


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _before(folded: str, start: int, width: int) -> str:
    """The text before ``start`` within ``width`` characters, cut at the start of the line or sentence."""
    window = folded[max(0, start - width) : start]
    for stop in ("\n", ". ", "? ", "! ", "; "):
        cut = window.rfind(stop)
        if cut >= 0:
            window = window[cut + len(stop) :]
    return window


def _otp_word_before(window: str, digits: str) -> bool:
    """An OTP word in ``window`` that is not "mã <identifier>", and no account label nearer the number.

    A phone word between them ("mã xác thực gửi về điện thoại là 662288": where the code went) names a phone
    only for numbers that can be one of that length: a hotline (1800…, 1900…).
    """
    last = None
    for m in _OTP_WORDS.finditer(window):
        if m.group(0) == "ma" and _NOT_OTP_AFTER_MA.match(window[m.end() :]):
            continue
        if m.group(0) == "code" and _NOT_OTP_BEFORE_CODE.search(window[: m.start()]):
            continue
        last = m
    if last is None:
        return False
    gap = window[last.end() :]
    if _ACCOUNT_WORDS.search(gap) or _BANKS.search(gap):
        return False
    phone_shaped = digits.startswith(("1800", "1900"))
    return not (phone_shaped and _PHONE_WORDS.search(gap))


def _is_otp(folded: str, start: int, end: int, digits: str) -> bool:
    if not 4 <= len(digits) <= 8 or _MONEY_AFTER.match(folded[end : end + 8]):
        return False
    window = _before(folded, start, OTP_WINDOW)
    if _STUDENT.search(window[-30:]):
        return False
    return _otp_word_before(window, digits) or bool(_OTP_AFTER.match(folded[end : end + 30]))


def _is_card(folded: str, original: str, start: int, end: int, digits: str, groups: list[str]) -> bool:
    if not 13 <= len(digits) <= 19 or not luhn_ok(digits):  # a number failing Luhn is no card anyone can use
        return False
    near = _before(folded, start, CARD_WINDOW)
    near_original = original[max(0, start - CARD_WINDOW) : start].lower()
    card_word = bool(_CARD_WORDS_FOLDED.search(near) or _CARD_WORD_ORIGINAL.search(near_original))
    account_near = _before(folded, start, ACCOUNT_WINDOW)
    account_word = bool(_ACCOUNT_WORDS.search(account_near) or _BANKS.search(account_near))
    if _STUDENT.search(near):
        return False
    if card_word:
        # The nearest label wins: "thẻ 4111… , stk 0071…" — each number takes the word right before it.
        card_at = max([m.end() for m in _CARD_WORDS_FOLDED.finditer(near)]
                      + [m.end() for m in _CARD_WORD_ORIGINAL.finditer(near_original)] + [-1])
        # A bank's name after a card word is the card's issuer ("Thẻ Vietcombank của tôi: 4111…"), no account.
        account_at = max([m.end() for m in _ACCOUNT_WORDS.finditer(near)] + [-1])
        return card_at >= account_at
    if account_word:
        return False  # the scammer's account: the police need it
    in_fours = len(groups) >= 3 and all(len(g) == 4 for g in groups[:-1])
    return len(digits) in (15, 16, 19) or in_fours


def find_secrets(text: str) -> list[Secret]:
    """Every OTP, card number and password in ``text``, with offsets into ``text``."""
    text_nfc = unicodedata.normalize("NFC", text)
    folded = fold(text)
    if len(folded) != len(text) or len(text_nfc) != len(text):  # exotic combining input
        folded = text.lower()
    found: list[Secret] = []
    for m in _NUMBER.finditer(folded):
        start, end = m.start(), m.end()
        groups = re.split(r"[ .-]", m.group(0))
        digits = "".join(groups)
        if _is_card(folded, text, start, end, digits, groups):
            found.append(Secret("card_number", start, end, text[start:end]))
        elif _is_otp(folded, start, end, digits):
            found.append(Secret("otp_code", start, end, text[start:end]))
        elif len(groups) > 1:
            # "mã OTP 482913 4111 1111 1111 1111": a code and a card run together; judge each group alone too.
            offset = start
            for g in groups:
                g_start = folded.index(g, offset)
                g_end = g_start + len(g)
                offset = g_end
                if _is_otp(folded, g_start, g_end, g):
                    found.append(Secret("otp_code", g_start, g_end, text[g_start:g_end]))
    for m in _PASSWORD.finditer(folded):
        found.append(Secret("password", m.start(1), m.end(1), text[m.start(1) : m.end(1)]))
    # Our own markers are not secrets: redacting an already-redacted text must change nothing.
    markers = [(m.start(), m.end()) for m in _MARKER.finditer(text)]
    found = [f for f in found if not any(f.start < end and start < f.end for start, end in markers)]
    # Drop overlaps, keeping the earliest (then longest) match.
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    result: list[Secret] = []
    for s in found:
        if result and s.start < result[-1].end:
            continue
        result.append(s)
    return result


_MARKS = {"otp_code": OTP_MARK, "card_number": CARD_MARK, "password": PASSWORD_MARK}
_MARKER = re.compile("|".join(re.escape(m) for m in _MARKS.values()))


def redact(text: str) -> tuple[str, list[str]]:
    """Return ``text`` with secrets replaced by markers, and the kinds that were found."""
    secrets = find_secrets(text)
    if not secrets:
        return text, []
    out: list[str] = []
    pos = 0
    for s in secrets:
        out.append(text[pos : s.start])
        out.append(_MARKS[s.kind])
        pos = s.end
    out.append(text[pos:])
    return "".join(out), sorted({s.kind for s in secrets})
