"""Parents subscribe in the chat (menu, or after a report), with consent recorded; one word or the button
stops it; "forget me" deletes it."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from handlers.messages import ConversationKey
from storage import audit, subscriptions
from storage.conversations import chat_ref
from storage.db import Database
from storage.intake_schema import police_units, unit_communes
from storage.reference import SchoolRecord, upsert_schools
from storage.units import commune_keys
from tests.chat import TEST_CIPHER, Chat, make_engine

NOW = datetime(2026, 12, 1, tzinfo=UTC)


async def seed_places(db: Database) -> None:
    def work(conn: sa.Connection) -> None:
        upsert_schools(conn, records=[SchoolRecord("THCS-ND", "Trường THCS Nguyễn Du", "Cà Mau", "Tân Lộc",
                                                   name_key=" nguyen du ", type_key="thcs", phones=("+842903800001",))],
                       now=NOW)
        conn.execute(sa.insert(police_units), {"id": "CA-TL", "name": "Công an xã Tân Lộc", "updated_at": NOW})
        full, bare = commune_keys("Xã Tân Lộc")
        conn.execute(sa.insert(unit_communes), {"commune_code": "32014", "commune_name": "Xã Tân Lộc",
                                                "full_key": full, "name_key": bare, "unit_id": "CA-TL"})

    await db.run(work)


async def subscription(db: Database, chat_id: str = "parent-1") -> subscriptions.Subscription | None:
    ref = chat_ref(TEST_CIPHER, ConversationKey("test", chat_id))
    return await db.run(subscriptions.of_chat, channel="test", ref=ref)


async def test_subscribe_from_the_menu_with_school_and_commune(sqlite_db: Database) -> None:
    await seed_places(sqlite_db)
    chat = Chat(make_engine(sqlite_db))
    await chat.send("xin chào")
    await chat.press("Nhận cảnh báo")
    assert "chỉ lưu kênh chat này" in chat.text()  # what is kept, before anything is
    await chat.send("thcs nguyen du")
    await chat.send("xa tan loc")
    assert await subscription(sqlite_db) is None  # nothing before the parent agrees
    await chat.press("Đồng ý")
    text = chat.text()
    assert "Đã đăng ký" in text and "trường Trường THCS Nguyễn Du" in text and "Xã Tân Lộc" in text
    sub = await subscription(sqlite_db)
    assert sub is not None and sub.status == "active"
    assert (sub.school_id, sub.commune_code, sub.commune_key) == ("THCS-ND", "32014", "tan loc")
    assert sub.consent_at is not None
    entries = await sqlite_db.run(audit.entries, subject=sub.chat_ref)
    assert entries[0]["action"] == "subscription.start" and "consent subscribe.v1" in entries[0]["detail"]


async def test_declining_records_nothing_and_unknown_school_still_subscribes_to_the_province(
        sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.press("Nhận cảnh báo")
    await chat.send("bỏ qua")
    await chat.send("bỏ qua")
    await chat.press("Không, cảm ơn")
    assert await subscription(sqlite_db) is None
    await chat.press("Nhận cảnh báo")
    await chat.send("Trường Không Có Thật")
    await chat.send("bỏ qua")
    await chat.send("đồng ý")
    assert "Bạn sẽ nhận cảnh báo cho: cả tỉnh." in chat.text()
    assert "Chưa tìm thấy trường “Trường Không Có Thật”" in chat.text()
    sub = await subscription(sqlite_db)
    assert sub is not None and sub.school_id is None and sub.school_name == "Trường Không Có Thật"


async def test_one_word_or_the_button_stops_warnings(sqlite_db: Database) -> None:
    engine = make_engine(sqlite_db)
    chat = Chat(engine)
    for words in ("dừng", "huỷ đăng ký", "STOP"):
        await chat.send("menu")
        await chat.press("Nhận cảnh báo")
        await chat.send("bỏ qua")
        await chat.send("bỏ qua")
        await chat.press("Đồng ý")
        assert (await subscription(sqlite_db)).status == "active"  # type: ignore[union-attr]
        await chat.send(words)
        assert "Đã ngừng gửi cảnh báo" in chat.text(), words
        sub = await subscription(sqlite_db)
        assert sub is not None and sub.status == "stopped"
    await chat.send(payload="!unsubscribe")
    assert "chưa đăng ký" in chat.text()


async def test_stop_in_a_form_still_cancels_the_form_and_dung_is_not_dung(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.press("Nhận cảnh báo")
    await chat.send("bỏ qua")
    await chat.send("bỏ qua")
    await chat.press("Đồng ý")
    await chat.press("Báo cáo")
    await chat.send("stop")  # in the middle of a report: the report's cancel, not the subscription
    assert "Đã hủy" in chat.text()
    assert (await subscription(sqlite_db)).status == "active"  # type: ignore[union-attr]
    await chat.send("đúng")  # folds to "dung" too, but it is a yes, not "dừng"
    assert (await subscription(sqlite_db)).status == "active"  # type: ignore[union-attr]


async def test_forget_me_deletes_the_subscription(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.press("Nhận cảnh báo")
    await chat.send("bỏ qua")
    await chat.send("bỏ qua")
    await chat.press("Đồng ý")
    await chat.send("xóa dữ liệu của tôi")
    await chat.press("Xóa")
    assert await subscription(sqlite_db) is None


async def test_after_a_report_warnings_are_offered_and_the_button_starts_the_flow(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db))
    await chat.send("menu")
    await chat.press("Báo cáo")
    for _ in range(25):
        text, buttons = chat.text(), chat.buttons()
        if "✅ Gửi báo cáo" in buttons:
            break
        if "mất tiền chưa" in text:
            await chat.press("Không, chưa")
        elif "liên hệ lại" in text:
            await chat.press("ẩn danh")
        elif any(b.startswith("📞") for b in buttons) and "Cuộc gọi" in " ".join(buttons):
            await chat.press("Cuộc gọi")
        else:
            await chat.send("bỏ qua")
    await chat.press("Gửi báo cáo")
    assert "mã số" in chat.text()
    assert chat.buttons()[-1] == "🔔 Nhận cảnh báo lừa đảo cho trường / xã của tôi"
    await chat.press("Nhận cảnh báo lừa đảo cho trường")
    assert "Con bạn học trường nào?" in chat.text()
