"""How much evidence work one file may cause: sizes, pixels, time, and how many files are read at once."""

from __future__ import annotations

from dataclasses import dataclass


class Unreadable(ValueError):
    """The file cannot be read as evidence (corrupt, too large, a bomb, a hostile archive).

    ``reason`` is a short stable code for logs and the API; the message says what was wrong, in English.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps per kind of evidence. The defaults fit a 2-core machine serving one province.

    ``max_pixels``: a phone screenshot is ~2.5 Mpx; 40 Mpx still admits a large photo of a QR poster while
    refusing decompression bombs (a tiny PNG that claims 100 000 × 100 000 pixels) before decoding.
    ``ocr_seconds`` bounds tesseract itself (it is killed past it); ``job_seconds`` bounds a whole job in a
    worker (past it the worker is replaced). ``workers`` processes read at most ``workers + queue`` files at
    once; more are answered "not read now" rather than queued without end.
    """

    max_image_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = 20_000
    ocr_max_side: int = 2600  # larger images are scaled down first: OCR time grows with area, accuracy does not
    max_apk_bytes: int = 10 * 1024 * 1024
    max_apk_entries: int = 20_000
    max_manifest_bytes: int = 2 * 1024 * 1024
    max_ratio: int = 200  # compressed → uncompressed; a zip bomb's is in the thousands
    max_cert_bytes: int = 256 * 1024
    ocr_seconds: float = 20.0
    job_seconds: float = 30.0
    workers: int = 2
    queue: int = 8
    max_text_chars: int = 4000
