"""The console in real headless Chromium: sign-in with TOTP, a tip triaged through the whole workflow, bulk
close, blocklisting from a tip and `hotline check` warning on that number, an inert hostile tip, a forged form,
the lockout, and another unit's tip by URL."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.console.browser import chromium, new_tab
from tests.console.conftest import Console
from tests.console.test_pages import status_of
from tests.console.tips import XSS, file_tip, load_units

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed")
HOTLINE = str(Path(sys.executable).with_name("hotline"))


async def sign_in_page(tab: object, email: str, password: str, code: str | None = None) -> None:
    page = tab.page  # type: ignore[attr-defined]
    await tab.goto("/console/login")  # type: ignore[attr-defined]
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("form button[type=submit]")
    if code is not None:
        await page.wait_for_url("**/console/login/totp**")
        await page.fill("input[name=code]", code)
        await page.click("form button[type=submit]")
    await page.wait_for_load_state()


def hotline_check(console: Console, phone: str) -> dict[str, object]:
    """`hotline check --json` as an operator runs it, on the console's database and keys."""
    config = console.tmp_path / "cli-config.yaml"
    config.write_text("# defaults; HOTLINE_* below\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(HOTLINE_CONFIG=str(config), HOTLINE_DATABASE__URL=console.settings.database.url,
               HOTLINE_SECURITY__KEY_FILE=console.settings.security.key_file, HOTLINE_LOGGING__FILE="",
               HOTLINE_DATA_DIR=console.settings.data_dir)
    out = subprocess.run([HOTLINE, "check", "--phone", phone, "--json"], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    result: dict[str, object] = json.loads(out.stdout)
    return result


async def test_sign_in_with_totp_triage_block_and_check_warns(console: Console) -> None:
    await load_units(console)
    ref = await file_tip(console, 1, number="+84987654321", domain="vneduconnect.com")
    sup = await console.make_user("chihuy@ca.vn", "supervisor", totp=True)
    before = await asyncio.to_thread(hotline_check, console, "0987654321")
    assert before["verdict"] != "scam"
    async with chromium() as browser:
        tab = await new_tab(browser, console.base_url)
        await sign_in_page(tab, sup.email, sup.password, sup.code())
        assert tab.page.url.endswith("/console/queue")
        await expect(tab.page.locator(f'a[href="/console/tips/{ref}"]')).to_be_visible()
        await tab.shot("queue")
        await tab.page.click(f'a[href="/console/tips/{ref}"]')
        await tab.page.click("#take")
        await expect(tab.page.locator("p.flash")).to_contain_text("người xử lý")
        assert (await status_of(console, ref))[0:1] == ("in_review",)
        await tab.page.click("#to-investigating")
        assert (await status_of(console, ref))[0] == "investigating"
        await tab.page.fill("#note-body", "Đã liên hệ nhà mạng.")
        await tab.page.click("#note-body ~ button, form[action$='/notes'] button")
        await expect(tab.page.locator(".text-block", has_text="Đã liên hệ nhà mạng.")).to_be_visible()
        await tab.page.select_option("#outcome", "confirmed_scam")
        await expect(tab.page.locator('#block-offer input[value="phone|+84987654321"]')).to_be_checked()
        await tab.page.click("#close")
        await expect(tab.page.locator("#status-badge")).to_contain_text("Đã đóng")
        await tab.shot("tip-closed")
        assert await status_of(console, ref) == ("closed", "confirmed_scam", sup.id)
        await tab.page.click("#reopen")
        await expect(tab.page.locator("#status-badge")).to_contain_text("Đang xem xét")
        assert tab.dialogs == []
    after = await asyncio.to_thread(hotline_check, console, "0987 654 321")
    assert after["verdict"] == "scam"


async def test_bulk_close_from_the_queue(console: Console) -> None:
    await load_units(console)
    refs = [await file_tip(console, n, number=f"+8491234500{n}") for n in range(3)]
    officer = await console.make_user("tt@ca.vn", "officer", "CA-TT")
    async with chromium() as browser:
        tab = await new_tab(browser, console.base_url)
        await sign_in_page(tab, officer.email, officer.password)
        for ref in refs[:2]:
            await tab.page.check(f'input[aria-label="Chọn {ref}"]')
        await tab.page.select_option("#bulk-action", "close")
        await tab.page.select_option("#bulk-outcome", "duplicate")
        await tab.page.click("#bulk button[type=submit]")
        await expect(tab.page.locator("p.flash")).to_contain_text("2 báo cáo")
    assert [(await status_of(console, r))[:2] for r in refs] == [("closed", "duplicate"), ("closed", "duplicate"),
                                                                  ("new", None)]


async def test_a_hostile_tip_is_inert_in_the_browser(console: Console) -> None:
    await load_units(console)
    ref = await file_tip(console, 1, message_text=XSS, school=XSS, claimed_role=XSS)
    officer = await console.make_user("tt@ca.vn", "officer", "CA-TT")
    async with chromium() as browser:
        tab = await new_tab(browser, console.base_url)
        await sign_in_page(tab, officer.email, officer.password)
        assert await tab.goto(f"/console/tips/{ref}") == 200
        await expect(tab.page.locator("dd", has_text='<script>alert("x")</script>').first).to_be_visible()
        await tab.page.wait_for_timeout(300)  # give an injected handler the chance it must not have
        assert tab.dialogs == []
        assert await tab.page.locator("main img[src='x'], main svg[onload], main script").count() == 0
        await tab.goto(f"/console/queue?q={XSS}")
        assert tab.dialogs == []


async def test_a_forged_post_is_refused_and_an_other_units_tip_is_404(console: Console) -> None:
    await load_units(console)
    other = await file_tip(console, 1, commune="Tân Lộc")
    mine = await file_tip(console, 2, commune="Tân Thành")
    officer = await console.make_user("tt@ca.vn", "officer", "CA-TT")
    async with chromium() as browser:
        tab = await new_tab(browser, console.base_url)
        await sign_in_page(tab, officer.email, officer.password)
        assert await tab.goto(f"/console/tips/{other}") == 404
        await expect(tab.page.locator("h1")).to_have_text("Không tìm thấy")
        # The browser holds a valid session cookie; a post without the form token is still refused.
        answer = await tab.page.request.post(f"{console.base_url}/console/tips/{mine}/status",
                                             form={"status": "closed", "outcome": "not_scam"})
        assert answer.status == 403
        assert (await status_of(console, mine))[0] == "new"


async def test_the_login_lockout(make_console: object) -> None:
    async with make_console(console={"login_max_failures": 3, "login_lock_minutes": 15}) as console:  # type: ignore[operator]
        officer = await console.make_user("tt@ca.vn", "officer", "CA-TT")
        async with chromium() as browser:
            tab = await new_tab(browser, console.base_url)
            for _ in range(3):
                await sign_in_page(tab, officer.email, "wrong password, wrong")
            await sign_in_page(tab, officer.email, officer.password)  # right, but locked now
            assert "/console/login" in tab.page.url
            await expect(tab.page.locator("main")).to_contain_text("sai quá nhiều lần")
            await tab.shot("lockout")
