"""Negation, doubt and questions in parents' Vietnamese: which words of a message are *not* asserted.

Everything works on :func:`nlu.normalize.normalize` output (folded, teencode expanded: "ko", "k", "hok",
"khum" are already "khong"), so diacritics and spelling do not matter. Three kinds of stretches are found:

* **negated** — after "không", "chưa", "chẳng", "chả", "đâu có", "không hề", "đừng" up to the end of the clause
  ("không đưa OTP, chỉ đưa số tài khoản": only "đưa OTP" is negated), and whole clauses closed by a postposed
  negation ("còn mã OTP thì không", "có mất đồng nào đâu");
* **unreal** — what almost happened or was only meant: "suýt nữa thì chuyển", "định chuyển nhưng…", "nếu lỡ…";
* **questioned** — "tôi có bị mất tiền không?": the words between "có/đã" and the final "không/chưa".

Idioms that only look negative are not negations: "không may" / "chẳng may" (unluckily), "không ngờ"
(unexpectedly), "không hiểu sao" (somehow), "không chỉ" (not only). :func:`polarity` reads a whole answer to a
yes/no question on top of this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Polarity = Literal["yes", "no", "unsure"]
Kind = Literal["negated", "unreal", "questioned"]

_TOKEN = re.compile(r"[a-z0-9']+|[.,;:!?…\n()]+")
_PUNCT = re.compile(r"[.,;:!?…\n()]+")
_MAX_SCOPE = 9  # tokens: a negation reaches to the end of its clause, never across a whole story

_NEGATORS = frozenset({"khong", "chua", "chang", "never", "not", "didn't", "haven't", "hasn't", "don't",
                       "doesn't", "wasn't", "won't", "cannot", "can't", "didnt", "havent", "dont", "khoi"})
# Two-word cues that open a scope after both words.
_PAIRS = {("dau", "co"), ("dau", "phai"), ("khong", "he"), ("chua", "he"), ("chang", "he"), ("cha", "he"),
          ("khong", "phai"), ("chua", "tung"), ("khong", "co"), ("chua", "co"), ("did", "not"), ("have", "not"),
          ("has", "not"), ("do", "not")}
# "chả" folds to "cha" (father): it negates only before a verb or "có/hề".
_CHA_BEFORE = frozenset({"he", "co", "mat", "dua", "chuyen", "doc", "cho", "gui", "lam", "bi", "thay", "biet",
                         "nhan", "cai", "noi", "con", "sao", "phai"})
# "đừng" folds to "dung" ("đúng", right): it negates only before a verb.
_DUNG_BEFORE = frozenset({"lien", "goi", "chuyen", "dua", "doc", "cai", "bam", "nhan", "gui", "cung", "tin",
                          "noi", "bao", "nghe", "cho", "lam", "de"})
# A negator followed by these is an idiom, not a negation.
_NOT_NEGATION = {
    "khong": ("may", "ngo", "chi", "nhung", "lau", "hieu sao", "hieu tai sao", "hieu vi sao", "biet sao",
              "biet tai sao", "biet vi sao", "biet lam sao", "ro sao", "ro vi sao", "the", "ai ngo"),
    "chang": ("may", "ngo", "hieu sao", "biet sao", "le"),
    "chua": ("ke",),
}
_UNREAL = frozenset({"suyt", "dinh", "tinh", "neu", "if", "almost", "nearly"})
_UNREAL_PAIRS = {("chut", "nua"), ("lo", "nhu"), ("lo", "may"), ("gia", "su"), ("xem", "chut")}
_PRONOUNS = frozenset({"toi", "minh", "em", "anh", "chi", "no", "ho", "con", "chung", "bo", "me", "vo", "chong",
                       "tao", "ta", "nguoi"})
# Words that end a negation's reach inside a sentence ("không đưa OTP nhưng đã đưa số tài khoản").
_BOUNDARY = frozenset({"nhung", "thi", "nen", "vi", "but", "only", "because", "so", "tuy", "xong", "roi", "khi"})
# Folded words that are a boundary only in front of certain words: "chứ không" (not "chủ nhiệm"), "chỉ đưa"
# (not "chị ấy"), "sau đó" (not "sáu").
_BOUNDARY_BEFORE = {
    "chu": _NEGATORS | _PRONOUNS,
    "chi": frozenset({"dua", "co", "hoi", "doc", "gui", "cho", "noi", "bao", "nhan", "la", "can", "muon", "doi",
                      "cung", "nghe", "goi", "bat", "yeu", "keu"}),
    "sau": frozenset({"do", "khi", "nay"}),
}
# "mà" folds to "ma" (mã, a code): a boundary only before a pronoun or "là".
_MA_BEFORE = _PRONOUNS | {"la", "van", "cung", "lai"}
_PLACE_BEFORE_DAU = frozenset({"o", "tai", "di", "ve", "tu", "bat", "cho", "noi", "den", "vao", "sang", "qua"})
_QUESTION_OPENERS = frozenset({"co", "da", "phai", "duoc", "lieu", "bi"})
_QUESTION_ENDS = frozenset({"khong", "chua", "chang", "ha", "a", "nhi", "sao", "vay", "nhe"})


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of the normalised text that is not asserted, as character offsets."""

    start: int
    end: int
    kind: Kind


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str
    start: int
    end: int

    @property
    def punct(self) -> bool:
        return _PUNCT.fullmatch(self.text) is not None


