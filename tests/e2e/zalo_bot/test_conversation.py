"""A parent completes a whole report through Zalo Bot webhooks (every choice typed as its number); an officer's
follow-up question reaches them through the channel contract."""

from __future__ import annotations

from tests.e2e.call_report import officer_question_reaches, the_call_tip, walk_call_report
from tests.e2e.zalo_bot.conftest import Live
from tests.e2e.zalo_bot.fakebot import MAX_TEXT, FakeZaloBot
from tests.e2e.zalo_bot.people import ZaloBotUser, texts


async def test_parent_reports_a_call_through_the_zalo_bot_and_the_officer_question_reaches_them(
        bot: Live, fake: FakeZaloBot) -> None:
    parent = ZaloBotUser(fake, bot.runtime.db, "6ede9afa66b88fe6d6a9")
    welcome = texts(await parent.say("xin chào"))
    assert "Bạn cần giúp gì" in welcome
    assert "1. " in welcome  # no buttons on this platform: the options are numbered
    await walk_call_report(parent, parent.photo)

    tip = await the_call_tip(bot.runtime, "zalo_bot")
    sent = fake.messages(parent.id)
    assert all(s.method == "sendMessage" and 0 < len(s.text) <= MAX_TEXT for s in sent)
    channel = await officer_question_reaches(bot.runtime, tip, parent)
    assert channel.capabilities.buttons is False
