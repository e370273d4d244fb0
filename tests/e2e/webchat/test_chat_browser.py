"""A parent on a phone, in real headless Chromium, against a real server: report, link check, reload, drop."""

from __future__ import annotations

import sqlite3
import struct
import zlib
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.webchat.conftest import ARTIFACTS, Phone
from tests.e2e.webchat.live import LiveServer


def tiny_png() -> bytes:
    """A real 2×2 PNG, as a phone's screenshot would be (only much smaller)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def db_path(server: LiveServer) -> Path:
    return Path(server.settings.database.url.split("///", 1)[1])


def test_parent_reports_with_screenshot_and_resumes_after_reload(phone: Phone, server: LiveServer,
                                                                 tmp_path: Path) -> None:
    page = phone.page
    phone.open_chat()
    phone.expect_bot("Bạn cần giúp gì?")
    expect(page.locator("#log")).to_have_attribute("role", "log")
    phone.press("Báo cáo", then="Họ liên lạc với bạn bằng cách nào?")
    phone.press("Cuộc gọi", then="Số điện thoại")
    phone.say("0377 123 999", then="xảy ra lúc nào")
    phone.say("hôm qua 9h", then="tự xưng là ai")
    phone.press("Hiệu trưởng", then="từ trường nào")
    phone.say("Trường THCS Nguyễn Du", then="lý do gì")
    phone.press("mã định danh", then="yêu cầu bạn làm gì")

    # Multi-select: each tap toggles in place (✅ from the engine, aria-pressed for screen readers).
    phone.press("Mã OTP")
    expect(page.locator(".choices button[aria-pressed=true]")).to_have_count(1)
    # "Xong" does not look like one more option: filled, unlike the options it confirms.
    done_button = page.locator(".msg.bot").last.locator("button.done")
    expect(done_button).to_have_text("Xong")
    option_bg = page.locator(".msg.bot").last.locator(".choices button", has_text="Chuyển tiền")
    assert done_button.evaluate("n => getComputedStyle(n).backgroundColor") != option_bg.evaluate(
        "n => getComputedStyle(n).backgroundColor")
    phone.press("Số tài khoản")
    expect(page.locator(".choices button[aria-pressed=true]")).to_have_count(2)
    expect(page.locator(".msg.bot", has_text="yêu cầu bạn làm gì")).to_have_count(1)
    phone.press("Xong", then="đường link")
    phone.say("vneduconnect.com/hoso", then="nội dung tin nhắn")
    phone.press("Bỏ qua", then="ảnh chụp màn hình")

    # Reload mid-form: the transcript stays, the current question comes back once, and the form goes on.
    page.reload()
    phone.expect_bot("ảnh chụp màn hình")
    expect(page.locator(".msg.me", has_text="Trường THCS Nguyễn Du")).to_be_visible()
    expect(page.locator(".msg.bot", has_text="ảnh chụp màn hình")).to_have_count(1)

    screenshot = tmp_path / "zalo-call.png"
    screenshot.write_bytes(tiny_png())
    page.locator("#file").set_input_files(screenshot)
    phone.expect_said("Đã nhận 1")
    expect(page.locator(".msg.me").last).to_contain_text("zalo-call.png")
    phone.press("Xong", then="mất tiền chưa")
    phone.press("Không, chưa", then="đưa cho họ thông tin nào")
    phone.press("Chưa đưa", then="xã / phường")
    phone.say("Xã Tân Lộc", then="liên hệ lại")
    phone.press("ẩn danh", then="Kiểm tra lại trước khi gửi")
    phone.press("Gửi báo cáo")
    expect(page.locator(".msg.bot", has_text="Đã nhận báo cáo")).to_be_visible()

    done = page.locator(".msg.bot", has_text="Đã nhận báo cáo")
    ref = done.locator(".ref")
    reference = ref.inner_text()
    # The reference is emphasised, never broken across lines, and copied in one tap; 113 calls.
    assert ref.evaluate("n => getComputedStyle(n).whiteSpace") == "nowrap"
    assert ref.evaluate("n => n.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(n).lineHeight)")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    done.locator("button.copy").tap()
    expect(done.locator("button.copy")).to_have_text("Đã chép")
    assert page.evaluate("navigator.clipboard.readText()") == reference
    expect(done.locator('a.tel[href="tel:113"]')).to_have_text("113")
    with sqlite3.connect(db_path(server)) as db:
        tip = db.execute("SELECT id, channel FROM tips WHERE reference = ?", (reference,)).fetchone()
        files = db.execute("SELECT mime_type FROM tip_attachments WHERE tip_id = ?", (tip[0],)).fetchall()
    assert tip[1] == "web"
    assert files == [("image/png",)]


def test_parent_checks_a_link_shown_as_inert_text(phone: Phone) -> None:
    page = phone.page
    phone.open_chat()
    phone.press("Kiểm tra đường link", then="Dán đường link")
    phone.say("Bấm vào http://vneduconnect.com/hs?id=1 để cập nhật", then="Bạn muốn làm gì tiếp?")
    verdict = page.locator(".msg.bot", has_text="🚫")
    expect(verdict).to_be_visible()
    expect(verdict.locator(".links code")).to_have_text("http://vneduconnect.com/hs?id=1")
    # Links are text: nothing for a parent to tap by mistake (only the emergency numbers call, never a quoted one).
    assert page.locator("#log a:not([href=\"tel:113\"]):not([href=\"tel:111\"]):not([href=\"tel:156\"])"
                        ":not([href=\"tel:5656\"])").count() == 0
    assert page.locator("#log button").evaluate_all("bs => bs.every(b => b.offsetHeight >= 44)")
    assert page.locator("#log").evaluate("n => parseFloat(getComputedStyle(n).fontSize)") >= 16
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "webchat-chat.png"))


def test_english_switch(phone: Phone) -> None:
    page = phone.page
    phone.open_chat()
    phone.expect_bot("Bạn cần giúp gì?")
    page.locator("#lang").tap()
    phone.expect_bot("How can I help?")
    phone.expect_said("Switched to English.")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#text")).to_have_attribute("placeholder", "Type a message…")
    expect(page.locator("#lang")).to_have_text("Tiếng Việt")
    phone.press("Report", then="How did they contact you?")
    page.reload()
    phone.expect_bot("How did they contact you?")
    expect(page.locator("#send")).to_have_attribute("aria-label", "Send")


def test_connection_drop_shows_error_and_retry_resends(phone: Phone, server: LiveServer) -> None:
    page = phone.page
    phone.open_chat()
    phone.press("Báo cáo", then="Họ liên lạc với bạn bằng cách nào?")
    phone.allow_errors(r"WebSocket connection to .* failed", r"Failed to load resource", r"ERR_CONNECTION_REFUSED")
    server.stop()
    try:
        phone.press("Cuộc gọi")
        status = page.get_by_role("alert")
        expect(status).to_contain_text("chưa được gửi")
        retry = status.get_by_role("button", name="Thử lại")
        expect(retry).to_be_visible()
        retry.tap()  # still down: the error stays, the message stays queued
        expect(status).to_be_visible()
    finally:
        server.start()
    retry.tap()
    phone.expect_bot("Số điện thoại")
    expect(page.locator("#status")).to_be_hidden()
    # Delivered once: the conversation moved exactly one step.
    expect(page.locator(".msg.bot", has_text="Số điện thoại")).to_have_count(1)
    phone.say("0377 123 999", then="xảy ra lúc nào")
