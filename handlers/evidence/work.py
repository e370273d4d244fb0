"""One file → what it says. Runs inside a worker process (or directly in the CLI); returns plain JSON.

The result is a :class:`Reading` as a dict: it crosses a process boundary and is kept in the conversation,
so it is JSON only. Secrets in the text (OTPs, card numbers) are masked here, before the text leaves the
worker: nothing downstream ever sees them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from handlers.evidence.limits import Limits, Unreadable
from handlers.messages import InboundMessage
from nlu.redact import redact

EXTRAS_KEY = "evidence"  # where the engine's pre-turn reading puts the readings of a message's files
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


@dataclass(frozen=True, slots=True)
class Reading:
    """What one file was read as. ``kind``: ``image`` | ``apk`` | ``forwarded``; ``error`` a reason code."""

    kind: str
    text: str = ""
    codes: tuple[dict[str, Any], ...] = ()
    apk: dict[str, Any] | None = None
    sender: str | None = None
    error: str | None = None
    detail: str | None = None
    masked: bool = False  # a secret was masked in ``text``
    ocr: bool = True  # False when tesseract is not installed (only QR codes were looked for)
    sha256: str | None = None
    file_name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "text": self.text, "codes": list(self.codes), "apk": self.apk,
                               "sender": self.sender, "error": self.error, "detail": self.detail,
                               "masked": self.masked, "ocr": self.ocr, "sha256": self.sha256,
                               "file_name": self.file_name}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reading:
        return cls(kind=str(data.get("kind") or "image"), text=str(data.get("text") or ""),
                   codes=tuple(c for c in data.get("codes") or () if isinstance(c, dict)),
                   apk=data.get("apk") if isinstance(data.get("apk"), dict) else None,
                   sender=data.get("sender") if isinstance(data.get("sender"), str) else None,
                   error=data.get("error") if isinstance(data.get("error"), str) else None,
                   detail=data.get("detail") if isinstance(data.get("detail"), str) else None,
                   masked=bool(data.get("masked")), ocr=bool(data.get("ocr", True)),
                   sha256=data.get("sha256") if isinstance(data.get("sha256"), str) else None,
                   file_name=data.get("file_name") if isinstance(data.get("file_name"), str) else None)


def init_worker(cpus: frozenset[int] | None = None) -> None:
    """Worker start-up: one OCR thread per tesseract (the pool already runs one job per core), on the CPUs the
    server had before it pinned itself to one (``server.cpu``, :mod:`handlers.cpu`): a worker inherits the pin."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)


def _clean(text: str) -> tuple[str, bool]:
    clean, found = redact(text)
    return clean, bool(found)


def read_image(data: bytes, limits: Limits, *, with_ocr: bool | None = None) -> Reading:
    """OCR and QR codes of one image. Raises :class:`Unreadable`."""
    # The imaging stack (numpy, scipy, Pillow, zxing) loads in the worker that reads a file, not in every
    # process that imports this module for :class:`Reading` (``hotline serve`` started 0.35 s slower).
    from handlers.evidence import images, ocr, qr

    image = images.decode(data, limits)
    codes = qr.read_codes(image)
    use_ocr = ocr.available() if with_ocr is None else with_ocr
    text = ocr.read_text(image, limits) if use_ocr else ""
    text, masked = _clean(text)
    code_json = []
    for code in codes:
        item = code.to_json()
        item["content"], hidden = _clean(item["content"])
        masked = masked or hidden
        code_json.append(item)
    return Reading("image", text=text, codes=tuple(code_json), masked=masked, ocr=use_ocr)


def read_file(data: bytes, file_name: str | None, limits: Limits, with_ocr: bool | None = None) -> dict[str, Any]:
    """Whatever ``data`` is (an image or an APK, decided by its bytes), read it. Never raises."""
    from handlers.evidence import apk  # see read_image

    try:
        if data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            reading = read_image(data, limits, with_ocr=with_ocr)
        elif apk.looks_like_apk(data):
            info = apk.inspect_apk(data, limits, file_name=file_name)
            reading = Reading("apk", apk=info.to_json())
        else:
            raise Unreadable("unsupported", "not an image or an APK")
    except Unreadable as exc:
        kind = "apk" if apk.looks_like_apk(data) else "image"
        reading = Reading(kind, error=exc.reason, detail=str(exc)[:300])
    except MemoryError:
        reading = Reading("image", error="too_large", detail="out of memory while reading")
    return {**reading.to_json(), "file_name": file_name}


def readings_of(msg: InboundMessage) -> list[Reading]:
    """The readings the reader attached to ``msg`` (none for a message without files)."""
    raw = msg.extras.get(EXTRAS_KEY)
    return [Reading.from_json(r) for r in raw if isinstance(r, dict)] if isinstance(raw, list) else []
