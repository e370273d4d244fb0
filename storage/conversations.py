"""Conversation state and inbound-message dedupe.

Synchronous functions over a ``sqlalchemy.Connection``, run through ``Database.run`` inside the caller's
transaction.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.crypto import Cipher
from storage.hot import Hot
from storage.keys import ConversationKey
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
    ref: str


def chat_ref(cipher: Cipher, key: ConversationKey) -> str:
    """The keyed hash that stands for a chat in every table (never the chat id itself)."""
    return cipher.blind_index_recent(f"{key.channel}:{key.chat_id}", purpose="chat")


def _insert(conn: sa.Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


# Hot-path statements are built once: constructing and cache-keying a Core statement costs more than
# running it on SQLite, and these run on every message.
_KEY = sa.and_(conversations.c.channel == sa.bindparam("channel"), conversations.c.chat_ref == sa.bindparam("ref"))
_LOAD = Hot(sa.select(
    conversations.c.id, conversations.c.locale, conversations.c.state, conversations.c.version,
).where(_KEY).with_for_update())
_SAVE = Hot(
    sa.update(conversations)
    .where(conversations.c.id == sa.bindparam("conv_id"), conversations.c.version == sa.bindparam("old_version"))
    .values(state=sa.bindparam("new_state"), locale=sa.bindparam("new_locale"),
            version=sa.bindparam("new_version"), updated_at=sa.bindparam("now"))
)
_FIND_REPLIES = Hot(sa.select(inbound_messages.c.replies).where(
    inbound_messages.c.channel == sa.bindparam("channel"),
    inbound_messages.c.chat_ref == sa.bindparam("ref"),
    inbound_messages.c.message_id == sa.bindparam("message_id"),
))
_RECORD_REPLIES = Hot(sa.insert(inbound_messages).values(
    channel=sa.bindparam("channel"), chat_ref=sa.bindparam("chat_ref"), message_id=sa.bindparam("message_id"),
    replies=sa.bindparam("replies"), created_at=sa.bindparam("created_at")))

# Replies are kept so that a retried message gets the same answer, not as a record: only for the retry window
# (storage.retention deletes older rows each hour) and compressed before sealing. Kept whole they were ~21 kB of
# every filed report (17 answers), ~21 GB for a province-year of a million tips.
REPLY_RETRY_WINDOW = timedelta(hours=48)
# A compressed record starts with this byte; older records are the JSON itself ("[…").
_PACKED = b"\x01"
# Every reply is this JSON shape, and a short reply is mostly shape: a preset dictionary halves what zlib cannot.
_ZDICT = b'[{"text":"","buttons":[{"id":"!menu","label":""},{"id":"","label":""}],"kind":null}]'


def _pack(replies: list[dict[str, Any]]) -> bytes:
    z = zlib.compressobj(9, zdict=_ZDICT)
    raw = json.dumps(replies, ensure_ascii=False, separators=(",", ":")).encode()
    return _PACKED + z.compress(raw) + z.flush()


def _unpack(blob: bytes) -> list[dict[str, Any]]:
    if blob[:1] == _PACKED:
        z = zlib.decompressobj(zdict=_ZDICT)
        blob = z.decompress(blob[1:]) + z.flush()
    return list(json.loads(blob.decode()))


def lock_and_load(
    conn: sa.Connection, *, key: ConversationKey, user_id: str, locale: str, now: datetime, cipher: Cipher
) -> StoredConversation:
    """Load the conversation, creating it if new, holding its row lock until the transaction ends.

    On PostgreSQL the lock is ``SELECT … FOR UPDATE``; on SQLite the transaction began IMMEDIATE, which
    already holds the database's single write lock.
    """
    ref = chat_ref(cipher, key)
    params = {"channel": key.channel, "ref": ref}
    row = _LOAD.first(conn, params)
    if row is None:
        stmt = _insert(conn)(conversations).values(
            channel=key.channel, chat_ref=ref, locale=locale,
            who=cipher.seal_json({"chat_id": key.chat_id, "user_id": user_id}, aad=f"conversations.who:{ref}"),
            state=cipher.seal_json({}, aad=f"conversations.state:{ref}"), version=0, created_at=now,
            updated_at=now,
        ).on_conflict_do_nothing(index_elements=["channel", "chat_ref"])
        conn.execute(stmt)
        row = _LOAD.first(conn, params)
        assert row is not None, "inserted or already there"
    state = cipher.open_json(row.state, aad=f"conversations.state:{ref}")
    return StoredConversation(id=row.id, key=key, user_id=user_id, locale=row.locale, state=dict(state),
                              version=row.version, ref=ref)


def peek(conn: sa.Connection, *, key: ConversationKey, cipher: Cipher) -> tuple[str, dict[str, Any]] | None:
    """The conversation's locale and state without locking it (read-only views such as a web chat resume)."""
    ref = chat_ref(cipher, key)
    row = conn.execute(sa.select(conversations.c.locale, conversations.c.state).where(
        conversations.c.channel == key.channel, conversations.c.chat_ref == ref)).first()
    if row is None:
        return None
    return row.locale, dict(cipher.open_json(row.state, aad=f"conversations.state:{ref}"))


def save(
    conn: sa.Connection, *, conversation: StoredConversation, state: dict[str, Any], locale: str,
    now: datetime, cipher: Cipher,
) -> int:
    """Write the new state; returns the new version. Raises :class:`StaleConversationError` on a race."""
    touched = _SAVE.run(conn, {
        "conv_id": conversation.id, "old_version": conversation.version,
        "new_state": cipher.seal_json(state, aad=f"conversations.state:{conversation.ref}"),
        "new_locale": locale, "new_version": conversation.version + 1, "now": now,
    })
    if touched != 1:
        raise StaleConversationError(f"conversation {conversation.key} changed under us")
    return conversation.version + 1


def find_replies(
    conn: sa.Connection, *, key: ConversationKey, message_id: str, cipher: Cipher
) -> list[dict[str, Any]] | None:
    """The replies already given to this message id, or None if it is new."""
    ref = chat_ref(cipher, key)
    row = _FIND_REPLIES.first(conn, {"channel": key.channel, "ref": ref, "message_id": message_id})
    if row is None:
        return None
    return _unpack(cipher.open(base64.b64decode(row.replies), aad=f"inbound_messages.replies:{ref}:{message_id}"))


def record_replies(
    conn: sa.Connection, *, key: ConversationKey, message_id: str, replies: list[dict[str, Any]],
    now: datetime, cipher: Cipher,
) -> None:
    ref = chat_ref(cipher, key)
    sealed = base64.b64encode(cipher.seal(_pack(replies), aad=f"inbound_messages.replies:{ref}:{message_id}")).decode()
    _RECORD_REPLIES.run(conn, {"channel": key.channel, "chat_ref": ref, "message_id": message_id,
                                   "replies": sealed, "created_at": now})


def delete_conversation(conn: sa.Connection, *, key: ConversationKey, cipher: Cipher) -> int:
    """Erase a conversation and its dedupe records (a parent's "forget me")."""
    ref = chat_ref(cipher, key)
    conn.execute(
        sa.delete(inbound_messages).where(
            inbound_messages.c.channel == key.channel, inbound_messages.c.chat_ref == ref
        )
    )
    result = conn.execute(
        sa.delete(conversations).where(conversations.c.channel == key.channel, conversations.c.chat_ref == ref)
    )
    return result.rowcount
