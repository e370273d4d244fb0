"""The channel-keyed journal, queue, leases, state and reachability — one contract on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from storage import channel_state as state
from storage import channel_store as store
from storage.channel_schema import channel_events
from storage.channel_state import OAuthTokens
from storage.channel_store import NewEvent, Outgoing, StoredEvent
from storage.conversations import chat_ref
from storage.db import Database
from storage.keys import ConversationKey
from storage.schema import tips
from tests.chat import TEST_CIPHER as CIPHER

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
TTL = timedelta(seconds=15)


def _events(*ids: str, chat: str = "c1") -> list[NewEvent]:
    return [NewEvent(event_id=i, chat_ref=chat, data={"text": i}) for i in ids]


async def test_events_are_stored_once_per_channel_and_come_back_in_order(database: Database) -> None:
    db = database
    assert await db.run(store.store_events, channel="zalo", events=_events("a", "b"), now=T0, cipher=CIPHER) == \
        ["a", "b"]
    assert await db.run(store.store_events, channel="zalo", events=_events("b", "c"), now=T0, cipher=CIPHER) == ["c"]
    # The same id on another channel is another event.
    assert await db.run(store.store_events, channel="other", events=_events("a"), now=T0, cipher=CIPHER) == ["a"]
    assert await db.run(store.due_chats, channel="zalo", now=T0) == ["c1"]
    seen: list[str] = []
    work = (await db.run(store.claim_and_next, channel="zalo", chat_ref="c1", owner="p1", now=T0, ttl=TTL,
                         cipher=CIPHER))[1]
    while isinstance(work, StoredEvent):
        seen.append(work.data["text"])
        work = await db.run(store.finish_and_next, event=work, calls=[], now=T0, cipher=CIPHER)
    assert seen == ["a", "b", "c"]
    assert await db.run(store.pending_counts, channel="zalo") == {"events": 0, "outgoing": 0, "dead": 0}
    payloads = await db.run(lambda c: c.execute(sa.select(channel_events.c.payload).where(
        channel_events.c.channel == "zalo")).scalars().all())
    assert payloads == [None, None, None]  # what the parent wrote does not linger once processed


async def test_an_event_and_its_calls_finish_once_and_calls_go_out_in_order(database: Database) -> None:
    db = database
    await db.run(store.store_events, channel="zalo", events=_events("e1"), now=T0, cipher=CIPHER)
    event = await db.run(store.next_event, channel="zalo", chat_ref="c1", now=T0, cipher=CIPHER)
    assert event is not None
    calls = [{"kind": "text", "to": "u", "text": "one"}, {"kind": "text", "to": "u", "text": "two"}]
    assert await db.run(store.finish_event, event=event, calls=calls, now=T0, cipher=CIPHER) is True
    assert await db.run(store.finish_event, event=event, calls=calls, now=T0, cipher=CIPHER) is False
    first = await db.run(store.next_work, channel="zalo", chat_ref="c1", now=T0, cipher=CIPHER)
    assert isinstance(first, Outgoing) and first.call["text"] == "one"
    # A retry later holds back the chat's later calls (order), until it is due.
    await db.run(store.retry_outgoing, out=first, not_before=T0 + timedelta(minutes=1), error="502")
    assert await db.run(store.next_work, channel="zalo", chat_ref="c1", now=T0, cipher=CIPHER) is None
    again = await db.run(store.next_work, channel="zalo", chat_ref="c1", now=T0 + timedelta(minutes=2),
                         cipher=CIPHER)
    assert isinstance(again, Outgoing) and again.id == first.id and again.attempts == 1
    second = await db.run(store.sent_and_next, out=again, now=T0 + timedelta(minutes=2), cipher=CIPHER)
    assert isinstance(second, Outgoing) and second.call["text"] == "two"
    await db.run(store.bury_outgoing, outgoing_id=second.id, error="Zalo -230")
    assert await db.run(store.pending_counts, channel="zalo") == {"events": 0, "outgoing": 0, "dead": 1}
    assert await db.run(store.prune, channel="zalo", before=T0 + timedelta(days=3)) == 2


async def test_a_chat_is_leased_to_one_owner_until_its_lease_expires(database: Database) -> None:
    db = database
    assert await db.run(store.claim, channel="zalo", chat_ref="c1", owner="p1", now=T0, ttl=TTL)
    assert not await db.run(store.claim, channel="zalo", chat_ref="c1", owner="p2", now=T0, ttl=TTL)
    assert await db.run(store.claim, channel="other", chat_ref="c1", owner="p2", now=T0, ttl=TTL)
    assert await db.run(store.claim, channel="zalo", chat_ref="c1", owner="p1", now=T0 + timedelta(seconds=5),
                        ttl=TTL)  # renewed by its owner
    assert await db.run(store.claim, channel="zalo", chat_ref="c1", owner="p2", now=T0 + timedelta(seconds=30),
                        ttl=TTL)  # taken over once expired (the owner died)
    await db.run(store.release, channel="zalo", chat_ref="c1", owner="p1")  # not p1's any more: no effect
    assert not await db.run(store.claim, channel="zalo", chat_ref="c1", owner="p1", now=T0 + timedelta(seconds=31),
                            ttl=TTL)


async def test_tokens_are_replaced_only_from_the_generation_read(database: Database) -> None:
    db = database
    first = OAuthTokens("a1", "r1", T0 + timedelta(hours=25), T0 + timedelta(days=90), generation=1)
    assert await db.run(state.save_tokens, channel="zalo", tokens=first, now=T0, cipher=CIPHER)
    second = replace(first, access_token="ACCESS-TWO", refresh_token="REFRESH-TWO", generation=2)
    assert await db.run(state.save_tokens, channel="zalo", tokens=second, now=T0, cipher=CIPHER,
                        expected_generation=1)
    stale = replace(first, access_token="a3", refresh_token="r3", generation=2)
    assert not await db.run(state.save_tokens, channel="zalo", tokens=stale, now=T0, cipher=CIPHER,
                            expected_generation=1)
    await db.run(state.mark_reauth, channel="zalo", generation=1, reason="old", now=T0, cipher=CIPHER)
    loaded = await db.run(state.load_tokens, channel="zalo", cipher=CIPHER)
    assert loaded is not None and (loaded.access_token, loaded.reauth_reason) == ("ACCESS-TWO", "")
    await db.run(state.mark_reauth, channel="zalo", generation=2, reason="-14014", now=T0, cipher=CIPHER)
    loaded = await db.run(state.load_tokens, channel="zalo", cipher=CIPHER)
    assert loaded is not None and loaded.reauth_reason == "-14014"
    raw = await db.run(lambda c: c.execute(sa.text("SELECT value FROM channel_state")).scalar_one())
    assert "TWO" not in raw  # sealed at rest


async def test_an_unreachable_parent_shows_on_their_tip(database: Database) -> None:
    db = database
    ref = chat_ref(CIPHER, ConversationKey("zalo", "7001"))
    await db.run(lambda c: c.execute(sa.insert(tips).values(reference="TG-2026-000001", channel="zalo",
                                                            reporter_ref=ref, data="", created_at=T0)))
    assert await db.run(state.tip_reachability, reference="TG-2026-000001") is None
    await db.run(state.record_unreachable, channel="zalo", chat_ref=ref, status="out_of_window",
                 detail="Zalo -230: no interaction in 7 days", now=T0)
    shown = await db.run(state.tip_reachability, reference="TG-2026-000001")
    assert shown is not None and (shown["channel"], shown["status"]) == ("zalo", "out_of_window")
    assert await db.run(state.unreachable_count, channel="zalo") == {"out_of_window": 1}
    # The parent writes again: finishing their event clears the note.
    await db.run(store.store_events, channel="zalo", events=_events("x", chat=ref), now=T0, cipher=CIPHER)
    event = await db.run(store.next_event, channel="zalo", chat_ref=ref, now=T0, cipher=CIPHER)
    assert event is not None
    await db.run(store.finish_event, event=event, calls=[], now=T0, cipher=CIPHER)
    assert await db.run(state.tip_reachability, reference="TG-2026-000001") is None
