"""Retention of broadcast personal data (storage/broadcast_retention.py through run_retention): ended
subscriptions are deleted after ``retention.subscription_days``; finished broadcasts lose their row per
recipient after ``retention.broadcast_recipient_days`` while the console's progress and the monthly report keep
their figures; "forget me" keeps the counts too. SQLite file and PostgreSQL; `hotline retention run` says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from click.testing import CliRunner

from bot.cli import cli
from bot.reports import build_report
from storage import broadcasts, subscriptions
from storage.content_schema import broadcast_deliveries, broadcast_tallies
from storage.content_schema import subscriptions as subscriptions_table
from storage.conversations import chat_ref
from storage.crypto import cipher_from_file
from storage.db import Database
from storage.keys import ConversationKey
from storage.migrate import upgrade
from storage.retention import RetentionReport, run_retention
from storage.subscriptions import Audience
from tests.broadcast.helpers import subscribe_many
from tests.chat import TEST_CIPHER as CIPHER

# 23:30 on 31 October in Vietnam: a broadcast that goes on past local midnight into the report's November.
T0 = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)
TTL = timedelta(seconds=10)
SENT_ROW = "Tin nhắn cảnh báo đã tới phụ huynh"


def ref(channel: str, chat: str) -> str:
    return chat_ref(CIPHER, ConversationKey(channel, chat))


async def retain(db: Database, now: datetime, *, subscription_days: int = 30,
                 broadcast_recipient_days: int = 30) -> RetentionReport:
    return await db.run(run_retention, cipher=CIPHER, now=now, closed_tip_days=180, conversation_days=30,
                        subscription_days=subscription_days, broadcast_recipient_days=broadcast_recipient_days)


async def sent_broadcast(db: Database, chats: list[str], *, at: datetime = T0) -> int:
    """A broadcast to every active Telegram subscriber, finished at ``at``: the first recipient blocked the bot,
    the second was out of the window, the rest got it — the last one 40 minutes later, in November."""
    bid = await db.run(broadcasts.create, title="", text_vi="Cảnh báo", text_en=None, audience=Audience(),
                       actor="officer:1", now=at)
    outcomes = ["blocked", "out_of_window"] + ["sent"] * (len(chats) - 2)
    for i, outcome in enumerate(outcomes):
        when = at + timedelta(minutes=40 if i == len(outcomes) - 1 else 0, seconds=i)
        item = await db.run(broadcasts.claim_next, channel="telegram", owner="A", now=when, ttl=TTL, cipher=CIPHER)
        assert isinstance(item, broadcasts.Claimed)
        if outcome == "sent":
            await db.run(broadcasts.mark_sent, delivery_id=item.id, owner="A", now=when)
        else:
            await db.run(broadcasts.mark_failed, delivery_id=item.id, owner="A", failure=outcome, detail="x",
                         now=when, subscription_id=item.subscription_id)
    assert await db.run(broadcasts.housekeeping, now=at + timedelta(days=1), visit_days=14) == [bid]
    return int(bid)


async def figures(db: Database, bid: int) -> tuple[dict[str, object], object]:
    """What the console shows of a broadcast, and the monthly report's warnings delivered (November, October)."""
    progress = (await db.run(broadcasts.progress, broadcast_id=bid, now=T0 + timedelta(days=400))).to_json()
    report = await db.run(build_report, year=2026, month=11, cipher=CIPHER, province="Tỉnh Thử", police_name="CA")
    (row,) = [r for r in report.measures if r.label == SENT_ROW]
    return progress, (row.current, row.previous)


async def rows(db: Database, table: sa.Table) -> list[Any]:
    return await db.run(lambda c: list(c.execute(sa.select(table))))


async def test_finished_broadcasts_keep_their_counts_but_no_row_per_recipient(database: Database) -> None:
    chats = [str(900 + i) for i in range(6)]
    await subscribe_many(database, CIPHER, channel="telegram", chat_ids=chats)
    bid = await sent_broadcast(database, chats)
    before = await figures(database, bid)
    assert before[0]["sent"] == 4 and before[0]["blocked"] == 1 and before[0]["failed"] == 1
    assert before[1] == (1, 3)  # by the local day each was sent
    # A broadcast still going out is never touched, whatever its age.
    await subscribe_many(database, CIPHER, channel="telegram", chat_ids=["999"])
    sending = await database.run(broadcasts.create, title="", text_vi="Đang gửi", text_en=None, audience=Audience(),
                                 actor="officer:1", now=T0)

    finished = T0 + timedelta(days=1)
    early = await retain(database, finished + timedelta(days=29), broadcast_recipient_days=30)
    assert early.broadcast_recipients_dropped == 0
    late = await retain(database, finished + timedelta(days=31), broadcast_recipient_days=30)
    assert late.broadcast_recipients_dropped == 6

    assert await database.run(broadcasts.sent_to, broadcast_id=bid) == []
    left = await rows(database, broadcast_deliveries)
    assert {r.broadcast_id for r in left} == {sending}  # only the live broadcast still knows its recipients
    assert await figures(database, bid) == before  # console and report: the same figures
    tallies = await rows(database, broadcast_tallies)
    columns = sorted(map(str, tallies[0]._mapping))
    assert columns == ["broadcast_id", "channel", "count", "failure", "id", "sent_hour", "status"]  # nobody
    assert sum(t.count for t in tallies) == 6
    again = await retain(database, finished + timedelta(days=32), broadcast_recipient_days=30)
    assert again.broadcast_recipients_dropped == 0 and await figures(database, bid) == before


