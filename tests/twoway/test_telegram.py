"""Over the real Telegram adapter (python-telegram-bot against the fake Bot API on loopback): an officer's question
arrives with its decline button, the answer and a decline come back, a live chat goes both ways, and a parent
who blocked the bot is recorded as such."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.requests import Request

from bot.channels.telegram.channel import TelegramChannel
from bot.delivery import DeliveryService, talk_of
from bot.runtime import Runtime
from handlers import handoff_ops
from storage import notices
from storage.schema import tips
from storage.workflow_schema import tip_cases
from tests.e2e.telegram.conftest import make_settings, open_runtime, running
from tests.e2e.telegram.fakebot import FakeBotAPI
from tests.e2e.telegram.people import Person, db_until, texts, wait_until
from tests.twoway.conftest import SUPERVISOR, reference_in


class BlockingBotAPI(FakeBotAPI):
    """The fake Bot API, where the users in ``blocked`` have blocked the bot (403 on sendMessage to them)."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: set[str] = set()
        self._methods["sendMessage"] = self._send_or_forbid

    async def _send_or_forbid(self, params: dict[str, Any], request: Request | None = None) -> tuple[int, Any]:
        if str(params.get("chat_id")) in self.blocked:
            return 403, "Forbidden: bot was blocked by the user"
        return await self._send_message(params, request)


@pytest.fixture
def fake() -> Iterator[BlockingBotAPI]:
    server = BlockingBotAPI()
    server.start()
    yield server
    server.stop()


@asynccontextmanager
async def telegram_with_delivery(tmp_path: Path, fake: FakeBotAPI) -> AsyncIterator[Runtime]:
    """The Telegram channel running as ``hotline serve`` runs it, registered for pushes, and the worker."""
    async with open_runtime(make_settings(tmp_path, fake)) as runtime, running(runtime) as service:
        runtime.channels.register(TelegramChannel(service))
        stop = asyncio.Event()
        worker = asyncio.create_task(DeliveryService(runtime, poll_seconds=0.05).run(stop))
        try:
            yield runtime
        finally:
            stop.set()
            await asyncio.wait_for(worker, timeout=10)


async def request_officer(parent: Person) -> str:
    await parent.say("/start")
    await parent.press("Gặp cán bộ")
    await parent.say("Tôi muốn hỏi về cuộc gọi xưng là cô giáo")
    return reference_in(texts(await parent.press("Gửi")))


async def tip_id_of(runtime: Runtime, reference: str) -> int:
    def find(conn: sa.Connection) -> int:
        return int(conn.execute(sa.select(tips.c.id).where(tips.c.reference == reference)).scalar_one())

    return await runtime.db.run(find)


async def pushed(fake: FakeBotAPI, parent: Person, fragment: str) -> dict[str, Any]:
    """Wait for a message containing ``fragment`` that the bot sent to ``parent`` outside any reply."""
    def find() -> dict[str, Any] | None:
        return next((m for _, m in fake.events(parent.id) if fragment in m.get("text", "")), None)

    await wait_until(lambda: find() is not None)
    parent.seen = len(fake.events(parent.id))
    found = find()
    assert found is not None
    return found


async def test_question_answer_decline_and_live_chat_over_telegram(tmp_path: Path, fake: BlockingBotAPI) -> None:
    async with telegram_with_delivery(tmp_path, fake) as runtime:
        parent = Person(fake, runtime.db, 5001)
        tip_id = await tip_id_of(runtime, await request_officer(parent))
        talk, now = talk_of(runtime), datetime.now(UTC)

        await runtime.db.run(handoff_ops.ask, viewer=SUPERVISOR, tip_id=tip_id,
                             question="Số máy gọi cho bạn là số nào?", talk=talk, now=now)
        question = await pushed(fake, parent, "Số máy gọi cho bạn là số nào?")
        assert question["text"].startswith("👮 Công an tỉnh")
        [[button]] = question["reply_markup"]["inline_keyboard"]
        assert button["callback_data"] == "!decline"
        assert "Cảm ơn bạn" in texts(await parent.say("Số 0377 123 999"))

        def replied(conn: sa.Connection) -> bool:
            return bool(conn.execute(sa.select(tip_cases.c.reply_received).where(tip_cases.c.tip_id == tip_id))
                        .scalar_one())

        assert await runtime.db.run(replied)

        await runtime.db.run(handoff_ops.ask, viewer=SUPERVISOR, tip_id=tip_id, question="Bạn có ảnh chụp không?",
                             talk=talk, now=datetime.now(UTC))
        await pushed(fake, parent, "Bạn có ảnh chụp không?")
        assert "không cần trả lời" in texts(await parent.press("Không muốn trả lời"))

        await runtime.db.run(handoff_ops.take, viewer=SUPERVISOR, tip_id=tip_id, talk=talk, now=datetime.now(UTC))
        await pushed(fake, parent, "đã vào cuộc trò chuyện")
        assert await parent.say("Họ còn nhắn tin cho tôi nữa") == []  # silent: it went to the officer
        await runtime.db.run(handoff_ops.send, viewer=SUPERVISOR, tip_id=tip_id, body="Chị chặn số đó đi nhé.",
                             talk=talk, now=datetime.now(UTC))
        live = await pushed(fake, parent, "Chị chặn số đó đi nhé.")
        assert live["text"] == "👮 Công an tỉnh: Chị chặn số đó đi nhé."
        advice = texts(await parent.say("tôi đã chuyển tiền cho họ rồi"))  # the urgent path still answers
        assert "ngân hàng" in advice.lower() and "Cán bộ cũng đã nhận được tin nhắn của bạn" in advice
        assert "Đã kết thúc trò chuyện với cán bộ" in texts(await parent.say("kết thúc"))
        assert "Bạn cần giúp gì" in texts(await parent.say("menu"))


async def test_a_parent_who_blocked_the_bot_is_recorded(tmp_path: Path, fake: BlockingBotAPI) -> None:
    async with telegram_with_delivery(tmp_path, fake) as runtime:
        parent = Person(fake, runtime.db, 6002)
        tip_id = await tip_id_of(runtime, await request_officer(parent))
        fake.blocked.add("6002")
        notice_id = await runtime.db.run(handoff_ops.ask, viewer=SUPERVISOR, tip_id=tip_id, question="Còn đó không?",
                                         talk=talk_of(runtime), now=datetime.now(UTC))

        def failed(conn: sa.Connection) -> bool:
            row = notices.get(conn, notice_id=notice_id)
            return row is not None and row.status == "failed"

        await db_until(runtime.db, failed)
        row = await runtime.db.run(notices.get, notice_id=notice_id)
        assert row is not None and row.failure == "blocked"
        assert len(fake.calls_to("sendMessage", ok=False)) == 1  # not retried
