"""Dedupe records: a retried message still gets the same answer, the record is compact, and it expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from storage import conversations as conv_repo
from storage.db import Database
from storage.keys import ConversationKey
from storage.retention import run_retention
from storage.schema import conversations, inbound_messages
from tests.chat import TEST_CIPHER, Chat, make_engine

KEY = ConversationKey("test", "parent-1")


async def _stored(db: Database) -> list[str]:
    return await db.run(lambda c: [r.replies for r in c.execute(sa.select(inbound_messages.c.replies))])


async def test_a_retry_gets_the_same_replies_from_a_compact_record(database: Database) -> None:
    chat = Chat(make_engine(database))
    whole = 0
    for i, text in enumerate(["xin chào", "tôi muốn báo cáo cuộc gọi lạ", "0377 123 999", "hôm qua 9h"]):
        first = await chat.send(text, message_id=f"m-{i}")
        again = await chat.send(text, message_id=f"m-{i}")
        assert [m.to_json() for m in again] == [m.to_json() for m in first]
        whole += len(TEST_CIPHER.seal_json([m.to_json() for m in first], aad="x"))  # how they were kept before
    stored = await _stored(database)
    assert len(stored) == 4
    assert sum(map(len, stored)) < 0.75 * whole


async def test_records_written_before_compaction_still_answer(database: Database) -> None:
    replies = [{"text": "Xin chào", "buttons": [{"id": "report", "label": "Báo cáo"}]}]
    ref = conv_repo.chat_ref(TEST_CIPHER, KEY)
    await database.run(lambda c: c.execute(sa.insert(inbound_messages).values(
        channel=KEY.channel, chat_ref=ref, message_id="old", created_at=datetime.now(UTC),
        replies=TEST_CIPHER.seal_json(replies, aad=f"inbound_messages.replies:{ref}:old"))))
    found = await database.run(conv_repo.find_replies, key=KEY, message_id="old", cipher=TEST_CIPHER)
    assert found == replies


async def test_records_expire_after_the_retry_window_while_the_conversation_stays(database: Database) -> None:
    chat = Chat(make_engine(database))
    await chat.send("xin chào", message_id="m-old")
    await chat.send("báo cáo", message_id="m-new")
    now = datetime.now(UTC)
    old = now - conv_repo.REPLY_RETRY_WINDOW - timedelta(minutes=1)
    await database.run(lambda c: c.execute(sa.update(inbound_messages).where(
        inbound_messages.c.message_id == "m-old").values(created_at=old)))
    await database.run(run_retention, cipher=TEST_CIPHER, now=now, closed_tip_days=180, conversation_days=30)
    left = await database.run(lambda c: [r.message_id for r in c.execute(sa.select(inbound_messages.c.message_id))])
    assert left == ["m-new"]
    assert await database.run(lambda c: c.execute(sa.select(sa.func.count()).select_from(conversations)).scalar())


async def test_key_rotation_reseals_compact_records(database: Database) -> None:
    import os

    from storage.crypto import Cipher
    from storage.rekey import rekey_replies

    chat = Chat(make_engine(database))
    first = await chat.send("xin chào", message_id="m-1")
    rotated = Cipher(keys={**TEST_CIPHER.keys, "k2": os.urandom(32)}, current="k2", index_key=TEST_CIPHER.index_key)
    assert await database.run(rekey_replies, cipher=rotated) == 1
    (sealed,) = await _stored(database)
    assert rotated.token_key_id(sealed) == "k2"
    found = await database.run(conv_repo.find_replies, key=KEY, message_id="m-1", cipher=rotated)
    assert found == [m.to_json() for m in first]
