"""What the intent classifier sees: three views of a message, each with entities turned into placeholders.

Two messages that differ only in the number, link or amount they carry mean the same thing, so entity spans
become placeholder words ("zphone", "zurl", "zmoney"…) before n-grams are taken; the words around them, and
the fact that there *is* a link or an amount, are what separate check_link from report_scam or money_lost.

* ``word``: normalised text (folded, teencode expanded), then every word a negation reaches again, marked
  ``neg_`` ("chưa mất tiền" adds "neg_mat neg_tien", :mod:`nlu.negation`), plus cue/concept tokens — word
  1–2-grams;
* ``char``: the same normalised text — character 2–5-grams inside words, robust to typos;
* ``tone``: lowercase text *with* diacritics — word unigrams. Folding merges words the parent kept apart
  ("đúng" right / "dừng" stop both fold to "dung"); when diacritics are typed this view tells them apart,
  and when they are not it simply agrees with the word view.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from nlu.cues import cue_tokens
from nlu.negation import negated_words
from nlu.normalize import normalize
from nlu.types import Entity

PLACEHOLDERS: dict[str, str] = {
    "url": "zurl",
    "phone_number": "zphone",
    "money_amount": "zmoney",
    "otp_code": "zotp",
    "card_number": "zcard",
    "bank_account": "zaccount",
    "date_time": "zdate",
    "school_name": "zschool",
}
# Roles and app names are words the classifier should read ("cô giáo", "vnedu"), so they stay, tagged.
_TAGGED = {"claimed_role": "zrole", "app_name": "zapp"}
_TOKEN = re.compile(r"\w+|\?")


@dataclass(frozen=True, slots=True)
class Views:
    """The three documents the classifier reads for one message."""

    word: str
    char: str
    tone: str

    def of(self, name: str) -> str:
        """The view called ``name`` ("word", "char" or "tone")."""
        return str(getattr(self, name))


def views(text: str, entities: Iterable[Entity]) -> Views:
    """Build the classifier's views of ``text`` given its entities."""
    parts: list[str] = []
    tags: list[str] = []
    pos = 0
    for e in sorted(entities, key=lambda e: e.start):
        if e.entity in PLACEHOLDERS:
            prefix = "trường " if e.entity == "school_name" else ""
            parts.append(f"{text[pos : e.start]} {prefix}{PLACEHOLDERS[e.entity]} ")
            pos = e.end
        elif e.entity in _TAGGED:
            tags.append(_TAGGED[e.entity])
    parts.append(text[pos:])
    masked = "".join(parts)
    norm = " ".join([normalize(masked), *tags])
    tone = unicodedata.normalize("NFC", masked).lower()
    return Views(word=" ".join([norm, *negated_words(norm), *cue_tokens(norm)]), char=norm, tone=tone)


def word_ngrams(doc: str) -> list[str]:
    """Word unigrams and bigrams (our own analyzer, so inference needs no scikit-learn)."""
    tokens = _TOKEN.findall(doc)
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


def word_unigrams(doc: str) -> list[str]:
    """Word unigrams."""
    return _TOKEN.findall(doc)


def char_ngrams(doc: str) -> list[str]:
    """Character 2–5-grams inside word boundaries, padded with spaces (scikit-learn's ``char_wb``)."""
    grams: list[str] = []
    for word in doc.split():
        w = f" {word} "
        for n in range(2, 6):
            if len(w) < n:
                break
            grams.extend(w[i : i + n] for i in range(len(w) - n + 1))
    return grams


ANALYZERS: dict[str, Callable[[str], list[str]]] = {
    "word": word_ngrams,
    "char": char_ngrams,
    "tone": word_unigrams,
}
