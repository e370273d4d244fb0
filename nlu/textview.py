"""A folded copy of a message that remembers where each character came from.

Entity patterns match on folded text (no diacritics, lowercase) so that "hiệu trưởng", "Hieu truong" and
"HIỆU TRƯỞNG" are one pattern, but offsets must point into the text the parent typed. For ordinary NFC
Vietnamese the two strings have the same length and the map is the identity; text typed on keyboards that send
combining marks (NFD) is longer than its folded form, which is why the map exists at all.
"""

from __future__ import annotations

import unicodedata

from nlu.normalize import fold


class FoldedText:
    """``folded`` is ``fold(text)``; :meth:`span` maps a folded span back to the original text."""

    __slots__ = ("_origin", "folded", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        folded = fold(text)
        if len(folded) == len(text):
            self.folded = folded
            self._origin: list[int] | None = None  # identity
            return
        parts: list[str] = []
        origin: list[int] = []
        for i, ch in enumerate(text):
            f = fold(ch)
            parts.append(f)
            origin.extend([i] * len(f))
        self.folded = "".join(parts)
        self._origin = origin

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original-text offsets of the folded span ``[start, end)``, including trailing combining marks."""
        if self._origin is None:
            return start, end
        if start >= len(self._origin):
            return len(self.text), len(self.text)
        o_start = self._origin[start]
        o_end = self._origin[end - 1] + 1 if end > start else o_start
        while o_end < len(self.text) and unicodedata.category(self.text[o_end]) == "Mn":
            o_end += 1
        return o_start, o_end
