"""The Telegram repository on SQLite and PostgreSQL: dedupe, offset, per-chat order, leases, tip actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import telegram_store as store
from storage.db import Database
from tests.chat import TEST_CIPHER as CIPHER

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _upd(update_id: int, chat: str) -> store.NewUpdate:
    return store.NewUpdate(update_id=update_id, chat_ref=chat, data={"update_id": update_id, "text": f"m{update_id}"})


async def test_updates_are_stored_once_and_the_offset_only_moves_forward(database: Database) -> None:
    fresh = await database.run(store.store_updates, updates=[_upd(1, "a"), _upd(2, "a")], now=NOW, cipher=CIPHER,
                               offset=3)
    again = await database.run(store.store_updates, updates=[_upd(2, "a"), _upd(3, "b")], now=NOW, cipher=CIPHER,
                               offset=2)
    assert (fresh, again) == ([1, 2], [3])
    assert await database.run(store.get_offset) == 3
    assert sorted(await database.run(store.due_chats, now=NOW)) == ["a", "b"]


async def test_a_chat_works_in_order_and_a_failing_update_holds_back_later_ones(database: Database) -> None:
    await database.run(store.store_updates, updates=[_upd(1, "a"), _upd(2, "a")], now=NOW, cipher=CIPHER)
    first = await database.run(store.next_work, chat_ref="a", now=NOW, cipher=CIPHER)
    assert isinstance(first, store.StoredUpdate) and first.data["text"] == "m1"
    await database.run(store.fail_update, update_id=1, error="boom", retry_at=NOW + timedelta(seconds=5))
    assert await database.run(store.next_work, chat_ref="a", now=NOW, cipher=CIPHER) is None
    assert not await database.run(store.chat_has_due_work, chat_ref="a", now=NOW)
    later = NOW + timedelta(seconds=6)
    calls = [{"method": "send", "chat_id": 5, "text": "một"}, {"method": "send", "chat_id": 5, "text": "hai"}]
    assert await database.run(store.finish_update, update_id=1, chat_ref="a", calls=calls, now=later, cipher=CIPHER)
    assert not await database.run(store.finish_update, update_id=1, chat_ref="a", calls=calls, now=later,
                                  cipher=CIPHER)  # a second finish queues nothing
    nxt = await database.run(store.next_work, chat_ref="a", now=later, cipher=CIPHER)
    assert isinstance(nxt, store.StoredUpdate) and nxt.update_id == 2  # updates before sends
    await database.run(store.finish_update, update_id=2, chat_ref="a", calls=[], now=later, cipher=CIPHER)
    out = await database.run(store.next_work, chat_ref="a", now=later, cipher=CIPHER)
    assert isinstance(out, store.Outgoing) and out.call["text"] == "một"
    await database.run(store.retry_outgoing, outgoing_id=out.id, not_before=later + timedelta(seconds=9), error="5xx")
    assert await database.run(store.next_work, chat_ref="a", now=later, cipher=CIPHER) is None  # "hai" waits too
    await database.run(store.sent, outgoing_id=out.id)
    out2 = await database.run(store.next_work, chat_ref="a", now=later, cipher=CIPHER)
    assert isinstance(out2, store.Outgoing) and out2.call["text"] == "hai"
    await database.run(store.bury_outgoing, outgoing_id=out2.id, error="403 blocked")
    assert await database.run(store.pending_counts) == {"updates": 0, "outgoing": 0, "dead": 1}
    assert await database.run(store.prune, before=later + timedelta(days=3)) == 3  # 2 updates, 1 dead call


async def test_one_owner_at_a_time_holds_a_chat(database: Database) -> None:
    ttl = timedelta(seconds=15)
    assert await database.run(store.claim_chat, chat_ref="a", owner="p1", now=NOW, ttl=ttl)
    assert await database.run(store.claim_chat, chat_ref="a", owner="p1", now=NOW, ttl=ttl)  # renewal
    assert not await database.run(store.claim_chat, chat_ref="a", owner="p2", now=NOW, ttl=ttl)
    assert await database.run(store.claim_chat, chat_ref="a", owner="p2", now=NOW + ttl * 2, ttl=ttl)  # expired
    await database.run(store.release_chat, chat_ref="a", owner="p1")  # not p1's any more: no effect
    assert not await database.run(store.claim_chat, chat_ref="a", owner="p1", now=NOW + ttl * 2, ttl=ttl)
    await database.run(store.release_chat, chat_ref="a", owner="p2")
    assert await database.run(store.claim_chat, chat_ref="a", owner="p1", now=NOW + ttl * 2, ttl=ttl)


async def test_tip_actions_ack_once_and_latest_assignee_wins(database: Database) -> None:
    ref = "TG-2026-000001"
    assert await database.run(store.record_tip_action, reference=ref, action="ack", officer_id="42", now=NOW)
    assert not await database.run(store.record_tip_action, reference=ref, action="ack", officer_id="42", now=NOW)
    for officer, expected in (("42", True), ("42", False), ("43", True), ("42", True)):
        assert await database.run(store.assign_tip, reference=ref, officer_id=officer, now=NOW) is expected
    actions = await database.run(store.tip_actions, reference=ref)
    assert [(a["action"], a["officer_id"]) for a in actions] == [("ack", "42"), ("assign", "43"), ("assign", "42")]
