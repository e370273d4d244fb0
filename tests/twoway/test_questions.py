"""An officer's question to the reporter: delivered as from the police, answered (text or photo) and attached to
the tip, or declined; "xóa dữ liệu của tôi" still works. Real engine and flows, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.channels.base import DeliveryFailure, FailureReason
from handlers import handoff_ops
from handlers.handoff_ops import TalkError
from storage import notices, transcript
from storage.files import store_attachment
from storage.schema import tip_attachments
from storage.workflow import events
from storage.workflow_schema import tip_cases
from tests.twoway.conftest import SUPERVISOR, World

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x02\x08\x02\x00\x00\x00\xfd\xd4\x9as"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
QUESTION = "Số máy đã gọi cho bạn là số nào, gọi lúc mấy giờ?"


async def ask(world: World, tip_id: int, question: str = QUESTION, key: str | None = None) -> int:
    return await world.runtime.db.run(handoff_ops.ask, viewer=SUPERVISOR, tip_id=tip_id, question=question,
                                      talk=world.talk, now=datetime.now(UTC), key=key)


async def case_flag(world: World, tip_id: int) -> bool:
    def read(conn: sa.Connection) -> bool:
        return bool(conn.execute(sa.select(tip_cases.c.reply_received).where(tip_cases.c.tip_id == tip_id))
                    .scalar_one())

    return await world.runtime.db.run(read)


async def lines(world: World, tip_id: int) -> list[transcript.Message]:
    return await world.runtime.db.run(transcript.messages, tip_id=tip_id, cipher=world.runtime.cipher)


async def test_question_reaches_the_parent_as_from_the_police_and_the_answer_is_attached(world: World) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    await ask(world, tip_id)
    assert await world.deliver() >= 1
    [(chat, question)] = world.memory.sent
    assert chat == "parent-1"
    assert question.text.startswith("👮 Công an tỉnh") and QUESTION in question.text
    assert "officer:7" not in question.text and "7" not in question.text.split("«")[0]
    assert [b.id for b in question.buttons] == ["!decline"]

    thanks = await parent.say("Số 0912 345 678, gọi lúc 9 giờ sáng")
    assert "Cảm ơn bạn" in thanks[0].text
    assert await case_flag(world, tip_id)
    said = await lines(world, tip_id)
    assert [(m.sender, m.kind) for m in said] == [("police", "question"), ("parent", "answer")]
    assert said[1].text == "Số 0912 345 678, gọi lúc 9 giờ sáng" and said[0].delivery == "sent"
    assert "reply" in [e.action for e in await world.runtime.db.run(events, tip_id=tip_id)]
    # Answered once: the next message is an ordinary message to the bot again.
    assert "Bạn cần giúp gì" in (await parent.say("menu"))[-1].text
    assert len(await lines(world, tip_id)) == 2


async def test_a_photo_answers_and_becomes_an_attachment_of_the_tip(world: World, tmp_path: Path) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    await ask(world, tip_id, "Bạn có ảnh chụp tin nhắn đó không?")
    await world.deliver()
    photo = await asyncio.to_thread(store_attachment, world.runtime.data_dir, PNG, cipher=world.runtime.cipher)
    await parent.say(None, attachments=(photo,))
    assert "Cảm ơn bạn" in parent.text()

    def files(conn: sa.Connection) -> list[str]:
        return list(conn.execute(sa.select(tip_attachments.c.sha256).where(tip_attachments.c.tip_id == tip_id))
                    .scalars())

    assert await world.runtime.db.run(files) == [photo.sha256]
    said = await lines(world, tip_id)
    assert said[-1].kind == "photo" and said[-1].attachment_id is not None
    assert await case_flag(world, tip_id)


@pytest.mark.parametrize("how", ["button", "words"])
async def test_the_parent_may_decline(world: World, how: str) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    await ask(world, tip_id)
    await world.deliver()
    if how == "button":
        await parent.say(payload="!decline")
    else:
        await parent.say("Không muốn trả lời")
    assert "không cần trả lời" in parent.heard[0].text
    assert not await case_flag(world, tip_id)
    assert "reply_declined" in [e.action for e in await world.runtime.db.run(events, tip_id=tip_id)]
    assert await world.runtime.db.run(transcript.thread_of_tip, tip_id=tip_id) is None


async def test_a_message_before_the_question_arrived_is_not_its_answer(world: World) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    await ask(world, tip_id)  # not delivered yet
    await parent.say("menu")
    assert "Bạn cần giúp gì" in parent.heard[-1].text
    assert not await case_flag(world, tip_id)
    await world.deliver()
    await parent.say("Đây là câu trả lời")
    assert await case_flag(world, tip_id)


async def test_commands_still_work_and_the_question_keeps_waiting(world: World) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    await ask(world, tip_id)
    await world.deliver()
    await parent.say("english")
    assert "Switched to English" in parent.text()
    await parent.say("It was 0912 345 678")
    assert "Thank you" in parent.heard[0].text and await case_flag(world, tip_id)


async def test_forget_me_still_works_while_a_question_waits(world: World) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    await ask(world, tip_id)
    await world.deliver()
    second = await ask(world, tip_id, "Và một câu nữa?")  # not yet delivered when the parent asks to be forgotten
    await parent.say("xóa dữ liệu của tôi")
    assert parent.heard[0].buttons[0].id == "forget_yes"  # the flow's confirmation, not taken as an answer
    await parent.say(payload="forget_yes")
    assert "Đã xóa dữ liệu" in parent.text()
    assert not await case_flag(world, tip_id)
    row = await world.runtime.db.run(notices.get, notice_id=second)
    assert row is not None and row.status == "cancelled"
    assert await world.runtime.db.run(transcript.thread_of_tip, tip_id=tip_id) is None
    with pytest.raises(TalkError, match="no_reporter"):
        await ask(world, tip_id, "Còn ở đó không?")
    await world.deliver()
    assert len(world.memory.sent) == 1  # only the first question ever went out


async def test_a_resubmitted_form_asks_once(world: World) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    first = await ask(world, tip_id, key="form-nonce-1")
    again = await ask(world, tip_id, key="form-nonce-1")
    assert first == again
    await world.deliver()
    assert len(world.memory.sent) == 1 and len(await lines(world, tip_id)) == 1


async def test_an_empty_or_overlong_question_is_refused(world: World) -> None:
    tip_id = await world.tip_id(await world.parent().request_officer())
    with pytest.raises(TalkError, match="empty"):
        await ask(world, tip_id, "   ")
    with pytest.raises(TalkError, match="too_long"):
        await ask(world, tip_id, "x" * 1001)
    assert await lines(world, tip_id) == []


async def test_a_blocked_parent_is_recorded_and_nothing_waits_for_an_answer(world: World) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    notice_id = await ask(world, tip_id)
    world.memory.failures.append(DeliveryFailure(FailureReason.BLOCKED, "bot was blocked by the user"))
    await world.deliver()
    row = await world.runtime.db.run(notices.get, notice_id=notice_id)
    assert row is not None and (row.status, row.failure) == ("failed", "blocked")
    assert await world.runtime.db.run(transcript.thread_of_tip, tip_id=tip_id) is None
    await parent.say("menu")  # not captured as an answer
    assert "Bạn cần giúp gì" in parent.heard[-1].text and not await case_flag(world, tip_id)
    assert (await lines(world, tip_id))[0].failure == "blocked"


async def test_trouble_on_the_way_is_retried_and_delivered_once(world: World) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    notice_id = await ask(world, tip_id)
    world.memory.failures += [DeliveryFailure(FailureReason.TRANSIENT, "network"),
                              DeliveryFailure(FailureReason.RATE_LIMITED, "slow down", retry_after=0)]
    for _ in range(5):
        await world.deliver()
    row = await world.runtime.db.run(notices.get, notice_id=notice_id)
    assert row is not None and row.status == "sent" and row.attempts == 2
    assert world.memory.calls == 3 and len(world.memory.sent) == 1
