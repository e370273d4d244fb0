"""Attachment files under the data directory, content-addressed and type-checked by their bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from handlers.messages import Attachment

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

# Types we accept, recognised by magic bytes: a file's name or claimed type is never trusted.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
    (b"%PDF-", "application/pdf", ".pdf"),
)


class RejectedFile(ValueError):
    """The bytes are not an accepted type, or too large."""


def sniff(data: bytes) -> tuple[str, str]:
    for magic, mime, ext in _SIGNATURES:
        if data.startswith(magic):
            return mime, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    raise RejectedFile("not an image (JPEG, PNG, GIF, WebP) or PDF")


def store_attachment(data_dir: Path, data: bytes, *, file_name: str | None = None) -> Attachment:
    """Write the bytes once (by SHA-256) and describe them. Raises :class:`RejectedFile`."""
    if not data:
        raise RejectedFile("empty file")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise RejectedFile(f"larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB")
    mime, ext = sniff(data)
    digest = hashlib.sha256(data).hexdigest()
    folder = data_dir / "attachments" / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}{ext}"
    if not path.exists():
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    kind = "document" if mime == "application/pdf" else "photo"
    safe_name = Path(file_name).name[:200] if file_name else None
    return Attachment(kind=kind, mime_type=mime, size=len(data), sha256=digest, path=str(path), file_name=safe_name)
