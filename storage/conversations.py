"""Conversation state and inbound-message dedupe. Every function runs inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.messages import ConversationKey
from storage.schema import conversations, inbound_messages


class StaleConversationError(Exception):
    """The conversation changed since it was loaded: someone saved without holding the lock."""


@dataclass(slots=True)
class StoredConversation:
    id: int
    key: ConversationKey
    user_id: str
    locale: str
    state: dict[str, Any]
    version: int


def _insert(conn: AsyncConnection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


async def lock_and_load(
    conn: AsyncConnection, *, key: ConversationKey, user_id: str, locale: str, now: datetime
) -> StoredConversation:
    """Load the conversation, creating it if new, holding its row lock until the transaction ends.

    On PostgreSQL the lock is ``SELECT … FOR UPDATE``; on SQLite the transaction began IMMEDIATE, which
    already holds the database's single write lock.
    """
    cols = (conversations.c.id, conversations.c.user_id, conversations.c.locale,
            conversations.c.state, conversations.c.version)
    where = sa.and_(conversations.c.channel == key.channel, conversations.c.chat_id == key.chat_id)
    query = sa.select(*cols).where(where).with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        stmt = _insert(conn)(conversations).values(
            channel=key.channel, chat_id=key.chat_id, user_id=user_id, locale=locale,
            state={}, version=0, created_at=now, updated_at=now,
        ).on_conflict_do_nothing(index_elements=["channel", "chat_id"])
        await conn.execute(stmt)
        row = (await conn.execute(query)).one()
    return StoredConversation(
        id=row.id, key=key, user_id=row.user_id, locale=row.locale, state=dict(row.state or {}),
        version=row.version,
    )


async def save(
    conn: AsyncConnection, *, conversation: StoredConversation, state: dict[str, Any], locale: str,
    now: datetime,
) -> int:
    """Write the new state; returns the new version. Raises :class:`StaleConversationError` on a race."""
    result = await conn.execute(
        sa.update(conversations)
        .where(conversations.c.id == conversation.id, conversations.c.version == conversation.version)
        .values(state=state, locale=locale, version=conversation.version + 1, updated_at=now)
    )
    if result.rowcount != 1:
        raise StaleConversationError(f"conversation {conversation.key} changed under us")
    return conversation.version + 1


async def find_replies(
    conn: AsyncConnection, *, key: ConversationKey, message_id: str
) -> list[dict[str, Any]] | None:
    """The replies already given to this message id, or None if it is new."""
    row = (
        await conn.execute(
            sa.select(inbound_messages.c.replies).where(
                inbound_messages.c.channel == key.channel,
                inbound_messages.c.chat_id == key.chat_id,
                inbound_messages.c.message_id == message_id,
            )
        )
    ).first()
    return None if row is None else list(row.replies)


async def record_replies(
    conn: AsyncConnection, *, key: ConversationKey, message_id: str, replies: list[dict[str, Any]],
    now: datetime,
) -> None:
    await conn.execute(
        sa.insert(inbound_messages).values(
            channel=key.channel, chat_id=key.chat_id, message_id=message_id, replies=replies, created_at=now
        )
    )


async def delete_conversation(conn: AsyncConnection, *, key: ConversationKey) -> int:
    """Erase a conversation and its dedupe records (a parent's "forget me")."""
    await conn.execute(
        sa.delete(inbound_messages).where(
            inbound_messages.c.channel == key.channel, inbound_messages.c.chat_id == key.chat_id
        )
    )
    result = await conn.execute(
        sa.delete(conversations).where(
            conversations.c.channel == key.channel, conversations.c.chat_id == key.chat_id
        )
    )
    return result.rowcount
