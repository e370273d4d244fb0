"""A parent talks to the real adapter (PTB over HTTP) in both modes: a full report, a call check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.runtime import Runtime
from tests.chat import tip_rows
from tests.e2e.telegram.conftest import SECRET, make_settings, open_runtime, running, serving, webhook_app
from tests.e2e.telegram.fakebot import FakeBotAPI
from tests.e2e.telegram.people import Person, texts

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(params=["polling", "webhook"])
async def channel(request: pytest.FixtureRequest, tmp_path: Path, fake: FakeBotAPI) -> AsyncIterator[Runtime]:
    """The channel running in one mode against the fake; in webhook mode the fake POSTs to our route."""
    settings = make_settings(tmp_path, fake, mode=request.param)
    async with open_runtime(settings) as runtime, running(runtime) as service:
        if request.param == "polling":
            yield runtime
            return
        async with serving(webhook_app(runtime, service)) as base, httpx.AsyncClient() as client:
            r = await client.post(f"{fake.base}/bot{fake.token}/setWebhook",
                                  json={"url": f"{base}/telegram/webhook", "secret_token": SECRET})
            assert r.json()["ok"]
            yield runtime


async def test_parent_reports_with_buttons_free_text_screenshot_and_contact(channel: Runtime,
                                                                            fake: FakeBotAPI) -> None:
    parent = Person(fake, channel.db, 5001)
    assert "Bạn cần giúp gì" in texts(await parent.say("/start"))
    assert "liên lạc" in texts(await parent.press("Báo cáo"))
    await parent.press("Cuộc gọi")
    await parent.say("0377 123 999")
    await parent.say("hôm qua 9h")
    await parent.press("Hiệu trưởng")
    await parent.say("Trường THCS Nguyễn Du")
    prompt = await parent.press("mã định danh")
    asked_id = prompt[-1]["message_id"]

    # Multi-select: each press edits the same message to show the ticks.
    edited = await parent.press("Mã OTP")
    assert [m["message_id"] for m in edited] == [asked_id]
    edited = await parent.press("Số tài khoản")
    labels = [b["text"] for row in edited[0]["reply_markup"]["inline_keyboard"] for b in row]
    assert "✅ Mã OTP" in labels and "✅ Số tài khoản / thông tin ngân hàng" in labels
    await parent.press("Xong")

    await parent.say("vneduconnect.com/cai-dat")
    forwarded = await parent.forward("PH vui lòng cài ứng dụng Sổ liên lạc điện tử tại vneduconnect.com", "Cô Hoa")
    assert "ảnh" in texts(forwarded).lower()
    assert "Đã nhận 1 ảnh" in texts(await parent.photo(PNG))
    await parent.press("Xong")
    await parent.press("Không, chưa mất tiền")
    await parent.press("Chưa đưa gì")
    await parent.say("Xã Tân Lộc")
    asks_number = await parent.press("Đồng ý")
    # The contact step offers Telegram's "share my number" on a reply keyboard.
    sent = fake.calls_to("sendMessage", ok=True)[-1]
    assert sent.params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert "Số điện thoại" in texts(asks_number)
    summary = await parent.share_contact("84912345678")
    assert "Kiểm tra lại" in texts(summary)
    done = await parent.press("Gửi báo cáo")
    assert "Đã nhận báo cáo, mã số" in texts(done)

    [tip] = await tip_rows(channel.db, channel.cipher)
    slots = tip["data"]["slots"]
    assert slots["caller_number"] == "+84377123999"
    assert slots["asked"] == ["otp", "bank_account"]
    assert "vneduconnect.com" in slots["message_text"]
    assert slots["contact_phone"] == "+84912345678"
    assert tip["channel"] == "telegram"
    assert len(fake.calls_to("getFile", ok=True)) == 1
    # Every button press was answered; no message let Telegram preview a link.
    assert len(fake.calls_to("answerCallbackQuery", ok=True)) == parent.presses
    for call in fake.calls_to("sendMessage", "editMessageText"):
        assert call.params["link_preview_options"] == {"is_disabled": True}


async def test_parent_checks_a_call_and_gets_a_verdict(channel: Runtime, fake: FakeBotAPI) -> None:
    parent = Person(fake, channel.db, 5002)
    await parent.say("/start")
    await parent.press("Kiểm tra cuộc gọi")
    await parent.say("0377 123 999")
    await parent.press("Giáo viên chủ nhiệm")
    await parent.say("Trường Tiểu học Kim Đồng")
    await parent.press("Mã OTP")
    verdict = await parent.press("Xong")
    text = texts(verdict)
    assert "OTP" in text and "tiếp" in text  # the check's explanation, then "what next?"
    assert parent.find_button("Báo cáo số này")


async def test_start_deep_link_commands_and_unsupported_messages(channel: Runtime, fake: FakeBotAPI) -> None:
    parent = Person(fake, channel.db, 5003)
    assert "Bạn cần giúp gì" in texts(await parent.say("/start THCS_NGUYENDU"))
    assert "nhãn dán" in texts(await parent.send(parent.message(sticker={
        "file_id": "st", "file_unique_id": "st", "type": "regular", "width": 512, "height": 512,
        "is_animated": False, "is_video": False})))
    assert "tin nhắn thoại" in texts(await parent.send(parent.message(voice={
        "file_id": "v", "file_unique_id": "v", "duration": 3})))
    assert "vị trí" in texts(await parent.send(parent.message(location={"latitude": 9.17, "longitude": 105.15})))
    refused = await parent.document(b"PK\x03\x04 not a picture", "bai-tap.zip", "application/zip")
    assert "chỉ nhận ảnh" in texts(refused)
    assert fake.calls_to("getFile") == []  # a zip is refused from its declared type, never downloaded
    assert texts(await parent.say("/help@HotlineTestBot"))
