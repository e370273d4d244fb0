"""Field-level encryption at rest (AES-256-GCM) and keyed blind indexes (HMAC-SHA256).

Personal data — a reporter's phone number, chat ids that identify a person, free text and attachments of
tips — is stored only as ciphertext. Each ciphertext names the key that sealed it, so keys rotate without
downtime: add a new key and make it current (old keys still open old rows), then re-encrypt
(``hotline keys rotate``). Equality lookups ("has this chat reported before") use a keyed hash, never
plaintext. The associated data binds a ciphertext to its column, so a value copied into another field
does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.perms import private_dir

_VERSION = b"\x01"
_NONCE = 12


class CryptoError(Exception):
    """A ciphertext could not be opened: wrong key, unknown key id, tampered or misplaced value."""


def new_key() -> str:
    """A fresh 256-bit key, base64 — the form keys take in configuration."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _decode_key(name: str, value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raise CryptoError(f"key {name!r} is not base64") from None
    if len(raw) != 32:
        raise CryptoError(f"key {name!r} must be 32 bytes (256 bits), got {len(raw)}")
    return raw


@dataclass
class Cipher:
    """Seal and open values with the current key; open with any known key.

    ``reload`` (optional) re-reads the keys; it is tried once when a ciphertext names a key this process
    has not seen — another process rotated keys while this one kept running.
    """

    keys: Mapping[str, bytes]
    current: str
    index_key: bytes
    reload: Callable[[], Cipher] | None = field(default=None, repr=False, compare=False)
    _aead: dict[str, AESGCM] = field(default_factory=dict, repr=False, compare=False)
    _recent: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def _gcm(self, kid: str) -> AESGCM:
        # Key schedules are worth keeping: building one per value was a measurable share of a message.
        gcm = self._aead.get(kid)
        if gcm is None:
            gcm = self._aead[kid] = AESGCM(self.keys[kid])
        return gcm

    @classmethod
    def from_config(cls, keys: Mapping[str, str], current: str, index_key: str) -> Cipher:
        decoded = {kid: _decode_key(kid, value) for kid, value in keys.items()}
        if current not in decoded:
            raise CryptoError(f"current key {current!r} is not among the configured keys")
        if not all(kid.isascii() and 0 < len(kid) < 64 for kid in decoded):
            raise CryptoError("key ids must be short ASCII names")
        return cls(keys=decoded, current=current, index_key=_decode_key("index_key", index_key))

    # ----- bytes ---------------------------------------------------------------------------------------
    def seal(self, plaintext: bytes, *, aad: str) -> bytes:
        kid = self.current.encode()
        nonce = os.urandom(_NONCE)
        body = self._gcm(self.current).encrypt(nonce, plaintext, aad.encode())
        return _VERSION + bytes([len(kid)]) + kid + nonce + body

    def open(self, blob: bytes, *, aad: str) -> bytes:
        if not blob or blob[:1] != _VERSION or len(blob) < 2:
            raise CryptoError("not a Hotline ciphertext")
        kid_len = blob[1]
        kid = blob[2 : 2 + kid_len].decode(errors="replace")
        if kid not in self.keys and self.reload is not None:
            fresh = self.reload()
            self.keys, self.current = fresh.keys, fresh.current
        if kid not in self.keys:
            raise CryptoError(f"ciphertext sealed with unknown key {kid!r}")
        nonce = blob[2 + kid_len : 2 + kid_len + _NONCE]
        try:
            return self._gcm(kid).decrypt(nonce, blob[2 + kid_len + _NONCE :], aad.encode())
        except InvalidTag:
            raise CryptoError("ciphertext does not open (tampered, or stored under another field)") from None

    @staticmethod
    def key_id(blob: bytes) -> str:
        return blob[2 : 2 + blob[1]].decode(errors="replace") if len(blob) > 2 else ""

    # ----- text columns (base64 so one schema fits SQLite and PostgreSQL) --------------------------------
    def seal_text(self, text: str, *, aad: str) -> str:
        return base64.b64encode(self.seal(text.encode(), aad=aad)).decode()

    def open_text(self, token: str, *, aad: str) -> str:
        return self.open(base64.b64decode(token), aad=aad).decode()

    def seal_json(self, value: Any, *, aad: str) -> str:
        return self.seal_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")), aad=aad)

    def open_json(self, token: str, *, aad: str) -> Any:
        return json.loads(self.open_text(token, aad=aad))

    def token_key_id(self, token: str) -> str:
        return self.key_id(base64.b64decode(token))

    # ----- blind index ---------------------------------------------------------------------------------
    def blind_index(self, value: str, *, purpose: str) -> str:
        """A keyed hash for equality lookups; ``purpose`` keeps indexes of different fields unlinkable."""
        return hmac.new(self.index_key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def blind_index_recent(self, value: str, *, purpose: str) -> str:
        """:meth:`blind_index` remembered for the last few thousand values: a chat's keyed hash is asked for
        several times per message (dedupe, block list, conversation, hand-off, deliveries)."""
        memo = f"{purpose}\x00{value}"
        found = self._recent.get(memo)
        if found is None:
            if len(self._recent) >= 4096:
                self._recent.clear()  # cheaper than an LRU, and a miss costs one HMAC
            found = self._recent[memo] = self.blind_index(value, purpose=purpose)
        return found


def load_key_file(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def write_key_file(path: Path, content: Mapping[str, Any]) -> None:
    """Write atomically with owner-only permissions (the keys protect every reporter's data)."""
    private_dir(path.parent)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def cipher_from_file(path: Path, *, create: bool) -> Cipher:
    """Keys kept in a local file (the embedded default); created on first use when ``create``."""
    if not path.exists():
        if not create:
            raise CryptoError(f"key file {path} does not exist")
        write_key_file(path, {"current": "k1", "keys": {"k1": new_key()}, "index_key": new_key()})
    content = load_key_file(path)
    cipher = Cipher.from_config(content["keys"], content["current"], content["index_key"])
    cipher.reload = lambda: cipher_from_file(path, create=False)
    return cipher


def add_key_to_file(path: Path) -> str:
    """Add a new key to the file and make it current; returns its id. Old keys stay to open old rows."""
    content = load_key_file(path)
    n = 1 + max((int(k[1:]) for k in content["keys"] if k[1:].isdigit()), default=0)
    kid = f"k{n}"
    content["keys"][kid] = new_key()
    content["current"] = kid
    write_key_file(path, content)
    return kid
