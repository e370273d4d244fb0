"""Sending through the Zalo Bot API: each error code handled by its meaning, photos, long texts, and pushes through
the channel contract that fail by meaning."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.channels.base import DeliveryFailure, FailureReason
from bot.channels.zalo_bot import CHANNEL
from handlers.messages import OutboundMessage
from storage import channel_state, channel_store
from storage.channel_schema import channel_outgoing
from tests.e2e.zalo_bot.conftest import Live
from tests.e2e.zalo_bot.fakebot import MAX_TEXT, FakeZaloBot
from tests.e2e.zalo_bot.people import ZaloBotUser, settled, texts


async def _dead(bot: Live) -> list[str]:
    o = channel_outgoing.c
    return list(await bot.runtime.db.run(lambda c: c.execute(sa.select(o.last_error).where(
        o.channel == CHANNEL, o.status == "dead")).scalars().all()))


@pytest.mark.parametrize(("code", "status", "times"), [
    (429, 200, 1),  # over quota: everyone pauses, then the same reply goes
    (0, 502, 2),  # Zalo's servers in trouble
    (403, 200, 1),  # documented by Zalo as its own internal error, not a refusal
    (408, 200, 1),
    (401, 200, 2),  # the token was reset: kept and retried while an admin puts the new one in
])
async def test_a_reply_that_failed_for_a_passing_reason_is_sent_once_later(bot: Live, fake: FakeZaloBot, code: int,
                                                                           status: int, times: int) -> None:
    bot.channel.rate_pause = 0.2
    parent = ZaloBotUser(fake, bot.runtime.db, f"s{code}{status}")
    fake.fail("sendMessage", code, status=status, times=times, chat=parent.id)
    replies = await parent.say("xin chào")
    assert texts(replies).count("Bạn cần giúp gì") == 1
    assert len(fake.calls_to("sendMessage")) == times + 1
    assert await _dead(bot) == []


async def test_a_refused_reply_is_buried_and_an_unknown_chat_is_shown_to_officers(bot: Live,
                                                                                  fake: FakeZaloBot) -> None:
    parent = ZaloBotUser(fake, bot.runtime.db, "s404")
    fake.fail("sendMessage", 404, description="Not Found", chat=parent.id)
    assert await parent.say("xin chào") == []
    assert len(fake.calls_to("sendMessage")) == 1  # not retried
    [error] = await _dead(bot)
    assert "404" in error
    seen = await bot.runtime.db.run(channel_state.reachability, channel=CHANNEL,
                                    chat_ref=bot.channel.chat_ref(parent.id))
    assert seen is not None and seen["status"] == FailureReason.INVALID_RECIPIENT.value
    # The parent writes again: whatever stood in the way no longer does.
    assert "Bạn cần giúp gì" in texts(await parent.say("xin chào"))
    assert await bot.runtime.db.run(channel_state.reachability, channel=CHANNEL,
                                    chat_ref=bot.channel.chat_ref(parent.id)) is None


async def test_a_message_zalo_will_never_take_is_not_retried(bot: Live, fake: FakeZaloBot) -> None:
    parent = ZaloBotUser(fake, bot.runtime.db, "s400")
    fake.fail("sendMessage", 400, description="Bad Request", chat=parent.id)
    await parent.say("xin chào")
    assert len(fake.calls_to("sendMessage")) == 1
    assert await bot.runtime.db.run(channel_store.pending_counts, channel=CHANNEL) == {
        "events": 0, "outgoing": 0, "dead": 1}


async def test_pushes_fail_by_meaning_and_send_photos_and_long_texts(bot: Live, fake: FakeZaloBot) -> None:
    channel = bot.channel
    chat = "p1"
    long = OutboundMessage("Cảnh báo lừa đảo. " * 300)  # over one message's 2,000 characters
    await channel.send(chat, [long])
    parts = fake.messages(chat)
    assert len(parts) > 1 and all(0 < len(p.text) <= MAX_TEXT for p in parts)
    await channel.send_image(chat, "https://hotline.example.vn/static/poster.png", caption="Áp phích cảnh báo")
    photo = fake.messages(chat)[-1]
    assert (photo.method, photo.photo, photo.text) == ("sendPhoto", "https://hotline.example.vn/static/poster.png",
                                                      "Áp phích cảnh báo")
    cases = [(429, FailureReason.RATE_LIMITED), (404, FailureReason.INVALID_RECIPIENT),
             (401, FailureReason.PERMANENT), (403, FailureReason.TRANSIENT)]
    channel.rate_pause = 0.05
    for code, reason in cases:
        fake.fail("sendMessage", code, chat=chat)
        with pytest.raises(DeliveryFailure) as failed:
            await channel.send(chat, [OutboundMessage("Cán bộ hỏi: bạn còn giữ tin nhắn không?")])
        assert failed.value.reason is reason, code
    fake.fail("sendMessage", 0, status=503, chat=chat)
    with pytest.raises(DeliveryFailure) as down:
        await channel.send(chat, [OutboundMessage("thử lại")])
    assert down.value.reason is FailureReason.TRANSIENT
    await settled(bot.runtime.db)
