"""Vietnamese OCR of screenshots: Debian's tesseract (``tesseract-ocr-vie``) through pytesseract.

Runs inside an evidence worker process (handlers/evidence/pool.py), never on the event loop. Tesseract is
a separate program: pytesseract kills it when ``Limits.ocr_seconds`` runs out.
"""

from __future__ import annotations

import re
import shutil
import unicodedata

import pytesseract
from PIL import Image

from handlers.evidence.images import prepare_for_ocr
from handlers.evidence.limits import Limits, Unreadable

LANG = "vie"
# psm 4: a single column of text of varying sizes — what a chat or SMS screenshot is. Measured against 3
# (automatic) and 6 (one uniform block) on bench/bench_evidence.py's set: as accurate, and the most stable.
CONFIG = "--psm 4"
_JUNK_LINE = re.compile(r"^[\W_]{0,3}$")  # stray icons read as one or two symbols


def available() -> bool:
    """Whether tesseract and its Vietnamese data are installed (``./dev setup`` installs them)."""
    if shutil.which("tesseract") is None:
        return False
    try:
        return LANG in pytesseract.get_languages(config="")
    except (pytesseract.TesseractError, OSError):
        return False


def tidy(raw: str) -> str:
    """Tesseract's lines → paragraphs: lines of one bubble joined, bubbles separated by a blank line.

    A request split over two lines ("vui lòng cung cấp" / "mã OTP") must read as one sentence for the check
    engine's text rules, which split sentences at line breaks.
    """
    text = unicodedata.normalize("NFC", raw).replace("\x0c", "")
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip() and not _JUNK_LINE.match(ln.strip())]
        if lines:
            paragraphs.append(" ".join(lines))
    return "\n".join(paragraphs)


def read_text(image: Image.Image, limits: Limits) -> str:
    """The text in ``image`` (NFC, tidied). :class:`Unreadable` when tesseract fails or runs out of time."""
    prepared = prepare_for_ocr(image, limits)
    try:
        raw = pytesseract.image_to_string(prepared, lang=LANG, config=CONFIG, timeout=limits.ocr_seconds)
    except RuntimeError as exc:  # pytesseract's time-out
        raise Unreadable("timeout", f"OCR took longer than {limits.ocr_seconds:g} s") from exc
    except (pytesseract.TesseractError, pytesseract.TesseractNotFoundError, OSError) as exc:
        raise Unreadable("ocr_failed", f"OCR failed: {exc}") from None
    return tidy(raw)[: limits.max_text_chars]
