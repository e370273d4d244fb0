"""Issue 17, what the channels show: the reference and emergency numbers copyable in Telegram, "Xong" unlike the
options, and no developers' section on the parents' start page (the web chat's side is in
tests/e2e/webchat/test_chat_browser.py, in a real browser)."""

from __future__ import annotations

from bot.channels.telegram.render import DONE_MARK, Call, render, utf16_len
from bot.webchat.pages import start_page
from bot.webchat.theme import Theme, load_static
from handlers.messages import Button, OutboundMessage


def _entities_text(call: Call) -> list[str]:
    units = str(call["text"]).encode("utf-16-le")
    return [units[2 * e["offset"]: 2 * (e["offset"] + e["length"])].decode("utf-16-le")
            for e in call.get("entities", [])]


def test_telegram_reference_and_emergency_numbers_are_sent_as_copyable_code() -> None:
    done = OutboundMessage("✅ Đã nhận báo cáo, mã số TG-2026-000004. Khẩn cấp: gọi 113. Báo số lừa đảo: 156 "
                           "hoặc nhắn 5656. Số đã gọi bạn: 0377 123 999.")
    [call] = render([done], 5)
    assert _entities_text(call) == ["TG-2026-000004", "113", "156", "5656"]  # never the scammer's number
    assert all(e["type"] == "code" for e in call["entities"])


def test_telegram_entities_count_utf16_units_after_emoji() -> None:
    [call] = render([OutboundMessage("🚨🚨 mã số HT-2026-000123")], 5)
    [entity] = call["entities"]
    assert entity["offset"] == utf16_len("🚨🚨 mã số ") and _entities_text(call) == ["HT-2026-000123"]


def test_telegram_done_button_of_a_multi_select_stands_apart_from_the_options() -> None:
    ask = OutboundMessage("Họ yêu cầu bạn làm gì?", multi_select=True, buttons=(
        Button("otp", "✅ Mã OTP"), Button("money_transfer", "Chuyển tiền"), Button("!done", "Xong"),
        Button("!skip", "Bỏ qua"), Button("!menu", "Về menu chính")))
    [call] = render([ask], 5)
    rows = call["keyboard"]
    done_row = next(row for row in rows if any(c["callback_data"] == "!done" for c in row))
    assert done_row == [{"text": DONE_MARK + "Xong", "callback_data": "!done"}]  # alone, and marked
    assert [c["text"] for c in rows[0]] == ["✅ Mã OTP", "Chuyển tiền"]


def test_the_parents_start_page_has_no_developers_section() -> None:
    theme = Theme(title="Hotline", brand="#0b5394", logo_url=None)
    page = start_page(theme, load_static(), "v1", police_name="Công an tỉnh", origin="http://127.0.0.1:8080",
                      console=False)
    assert "Gắn vào website" not in page and "widget.js" not in page and "127.0.0.1" not in page
    assert "<script" not in page and "apikeys" not in page
    assert 'href="/chat"' in page and "113" in page
