"""What storage keys and stores for a conversation: the chat it belongs to and the files a parent sent.

These belong to storage (they are what its tables are keyed by); :mod:`handlers.messages` re-exports them so
the engine and channels keep one vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Identifies one conversation: a chat on one channel."""

    channel: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the parent sent (usually a screenshot). ``path`` is under the data dir once stored."""

    kind: str  # "photo" | "document"
    mime_type: str
    size: int
    sha256: str
    path: str | None = None
    file_name: str | None = None
