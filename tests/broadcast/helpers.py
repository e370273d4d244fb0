"""Subscribers and broadcasts for tests, written through the storage functions the product uses."""

from __future__ import annotations

from datetime import UTC, datetime

from handlers.messages import ConversationKey
from storage import subscriptions
from storage.conversations import chat_ref
from storage.crypto import Cipher
from storage.db import Database


def now() -> datetime:
    return datetime.now(UTC)


async def subscribe_many(db: Database, cipher: Cipher, *, channel: str, chat_ids: list[str],
                         school_id: str | None = None, commune_key: str | None = None,
                         locale: str = "vi") -> int:
    rows = [{"channel": channel, "ref": chat_ref(cipher, ConversationKey(channel, c)), "chat_id": c,
             "school_id": school_id, "commune_key": commune_key, "locale": locale} for c in chat_ids]
    return await db.run(subscriptions.add_many, rows=rows, now=now(), cipher=cipher)
