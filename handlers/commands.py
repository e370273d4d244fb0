"""Words that work at any point of a conversation, and the "harm is done" detector.

Matching is on :func:`nlu.normalize.normalize` output, so diacritics and teencode do not matter.
"""

from __future__ import annotations

import re

from nlu.harm import read_harm

COMMANDS: dict[str, frozenset[str]] = {
    "cancel": frozenset({"huy", "/cancel", "cancel", "huy bo", "thoi", "dung lai", "stop", "huy bao cao"}),
    "menu": frozenset({"menu", "/menu", "/start", "bat dau", "start", "trang chu", "menu chinh", "ve menu",
                       "ve menu chinh"}),
    "help": frozenset({"help", "/help", "tro giup", "giup", "giup toi", "huong dan", "?"}),
    "back": frozenset({"quay lai", "back", "tro lai", "/back"}),
    "skip": frozenset({"bo qua", "skip", "khong biet", "khong ro", "khong nho", "khong co", "ko co", "-", "bo"}),
    "done": frozenset({"xong", "done", "het", "xong roi", "het roi", "ok xong"}),
    "lang_en": frozenset({"english", "/en", "tieng anh", "in english"}),
    "lang_vi": frozenset({"tieng viet", "/vi", "vietnamese"}),
    "forget": frozenset({"/forget", "xoa du lieu cua toi", "xoa du lieu", "xoa thong tin cua toi", "forget me",
                         "delete my data"}),
}

# Words that only mean "skip this question"; "không biết" / "không có" are read as answers first.
EXPLICIT_SKIP = frozenset({"bo qua", "skip", "-", "bo", "bo qua cau nay", "qua cau khac"})

# Button ids the engine itself offers; "!" keeps them apart from flow option ids ([a-z0-9_]).
PAYLOAD_COMMANDS = {
    "!cancel": "cancel", "!menu": "menu", "!help": "help", "!back": "back", "!skip": "skip", "!done": "done",
    "!forget": "forget",
}


_LEADING_SYMBOLS = re.compile(r"^[^\w/?-]+")


def command_of(normalized: str, payload: str | None) -> str | None:
    if payload is not None:
        return PAYLOAD_COMMANDS.get(payload)
    # A button label typed back (a reply keyboard sends its text): "⬅️ Quay lại" is "quay lai".
    text = _LEADING_SYMBOLS.sub("", normalized).strip(" .!")
    for name, words in COMMANDS.items():
        if text in words:
            return name
    return None


def harm_of(normalized: str) -> str | None:
    """``money_lost``, ``shared_credentials`` or None, as :func:`nlu.harm.read_harm` reads the message.

    Negation and its scope count ("chưa mất tiền", "suýt nữa thì chuyển", "không đưa OTP"): only harm said
    as fact opens the urgent path. Money wins: it is the more urgent of the two.
    """
    return read_harm(normalized).kind


def denies_harm(normalized: str) -> bool:
    """The parent says they did NOT give or send anything ("tôi chưa chuyển tiền", "không đưa mã OTP")."""
    return read_harm(normalized).denied
