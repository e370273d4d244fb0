"""In real headless Chromium: a parent in the web chat (phone-sized) and an officer on the tip page (desktop), two
browser contexts. The officer takes the "gặp cán bộ" chat live, both sides see each other's words without a
reload (chat.js shows pushed notices; conversation.js polls the panel and sends its forms in the background),
hands it back, then asks a question the parent answers. No console error (CSP) on either side."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from bot.console.auth import COOKIE
from tests.console.browser import chromium, new_tab
from tests.twoway.live_server import talking_console

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed")
WAIT = 15_000  # ms: the panel polls every 3 s; far above that so a missed update fails


async def type_in_chat(page: Page, text: str) -> None:
    await page.locator("#text").fill(text)
    await page.locator("#send").click()


async def bot_says(page: Page, text: str) -> None:
    await expect(page.locator(".msg.bot", has_text=text).last).to_be_visible(timeout=WAIT)


async def test_live_chat_and_a_question_between_two_browsers(tmp_path: Path) -> None:
    async with talking_console(tmp_path) as console, chromium() as browser:
        parent = await new_tab(browser, console.base_url, width=390, height=844)
        assert await parent.goto("/chat") == 200
        await bot_says(parent.page, "Bạn cần giúp gì")
        await type_in_chat(parent.page, "gặp cán bộ")
        await bot_says(parent.page, "Bạn cần cán bộ hỗ trợ việc gì")
        await type_in_chat(parent.page, "Có người gọi xưng là cô giáo, bảo cài ứng dụng")
        await parent.page.locator(".choices button:enabled", has_text="Gửi").first.click()
        await bot_says(parent.page, "Đã gửi yêu cầu")
        done = await parent.page.locator(".msg.bot", has_text="Đã gửi yêu cầu").last.inner_text()
        found = re.search(r"TG-\d{4}-\d{6}", done)
        assert found
        reference = found.group(0)

        account = await console.make_user("chihuy@congan.vn", "supervisor", totp=True)
        signed = await console.signed_in_client(account)
        officer = await new_tab(browser, console.base_url)
        # The console layout names no icon, so Chromium asks for /favicon.ico (404): answer it here, so that any
        # console error left is really ours.
        await officer.page.context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
        await officer.page.context.add_cookies([{"name": COOKIE, "value": signed.session_token,
                                                 "url": console.base_url + "/console"}])
        assert await officer.goto(f"/console/tips/{reference}") == 200
        panel = officer.page.locator("#conversation")
        await expect(panel).to_contain_text("Cửa sổ chat đang mở.")
        await panel.get_by_role("button", name="Nhận trò chuyện trực tiếp").click()
        await expect(officer.page.locator("#conversation")).to_contain_text("Đang trò chuyện trực tiếp", timeout=WAIT)
        await bot_says(parent.page, "đã vào cuộc trò chuyện")

        await type_in_chat(parent.page, "Chào anh, họ gọi từ số 0377 123 999")
        await expect(officer.page.locator("#conv-log")).to_contain_text("họ gọi từ số 0377 123 999", timeout=WAIT)
        await officer.page.locator("#conv-body").fill("Chị đừng cài gì cả nhé.")
        await officer.page.locator("#conversation").get_by_role("button", name="Gửi", exact=True).click()
        await bot_says(parent.page, "👮 Công an tỉnh: Chị đừng cài gì cả nhé.")
        await expect(officer.page.locator("#conv-body")).to_have_value("")
        assert officer.page.url.endswith(f"/console/tips/{reference}")  # stayed on the page: sent in the background

        hand_back = officer.page.locator("#conversation").get_by_role("button", name="Kết thúc, trả lại cho trợ lý")
        await hand_back.click()
        await bot_says(parent.page, "Cán bộ đã kết thúc cuộc trò chuyện")

        await officer.page.locator("#conv-question").fill("Chị còn giữ tin nhắn của số đó không?")
        await officer.page.locator("#conversation").get_by_role("button", name="Gửi câu hỏi").click()
        await bot_says(parent.page, "Chị còn giữ tin nhắn của số đó không?")
        await expect(parent.page.locator(".choices button:enabled", has_text="Không muốn trả lời")).to_be_visible()
        await type_in_chat(parent.page, "Không còn, tôi đã xóa rồi")
        await bot_says(parent.page, "Cảm ơn bạn")
        await expect(officer.page.locator("#conv-log")).to_contain_text("Không còn, tôi đã xóa rồi", timeout=WAIT)
        await officer.shot("conversation-panel")

        assert officer.dialogs == [] and parent.dialogs == []
        assert officer.errors == [] and parent.errors == [], (officer.errors, parent.errors)
