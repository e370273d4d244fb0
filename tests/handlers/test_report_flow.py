"""The guided report, end to end through the real engine and database."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from handlers.engine import Engine
from storage.db import Database
from storage.indicators import of_tip
from storage.schema import outbox, tip_indicators
from tests.chat import TEST_CIPHER, Chat, conversation_states, make_engine, tip_rows


async def _tips(db: Database) -> list[dict[str, Any]]:
    return await tip_rows(db)


async def walk_report_with_buttons(chat: Chat) -> str:
    await chat.send("xin chào")
    assert "Bạn cần giúp gì?" in chat.text()
    await chat.press("Báo cáo")
    assert "liên lạc" in chat.text()
    await chat.press("Cuộc gọi")
    await chat.send("0377 123 999")
    await chat.send("hôm qua 9h")
    await chat.press("chủ nhiệm")
    await chat.send("THCS Nguyễn Du")
    await chat.press("Sổ liên lạc")
    await chat.press("Mã OTP")
    assert "✅ Mã OTP" in chat.buttons()  # multi-select shows what is ticked
    await chat.press("Cài ứng dụng")
    await chat.press("Xong")
    await chat.send("Tải app tại sll-vnedu.com/app.apk ngay")
    # The whole message was pasted with the link, so "paste the message" is not asked again.
    assert "ảnh chụp" in chat.text().lower()
    await chat.press("Bỏ qua")
    await chat.press("Không, chưa mất tiền")
    await chat.press("Chưa đưa gì")
    await chat.send("Phường Tân Thành")
    await chat.press("ẩn danh")
    return chat.text()


async def test_report_with_buttons_files_tip_and_outbox_row(database: Database) -> None:
    chat = Chat(make_engine(database))
    summary = await walk_report_with_buttons(chat)
    assert "0377 123 999" in summary
    assert "Giáo viên chủ nhiệm" in summary
    assert "Mã OTP, Cài ứng dụng" in summary
    assert "sll-vnedu.com/app.apk" in summary
    await chat.press("Gửi báo cáo")
    assert "TG-20" in chat.text()
    reference = chat.text().split("mã số ")[1].split(".")[0]
    (tip,) = [t for t in await tip_rows(database) if t["reference"] == reference]
    async with database.transaction() as conn:
        rows = (await conn.execute(sa.select(outbox).where(outbox.c.tip_id == tip["id"]))).all()
        indicators = set(await conn.run_sync(lambda c: of_tip(c, cipher=TEST_CIPHER, tip_id=tip["id"])))
        assert all(r.legacy_value is None for r in (await conn.execute(sa.select(tip_indicators))).all())
    slots = tip["data"]["slots"]
    assert slots["caller_number"] == "+84377123999"
    assert slots["asked"] == ["otp", "install_app"]
    assert slots["link"] == "sll-vnedu.com/app.apk"
    assert slots["message_text"] == "Tải app tại sll-vnedu.com/app.apk ngay"
    assert "contact_phone" not in slots
    assert tip["urgent"] is False
    assert [(r.sink, r.idempotency_key, r.status) for r in rows] == [("console", reference, "pending")]
    assert ("phone", "+84377123999") in indicators and ("domain", "sll-vnedu.com") in indicators
    # The conversation is back at the main menu with nothing left over.
    assert "Bạn cần giúp gì?" in chat.text()


async def test_report_in_free_text_without_diacritics(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("toi muon bao cao")
    await chat.send("goi dien")
    await chat.send("0912.000.111")
    await chat.send("sang hom qua")  # a past morning whatever the hour the test runs
    await chat.send("co chu nhiem")
    await chat.send("truong tieu hoc kim dong")
    await chat.send("hoan hoc phi")
    await chat.send("ho doi stk va ma otp")
    assert "đường link" in chat.text()
    await chat.send("ko co")
    await chat.send("bo qua")
    await chat.send("xong")
    await chat.send("co")  # money lost → urgent advice, then the amount
    assert any(m.urgent for m in chat.last)
    assert "113" in chat.text()
    await chat.send("1tr5")
    await chat.send("Vietcombank, chuyen toi stk 0123456789 MB")
    await chat.send("hom qua 20h")
    await chat.send("so tai khoan")
    await chat.send("bo qua")
    await chat.send("dong y")
    await chat.send("0988 777 666")
    assert "0988 777 666" in chat.text()
    await chat.send("gui")
    assert "TG-" in chat.text()
    (tip,) = await _tips(sqlite_db)
    slots = tip["data"]["slots"]
    assert slots["claimed_role"] == "homeroom_teacher"
    assert slots["pretext"] == "tuition_refund"
    assert slots["asked"] == ["otp", "bank_account"]
    assert slots["amount"] == 1_500_000
    assert slots["contact_phone"] == "+84988777666"
    assert tip["data"]["consent"]["contact"] is True
    assert tip["urgent"] is True


async def test_edit_before_submit_changes_the_field_and_returns_to_summary(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await walk_report_with_buttons(chat)
    await chat.press("Sửa")
    assert "mục nào" in chat.text()
    await chat.press("Số gọi/nhắn")
    assert "Số điện thoại" in chat.text()
    await chat.send("0366 555 444")
    assert "Kiểm tra lại" in chat.text()  # straight back to the summary
    assert "0366 555 444" in chat.text() and "0377 123 999" not in chat.text()
    # Changing "money lost" to yes opens its follow-up questions before the summary.
    await chat.press("Sửa")
    await chat.press("Mất tiền")
    await chat.press("Có, đã mất tiền")
    assert "bao nhiêu" in chat.text()
    await chat.send("20 triệu")
    await chat.press("Bỏ qua")
    await chat.press("Bỏ qua")
    assert "Kiểm tra lại" in chat.text() and "20.000.000 đ" in chat.text()
    await chat.press("Gửi báo cáo")
    (tip,) = await _tips(sqlite_db)
    assert tip["data"]["slots"]["caller_number"] == "+84366555444"
    assert tip["data"]["slots"]["amount"] == 20_000_000
    assert tip["urgent"] is True


async def test_cancel_mid_form_sends_nothing(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("báo cáo")
    await chat.press("Zalo")
    await chat.send("hủy")
    assert "Đã hủy" in chat.text() and "Bạn cần giúp gì?" in chat.text()
    await chat.send("menu")
    assert await _tips(sqlite_db) == []


async def test_restart_mid_form_resumes_from_the_database(sqlite_url: str) -> None:
    db1 = Database(sqlite_url)
    from storage.migrate import upgrade

    await upgrade(db1)
    chat = Chat(make_engine(db1))
    await chat.send("báo cáo")
    await chat.press("SMS")
    await chat.send("0377123999")
    await db1.dispose()
    # A new process: new engine, new connection pool, nothing in memory.
    db2 = Database(sqlite_url)
    chat2 = Chat(make_engine(db2), chat_id=chat.chat_id)
    await chat2.send("hôm qua")
    assert "tự xưng" in chat2.text()
    (state,) = await conversation_states(db2)
    assert state["slots"]["caller_number"] == "+84377123999"
    await db2.dispose()


async def test_same_message_id_is_processed_once(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("báo cáo", message_id="abc")
    first = await chat.send(payload="call", message_id="m-call")
    again = await chat.send(payload="call", message_id="m-call")
    assert [m.to_json() for m in again] == [m.to_json() for m in first]
    await chat.send("0377123999", message_id="m-phone")
    assert "xảy ra lúc nào" in chat.text()  # the duplicate did not advance the form twice


async def test_back_goes_to_previous_question(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("báo cáo")
    await chat.press("Zalo")
    await chat.send("quay lại")
    assert "liên lạc" in chat.text()


async def test_unknown_button_and_junk_are_answered(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("báo cáo")
    await chat.send(payload="no-such-button")
    assert "không còn dùng" in chat.text() and chat.buttons()
    await chat.send("")
    await chat.send("\x00\x01\x02\udcff" * 10)
    await chat.send("x" * 100_000)
    assert "quá dài" in chat.text()
    await chat.send(payload="!edit:99")
    assert chat.last  # always an answer, never an exception


async def test_engine_type_is_shared_across_channels(sqlite_db: Database) -> None:
    engine: Engine = make_engine(sqlite_db)
    a, b = Chat(engine, chat_id="a"), Chat(engine, chat_id="b", channel="other")
    await a.send("báo cáo")
    await b.send("menu")
    assert "liên lạc" in a.text() and "Bạn cần giúp gì?" in b.text()