async def test_ended_subscriptions_are_deleted_after_their_days_and_the_counts_stay(database: Database) -> None:
    chats = ["1", "2", "3", "4", "5"]
    await subscribe_many(database, CIPHER, channel="telegram", chat_ids=chats)
    bid = await sent_broadcast(database, chats)  # "1" blocked the bot: its subscription is marked blocked
    before = await figures(database, bid)
    stopped_at = T0 + timedelta(days=2)
    for chat in ("3", "4"):  # "dừng"
        assert await database.run(subscriptions.stop, channel="telegram", ref=ref("telegram", chat), now=stopped_at)
    # "4" changed their mind: subscribing again makes it active, it stays.
    await database.run(subscriptions.subscribe, channel="telegram", ref=ref("telegram", "4"), chat_id="4",
                       locale="vi", school_id=None, school_name=None, commune_code=None, commune_key=None,
                       commune_name=None, now=stopped_at + timedelta(days=1), cipher=CIPHER)
    recent_stop = T0 + timedelta(days=40)
    assert await database.run(subscriptions.stop, channel="telegram", ref=ref("telegram", "5"), now=recent_stop)

    now = T0 + timedelta(days=45)
    report = await retain(database, now, subscription_days=30, broadcast_recipient_days=365)
    assert report.subscriptions_deleted == 2  # "1" (blocked) and "3" (stopped)
    left = {r.chat_ref: r.status for r in await rows(database, subscriptions_table)}
    assert left == {ref("telegram", "2"): "active", ref("telegram", "4"): "active", ref("telegram", "5"): "stopped"}
    # Their delivery rows went with them, counted first: the broadcast's figures have not moved.
    assert len(await database.run(broadcasts.sent_to, broadcast_id=bid)) == 3
    assert await figures(database, bid) == before
    assert (await retain(database, now, broadcast_recipient_days=365)).subscriptions_deleted == 0
    later = await retain(database, recent_stop + timedelta(days=31), subscription_days=30,
                         broadcast_recipient_days=365)
    assert later.subscriptions_deleted == 1 and await figures(database, bid) == before


async def test_forget_me_takes_the_subscription_and_keeps_the_counts(database: Database) -> None:
    chats = ["11", "12", "13"]
    await subscribe_many(database, CIPHER, channel="telegram", chat_ids=chats)
    bid = await sent_broadcast(database, chats)
    before = await figures(database, bid)
    assert await database.run(subscriptions.forget, ref=ref("telegram", "13")) == 1
    assert await database.run(subscriptions.of_chat, channel="telegram", ref=ref("telegram", "13")) is None
    refs = {r.recipient_ref for r in await rows(database, broadcast_deliveries)}
    assert ref("telegram", "13") not in refs and len(refs) == 2
    assert await figures(database, bid) == before


def test_hotline_retention_run_says_what_went(tmp_path: Path) -> None:
    import asyncio

    keys = tmp_path / "keys.json"
    cipher = cipher_from_file(keys, create=True)
    url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"

    async def prepare() -> None:
        db = Database(url)
        try:
            await upgrade(db)
            await subscribe_many(db, cipher, channel="telegram", chat_ids=["1", "2"])
            old = datetime.now(UTC) - timedelta(days=31)
            assert await db.run(subscriptions.stop, channel="telegram",
                                ref=chat_ref(cipher, ConversationKey("telegram", "1")), now=old)
        finally:
            await db.dispose()

    asyncio.run(prepare())
    config = tmp_path / "config.yaml"
    config.write_text("retention:\n  subscription_days: 30\n", encoding="utf-8")
    env = {"HOTLINE_CONFIG": str(config), "HOTLINE_DATABASE__URL": url, "HOTLINE_SECURITY__KEY_FILE": str(keys),
           "HOTLINE_DATA_DIR": str(tmp_path / "data"), "HOTLINE_LOGGING__FILE": ""}
    result = CliRunner().invoke(cli, ["retention", "run"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "subscriptions deleted: 1; broadcast recipients dropped: 0" in result.output
