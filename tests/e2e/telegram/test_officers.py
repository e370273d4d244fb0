"""The officers' group: tip cards posted once, buttons authorised by Telegram id, presses recorded."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from bot.channels.telegram import TelegramTipCards, TipCardError
from bot.channels.telegram.texts import NOT_AUTHORISED
from bot.channels.telegram.tipcards import card_text
from storage import telegram_store as store
from tests.e2e.telegram.conftest import make_settings, open_runtime, running
from tests.e2e.telegram.fakebot import FakeBotAPI
from tests.e2e.telegram.people import settled

GROUP = -1005001
TIP = {"reference": "TG-2026-000123", "urgency": "urgent", "summary": "Giả danh GVCN, đòi mã OTP qua điện thoại.",
       "verdict": {"verdict": "lừa đảo", "reasons": ["otp_request"]}, "cluster": {"size": 3},
       "commune": {"code": "32011", "name": "Xã Tân Lộc"}}


def _officer(user_id: int, name: str) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": name}


def _press(card: dict[str, Any], officer: dict[str, Any], data: str) -> dict[str, Any]:
    return {"callback_query": {"id": f"cq-{officer['id']}-{time.monotonic_ns()}", "from": officer,
                               "chat_instance": "g", "data": data, "message": card}}


async def test_tip_card_posted_once_and_pressed_by_officers(tmp_path: Path, fake: FakeBotAPI) -> None:
    settings = make_settings(tmp_path, fake, officers_chat_id=str(GROUP), officer_ids=["42", "43"])
    async with open_runtime(settings) as runtime:
        cards = TelegramTipCards(runtime)
        try:
            await cards.send_card(TIP)
            await cards.send_card(TIP)  # the forwarder retried: no second card
        finally:
            await cards.close()
        [(_, card)] = fake.events(GROUP)
        assert card["text"].startswith("🚨 KHẨN CẤP — Báo cáo TG-2026-000123")
        for part in ("đòi mã OTP", "Đánh giá: lừa đảo", "Cụm: 3 báo cáo", "Xã/phường: Xã Tân Lộc"):
            assert part in card["text"]
        buttons = [b for row in card["reply_markup"]["inline_keyboard"] for b in row]
        assert [b.get("callback_data") for b in buttons[:2]] == ["tip:ack:TG-2026-000123", "tip:assign:TG-2026-000123"]
        assert buttons[2]["url"] == "https://hotline.example.vn/console/tips/TG-2026-000123"

        async with running(runtime):
            stranger = fake.push(_press(card, _officer(99, "Kẻ Lạ"), "tip:ack:TG-2026-000123"))
            await settled(runtime.db, stranger)
            ack = fake.push(_press(card, _officer(42, "Trung úy An"), "tip:ack:TG-2026-000123"))
            await settled(runtime.db, ack)
            take = fake.push(_press(fake.message(GROUP, card["message_id"]), _officer(43, "Đại úy Bình"),
                                    "tip:assign:TG-2026-000123"))
            await settled(runtime.db, take)
            chatter = fake.push({"message": {"message_id": 7, "date": int(time.time()), "text": "đã xem",
                                             "chat": {"id": GROUP, "type": "supergroup", "title": "Officers"},
                                             "from": _officer(42, "Trung úy An")}})
            await settled(runtime.db, chatter)

        answers = [c.params for c in fake.calls_to("answerCallbackQuery", ok=True)]
        assert answers[0]["text"] == NOT_AUTHORISED and answers[0]["show_alert"] is True
        assert "đã tiếp nhận TG-2026-000123" in answers[1]["text"]
        assert "Đã giao TG-2026-000123" in answers[2]["text"]
        actions = await runtime.db.run(store.tip_actions, reference="TG-2026-000123")
        assert [(a["action"], a["officer_id"]) for a in actions] == [("posted", ""), ("ack", "42"), ("assign", "43")]
        edited = fake.message(GROUP, card["message_id"])
        assert "✔ Đã tiếp nhận: Trung úy An" in edited["text"] and "👤 Phụ trách: Đại úy Bình" in edited["text"]
        assert edited["reply_markup"] == card["reply_markup"]  # the buttons stay for the next officer
        assert len(fake.events(GROUP)) == 3  # the card and its two edits; the officers' chatter got no reply


async def test_group_chats_get_an_explanation_and_a_link_to_a_private_chat(tmp_path: Path,
                                                                           fake: FakeBotAPI) -> None:
    async with open_runtime(make_settings(tmp_path, fake)) as runtime, running(runtime):
        group = {"id": -777, "type": "group", "title": "Phụ huynh lớp 5A"}
        parent = {"id": 8001, "is_bot": False, "first_name": "Mai"}
        quiet = fake.push({"message": {"message_id": 1, "date": int(time.time()), "chat": group, "from": parent,
                                       "text": "các mẹ ơi có ai nhận cuộc gọi lạ không"}})
        asked = fake.push({"message": {"message_id": 2, "date": int(time.time()), "chat": group, "from": parent,
                                       "text": "/start@HotlineTestBot"}})
        await settled(runtime.db, quiet)
        await settled(runtime.db, asked)
    [(_, reply)] = fake.events(-777)
    assert "chỉ trò chuyện riêng" in reply["text"]
    assert reply["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://t.me/HotlineTestBot"


async def test_card_without_officers_group_is_a_permanent_error(tmp_path: Path, fake: FakeBotAPI) -> None:
    async with open_runtime(make_settings(tmp_path, fake)) as runtime:
        with pytest.raises(TipCardError) as err:
            await TelegramTipCards(runtime).send_card(TIP)
        assert err.value.permanent


def test_card_from_a_structured_tip_v1_document() -> None:
    tip = {"schema": "tip.v1", "reference": "TG-2026-000124", "urgent": True, "verdict": "scam",
           "contact": {"channel": "call", "caller_number": "+84377123999", "time": None},
           "claimed_role": "homeroom_teacher", "school": {"id": None, "name": "THCS Nguyễn Du", "matched": False},
           "pretext": "student_id_code", "asked": ["otp", "bank_account"],
           "links": [{"url": "https://vneduconnect.com/app", "domain": "vneduconnect.com", "check": None}],
           "harm": {"money_lost": True, "amount_vnd": 5_000_000, "bank": None, "loss_time": None, "shared": ["otp"]},
           "location": {"commune_text": "tan loc", "commune_code": "32011", "commune_name": "Xã Tân Lộc",
                        "province_code": "96", "unit": {"id": "ca-tan-loc", "name": "Công an xã Tân Lộc"},
                        "routed_by": "commune"},
           "cluster": {"size": 1, "first_seen": "2026-11-20T08:00:00Z", "last_seen": "2026-11-20T08:00:00Z"}}
    text = card_text(tip)
    assert text.splitlines()[0] == "🚨 KHẨN CẤP — Báo cáo TG-2026-000124"
    for part in ("Cuộc gọi từ +84377123999", "tự xưng GVCN (THCS Nguyễn Du)", "lý do: mã định danh học sinh",
                 "yêu cầu: OTP, số tài khoản", "ĐÃ MẤT TIỀN 5.000.000 đ", "link: vneduconnect[.]com",
                 "Đánh giá: lừa đảo", "Cụm: báo cáo đầu tiên", "Xã/phường: Xã Tân Lộc — Công an xã Tân Lộc"):
        assert part in text, part
