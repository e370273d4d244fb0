"""Uploads nobody needs any more: screenshots of drafts never filed, of forgotten or expired conversations.

Files are kept only while a tip (``tip_attachments``) or a live conversation's state refers to them; the
rest are deleted by each retention pass (``hotline retention run`` and the scheduled job). A file younger
than ``GRACE`` is left alone: it may belong to a message whose turn is still being committed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from storage.crypto import Cipher, CryptoError
from storage.schema import conversations, tip_attachments

log = logging.getLogger(__name__)

GRACE = timedelta(minutes=10)


def _hashes(value: Any) -> Iterator[str]:
    """Every ``sha256`` an attachment description in a conversation state carries, wherever it sits."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            sha = item.get("sha256")
            if isinstance(sha, str):
                yield sha
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def referenced(conn: sa.Connection, *, cipher: Cipher) -> set[str] | None:
    """Hashes still in use; None when a state could not be opened (then nothing may be deleted)."""
    used = {r[0] for r in conn.execute(sa.select(tip_attachments.c.sha256).distinct())}
    for ref, state in conn.execute(sa.select(conversations.c.chat_ref, conversations.c.state)):
        try:
            used.update(_hashes(cipher.open_json(state, aad=f"conversations.state:{ref}")))
        except (CryptoError, ValueError):
            log.warning("file sweep skipped: a conversation state does not open (keys missing?)")
            return None
    return used


def sweep_orphans(conn: sa.Connection, *, data_dir: Path, cipher: Cipher, now: datetime) -> int:
    """Delete sealed uploads no tip and no conversation refers to; returns how many."""
    folder = data_dir / "attachments"
    if not folder.is_dir():
        return 0
    used = referenced(conn, cipher=cipher)
    if used is None:
        return 0
    cutoff = (now - GRACE).timestamp()
    deleted = 0
    for path in folder.glob("*/*.sealed"):
        if path.stem in used:
            continue
        try:
            if path.stat().st_mtime > cutoff:
                continue
            path.unlink()
            deleted += 1
        except FileNotFoundError:
            continue
    return deleted
