"""Sending on Zalo: each message kind, and each error code handled by what it means (queue and Channel.send)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.channels.base import Channel, DeliveryFailure, FailureReason
from handlers.messages import Button, OutboundMessage
from storage import channel_state
from storage.channel_schema import channel_outgoing
from tests.e2e.zalo.conftest import Live, authorise, live, make_settings
from tests.e2e.zalo.fakezalo import FakeZalo
from tests.e2e.zalo.people import ZaloUser, db_until, settled, texts

BUTTONS = tuple(Button(f"o{i}", f"Lựa chọn {i}") for i in range(1, 4))


async def _dead(zalo: Live) -> list[str]:
    rows = await zalo.runtime.db.run(lambda c: c.execute(
        sa.select(channel_outgoing.c.last_error).where(channel_outgoing.c.status == "dead")).scalars().all())
    return [str(r) for r in rows]


# ----- message kinds ------------------------------------------------------------------------------------------
async def test_the_channel_object_is_the_channel_contract(zalo: Live) -> None:
    assert isinstance(zalo.channel, Channel)
    assert zalo.runtime.channels.get("zalo") is zalo.channel
    assert zalo.channel.capabilities.buttons and zalo.channel.capabilities.push


async def test_text_buttons_numbered_image_and_long_text(zalo: Live, fake: FakeZalo) -> None:
    user = "2001"
    await zalo.channel.send(user, [OutboundMessage("Xin chào")])
    await zalo.channel.send(user, [OutboundMessage("Chọn một:", BUTTONS)])
    many = tuple(Button(f"n{i}", f"Mục {i}") for i in range(1, 8))
    await zalo.channel.send(user, [OutboundMessage("Chọn trong bảy mục:", many)])
    await zalo.channel.send_image(user, "https://hotline.example.vn/static/poster.png", "Cảnh giác lừa đảo")
    long = " ".join(f"câu{i}" for i in range(1200))  # ~8,000 characters
    await zalo.channel.send(user, [OutboundMessage(long)])
    sent = fake.messages(user)
    assert [(s.kind, s.text) for s in sent[:1]] == [("text", "Xin chào")]
    assert sent[1].kind == "buttons" and sent[1].buttons == [(b.label, f"#hl:{b.id}") for b in BUTTONS]
    assert sent[2].kind == "text" and "7. Mục 7" in sent[2].text and not sent[2].buttons
    assert (sent[3].kind, sent[3].image_url, sent[3].text) == (
        "image", "https://hotline.example.vn/static/poster.png", "Cảnh giác lừa đảo")
    pieces = sent[4:]
    assert len(pieces) >= 4 and all(len(p.text) <= 2000 for p in pieces)
    assert " ".join(p.text for p in pieces).split() == long.split()  # nothing lost at the cuts


async def test_a_turn_is_joined_into_few_messages_and_urgent_advice_stands_alone(zalo: Live, fake: FakeZalo) -> None:
    user = "2002"
    await zalo.channel.send(user, [OutboundMessage("Một."), OutboundMessage("Hai."),
                                   OutboundMessage("GỌI NGÂN HÀNG NGAY", urgent=True),
                                   OutboundMessage("Ba.", BUTTONS)])
    assert [(s.kind, s.text) for s in fake.messages(user)] == [
        ("text", "Một.\n\nHai."), ("text", "GỌI NGÂN HÀNG NGAY"), ("buttons", "Ba.")]


async def test_a_number_answers_a_numbered_list_and_a_press_answers_buttons(zalo: Live, fake: FakeZalo) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "2003")
    menu = texts(await parent.say("menu"))
    assert "2. 📞 Kiểm tra cuộc gọi" in menu
    assert "số điện thoại" in texts(await parent.say("2")).lower()
    assert "Bỏ qua" in [title for title, _ in parent.fake.messages(parent.id)[-1].buttons]


# ----- error codes through the queue --------------------------------------------------------------------------
async def test_an_invalid_token_is_refreshed_and_the_reply_sent_once_more(zalo: Live, fake: FakeZalo) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "2010")
    before = await zalo.channel.tokens.current()
    assert before is not None
    fake.fail(-216, times=1)
    assert "Bạn cần giúp gì" in texts(await parent.say("menu"))
    after = await zalo.runtime.db.run(channel_state.load_tokens, channel="zalo", cipher=zalo.runtime.cipher)
    assert after is not None and after.generation == before.generation + 1
    assert fake.refreshes == [(before.refresh_token, True)]
    assert fake.messages(parent.id)[-1].token == after.access_token


async def test_an_expired_token_is_refreshed(zalo: Live, fake: FakeZalo) -> None:
    current = await zalo.channel.tokens.current()
    assert current is not None
    fake.expire(current.access_token)
    await zalo.channel.send("2011", [OutboundMessage("Vẫn tới nơi")])
    assert texts(fake.messages("2011")) == "Vẫn tới nơi"
    assert [ok for _, ok in fake.refreshes] == [True]


@pytest.mark.parametrize(("code", "status"), [(-230, "out_of_window"), (-232, "out_of_window"),
                                              (-213, "blocked"), (-227, "invalid_recipient")])
async def test_a_parent_we_may_not_message_is_recorded_and_not_retried(zalo: Live, fake: FakeZalo, code: int,
                                                                       status: str) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, f"202{abs(code) % 10}")
    fake.fail(code, times=1, user=parent.id)
    await parent.say("menu")
    assert parent.new_messages() == []
    assert [e.split(":")[0] for e in await _dead(zalo)] == [f"Zalo {code}"]
    ref = zalo.channel.chat_ref(parent.id)
    noted = await zalo.runtime.db.run(channel_state.reachability, channel="zalo", chat_ref=ref)
    assert noted is not None and noted["status"] == status
    # The parent writes again: the window is open, the note goes, the answer arrives.
    assert "Bạn cần giúp gì" in texts(await parent.say("menu"))
    assert await zalo.runtime.db.run(channel_state.reachability, channel="zalo", chat_ref=ref) is None


async def test_buttons_zalo_refuses_are_sent_again_as_numbered_text(zalo: Live, fake: FakeZalo) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "2030")
    await parent.say("menu")
    fake.fail(-233, times=1, kinds=("buttons",))
    asked = await parent.choose("Kiểm tra cuộc gọi")
    assert [s.kind for s in asked] == ["text"] and "1. Bỏ qua" in asked[0].text
    skipped = texts(await parent.say("1"))  # the number means that list's "Bỏ qua"
    assert "số điện thoại" not in skipped.lower() and "tự xưng" in skipped
    assert await _dead(zalo) == []


async def test_rate_limits_and_server_errors_are_waited_out(tmp_path: Path, fake: FakeZalo) -> None:
    async with live(make_settings(tmp_path, fake), fake) as zalo:
        zalo.channel.max_pause = 0.3
        parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "2040")
        fake.fail(-32, times=1)
        fake.fail(status=502, times=1)
        assert "Bạn cần giúp gì" in texts(await parent.say("menu"))
        attempts = await zalo.runtime.db.run(lambda c: c.execute(sa.select(sa.func.count()).select_from(
            channel_outgoing)).scalar_one())
        assert attempts == 0  # delivered and gone
        assert await _dead(zalo) == []


async def test_replies_wait_for_an_authorisation_and_go_out_after_it(tmp_path: Path, fake: FakeZalo) -> None:
    async with live(make_settings(tmp_path, fake), fake, authorised=False) as zalo:
        parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "2050")
        assert (await parent.post(parent.text_event("menu"))).status_code == 200
        await db_until(zalo.runtime.db, lambda c: c.execute(sa.select(channel_outgoing.c.attempts).where(
            channel_outgoing.c.status == "pending")).scalar())
        assert fake.messages(parent.id) == []
        await authorise(zalo.runtime, fake)
        zalo.service.wake()
        await settled(zalo.runtime.db, within=20)
        assert "Bạn cần giúp gì" in texts(fake.messages(parent.id))


# ----- Channel.send says what went wrong by meaning ----------------------------------------------------------
@pytest.mark.parametrize(("code", "status", "reason", "retryable"), [
    (-230, 200, FailureReason.OUT_OF_WINDOW, False),
    (-213, 200, FailureReason.BLOCKED, False),
    (-32, 200, FailureReason.RATE_LIMITED, True),
    (-211, 200, FailureReason.RATE_LIMITED, True),
    (0, 503, FailureReason.TRANSIENT, True),
    (-219, 200, FailureReason.PERMANENT, False),
])
async def test_channel_send_raises_delivery_failure_by_meaning(zalo: Live, fake: FakeZalo, code: int, status: int,
                                                               reason: FailureReason, retryable: bool) -> None:
    zalo.channel.max_pause = 0.0
    fake.fail(code, status=status, times=1)
    with pytest.raises(DeliveryFailure) as failure:
        await zalo.channel.send("2060", [OutboundMessage("Thông báo kết quả xử lý")])
    assert failure.value.reason is reason
    assert failure.value.reason.retryable is retryable
    if reason is FailureReason.RATE_LIMITED:
        assert failure.value.retry_after is not None


async def test_channel_send_without_tokens_is_a_permanent_failure(tmp_path: Path, fake: FakeZalo) -> None:
    async with live(make_settings(tmp_path, fake), fake, authorised=False) as zalo:
        with pytest.raises(DeliveryFailure) as failure:
            await zalo.channel.send("2070", [OutboundMessage("x")])
        assert failure.value.reason is FailureReason.PERMANENT
        assert "hotline zalo auth-url" in str(failure.value)


async def test_is_follower_asks_zalo(zalo: Live, fake: FakeZalo) -> None:
    fake.unfollowed.add("2081")
    assert await zalo.channel.is_follower("2080") is True
    assert await zalo.channel.is_follower("2081") is False
