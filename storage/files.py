"""Attachment files under the data directory: type-checked by their bytes, sealed at rest.

Files are named by the SHA-256 of their content and stored encrypted (AES-GCM, bound to that hash), so
the data directory alone shows no screenshot. Synchronous: call through ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

from storage.crypto import Cipher
from storage.keys import Attachment
from storage.perms import private_dir, write_private

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

# Types we accept, recognised by magic bytes: a file's name or claimed type is never trusted.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
    (b"%PDF-", "application/pdf", ".pdf"),
)


APK_MIME = "application/vnd.android.package-archive"


class RejectedFile(ValueError):
    """The bytes are not an accepted type, or too large."""


def sniff(data: bytes) -> tuple[str, str]:
    for magic, mime, ext in _SIGNATURES:
        if data.startswith(magic):
            return mime, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    if data[:4] == b"PK\x03\x04" and _is_apk(data):
        return APK_MIME, ".apk"  # kept as evidence and inspected statically (handlers/evidence), never run
    raise RejectedFile("not an image (JPEG, PNG, GIF, WebP), PDF or Android app (APK)")


def _is_apk(data: bytes) -> bool:
    """A zip whose directory lists AndroidManifest.xml (only the directory is read, nothing inflated)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return any(name == "AndroidManifest.xml" for name in zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def _aad(digest: str) -> str:
    return f"attachment:{digest}"


def check_attachment(data: bytes) -> str:
    """The file's type if we accept it (size and magic bytes); raises :class:`RejectedFile`. Writes nothing."""
    if not data:
        raise RejectedFile("empty file")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise RejectedFile(f"larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB")
    return sniff(data)[0]


def store_attachment(data_dir: Path, data: bytes, *, cipher: Cipher, file_name: str | None = None) -> Attachment:
    """Seal and write the bytes once (by SHA-256) and describe them. Raises :class:`RejectedFile`."""
    mime = check_attachment(data)
    digest = hashlib.sha256(data).hexdigest()
    folder = data_dir / "attachments" / digest[:2]
    private_dir(folder)
    # A neutral extension: the file on disk is ciphertext, never something a server could hand out as-is.
    path = folder / f"{digest}.sealed"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        write_private(tmp, cipher.seal(data, aad=_aad(digest)))
        tmp.replace(path)
    else:
        os.utime(path)  # sent again: the orphan sweep counts its age from the newest upload
    kind = "photo" if mime.startswith("image/") else "document"
    safe_name = Path(file_name).name[:200] if file_name else None
    return Attachment(kind=kind, mime_type=mime, size=len(data), sha256=digest, path=str(path), file_name=safe_name)


def read_attachment(path: Path, sha256: str, *, cipher: Cipher) -> bytes:
    """The original bytes of a stored attachment (for an authorised officer's download)."""
    data = cipher.open(path.read_bytes(), aad=_aad(sha256))
    if hashlib.sha256(data).hexdigest() != sha256:
        raise RejectedFile("attachment does not match its hash")
    return data
