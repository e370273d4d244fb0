"""A "gặp cán bộ" request taken live: the parent's words go to the officer, the officer's to the parent, the bot
stays silent except the urgent path, and the chat goes back to the bot (officer, parent or idle) with a notice
each way. Outside working hours the bot says when someone will answer and never promises "ngay"."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from handlers import handoff_ops
from handlers.handoff_ops import TalkError
from storage import transcript
from storage.workflow import Viewer, case_by_id
from storage.workflow_schema import tip_cases
from tests.twoway.conftest import CLOSED_HOURS, OPEN_HOURS, SUPERVISOR, World


async def take(world: World, tip_id: int, *, now: datetime | None = None, viewer: Viewer = SUPERVISOR) -> bool:
    return await world.runtime.db.run(handoff_ops.take, viewer=viewer, tip_id=tip_id, talk=world.talk,
                                      now=now or datetime.now(UTC))


async def send(world: World, tip_id: int, body: str) -> int:
    return await world.runtime.db.run(handoff_ops.send, viewer=SUPERVISOR, tip_id=tip_id, body=body, talk=world.talk,
                                      now=datetime.now(UTC))


async def state(world: World, tip_id: int) -> tuple[str, str | None, int]:
    case = await world.runtime.db.run(case_by_id, viewer=SUPERVISOR, tip_id=tip_id)
    assert case is not None
    return case.kind, case.handoff_state, case.priority


async def lines(world: World, tip_id: int) -> list[tuple[str, str, str]]:
    found = await world.runtime.db.run(transcript.messages, tip_id=tip_id, cipher=world.runtime.cipher)
    return [(m.sender, m.kind, m.text) for m in found]


def no_promise_of_now(text: str) -> bool:
    return re.search(r"\bngay\b", text) is None


async def test_request_appears_as_a_handoff_case_and_goes_live_both_ways(world: World) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    assert await state(world, tip_id) == ("handoff", "requested", 0)

    assert await take(world, tip_id)
    assert not await take(world, tip_id)  # the same officer again: nothing changes, nothing is sent twice
    await world.deliver()
    assert "đã vào cuộc trò chuyện" in world.memory.texts()[-1]
    assert (await state(world, tip_id))[1] == "live"

    assert await parent.say("Họ nói là cô giáo chủ nhiệm, bảo tôi cài ứng dụng") == []  # the bot stays silent
    await send(world, tip_id, "Chị đừng cài gì cả. Số gọi cho chị là số nào?")
    await world.deliver()
    assert world.memory.texts()[-1] == "👮 Công an tỉnh: Chị đừng cài gì cả. Số gọi cho chị là số nào?"
    assert await parent.say("0377 123 999") == []
    said = await lines(world, tip_id)
    assert [(s, k) for s, k, _ in said] == [("bot", "handoff_on"), ("parent", "live"), ("police", "live"),
                                            ("parent", "live")]
    assert said[1][2] == "Họ nói là cô giáo chủ nhiệm, bảo tôi cài ứng dụng" and said[3][2] == "0377 123 999"

    await world.runtime.db.run(handoff_ops.release, viewer=SUPERVISOR, tip_id=tip_id, talk=world.talk,
                               now=datetime.now(UTC))
    await world.deliver()
    assert "Cán bộ đã kết thúc cuộc trò chuyện" in world.memory.texts()[-1]
    assert (await state(world, tip_id))[1] == "ended"
    assert "Bạn cần giúp gì" in (await parent.say("menu"))[-1].text  # the bot answers again
    assert len(await lines(world, tip_id)) == 5


async def test_the_urgent_path_still_answers_at_once_during_a_live_chat(world: World) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    await take(world, tip_id)
    replies = await parent.say("Tôi lỡ đọc mã OTP cho họ rồi")
    assert replies and replies[0].urgent and "ngân hàng" in replies[0].text.lower()
    assert "Cán bộ cũng đã nhận được tin nhắn của bạn" in replies[-1].text
    assert (await state(world, tip_id))[2] == 2  # to the top of the queue
    assert ("parent", "live", "Tôi lỡ đọc mã OTP cho họ rồi") in await lines(world, tip_id)
    assert (await state(world, tip_id))[1] == "live"  # still with the officer
    assert await parent.say("Giờ tôi làm gì tiếp?") == []


async def test_the_parent_can_end_the_live_chat(world: World) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    await take(world, tip_id)
    await parent.say("kết thúc")
    assert "Đã kết thúc trò chuyện với cán bộ" in parent.heard[0].text
    assert (await state(world, tip_id))[1] == "ended"
    with pytest.raises(TalkError, match="not_live"):
        await send(world, tip_id, "Chị còn đó không?")


async def test_idle_live_chat_goes_back_to_the_bot_with_a_notice(world: World) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    await take(world, tip_id, now=datetime.now(UTC) - timedelta(minutes=30))  # idle for longer than 20 minutes
    await world.deliver()  # the sweep hands it back and the notice goes out in the same pass or the next
    await world.deliver()
    assert "không có tin nhắn mới trong 20 phút" in world.memory.texts()[-1]
    assert (await state(world, tip_id))[1] == "ended"
    assert (await parent.say("menu"))[-1].text.startswith("Bạn cần giúp gì")


async def test_a_message_after_the_idle_time_is_answered_by_the_bot_with_the_hand_back_notice(world: World) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    await take(world, tip_id, now=datetime.now(UTC) - timedelta(minutes=30))
    replies = await parent.say("menu")  # before any sweep ran
    assert "tạm dừng" in replies[0].text and "Bạn cần giúp gì" in replies[-1].text
    assert (await state(world, tip_id))[1] == "ended"


async def test_forget_me_ends_a_live_chat(world: World) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())
    await take(world, tip_id)
    await parent.say("xóa dữ liệu của tôi")
    await parent.say(payload="forget_yes")
    assert "Đã xóa dữ liệu" in parent.text()
    assert (await state(world, tip_id))[1] == "ended"
    assert await world.runtime.db.run(transcript.thread_of_tip, tip_id=tip_id) is None


async def test_only_handoff_requests_go_live_and_another_officer_cannot_barge_in(world: World) -> None:
    parent = world.parent()
    tip_id = await world.tip_id(await parent.request_officer())

    def make_report_kind(conn: sa.Connection) -> None:
        conn.execute(sa.update(tip_cases).where(tip_cases.c.tip_id == tip_id).values(kind="report"))

    await world.runtime.db.run(make_report_kind)
    with pytest.raises(TalkError, match="not_handoff"):
        await take(world, tip_id)


async def test_outside_working_hours_the_bot_says_when_and_does_not_promise_now(world: World) -> None:
    parent = world.parent()
    await parent.say("gặp cán bộ", at=CLOSED_HOURS)
    before = parent.text()
    assert "ngoài giờ làm việc" in before and "từ 7 giờ 30 sáng thứ Hai, ngày 7/12" in before
    assert parent.heard[-1].text.startswith("Bạn cần cán bộ hỗ trợ việc gì")  # the question stays last
    await parent.say("Tôi muốn hỏi về một cuộc gọi lạ tối nay", at=CLOSED_HOURS)
    await parent.say(payload="!submit", at=CLOSED_HOURS)
    after = parent.text()
    assert "Đã gửi yêu cầu" in after and "từ 7 giờ 30 sáng thứ Hai, ngày 7/12" in after
    assert no_promise_of_now(before) and no_promise_of_now(after)


async def test_in_working_hours_the_bot_still_promises_no_instant_answer(world: World) -> None:
    parent = world.parent("parent-2")
    reference = await parent.request_officer(at=OPEN_HOURS)
    said = parent.text()
    assert "trong giờ làm việc (7 giờ 30 sáng – 5 giờ chiều, thứ Hai – thứ Sáu)" in said and reference in said
    assert no_promise_of_now(said)
    english = world.parent("parent-3")
    await english.say("english", at=CLOSED_HOURS)
    await english.say("officer", at=CLOSED_HOURS)
    assert "It is outside working hours now" in english.text() and "from 7:30 a.m. on Monday, 7 December" in \
        english.text()
