"""Broadcast jobs in the database: audience snapshot, leases, at-most-once claims, recovery, steering, progress.
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from storage import audit, broadcasts, subscriptions
from storage.content_schema import broadcast_deliveries
from storage.content_schema import broadcasts as broadcasts_table
from storage.content_schema import subscriptions as subscriptions_table
from storage.db import Database
from storage.subscriptions import Audience, AudienceError
from tests.broadcast.helpers import now, subscribe_many
from tests.chat import TEST_CIPHER as CIPHER

TTL = timedelta(seconds=10)


async def test_audience_is_a_snapshot_of_active_subscribers(database: Database) -> None:
    await subscribe_many(database, CIPHER, channel="telegram", chat_ids=["1", "2", "3"], school_id="S1")
    await subscribe_many(database, CIPHER, channel="telegram", chat_ids=["4"], school_id="S2", commune_key="tan loc")
    await subscribe_many(database, CIPHER, channel="web", chat_ids=["w1"], commune_key="tan loc")
    assert await database.run(subscriptions.count_audience, audience=Audience()) == {"telegram": 4, "web": 1}
    assert await database.run(subscriptions.count_audience, audience=Audience("schools", ("S1",))) == {"telegram": 3}
    assert await database.run(subscriptions.count_audience, audience=Audience("communes", ("tan loc",))) == {
        "telegram": 1, "web": 1}
    with pytest.raises(AudienceError):
        Audience("schools", ())

    bid = await database.run(broadcasts.create, title="", text_vi="Cảnh báo", text_en=None,
                             audience=Audience("schools", ("S1",)), actor="officer:1", now=now())
    found = await database.run(broadcasts.get, broadcast_id=bid)
    assert found is not None and found.status == "sending" and found.total == 3
    # Later subscribers are not added to a broadcast already going out; starting twice queues nothing more.
    await subscribe_many(database, CIPHER, channel="telegram", chat_ids=["5"], school_id="S1")
    assert await database.run(broadcasts.start, broadcast_id=bid, now=now()) == 0
    assert len(await database.run(broadcasts.sent_to, broadcast_id=bid)) == 3
    assert [e["action"] for e in await database.run(audit.entries, subject=f"broadcast:{bid}")] == ["broadcast.create"]


async def test_empty_text_is_refused(database: Database) -> None:
    with pytest.raises(broadcasts.BroadcastError):
        await database.run(broadcasts.create, title="", text_vi="  ", text_en=None, audience=Audience(),
                           actor="x", now=now())


async def test_one_lease_holder_claims_and_a_new_holder_never_resends_a_dead_claim(database: Database) -> None:
    await subscribe_many(database, CIPHER, channel="telegram", chat_ids=[str(i) for i in range(5)])
    bid = await database.run(broadcasts.create, title="t", text_vi="Cảnh báo", text_en="Warning",
                             audience=Audience(), actor="x", now=now())
    first = await database.run(broadcasts.claim_next, channel="telegram", owner="A", now=now(), ttl=TTL,
                               cipher=CIPHER)
    assert isinstance(first, broadcasts.Claimed) and first.text == "Cảnh báo"
    assert await database.run(broadcasts.claim_next, channel="telegram", owner="B", now=now(), ttl=TTL,
                              cipher=CIPHER) is False  # A holds the platform
    assert await database.run(broadcasts.mark_sent, delivery_id=first.id, owner="A", now=now())
    second = await database.run(broadcasts.claim_next, channel="telegram", owner="A", now=now(), ttl=TTL,
                                cipher=CIPHER)
    assert isinstance(second, broadcasts.Claimed) and second.id != first.id
    # A dies holding ``second``; once its lease runs out B takes over: ``second`` is interrupted, never resent.
    later = now() + TTL + timedelta(seconds=1)
    third = await database.run(broadcasts.claim_next, channel="telegram", owner="B", now=later, ttl=TTL,
                               cipher=CIPHER)
    assert isinstance(third, broadcasts.Claimed) and third.id not in (first.id, second.id)
    assert not await database.run(broadcasts.mark_sent, delivery_id=second.id, owner="A", now=later)
    rows = {sid: (status, failure) for sid, status, failure in
            await database.run(broadcasts.sent_to, broadcast_id=bid)}
    assert rows[second.subscription_id] == ("failed", "interrupted")
    progress = await database.run(broadcasts.progress, broadcast_id=bid, now=later)
    assert (progress.sent, progress.uncertain, progress.remaining, progress.total) == (1, 1, 3, 5)


async def test_blocked_marks_the_subscription_and_the_next_broadcast_skips_it(database: Database) -> None:
    await subscribe_many(database, CIPHER, channel="telegram", chat_ids=["1", "2"])
    await database.run(broadcasts.create, title="", text_vi="A", text_en=None, audience=Audience(), actor="x",
                       now=now())
    item = await database.run(broadcasts.claim_next, channel="telegram", owner="A", now=now(), ttl=TTL,
                              cipher=CIPHER)
    assert isinstance(item, broadcasts.Claimed)
    await database.run(broadcasts.mark_failed, delivery_id=item.id, owner="A", failure="blocked", detail="Forbidden",
                       now=now(), subscription_id=item.subscription_id)
    second = await database.run(broadcasts.create, title="", text_vi="B", text_en=None, audience=Audience(),
                                actor="x", now=now())
    assert [sid for sid, _s, _f in await database.run(broadcasts.sent_to, broadcast_id=second)] == [
        s for s in (1, 2) if s != item.subscription_id]


async def test_stopped_after_queueing_is_not_sent(database: Database) -> None:
    await subscribe_many(database, CIPHER, channel="telegram", chat_ids=["1"])
    bid = await database.run(broadcasts.create, title="", text_vi="A", text_en=None, audience=Audience(),
                             actor="x", now=now())
    (sub,) = await database.run(lambda c: list(c.execute(sa.select(subscriptions_table.c.chat_ref))
                                                .scalars()))
    assert await database.run(subscriptions.stop, channel="telegram", ref=sub, now=now())
    assert await database.run(broadcasts.claim_next, channel="telegram", owner="A", now=now(), ttl=TTL,
                              cipher=CIPHER) is None
    assert await database.run(broadcasts.sent_to, broadcast_id=bid) == [(1, "failed", "stopped")]


async def test_pause_resume_cancel_and_done(database: Database) -> None:
    await subscribe_many(database, CIPHER, channel="telegram", chat_ids=["1", "2", "3"])
    bid = await database.run(broadcasts.create, title="", text_vi="A", text_en=None, audience=Audience(),
                             actor="x", now=now())
    assert await database.run(broadcasts.steer, broadcast_id=bid, action="pause", actor="x", now=now()) == "paused"
    assert await database.run(broadcasts.claim_next, channel="telegram", owner="A", now=now(), ttl=TTL,
                              cipher=CIPHER) is None  # paused: nothing is due
    with pytest.raises(broadcasts.BroadcastError):
        await database.run(broadcasts.steer, broadcast_id=bid, action="pause", actor="x", now=now())
    assert await database.run(broadcasts.steer, broadcast_id=bid, action="resume", actor="x", now=now()) == "sending"
    item = await database.run(broadcasts.claim_next, channel="telegram", owner="A", now=now(), ttl=TTL,
                              cipher=CIPHER)
    assert isinstance(item, broadcasts.Claimed)
    assert await database.run(broadcasts.steer, broadcast_id=bid, action="cancel", actor="x", now=now()) == "cancelled"
    await database.run(broadcasts.mark_sent, delivery_id=item.id, owner="A", now=now())  # in flight when cancelled
    progress = await database.run(broadcasts.progress, broadcast_id=bid, now=now())
    assert (progress.sent, progress.cancelled, progress.remaining) == (1, 2, 0)

    other = await database.run(broadcasts.create, title="", text_vi="B", text_en=None, audience=Audience(),
                               actor="x", now=now())
    for _ in range(3):
        got = await database.run(broadcasts.claim_next, channel="telegram", owner="A", now=now(), ttl=TTL,
                                 cipher=CIPHER)
        assert isinstance(got, broadcasts.Claimed)
        await database.run(broadcasts.mark_sent, delivery_id=got.id, owner="A", now=now())
    assert await database.run(broadcasts.housekeeping, now=now(), visit_days=14) == [other]
    done = await database.run(broadcasts.get, broadcast_id=other)
    assert done is not None and done.status == "done"
    assert (await database.run(broadcasts.progress, broadcast_id=other, now=now())).percent == 100


async def test_scheduled_starts_when_due(database: Database) -> None:
    await subscribe_many(database, CIPHER, channel="telegram", chat_ids=["1"])
    at = now() + timedelta(hours=1)
    bid = await database.run(broadcasts.create, title="", text_vi="A", text_en=None, audience=Audience(),
                             actor="x", now=now(), send_at=at)
    assert (await database.run(broadcasts.get, broadcast_id=bid)).status == "scheduled"  # type: ignore[union-attr]
    await database.run(broadcasts.housekeeping, now=now(), visit_days=14)
    assert await database.run(broadcasts.sent_to, broadcast_id=bid) == []
    await database.run(broadcasts.housekeeping, now=at + timedelta(seconds=1), visit_days=14)
    assert await database.run(broadcasts.sent_to, broadcast_id=bid) == [(1, "pending", None)]


async def test_visits_wait_and_a_pull_delivers_once(database: Database) -> None:
    await subscribe_many(database, CIPHER, channel="api", chat_ids=["parent-1"], locale="en")
    bid = await database.run(broadcasts.create, title="", text_vi="Cảnh báo", text_en="Warning",
                             audience=Audience(), actor="x", now=now())
    progress = await database.run(broadcasts.progress, broadcast_id=bid, now=now())
    assert (progress.waiting, progress.remaining, progress.percent) == (1, 0, 100)
    assert await database.run(broadcasts.housekeeping, now=now(), visit_days=14) == [bid]  # nothing left to push
    from storage.conversations import chat_ref
    from storage.keys import ConversationKey

    ref = chat_ref(CIPHER, ConversationKey("api", "parent-1"))
    assert await database.run(broadcasts.take_for_pull, channel="api", ref=ref, now=now()) == []  # done: no pull
    await database.run(lambda c: c.execute(sa.update(broadcasts_table).values(status="sending")))
    assert await database.run(broadcasts.take_for_pull, channel="api", ref=ref, now=now()) == [("Warning", "en")]
    assert await database.run(broadcasts.take_for_pull, channel="api", ref=ref, now=now()) == []
    rows = await database.run(lambda c: c.execute(sa.select(broadcast_deliveries.c.status)).scalars().all())
    assert rows == ["sent"]


async def test_resending_the_uncertain_is_an_explicit_choice(database: Database) -> None:
    await subscribe_many(database, CIPHER, channel="telegram", chat_ids=["1", "2"])
    bid = await database.run(broadcasts.create, title="", text_vi="A", text_en=None, audience=Audience(),
                             actor="x", now=now())
    cut = await database.run(broadcasts.claim_next, channel="telegram", owner="A", now=now(), ttl=TTL, cipher=CIPHER)
    assert isinstance(cut, broadcasts.Claimed)
    later = now() + TTL * 2
    other = await database.run(broadcasts.claim_next, channel="telegram", owner="B", now=later, ttl=TTL,
                               cipher=CIPHER)  # A died mid-send: B takes over
    assert isinstance(other, broadcasts.Claimed)
    await database.run(broadcasts.mark_sent, delivery_id=other.id, owner="B", now=later)
    assert await database.run(broadcasts.housekeeping, now=later, visit_days=14) == [bid]
    assert (await database.run(broadcasts.progress, broadcast_id=bid, now=later)).uncertain == 1
    assert await database.run(broadcasts.steer, broadcast_id=bid, action="resend_uncertain", actor="officer:1",
                              now=later) == "sending"
    again = await database.run(broadcasts.claim_next, channel="telegram", owner="B", now=later, ttl=TTL,
                               cipher=CIPHER)
    assert isinstance(again, broadcasts.Claimed) and again.id == cut.id
    with pytest.raises(broadcasts.BroadcastError):  # nobody left to resend to
        await database.run(broadcasts.steer, broadcast_id=bid, action="resend_uncertain", actor="x", now=later)
