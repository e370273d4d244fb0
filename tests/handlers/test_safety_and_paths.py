"""Urgent path, checks, screenshots, secrets, language and "forget me" through the real engine."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.logsetup import setup_logging
from storage.db import Database
from storage.files import RejectedFile, read_attachment, store_attachment
from storage.schema import conversations, tip_attachments, tips
from tests.chat import TEST_CIPHER, Chat, conversation_states, make_engine, tip_rows

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_money_lost_anywhere_jumps_to_urgent_advice(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("tôi vừa chuyển khoản 5 triệu cho bọn nó rồi, giờ làm sao")
    assert chat.last[0].urgent  # first thing said, even before the welcome notice
    assert "KHÓA" in chat.text() and "113" in chat.text()
    await chat.press("Báo cáo ngay")
    await chat.press("Cuộc gọi")
    for _ in range(12):  # skip to "money lost": it is already known, so the amount is asked directly
        if "bao nhiêu" in chat.text():
            break
        await chat.send("bỏ qua")
    assert "bao nhiêu" in chat.text()


async def test_urgent_in_the_middle_of_a_form_keeps_the_form(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("báo cáo")
    await chat.press("Cuộc gọi")
    await chat.send("em lỡ đọc mã OTP cho họ rồi")
    assert any(m.urgent for m in chat.last)
    assert "Số điện thoại đã gọi" in chat.text()  # the same question again, form not lost


async def test_not_money_lost_is_not_urgent(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("tôi chưa chuyển tiền, họ đòi mã OTP nhưng tôi không đưa")
    assert not any(m.urgent for m in chat.last)


async def test_check_call_flow_and_prefilled_report(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.press("Kiểm tra cuộc gọi")
    await chat.send("0377 123 999")
    await chat.press("Hiệu trưởng")
    await chat.send("THCS Lê Lợi")
    await chat.press("Mã OTP")
    await chat.press("Xong")
    assert "LỪA ĐẢO" in chat.text()
    await chat.press("Báo cáo số này")
    # Pre-filled: channel (a call), number, role, school and asks are not asked again.
    assert "lúc nào" in chat.text()
    await chat.send("hôm qua 8h")
    assert "lý do" in chat.text()


async def test_check_link_accepts_a_whole_forwarded_message(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.press("Kiểm tra đường link")
    await chat.send("PH vui lòng cài Sổ liên lạc tại http://sll-vnedu.com/a.apk để nhận thông báo")
    assert "Bạn muốn làm gì tiếp?" in chat.text()
    (state,) = await conversation_states(sqlite_db)
    assert state["slots"]["link"] == "http://sll-vnedu.com/a.apk"
    assert "để nhận thông báo" in state["slots"]["message_text"]


async def test_screenshots_are_attached_to_the_tip(sqlite_db: Database, tmp_path: Path) -> None:
    chat = Chat(make_engine(sqlite_db))
    attachment = store_attachment(tmp_path, PNG, cipher=TEST_CIPHER, file_name="../../etc/passwd.png")
    assert attachment.path is not None and PNG not in Path(attachment.path).read_bytes()
    assert read_attachment(Path(attachment.path), attachment.sha256, cipher=TEST_CIPHER) == PNG
    assert attachment.file_name == "passwd.png" and attachment.mime_type == "image/png"
    await chat.send("báo cáo")
    await chat.press("Zalo")
    for _ in range(8):
        if "ảnh chụp" in chat.text().lower():
            break
        await chat.send("bỏ qua")
    await chat.send(attachments=(attachment,))
    assert "Đã nhận 1" in chat.text()
    await chat.press("Xong")
    await chat.press("Không, chưa")
    await chat.send("bỏ qua")
    await chat.send("bỏ qua")
    await chat.press("ẩn danh")
    assert "1 tệp" in chat.text()
    await chat.press("Gửi báo cáo")
    async with sqlite_db.transaction() as conn:
        row = (await conn.execute(sa.select(tip_attachments))).one()
    assert row.sha256 == attachment.sha256 and row.size == len(PNG)


def test_attachments_are_typed_by_their_bytes(tmp_path: Path) -> None:
    with pytest.raises(RejectedFile):
        store_attachment(tmp_path, b"MZ\x90\x00 this is an exe", cipher=TEST_CIPHER, file_name="photo.png")
    with pytest.raises(RejectedFile):
        store_attachment(tmp_path, b"", cipher=TEST_CIPHER, file_name="x.png")


async def test_secrets_never_reach_database_or_log(sqlite_url: str, tmp_path: Path) -> None:
    log_file = tmp_path / "hotline.log"
    setup_logging("DEBUG", str(log_file))
    from storage.migrate import upgrade

    db = Database(sqlite_url)
    await upgrade(db)
    chat = Chat(make_engine(db))
    await chat.send("báo cáo")
    await chat.press("SMS")
    await chat.send("bỏ qua")
    await chat.send("bỏ qua")
    await chat.send("bỏ qua")
    await chat.send("bỏ qua")
    await chat.send("bỏ qua")
    await chat.send("bỏ qua")
    await chat.send("bỏ qua")
    reply = await chat.send("Họ bảo đọc mã OTP 482913, thẻ 4111 1111 1111 1111, mật khẩu: Hoa@2026xyz")
    assert "ẩn" in reply[0].text and "OTP" in reply[0].text
    logging.getLogger("test").warning("parent wrote: mã OTP 482913 and card 4111111111111111")
    for _ in range(10):
        if "Kiểm tra lại" in chat.text():
            break
        await chat.send("bỏ qua" if not chat.buttons() or "Bỏ qua" in chat.buttons() else "1")
    await chat.press("Gửi báo cáo")
    await db.dispose()
    for handler in logging.getLogger().handlers:
        handler.flush()
    raw = b"".join(p.read_bytes() for p in Path(sqlite_url.split("///")[1]).parent.glob("hotline.db*"))
    raw += log_file.read_bytes()
    for secret in (b"482913", b"4111 1111 1111 1111", b"4111111111111111", b"Hoa@2026xyz"):
        assert secret not in raw, secret
    assert "[OTP đã ẩn]".encode() in raw  # the redacted message itself was kept
    setup_logging("WARNING", None)


async def test_language_switch_and_help(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("english")
    assert "Switched to English" in chat.text() and "How can I help?" in chat.text()
    await chat.press("Report")
    assert "How did they contact you?" in chat.text()
    await chat.send("help")
    assert "Commands" in chat.text() and "How did they contact you?" in chat.text()
    await chat.send("tiếng việt")
    assert "Họ liên lạc" in chat.text()


async def test_forget_me_erases_conversation_and_anonymises_tips(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("báo cáo")
    await chat.press("Cuộc gọi")
    for _ in range(12):
        if "liên hệ lại" in chat.text():
            break
        await chat.send("bỏ qua" if "Bỏ qua" in chat.buttons() else "2")
    await chat.press("Đồng ý")
    await chat.send("0988777666")
    await chat.press("Gửi báo cáo")
    await chat.send("xóa dữ liệu của tôi")
    await chat.press("Xóa dữ liệu")
    assert "1 báo cáo" in chat.text()
    assert await conversation_states(sqlite_db) == []
    (tip,) = await tip_rows(sqlite_db)
    assert "contact_phone" not in tip["data"]["slots"] and tip["reporter"] is None
    assert "0988777666" not in str(tip["data"]) and "+84988777666" not in str(tip["data"])
    # A new conversation from the same chat is not linked to the anonymised tip.
    await chat.send("menu")
    async with sqlite_db.transaction() as conn:
        refs = {r.reporter_ref for r in (await conn.execute(sa.select(tips.c.reporter_ref))).all()}
        chat_refs = {r.chat_ref for r in (await conn.execute(sa.select(conversations.c.chat_ref))).all()}
    assert not refs & chat_refs


async def test_deep_link_school_code_prefills_the_school(sqlite_db: Database) -> None:
    from datetime import UTC, datetime

    from handlers.checks.csv_import import parse_schools_csv
    from handlers.messages import InboundMessage
    from storage.reference import upsert_schools

    csv_text = ("school_id,name,province,commune,official_phones,contact_book_app,website\n"
                "CM-ND,Trường THCS Nguyễn Du,Cà Mau,Phường 5,0290 383 1234,vnEdu,\n")
    records = parse_schools_csv(csv_text.encode()).rows
    await sqlite_db.run(upsert_schools, records=records, now=datetime.now(UTC))
    engine = make_engine(sqlite_db)
    first = await engine.handle(InboundMessage(channel="test", chat_id="poster", user_id="poster", message_id="s1",
                                               text="/start", extras={"start_param": "CM-ND"}))
    assert "Bạn cần giúp gì?" in "\n".join(m.text for m in first)
    chat = Chat(engine, chat_id="poster")
    await chat.send(payload="check_call")
    await chat.send("0377 123 999")
    await chat.press("Hiệu trưởng")
    assert "Họ yêu cầu" in chat.text()  # the school question was skipped: it came from the poster
    await chat.press("Không yêu cầu gì")
    assert "Nguyễn Du" in chat.text() and "0290" in chat.text()  # the school's number to call back


async def test_parent_can_always_ask_for_a_human(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.press("Gặp cán bộ")
    await chat.send("Tôi muốn hỏi về cuộc gọi hôm qua")
    await chat.press("Gửi báo cáo")
    assert "Đã gửi yêu cầu" in chat.text()
    (tip,) = await tip_rows(sqlite_db)
    assert tip["data"]["slots"] == {"request_human": True, "message_text": "Tôi muốn hỏi về cuộc gọi hôm qua"}


def test_redaction_is_idempotent() -> None:
    from nlu.redact import redact

    once, kinds = redact("mật khẩu: Hoa@2026xyz, mã OTP 482913, thẻ 4111 1111 1111 1111")
    assert kinds == ["card_number", "otp_code", "password"]
    assert redact(once) == (once, [])
