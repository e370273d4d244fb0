"""The police side reaches parents on Zalo through the channel contract: an officer's question arrives (with
its decline button), the parent's answer goes back to the tip, and a parent outside Zalo's window is recorded."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bot.delivery import DeliveryService, talk_of
from handlers import handoff_ops
from storage import channel_state, notices
from storage.schema import tips
from storage.workflow_schema import tip_cases
from tests.e2e.zalo.conftest import Live, live, make_settings
from tests.e2e.zalo.fakezalo import FakeZalo, Sent
from tests.e2e.zalo.people import ZaloUser, db_until, texts
from tests.twoway.conftest import SUPERVISOR


@asynccontextmanager
async def zalo_with_delivery(tmp_path: Path, fake: FakeZalo) -> AsyncIterator[Live]:
    """The Zalo channel as `hotline serve` runs it (its channel is in runtime.channels), and the notice worker."""
    async with live(make_settings(tmp_path, fake), fake) as zalo:
        stop = asyncio.Event()
        worker = asyncio.create_task(DeliveryService(zalo.runtime, poll_seconds=0.05).run(stop))
        try:
            yield zalo
        finally:
            stop.set()
            await asyncio.wait_for(worker, timeout=10)


async def request_officer(parent: ZaloUser) -> int:
    await parent.say("menu")
    await parent.choose("Gặp cán bộ")
    await parent.say("Tôi muốn hỏi về cuộc gọi xưng là cô giáo")
    reference = re.search(r"[A-Z]{2,4}-\d{4}-\d{6}", texts(await parent.choose("Gửi")))
    assert reference is not None

    def find(conn: sa.Connection) -> int:
        return int(conn.execute(sa.select(tips.c.id).where(tips.c.reference == reference.group(0))).scalar_one())

    return await parent.db.run(find)


async def pushed(fake: FakeZalo, parent: ZaloUser, fragment: str) -> Sent:
    """Wait for a message containing ``fragment`` sent to ``parent`` outside any reply."""
    def find() -> Sent | None:
        return next((s for s in fake.messages(parent.id) if fragment in s.text), None)

    deadline = asyncio.get_running_loop().time() + 15
    while (found := find()) is None:
        assert asyncio.get_running_loop().time() < deadline, f"{fragment!r} never reached {parent.id}"
        await asyncio.sleep(0.05)
    parent.seen = len(fake.messages(parent.id))
    return found


async def test_an_officer_question_reaches_the_parent_on_zalo_and_the_answer_comes_back(tmp_path: Path,
                                                                                         fake: FakeZalo) -> None:
    async with zalo_with_delivery(tmp_path, fake) as zalo:
        parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "9001")
        tip_id = await request_officer(parent)
        talk = talk_of(zalo.runtime)
        await zalo.runtime.db.run(handoff_ops.ask, viewer=SUPERVISOR, tip_id=tip_id,
                                  question="Số máy gọi cho bạn là số nào?", talk=talk, now=datetime.now(UTC))
        question = await pushed(fake, parent, "Số máy gọi cho bạn là số nào?")
        assert question.text.startswith("👮 Công an tỉnh")
        assert [payload for _, payload in question.buttons] == ["#hl:!decline"]  # a real Zalo button
        assert "Cảm ơn bạn" in texts(await parent.say("Số 0377 123 999"))

        def replied(conn: sa.Connection) -> bool:
            return bool(conn.execute(sa.select(tip_cases.c.reply_received).where(tip_cases.c.tip_id == tip_id))
                        .scalar_one())

        assert await zalo.runtime.db.run(replied)


async def test_a_parent_outside_zalos_window_is_recorded_on_the_notice_and_the_tip(tmp_path: Path,
                                                                                   fake: FakeZalo) -> None:
    async with zalo_with_delivery(tmp_path, fake) as zalo:
        parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "9002")
        tip_id = await request_officer(parent)
        fake.fail(-230, times=1, user=parent.id)  # "user has not interacted with the OA in the past 7 days"
        notice_id = await zalo.runtime.db.run(handoff_ops.ask, viewer=SUPERVISOR, tip_id=tip_id,
                                              question="Còn đó không?", talk=talk_of(zalo.runtime),
                                              now=datetime.now(UTC))

        def failed(conn: sa.Connection) -> str | None:
            row = notices.get(conn, notice_id=notice_id)
            return row.failure if row is not None and row.status == "failed" else None

        assert await db_until(zalo.runtime.db, failed) == "out_of_window"
        reference = await zalo.runtime.db.run(lambda c: c.execute(
            sa.select(tips.c.reference).where(tips.c.id == tip_id)).scalar_one())
        shown = await zalo.runtime.db.run(channel_state.tip_reachability, reference=reference)
        assert shown is not None and shown["status"] == "out_of_window"
        assert fake.refreshes == []  # not a token problem: nothing refreshed, nothing retried
