"""Harm already done, read from a parent's words: money gone, or a secret handed over / a scam app installed.

Rules over :func:`nlu.normalize.normalize` output (``ck`` → "chuyen khoan", ``mk`` → "mat khau", ``r`` → "roi"
are expanded already). A phrase counts only when it is *asserted*: not in a negated, unreal or questioned
stretch (:mod:`nlu.negation`: "chưa mất tiền", "suýt nữa thì chuyển", "có bị trừ tiền không?") and not what the
scammer asked for ("họ bảo đọc mã OTP"). The dialogue's urgent path and the classifier's cue features both read
this, so the rules and the model agree about what a denial is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nlu.negation import Span, asserted, kind_at, scopes

_PAST = r"(?:da|vua|lo|trot|moi|bi|lai|lo tay|da lo|vua moi)"
_ASKING = r"(?:bao|bat|doi|yeu cau|keu|nho|de nghi|hay|vui long|huong dan|ep|muon)"
_MONEY_VERB = r"(?:chuyen khoan|chuyen tien|chuyen|gui tien|nap tien|nap|dong tien|nop tien)"
_AMOUNT = (r"(?:tien|zmoney|\d[\d.,]*\s?(?:k|tr|trieu|ty|nghin|ngan|cu|d|dong)?"
           r"|(?:mot|hai|ba|bon|nam|sau|bay|tam|chin|muoi|tram)\b)")
_CODE = (r"(?:(?:ma\s+)?(?:otp|zotp|smart otp|pin)|ma xac (?:thuc|nhan|minh)|mat khau|password|so the|zcard|"
           r"thong tin (?:the|dang nhap)|ma bao mat|ma giao dich|ma)\b")
_GIVE = r"(?:doc|dua|gui|cung cap|nhap|cho|noi|khai|dien|chia se|go|nhan tin|bao)"
# "rồi" that closes what was done, not "rồi" = then ("cài app rồi đọc mã OTP" lists what they asked for).
_DONE = (r"(?:roi|xong|luon)\b(?!\s+(?:doc|dua|gui|nhap|bam|cai|tai|chuyen|goi|nhan|lam|mo|vao|bao|hoi|cho|"
         r"chuyen khoan|dang nhap|cung cap)\b)")
_APP = r"(?:app|ung dung|phan mem|apk|file|so lien lac|zapp|ban cap nhat)"
_INSTALL = r"(?:cai dat|cai|tai(?! khoan)(?: ve| xuong)?)"

_MONEY = tuple(re.compile(p) for p in (
    rf"\b{_PAST}\s+(?:(?!{_ASKING}\b)\w+\s+){{0,2}}?{_MONEY_VERB}\b",
    rf"\b{_MONEY_VERB}\b(?:\s+\w+){{0,6}}?\s+(?:mat roi\b|{_DONE})",
    rf"\bmat\s+(?:het\s+|sach\s+|toi\s+|khoang\s+|tam\s+|gan\s+|may\s+)?(?:{_AMOUNT}|sach|het)",
    r"\bbi\s+lua\s+(?:mat|het|lay|\d|zmoney|roi|tien)",
    r"\bbi\s+(?:tru|rut|lay|cuom|chiem doat|hack|mat)\b",
    r"\btai khoan\b(?:\s+\w+){0,3}?\s+(?:bi|da|vua)\s+(?:tru|rut|mat|lay|chuyen di|hack|tru tien)",
    r"\b(?:rut|lay|cuom|tru|chiem doat|hut|cuop)\s+(?:het|sach|mat|luon|zmoney)\b",
    r"\bbay\s+(?:sach|het)\b|\b(?:tru|rut)\s+sach\b",
    # The money as subject: "tiền mất luôn", "tiền trong tài khoản bay hết", "tiền bị trừ rồi".
    r"\btien\b(?:\s+\w+){0,3}?\s+(?:mat|bay|bi (?:tru|rut|lay|chuyen di))\b",
    r"\b(?:sent|transferred|lost|paid)\b(?:\s+\w+){0,3}?\s+(?:money|\d|dong|vnd|million)|\bmoney\s+(?:is\s+|was\s+)?(?:gone|taken|stolen)",
))
# "mất rồi" on its own or after its subject is money gone; after another verb it is only "oh no" ("lỡ cài ứng
# dụng giả mất rồi", "quên mất rồi").
_LOST_ALONE = re.compile(r"\bmat\s+roi\b")
_OTHER_VERB = re.compile(r"\b(?:cai|tai|doc|dua|gui|nhap|bam|quen|xoa|lam|noi|ngu|cho|dien|go)\b")
_MONEY_WORD = re.compile(r"\b(?:tien|trieu|nghin|zmoney|chuyen|tai khoan|the)\b|\d")
_SHARED = tuple(re.compile(p) for p in (
    rf"\b{_PAST}\s+(?:\w+\s+)?{_GIVE}\s+(?:\w+\s+){{0,3}}?{_CODE}",
    rf"\b{_GIVE}\s+(?:\w+\s+){{0,3}}?{_CODE}(?:\s+\w+){{0,6}}?\s+{_DONE}",
    rf"\b(?:toi|minh|em|me|vo|chong|bo|con)\s+(?:da\s+|lo\s+|vua\s+)?{_GIVE}\s+(?:\w+\s+){{0,2}}?{_CODE}",
    rf"{_CODE}(?:\s+\w+){{0,4}}?\s+(?:da|vua|lo)\s+(?:\w+\s+)?{_GIVE}\b",
    rf"\b(?:nhap|dien|go)\s+(?:\w+\s+){{0,2}}?{_CODE}(?=[^.!?]{{0,80}}\b{_DONE})",
    rf"\b(?:lo|da|vua)\b[^.,;!?]{{0,40}}?\b(?:nhap|dien|go)\s+(?:\w+\s+){{0,2}}?{_CODE}",
    r"\b(?:gave|shared|sent|told|read)\s+(?:them\s+|him\s+|her\s+)?(?:the\s+|my\s+)?(?:otp|code|password|card|pin)",
))
# A giving verb with its object left out ("đòi OTP, em lỡ đọc cho nó rồi"): harm when a secret is named nearby.
_SHARED_ELIDED = re.compile(
    rf"\b{_PAST}\s+{_GIVE}\b|\b(?:toi|minh|em|me)\s+{_GIVE}\s+(?:cho\s+(?:ho|no|nguoi ta|chung no)\s+)?{_DONE}")
_CODE_NAMED = re.compile(r"\b(?:otp|zotp|ma xac (?:thuc|nhan)|mat khau|pin|so the|zcard|ma)\b")
_INSTALLED = tuple(re.compile(p) for p in (
    rf"\b{_PAST}\s+(?:\w+\s+)?{_INSTALL}\b",
    rf"\b{_INSTALL}\s+(?:\w+\s+){{0,4}}?{_APP}\b(?:\s+\w+){{0,4}}?\s+{_DONE}",
    rf"\b(?:toi|minh|em|me|vo|chong|con)\s+(?:\w+\s+)?{_INSTALL}\s+(?:\w+\s+){{0,2}}?{_APP}\b(?:\s+\w+){{0,4}}?\s+{_DONE}",
    r"\binstalled\b",
))
_APP_NAMED = re.compile(rf"\b{_APP}\b")
_CODE_KIND = (("otp", re.compile(r"\b(?:otp|zotp|pin|ma xac (?:thuc|nhan|minh)|ma bao mat|ma giao dich|code|ma)\b")),
                ("password", re.compile(r"\b(?:mat khau|password|thong tin dang nhap)\b")),
                ("card", re.compile(r"\b(?:so the|zcard|thong tin the|card)\b")))
# A denied act with its object left out: "họ đòi OTP nhưng tôi không đưa", "mình không đọc".
_DENIABLE = re.compile(r"\b(?:dua|doc|chuyen|cai|gui|nhap|cung cap|mat|tru|cho|noi|bam|ck|nap|tai|lam)\b")
_ASK_BEFORE = re.compile(rf"\b{_ASKING}\b(?:\s+\w+)?\s*$")


@dataclass(frozen=True)
class Harm:
    """What a message says was already lost or given. ``denied``: harm was mentioned only to deny it."""

    money: bool = False
    shared: frozenset[str] = frozenset()  # otp | password | card | installed_app
    denied: bool = False
    questioned: bool = False  # harm was only asked about ("tôi có bị trừ tiền không?")
    positions: tuple[int, ...] = field(default=())  # where each asserted harm phrase starts

    @property
    def kind(self) -> str | None:
        """``money_lost`` or ``shared_credentials`` (money wins: it is the more urgent), or None."""
        if self.money:
            return "money_lost"
        return "shared_credentials" if self.shared else None


def _asked_for(norm: str, start: int) -> bool:
    """ "họ bảo (tôi) đọc mã OTP": the scammer's request, not something the parent did."""
    clause_start = max(norm.rfind(p, 0, start) for p in (",", ".", ";", "!", "?", " nhung ", " roi "))
    before = norm[clause_start + 1 : start]
    return _ASK_BEFORE.search(before) is not None


