"""A parent completes a whole report through Zalo Bot webhooks (every choice typed as its number); an officer's
follow-up question reaches them through the channel contract."""

from __future__ import annotations

import sqlalchemy as sa

from handlers.messages import OutboundMessage
from storage.schema import tip_attachments, tips
from storage.tips import reporter_aad
from tests.chat import tip_rows
from tests.e2e.zalo_bot.conftest import Live
from tests.e2e.zalo_bot.fakebot import MAX_TEXT, FakeZaloBot
from tests.e2e.zalo_bot.people import ZaloBotUser, texts

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_parent_reports_a_call_through_the_zalo_bot_and_the_officer_question_reaches_them(
        bot: Live, fake: FakeZaloBot) -> None:
    parent = ZaloBotUser(fake, bot.runtime.db, "6ede9afa66b88fe6d6a9")
    welcome = texts(await parent.say("xin chào"))
    assert "Bạn cần giúp gì" in welcome
    assert "1. " in welcome  # no buttons on this platform: the options are numbered
    assert "liên lạc" in texts(await parent.choose("Báo cáo"))
    await parent.choose("Cuộc gọi")
    await parent.say("0377 123 999")
    await parent.say("hôm nay 9h")
    await parent.choose("Hiệu trưởng")
    await parent.say("Trường THCS Nguyễn Du")
    await parent.choose("mã định danh")
    ticked = await parent.choose("Mã OTP")
    assert "✅ Mã OTP" in texts(ticked)
    await parent.choose("Số tài khoản")
    await parent.choose("Xong")
    link_echo = await parent.say("vneduconnect.com/cai-dat")
    assert "vneduconnect.com" not in texts(link_echo)  # never repeated as a tappable link
    await parent.say("PH vui lòng cài ứng dụng Sổ liên lạc điện tử tại vneduconnect.com")
    assert "Đã nhận 1 ảnh" in texts(await parent.photo(PNG))
    await parent.choose("Xong")
    await parent.choose("Không, chưa mất tiền")
    await parent.choose("Chưa đưa gì")
    await parent.say("Xã Tân Lộc")
    await parent.choose("Đồng ý")
    summary = await parent.say("0912345678")
    assert "Kiểm tra lại" in texts(summary)
    done = await parent.choose("Gửi báo cáo")
    assert "Đã nhận báo cáo, mã số" in texts(done)

    runtime = bot.runtime
    [tip] = await tip_rows(runtime.db, runtime.cipher)
    slots = tip["data"]["slots"]
    assert tip["channel"] == "zalo_bot"
    assert slots["caller_number"] == "+84377123999"
    assert slots["asked"] == ["otp", "bank_account"]
    assert slots["contact_phone"] == "+84912345678"
    assert "vneduconnect.com" in slots["message_text"]
    attachments = await runtime.db.run(lambda c: c.execute(sa.select(tip_attachments)).mappings().all())
    assert [a["mime_type"] for a in attachments] == ["image/png"]
    sent = fake.messages(parent.id)
    assert all(s.method == "sendMessage" and 0 < len(s.text) <= MAX_TEXT for s in sent)

    # The officer's follow-up question, through the channel the tip names (as bot/delivery.py sends it).
    def reporter(conn: sa.Connection) -> dict[str, str]:
        row = conn.execute(sa.select(tips.c.id, tips.c.reporter)).one()
        return dict(runtime.cipher.open_json(row.reporter, aad=reporter_aad(row.id)))

    chat = (await runtime.db.run(reporter))["chat_id"]
    channel = runtime.channels.get(tip["channel"])
    assert channel is not None and channel.capabilities.buttons is False
    question = OutboundMessage("Cán bộ hỏi: cuộc gọi kéo dài bao lâu?", links=("https://vneduconnect.com/x",))
    await channel.send(chat, [question])
    [asked] = parent.new_messages()
    assert asked.text.startswith("Cán bộ hỏi: cuộc gọi kéo dài bao lâu?")
    assert "hxxps://vneduconnect[.]com/x" in asked.text
