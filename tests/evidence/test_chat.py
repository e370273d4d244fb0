"""Evidence as a parent sends it: through a real engine, a real evidence worker pool and a real SQLite file."""

from __future__ import annotations

import asyncio

import pytest

from handlers.evidence.emvco import build_payload
from handlers.evidence.limits import Limits, Unreadable
from handlers.evidence.pool import EvidencePool
from handlers.evidence.work import read_file
from tests.chat import conversation_states
from tests.evidence.apkbuild import build_apk, manifest, signing_identity
from tests.evidence.conftest import needs_ocr, stored
from tests.evidence.screens import qr_image, screenshot


@needs_ocr
async def test_screenshot_at_the_menu_is_read_checked_and_prefills_the_report(chat_with_reader, sqlite_db, tmp_path):
    chat = chat_with_reader
    await chat.send("xin chào")
    replies = await chat.send(attachments=(stored(tmp_path, screenshot(0).png),))
    text = chat.text()
    assert "Tôi đọc được" in text and "vnedu-so.com/app.apk" in text
    assert "LỪA ĐẢO" in text  # asks for an OTP and an app install from a link
    assert any("Báo cáo" in b.label for m in replies for b in m.buttons)
    await chat.press("Báo cáo")
    slots = (await conversation_states(sqlite_db))[0]["slots"]
    assert slots["caller_number"] and slots["link"].startswith("http://vnedu-so.com")
    assert "mã OTP" in slots["message_text"] and {"otp", "install_app"} <= set(slots["asked"])
    assert len(slots["screenshots"]) == 1 and slots["evidence"]["readings"][0]["kind"] == "image"


async def test_payment_qr_inside_the_report_fills_the_account(chat_with_reader, sqlite_db, tmp_path):
    chat = chat_with_reader
    await chat.send("xin chào")
    await chat.press("Báo cáo")
    payload = build_payload(bin_="970436", account="0071000123456", amount="2000000")
    await chat.send(attachments=(stored(tmp_path, qr_image(payload)),))
    assert "0071000123456" in chat.text() and "Vietcombank" in chat.text()
    slots = (await conversation_states(sqlite_db))[0]["slots"]
    assert slots["evidence"]["accounts"] == [{"account": "0071000123456", "bank": "Vietcombank"}]
    assert len(slots["screenshots"]) == 1  # the image is kept with the report


async def test_apk_sent_at_the_menu_gets_its_reasons(chat_with_reader, tmp_path):
    chat = chat_with_reader
    await chat.send("xin chào")
    apk = build_apk(manifest("com.vnedu.update", label="vnEdu Connect",
                             permissions=("android.permission.RECEIVE_SMS",)), signer=signing_identity())
    await chat.send(attachments=(stored(tmp_path, apk, "vnEdu.apk"),))
    text = chat.text()
    assert "com.vnedu.update" in text and "giả danh vnEdu" in text and "đọc tin nhắn SMS" in text


async def test_a_broken_image_says_so_and_the_flow_goes_on(chat_with_reader, tmp_path):
    chat = chat_with_reader
    await chat.send("xin chào")
    # A GIF header and nothing after it: accepted as an attachment by its magic bytes, unreadable as an image.
    await chat.send(attachments=(stored(tmp_path, b"GIF89a" + b"\x00" * 40, "x.gif"),))
    assert "Tôi chưa đọc được ảnh này" in chat.text()
    await chat.press("menu")
    assert "Bạn cần giúp gì" in chat.text()


async def test_pasted_sms_at_the_menu_checks_only_the_senders_text(chat_with_reader):
    chat = chat_with_reader
    await chat.send("xin chào")
    await chat.send("cô ơi cái này có phải lừa không\nTừ: 0912 345 678\nKính gửi phụ huynh, vui lòng đọc mã OTP "
                    "vừa gửi tới điện thoại để xác nhận hồ sơ học sinh.")
    text = chat.text()
    assert "Tin nhắn chuyển tiếp từ 0912 345 678" in text and "cô ơi" not in text.split("»")[0]
    assert "LỪA ĐẢO" in text


def _sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)


@pytest.mark.slow  # ~3 s: waits out a job's time limit
async def test_the_pool_refuses_when_full_and_abandons_a_job_past_its_time():
    pool = EvidencePool(Limits(workers=1, queue=0, job_seconds=3))
    try:
        slow = asyncio.create_task(pool.run(_sleep, 30))
        await asyncio.sleep(0.1)
        with pytest.raises(Unreadable) as busy:  # a full pool refuses at once
            await pool.run(read_file, b"", None, Limits())
        assert busy.value.reason == "busy"
        with pytest.raises(Unreadable) as late:  # the slow job is abandoned
            await slow
        assert late.value.reason == "timeout"
        result = await pool.run(read_file, b"not a file", None, Limits())  # fresh workers after the kill
        assert result["error"] == "unsupported"
    finally:
        pool.close()