def _matches(norm: str, patterns: tuple[re.Pattern[str], ...], spans: list[Span]
             ) -> tuple[list[int], bool, bool]:
    """Where the patterns match as fact, and whether any matched only to be denied / only in a question."""
    hits: list[int] = []
    denied = questioned = False
    for rx in patterns:
        for m in rx.finditer(norm):
            why = kind_at(spans, m.start()) or kind_at(spans, m.end() - 1)
            if why == "questioned":
                questioned = True
            elif why is not None:
                denied = True
            elif not _asked_for(norm, m.start()):
                hits.append(m.start())
    return hits, denied, questioned


def read_harm(norm: str) -> Harm:
    """The harm ``norm`` (normalised text) asserts, and whether it denies any."""
    if not norm:
        return Harm()
    spans = scopes(norm)
    money, money_denied, money_asked = _matches(norm, _MONEY, spans)
    alone, _alone_denied, _alone_asked = _matches(norm, (_LOST_ALONE,), spans)
    for start in alone:
        before = norm[max(norm.rfind(p, 0, start) for p in (",", ".", ";", "!", "?")) + 1 : start]
        if _MONEY_WORD.search(before) or not _OTHER_VERB.search(before):
            money.append(start)
    given, given_denied, given_asked = _matches(norm, _SHARED, spans)
    if not given and any(asserted(spans, m.start()) for m in _CODE_NAMED.finditer(norm)):
        elided, elided_denied, _asked = _matches(norm, (_SHARED_ELIDED,), spans)
        given, given_denied = elided, given_denied or elided_denied
    installed, installed_denied, installed_asked = _matches(norm, _INSTALLED, spans)
    if not _APP_NAMED.search(norm):
        installed = []  # "đã cài" with nothing installed named is not enough
    shared: set[str] = set()
    for start in given:
        lo, hi = max(0, start - 40), start + 60
        shared.update([kind for kind, rx in _CODE_KIND if any(
            asserted(spans, m.start()) for m in rx.finditer(norm, lo, hi))] or ["otp"])
    if installed:
        shared.add("installed_app")
    denied = money_denied or given_denied or installed_denied or any(
        s.kind != "questioned" and _DENIABLE.search(norm, s.start, s.end) for s in spans)
    denied = denied and not (money or shared)
    questioned = (money_asked or given_asked or installed_asked) and not (money or shared)
    return Harm(bool(money), frozenset(shared), denied, questioned, tuple(sorted({*money, *given, *installed})))