def _tokens(norm: str) -> list[_Tok]:
    return [_Tok(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(norm)]


def _clauses(tokens: list[_Tok]) -> list[list[_Tok]]:
    """Split at punctuation and at "nhưng"/"but" (the usual hinge between a denial and the rest)."""
    out: list[list[_Tok]] = [[]]
    for t in tokens:
        if t.punct or t.text in ("nhung", "but"):
            if out[-1]:
                out.append([])
            continue
        out[-1].append(t)
    return [c for c in out if c]


def _words(tokens: list[_Tok], i: int, n: int) -> str:
    return " ".join(t.text for t in tokens[i : i + n])


def _is_idiom(clause: list[_Tok], i: int) -> bool:
    head = clause[i].text
    after = _words(clause, i + 1, 3)
    return any(after == p or after.startswith(p + " ") for p in _NOT_NEGATION.get(head, ()))


def negation_cue(clause: list[_Tok], i: int) -> int:
    """How many tokens from ``i`` form a negation cue (0: none)."""
    word = clause[i].text
    nxt = clause[i + 1].text if i + 1 < len(clause) else ""
    if word == "khong" and i > 0 and clause[i - 1].text in ("a", "u", "o", "oi"):
        return 0  # "à không, là thầy hiệu trưởng": a correction, and what follows is the answer
    if (word, nxt) in _PAIRS:
        return 0 if _is_idiom(clause, i) else 2
    if word == "cha":
        return 1 if nxt in _CHA_BEFORE else 0
    if word == "dung":
        return 1 if nxt in _DUNG_BEFORE else 0
    if word in _NEGATORS:
        return 0 if _is_idiom(clause, i) else 1
    return 0


def _unreal_cue(clause: list[_Tok], i: int) -> int:
    word = clause[i].text
    nxt = clause[i + 1].text if i + 1 < len(clause) else ""
    n = 2 if (word, nxt) in _UNREAL_PAIRS else 1 if word in _UNREAL else 0
    # "suýt nữa thì chuyển", "chút nữa thì đọc": the cue runs on through "nữa" and "thì".
    while n and i + n < len(clause) and clause[i + n].text in ("nua", "thi", "la"):
        n += 1
    return n


def _ends_scope(clause: list[_Tok], j: int) -> bool:
    word = clause[j].text
    nxt = clause[j + 1].text if j + 1 < len(clause) else ""
    if word == "ma":
        return nxt in _MA_BEFORE
    if word in _BOUNDARY_BEFORE:
        return nxt in _BOUNDARY_BEFORE[word]
    return word in _BOUNDARY


def _forward_scope(clause: list[_Tok], start: int) -> int:
    """Index one past the last token a cue ending before ``start`` reaches."""
    j = start
    while j < len(clause) and j - start < _MAX_SCOPE and not _ends_scope(clause, j):
        j += 1
    return j


def _postposed(clause: list[_Tok]) -> bool:
    """ "còn mã OTP thì không", "có mất đồng nào đâu": the clause is negated from its end."""
    words = [t.text for t in clause]
    if len(words) >= 2 and words[-1] in ("khong", "chua") and words[-2] in ("thi", "la"):
        return True
    if len(words) >= 3 and words[-2:] in (["khong", "co"], ["chua", "co"]) and words[-3] == "thi":
        return True
    if len(words) >= 2 and words[-1] == "dau" and words[-2] not in _PLACE_BEFORE_DAU:
        return "co" in words[:-1] or words[0] in ("dau", "co")
    return False


def _question(clause: list[_Tok]) -> tuple[int, int] | None:
    """The questioned stretch of a yes/no question ("có … không", "đã … chưa"), as token indexes."""
    words = [t.text for t in clause]
    if len(words) < 2 or words[-1] not in _QUESTION_ENDS:
        return None
    end = len(words) - 1
    if words[-1] not in ("khong", "chua"):  # "… không ạ?", "… chưa nhỉ"
        if len(words) < 3 or words[-2] not in ("khong", "chua"):
            return None
        end -= 1
    opener = next((k for k in range(end - 1, -1, -1) if words[k] in _QUESTION_OPENERS), None)
    if opener is None:
        return None
    return opener + 1, end


def scopes(norm: str) -> list[Span]:
    """Every stretch of ``norm`` (normalised text) that is negated, unreal or questioned."""
    return list(_scopes(norm))


@lru_cache(maxsize=2048)
def _scopes(norm: str) -> tuple[Span, ...]:
    # One message is read by the harm rules, the classifier's features and the answer readers: once is enough.
    spans: list[Span] = []
    tokens = _tokens(norm)
    for clause in _clauses(tokens):
        if _postposed(clause):
            spans.append(Span(clause[0].start, clause[-1].end, "negated"))
            continue
        q = _question(clause)
        if q is not None and q[0] < q[1]:
            spans.append(Span(clause[q[0]].start, clause[q[1] - 1].end, "questioned"))
        i = 0
        while i < len(clause):
            n = negation_cue(clause, i)
            kind: Kind = "negated"
            if not n:
                n, kind = _unreal_cue(clause, i), "unreal"
            if not n:
                i += 1
                continue
            end = _forward_scope(clause, i + n)
            if end > i + n:
                spans.append(Span(clause[i + n].start, clause[end - 1].end, kind))
            i += n
    return tuple(spans)


def asserted(spans: list[Span], start: int) -> bool:
    """Whether the text at ``start`` is said as fact (not negated, unreal or questioned)."""
    return kind_at(spans, start) is None


def kind_at(spans: list[Span], start: int) -> Kind | None:
    """Why the text at ``start`` is not asserted, or None when it is."""
    return next((s.kind for s in spans if s.start <= start < s.end), None)


def negated_words(norm: str) -> list[str]:
    """Every word of a negated or unreal stretch, prefixed ``neg_`` (features for the classifier)."""
    spans = [s for s in scopes(norm) if s.kind != "questioned"]
    if not spans:
        return []
    return ["neg_" + m.group() for m in _TOKEN.finditer(norm)
            if m.group()[0].isalnum() and not asserted(spans, m.start())]


# ----- answers to yes/no questions ------------------------------------------------------------------------
_UNSURE = re.compile(
    r"\b(?:khong|chua) (?:chac|biet|ro|nho|kiem tra|xem|dam chac|check)\b|\bde (?:toi |minh |em )?(?:kiem tra|xem)\b"
    r"|\bphan van\b|\bnot sure\b|\bdon'?t know\b|\bidk\b|\bkhong hieu\b|\bkhong dam noi\b"
)
_HEDGES = re.compile(r"^(?:(?:hinh nhu|chac chan|chac|co le|nghe nhu|ve nhu|probably|maybe|i think"
                     r"|may qua|may ma|may thay|rat may|cung may)(?: la)?\s+)+")
_LEAD_PARTICLES = frozenset({"a", "u", "thi", "the", "vang", "da", "oi", "ah", "uhm", "um", "ok", "oke", "well",
                             "thoi", "cung", "vay", "nhu"})
_YES_WORDS = frozenset({"co", "roi", "vang", "u", "uh", "um", "uk", "ok", "oke", "okay", "dung", "phai", "yes",
                        "yep", "yeah", "yup", "duoc", "mat", "bi", "da", "sure", "correct", "r"})
_NO_WORDS = frozenset({"khong", "chua", "nope", "no", "khoi", "chang"})
_STILL = frozenset({"van", "cung", "hoan toan", "that", "that su"})  # adverbs before a negation: "vẫn chưa"
_STILL_FINE = re.compile(r"\b(?:van con|con nguyen|van an toan|van binh thuong|chua sao)\b")
_CORRECTION = re.compile(r"\b(?:a khong|a nham|nham|y (?:toi |minh |em )?la|sorry|xin loi|sua lai|noi lai)\b")


def corrected(norm: str) -> bool:
    """Whether the parent corrects themselves ("à không", "nhầm", "ý tôi là"): the last answer counts."""
    return _CORRECTION.search(norm) is not None


def _clause_polarity(clause: list[_Tok], spans: list[Span], facts: list[int]) -> Polarity | None:
    text = " ".join(t.text for t in clause)
    if any(clause[0].start <= f < clause[-1].end for f in facts):
        return "yes"  # "tôi không biết sao lại chuyển tiền cho nó": the fact outweighs the doubt
    if _UNSURE.search(text):
        return "unsure"
    if _question(clause) is not None:
        return None  # the parent asks back ("có mất tiền không?"): not an answer
    hedged = _HEDGES.sub("", text)
    words = hedged.split()
    while len(words) > 1 and words[0] in _LEAD_PARTICLES and words[1] in (_NO_WORDS | _YES_WORDS):
        words = words[1:]  # "dạ chưa", "à không", "cũng được": the particle is politeness
    while len(words) > 1 and words[0] in _PRONOUNS | _STILL and words[1] in (
            _NEGATORS | _UNREAL | _STILL | {"dau", "cha"}):
        words = words[1:]  # "tôi chưa mất", "mình vẫn chưa mất", "tôi suýt chuyển": the subject, then the answer
    if not words:
        return None
    rest = clause[len(clause) - len(words):]  # the clause after its hedge and particles
    lead = [_Tok(w, 0, 0) for w in words]
    if _unreal_cue(lead, 0):
        return "no"
    if negation_cue(lead, 0) or (words[0] in _NO_WORDS and len(words) == 1):
        return "no"
    if _postposed(clause) or _STILL_FINE.search(text):
        return "no"
    # "có", "rồi", "dạ rồi ạ", "uh mất rồi": an answer that starts with its yes-word, or closes with "rồi". Only
    # there: inside a sentence "dung" is as often "dừng" (stop) as "đúng" (right).
    if words[0] in _YES_WORDS and asserted(spans, rest[0].start):
        return "yes"
    if words[-1] in ("roi", "r") and asserted(spans, rest[-1].start) and len(words) <= 4:
        return "yes"
    return None


def polarity(norm: str, facts: list[int] | None = None) -> Polarity | None:
    """The answer to a yes/no question: "yes", "no", "unsure" (not known yet) or None (not an answer).

    ``facts`` are positions of things asserted as done (for the money question: "mất 5 triệu", "ck rồi"),
    found by the caller's own rules; they make a clause a "yes" even without "có"/"rồi".
    """
    tokens = _tokens(norm)
    spans = scopes(norm)
    answers = [_clause_polarity(c, spans, facts or []) for c in _clauses(tokens)]
    definite = [a for a in answers if a in ("yes", "no")]
    if definite:
        return definite[-1] if corrected(norm) else definite[0]
    return "unsure" if "unsure" in answers else None
