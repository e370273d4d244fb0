"""Rendering and parsing rules, and long messages delivered through the real Bot against the fake."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bot.channels.telegram.api import make_bot
from bot.channels.telegram.delivery import deliver
from bot.channels.telegram.parse import Ignore, Notice, ParseContext, ToEngine, parse_update
from bot.channels.telegram.render import MAX_TEXT, inert_link, render, split_text, utf16_len
from handlers.messages import Button, OutboundMessage
from tests.e2e.telegram.conftest import make_settings
from tests.e2e.telegram.fakebot import FakeBotAPI

CTX = ParseContext(officers_chat_id="-100", officer_ids=frozenset({"42"}), bot_username="HotlineTestBot")
USER = {"id": 5, "is_bot": False, "first_name": "Lan"}
PRIVATE = {"id": 5, "type": "private", "first_name": "Lan"}


def _msg(**content: object) -> dict[str, object]:
    return {"update_id": 1, "message": {"message_id": 1, "date": int(time.time()), "chat": PRIVATE, "from": USER,
                                        **content}}


def test_long_text_splits_on_sentence_boundaries_within_utf16_limit() -> None:
    sentence = "Nhà trường không bao giờ yêu cầu mã OTP qua điện thoại 📵. "
    text = sentence * 200
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(utf16_len(p) <= MAX_TEXT for p in pieces)
    assert all(p.rstrip().endswith(".") for p in pieces)
    assert " ".join(p.strip() for p in pieces) == text.strip()


def test_unbroken_text_is_cut_hard_and_short_text_is_untouched() -> None:
    assert split_text("ngắn") == ["ngắn"]
    blob = "x" * 9000
    assert [len(p) for p in split_text(blob)] == [4096, 4096, 808]


def test_plain_messages_join_the_next_urgent_stands_alone_links_are_inert() -> None:
    replies = [OutboundMessage("Đã nhận 1 ảnh."), OutboundMessage("⚠️ Khóa thẻ ngay!", urgent=True),
               OutboundMessage("Kết quả kiểm tra:", links=("https://vneduconnect.com/tai-app",)),
               OutboundMessage("Tiếp theo?", buttons=(Button("report", "🚨 Báo cáo"), Button("menu", "Menu"),
                                                       Button("x", "Một nút có nhãn rất dài không chung hàng")))]
    calls = render(replies, 5)
    assert [c["text"] for c in calls] == [
        "Đã nhận 1 ảnh.", "⚠️ Khóa thẻ ngay!",
        "Kết quả kiểm tra:\n🔗 hxxps://vneduconnect[.]com/tai-app\n\nTiếp theo?"]
    assert [[b["callback_data"] for b in row] for row in calls[2]["keyboard"]] == [["report", "menu"], ["x"]]
    assert inert_link("abc.vnedu.vn.info/x.apk") == "abc[.]vnedu[.]vn[.]info/x.apk"


def test_contact_request_uses_a_reply_keyboard_and_multi_select_press_edits() -> None:
    [ask] = render([OutboundMessage("Số điện thoại:", buttons=(Button("!skip", "Bỏ qua"),), request_contact=True)], 5)
    assert ask["reply_keyboard"]["buttons"] == ["Bỏ qua"] and "keyboard" not in ask
    multi = OutboundMessage("Chọn:", buttons=(Button("otp", "✅ Mã OTP"), Button("!done", "Xong")), multi_select=True)
    [edit] = render([multi], 5, pressed_message_id=77, pressed_text="Đã lưu.\n\nChọn:")
    assert edit["method"] == "edit" and edit["message_id"] == 77 and edit["text"] == "Đã lưu.\n\nChọn:"
    assert render([multi], 5)[0]["method"] == "send"  # typed, not pressed: a new message
    # A press on an old prompt of another question does not overwrite that old message.
    assert render([multi], 5, pressed_message_id=70, pressed_text="Câu hỏi trước:")[0]["method"] == "send"


def test_parsing_forwards_contacts_deep_links_and_things_we_cannot_use() -> None:
    forwarded = parse_update(_msg(text="Cài app tại vneduconnect.com", forward_origin={
        "type": "user", "date": 1, "sender_user": {"id": 9, "is_bot": False, "first_name": "Cô", "last_name": "Hoa",
                                                   "username": "cohoa"}}), CTX)
    assert isinstance(forwarded, ToEngine)
    assert forwarded.text == "Cài app tại vneduconnect.com"
    assert forwarded.extras == {"forwarded_from": "Cô Hoa (@cohoa)"}
    own = parse_update(_msg(contact={"phone_number": "84912345678", "first_name": "Lan", "user_id": 5}), CTX)
    assert isinstance(own, ToEngine) and own.extras == {"contact_phone": "+84912345678"}
    other = parse_update(_msg(contact={"phone_number": "0377123999", "first_name": "Lạ"}), CTX)
    assert isinstance(other, ToEngine) and other.text == "0377123999" and other.extras == {}
    start = parse_update(_msg(text="/start@HotlineTestBot THCS-ND_01"), CTX)
    assert isinstance(start, ToEngine) and start.text == "/start" and start.extras == {"start_param": "THCS-ND_01"}
    assert isinstance(parse_update(_msg(dice={"emoji": "🎲", "value": 3}), CTX), Notice)
    edited = {"update_id": 2, "edited_message": _msg(text="sửa")["message"]}
    assert isinstance(parse_update(edited, CTX), Ignore)
    bot_message = _msg(text="hi")
    bot_message["message"]["from"] = {"id": 6, "is_bot": True, "first_name": "Other"}  # type: ignore[index]
    assert isinstance(parse_update(bot_message, CTX), Ignore)


async def test_long_reply_is_delivered_in_pieces_through_the_real_bot(tmp_path: Path, fake: FakeBotAPI) -> None:
    settings = make_settings(tmp_path, fake)
    calls = render([OutboundMessage("Cảnh báo. " * 1200, buttons=(Button("menu", "Menu"),))], 5)
    async with make_bot(settings.telegram) as bot:
        outcomes = [await deliver(bot, call) for call in calls]
    assert [o.kind for o in outcomes] == ["ok"] * len(calls) and len(calls) == 3
    sent = fake.calls_to("sendMessage", ok=True)
    assert "reply_markup" in sent[-1].params and "reply_markup" not in sent[0].params


async def test_references_and_emergency_numbers_reach_telegram_as_copyable_code(tmp_path: Path,
                                                                                 fake: FakeBotAPI) -> None:
    """Regression: render() marked them as ``code`` entities but delivery dropped the entities on the way out."""
    settings = make_settings(tmp_path, fake)
    calls = render([OutboundMessage("Mã báo cáo: TG-2026-000123. Khẩn cấp gọi 113.")], 5)
    assert any(call.get("entities") for call in calls)
    async with make_bot(settings.telegram) as bot:
        assert [(await deliver(bot, call)).kind for call in calls] == ["ok"] * len(calls)
    sent = fake.calls_to("sendMessage", ok=True)[-1].params
    entities = sent["entities"]
    if isinstance(entities, str):
        entities = json.loads(entities)
    text = sent["text"]
    shown = {text[e["offset"]:e["offset"] + e["length"]] for e in entities if e["type"] == "code"}
    assert "TG-2026-000123" in shown and "113" in shown
