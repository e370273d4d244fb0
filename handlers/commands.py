"""Words that work at any point of a conversation, and the "harm is done" detector.

Matching is on :func:`nlu.normalize.normalize` output, so diacritics and teencode do not matter.
"""

from __future__ import annotations

import re

COMMANDS: dict[str, frozenset[str]] = {
    "cancel": frozenset({"huy", "/cancel", "cancel", "huy bo", "thoi", "dung lai", "stop", "huy bao cao"}),
    "menu": frozenset({"menu", "/menu", "/start", "bat dau", "start", "trang chu", "menu chinh", "ve menu"}),
    "help": frozenset({"help", "/help", "tro giup", "giup", "giup toi", "huong dan", "?"}),
    "back": frozenset({"quay lai", "back", "tro lai", "/back"}),
    "skip": frozenset({"bo qua", "skip", "khong biet", "khong ro", "khong nho", "khong co", "ko co", "-", "bo"}),
    "done": frozenset({"xong", "done", "het", "xong roi", "het roi", "ok xong"}),
    "lang_en": frozenset({"english", "/en", "tieng anh", "in english"}),
    "lang_vi": frozenset({"tieng viet", "/vi", "vietnamese"}),
    "forget": frozenset({"/forget", "xoa du lieu cua toi", "xoa du lieu", "xoa thong tin cua toi", "forget me",
                         "delete my data"}),
}

# Button ids the engine itself offers; "!" keeps them apart from flow option ids ([a-z0-9_]).
PAYLOAD_COMMANDS = {
    "!cancel": "cancel", "!menu": "menu", "!help": "help", "!back": "back", "!skip": "skip", "!done": "done",
    "!forget": "forget",
}


def command_of(normalized: str, payload: str | None) -> str | None:
    if payload is not None:
        return PAYLOAD_COMMANDS.get(payload)
    text = normalized.strip(" .!")
    for name, words in COMMANDS.items():
        if text in words:
            return name
    return None


_NEG = r"(?<!chua )(?<!khong )(?<!chang )(?<!not )"
_MONEY_LOST = re.compile(
    r"\b(?:"
    rf"{_NEG}(?:da|vua|lo|bi|trot|mot)\s+(?:chuyen khoan|chuyen|gui|nap)\s+(?:tien|het|\d|cho|roi|vao)"
    r"|mat (?:het )?tien|bi lua (?:mat|het|\d)|mat \d+|bi (?:tru|rut|lay|cuom) (?:het )?(?:tien|\d)"
    r"|tai khoan (?:bi|da) (?:tru|rut|mat|tru tien)|chuyen (?:tien|khoan) roi|chuyen roi"
    r"|(?:sent|transferred|lost) (?:the |my |\d)?(?:money|\d)|money (?:is |was )?(?:gone|taken|stolen)"
    r")"
)
_SHARED = re.compile(
    r"\b(?:"
    rf"{_NEG}(?:da|vua|lo|trot|bi)\s+(?:doc|dua|gui|cung cap|nhap|cho|noi|nhan)\s+(?:ma\s+)?(?:otp|ma|mat khau)"
    rf"|{_NEG}(?:da|vua|lo|trot)\s+(?:cai|tai)\s+(?:app|ung dung|phan mem|file)"
    rf"|{_NEG}(?:da|vua|lo|trot)\s+(?:doc|dua|gui|cung cap)\s+(?:so tai khoan|so the|thong tin the|cccd)"
    r"|(?:gave|shared|sent|told) (?:them |him |her )?(?:the |my )?(?:otp|code|password|card)"
    r"|installed (?:the |their )?app"
    r")"
)


def harm_of(normalized: str) -> str | None:
    """``money_lost``, ``shared_credentials`` or None. Money wins: it is the more urgent of the two."""
    if _MONEY_LOST.search(normalized):
        return "money_lost"
    if _SHARED.search(normalized):
        return "shared_credentials"
    return None


_DENIAL = re.compile(
    r"\b(?:chua|khong|chang|not|never|didn t|did not|haven t)\s+(?:he\s+)?(?:lam gi|doc|dua|gui|cung cap|nhap|noi|"
    r"chuyen|cai|tai|bam|give|gave|send|sent|transfer|install|share)"
)


def denies_harm(normalized: str) -> bool:
    """The parent says they did NOT give or send anything ("tôi chưa chuyển tiền", "không đưa mã OTP")."""
    return _DENIAL.search(normalized) is not None
