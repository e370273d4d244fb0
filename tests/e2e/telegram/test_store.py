"""Telegram on the shared channel store (SQLite and PostgreSQL): dedupe by update id, the polling offset, per-chat
order, leases kept apart from Zalo's, rows sealed before 0015, and the tip-card actions that stay Telegram's own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import channel_store as store
from storage import telegram_store as cards
from storage.crypto import CryptoError
from storage.db import Database
from tests.chat import TEST_CIPHER as CIPHER
from tests.e2e.telegram.legacy import enqueue_old, seal_old_update

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
TG = "telegram"


def _upd(update_id: int, chat: str) -> store.NewEvent:
    return store.NewEvent(event_id=str(update_id), chat_ref=chat,
                          data={"update_id": update_id, "text": f"m{update_id}"})


async def test_updates_are_stored_once_and_the_offset_only_moves_forward(database: Database) -> None:
    fresh = await database.run(store.store_events, channel=TG, events=[_upd(1, "a"), _upd(2, "a")], now=NOW,
                               cipher=CIPHER, offset=3)
    again = await database.run(store.store_events, channel=TG, events=[_upd(2, "a"), _upd(3, "b")], now=NOW,
                               cipher=CIPHER, offset=2)
    assert (fresh, again) == (["1", "2"], ["3"])
    assert await database.run(store.get_offset, channel=TG) == 3
    assert await database.run(store.get_offset, channel="zalo_bot") is None  # offsets are per channel
    assert sorted(await database.run(store.due_chats, channel=TG, now=NOW)) == ["a", "b"]
    assert await database.run(store.due_chats, channel="zalo", now=NOW) == []


async def test_a_chat_works_in_order_and_a_failing_update_holds_back_later_ones(database: Database) -> None:
    await database.run(store.store_events, channel=TG, events=[_upd(1, "a"), _upd(2, "a")], now=NOW, cipher=CIPHER)
    first = await database.run(store.next_work, channel=TG, chat_ref="a", now=NOW, cipher=CIPHER)
    assert isinstance(first, store.StoredEvent) and first.data["text"] == "m1"
    await database.run(store.fail_event, event_pk=first.id, error="boom", retry_at=NOW + timedelta(seconds=5))
    assert await database.run(store.next_work, channel=TG, chat_ref="a", now=NOW, cipher=CIPHER) is None
    later = NOW + timedelta(seconds=6)
    retried = await database.run(store.next_work, channel=TG, chat_ref="a", now=later, cipher=CIPHER)
    assert isinstance(retried, store.StoredEvent) and retried.attempts == 1
    calls = [{"method": "send", "chat_id": 5, "text": "một"}, {"method": "send", "chat_id": 5, "text": "hai"}]
    assert await database.run(store.finish_event, event=retried, calls=calls, now=later, cipher=CIPHER)
    assert not await database.run(store.finish_event, event=retried, calls=calls, now=later,
                                  cipher=CIPHER)  # a second finish queues nothing
    nxt = await database.run(store.next_work, channel=TG, chat_ref="a", now=later, cipher=CIPHER)
    assert isinstance(nxt, store.StoredEvent) and nxt.event_id == "2"  # updates before sends
    out = await database.run(store.finish_and_next, event=nxt, calls=[], now=later, cipher=CIPHER)
    assert isinstance(out, store.Outgoing) and out.call["text"] == "một"
    await database.run(store.retry_outgoing, out=out, not_before=later + timedelta(seconds=9), error="5xx")
    assert await database.run(store.next_work, channel=TG, chat_ref="a", now=later, cipher=CIPHER) is None  # "hai" too
    out2 = await database.run(store.sent_and_next, out=out, now=later, cipher=CIPHER)
    assert isinstance(out2, store.Outgoing) and out2.call["text"] == "hai"
    await database.run(store.bury_outgoing, outgoing_id=out2.id, error="403 blocked")
    assert await database.run(store.pending_counts, channel=TG) == {"events": 0, "outgoing": 0, "dead": 1}
    assert await database.run(store.prune, channel=TG, before=later + timedelta(days=3)) == 3  # 2 updates, 1 call


async def test_one_owner_at_a_time_holds_a_chat_and_channels_do_not_share_leases(database: Database) -> None:
    ttl = timedelta(seconds=15)
    assert await database.run(store.claim, channel=TG, chat_ref="a", owner="p1", now=NOW, ttl=ttl)
    assert await database.run(store.claim, channel=TG, chat_ref="a", owner="p1", now=NOW, ttl=ttl)  # renewal
    assert not await database.run(store.claim, channel=TG, chat_ref="a", owner="p2", now=NOW, ttl=ttl)
    assert await database.run(store.claim, channel="zalo", chat_ref="a", owner="p2", now=NOW, ttl=ttl)
    assert await database.run(store.claim, channel=TG, chat_ref="a", owner="p2", now=NOW + ttl * 2, ttl=ttl)
    await database.run(store.release, channel=TG, chat_ref="a", owner="p1")  # not p1's any more: no effect
    assert not await database.run(store.claim, channel=TG, chat_ref="a", owner="p1", now=NOW + ttl * 2, ttl=ttl)
    await database.run(store.release, channel=TG, chat_ref="a", owner="p2")
    assert await database.run(store.claim, channel=TG, chat_ref="a", owner="p1", now=NOW + ttl * 2, ttl=ttl)


async def test_a_payload_sealed_before_0015_opens_for_telegram_only(database: Database) -> None:
    """What 0015 copied keeps its old seal behind the marker; the marker means nothing on another channel."""
    import sqlalchemy as sa

    from storage.channel_schema import channel_events, channel_outgoing

    def put(conn: sa.Connection, channel: str) -> None:
        conn.execute(sa.insert(channel_events).values(
            channel=channel, event_id="77", chat_ref="c", received_at=NOW, next_attempt_at=NOW,
            payload=store.LEGACY_TELEGRAM + seal_old_update(CIPHER, 77, {"update_id": 77, "text": "cũ"})))
        conn.execute(sa.insert(channel_outgoing).values(
            channel=channel, chat_ref="d", status="pending", not_before=NOW, created_at=NOW,
            payload=store.LEGACY_TELEGRAM + enqueue_old(CIPHER, "d", {"method": "send", "text": "gửi"})))

    await database.run(put, TG)
    event = await database.run(store.next_work, channel=TG, chat_ref="c", now=NOW, cipher=CIPHER)
    out = await database.run(store.next_work, channel=TG, chat_ref="d", now=NOW, cipher=CIPHER)
    assert isinstance(event, store.StoredEvent) and event.data["text"] == "cũ"
    assert isinstance(out, store.Outgoing) and out.call["text"] == "gửi"
    await database.run(put, "zalo")
    with pytest.raises(CryptoError):
        await database.run(store.next_work, channel="zalo", chat_ref="c", now=NOW, cipher=CIPHER)


async def test_tip_actions_ack_once_and_latest_assignee_wins(database: Database) -> None:
    ref = "TG-2026-000001"
    assert await database.run(cards.record_tip_action, reference=ref, action="ack", officer_id="42", now=NOW)
    assert not await database.run(cards.record_tip_action, reference=ref, action="ack", officer_id="42", now=NOW)
    for officer, expected in (("42", True), ("42", False), ("43", True), ("42", True)):
        assert await database.run(cards.assign_tip, reference=ref, officer_id=officer, now=NOW) is expected
    actions = await database.run(cards.tip_actions, reference=ref)
    assert [(a["action"], a["officer_id"]) for a in actions] == [("ack", "42"), ("assign", "43"), ("assign", "42")]
