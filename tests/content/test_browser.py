"""The admins' content pages in real headless Chromium: a flow saved with an error is refused at the right line;
fixed and published, the running bot (HTTP channel) answers with the new text without a restart; rolled back,
the old text again; a version played in the preview; a school CSV with bad rows imported with a progress bar
and the bad rows listed by line; a broadcast's progress page counting up to 100% live."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from bot.console.auth import COOKIE
from handlers.flowload import DEFAULT_FLOWS_DIR
from storage import broadcasts, content_flows
from storage.db import Database
from storage.subscriptions import Audience
from tests.broadcast.helpers import now
from tests.broadcast.serve import Site
from tests.broadcast.strictbot import StrictBotAPI
from tests.console.browser import Tab, chromium, new_tab
from tests.console.conftest import Console

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed")
MAIN = (DEFAULT_FLOWS_DIR / "main.yaml").read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


async def menu_prompt(base: str, user: str) -> str:
    async with httpx.AsyncClient(base_url=base) as api:
        r = await api.post("/api/v1/messages", json={"user_id": user, "text": "menu"})
    return str(r.json()["messages"][-1]["text"])


async def sign_in(tab: Tab, email: str, password: str) -> None:
    await tab.goto("/console/login")
    await tab.page.fill("#email", email)
    await tab.page.fill("#password", password)
    await tab.page.click("form button[type=submit]")
    await tab.page.wait_for_load_state()


async def test_flow_refused_at_its_line_then_published_then_rolled_back(content_console: Console) -> None:
    admin = await content_console.make_user("quantri@ca.vn", "admin")
    assert await menu_prompt(content_console.base_url, "p-1") == "Bạn cần giúp gì?"
    broken = MAIN.replace("next: flow:check_call", "next: flow:kiem_tra", 1)
    fixed = MAIN.replace('prompt: {vi: "Bạn cần giúp gì?"', 'prompt: {vi: "Bạn cần giúp gì hôm nay?"', 1)
    async with chromium() as browser:
        tab = await new_tab(browser, content_console.base_url)
        await sign_in(tab, admin.email, admin.password)
        await tab.page.click('nav a[href="/console/content"]')
        await tab.page.click('a[href="/console/content/flows"]')
        await tab.page.click('a[href="/console/content/flows/main.yaml"]')
        await tab.page.fill("#text", broken)
        await tab.page.click('button[value="publish"]')
        errors = tab.page.locator("#flow-errors")
        await expect(errors).to_contain_text("Chưa lưu")
        line = line_of(broken, "flow:kiem_tra")
        await expect(errors.locator(f'li[data-line="{line}"]')).to_contain_text("kiem_tra")
        await expect(tab.page.locator(f"#line-{line}.bad")).to_contain_text("next: flow:kiem_tra")
        await errors.locator(f'li[data-line="{line}"]').click()  # selects the line in the editor
        selected = await tab.page.evaluate("() => { const t = document.getElementById('text'); "
                                           "return t.value.slice(t.selectionStart, t.selectionEnd); }")
        assert "flow:kiem_tra" in selected
        await tab.shot("flow-error-at-line")
        assert await content_console.db.run(content_flows.versions, file="main.yaml") == []  # refused: nothing saved
        assert await menu_prompt(content_console.base_url, "p-2") == "Bạn cần giúp gì?"

        await tab.page.fill("#text", fixed)
        await tab.page.fill("#note", "hỏi thân thiện hơn")
        await tab.page.click('button[value="publish"]')
        await expect(tab.page.locator("p.flash")).to_contain_text("Đã xuất bản")
        # The running bot, over HTTP, without a restart.
        assert await menu_prompt(content_console.base_url, "p-3") == "Bạn cần giúp gì hôm nay?"
        await tab.shot("flow-published")

        versions = {v.number: v for v in await content_console.db.run(content_flows.versions, file="main.yaml")}
        assert versions[2].created_by == f"officer:{admin.id}" and versions[1].created_by == "shipped"
        await tab.goto("/console/content/flows/main.yaml")
        await expect(tab.page.locator("tr.live")).to_contain_text(admin.email)  # who saved it, and when
        await tab.goto(f"/console/content/flows/main.yaml/versions/{versions[1].id}")  # the shipped file vs live
        await expect(tab.page.locator("pre.diff .del")).to_contain_text("Bạn cần giúp gì hôm nay?")
        await expect(tab.page.locator("pre.diff .add")).to_contain_text('"Bạn cần giúp gì?"')
        version = versions[2]
        await tab.goto(f"/console/content/flows/main.yaml/versions/{version.id}/preview")
        await tab.page.fill("#preview-text", "xin chào")
        await tab.page.click("form.card button[type=submit]:not([name])")
        await expect(tab.page.locator(".transcript .bot").first).to_contain_text("Xin chào!")
        await tab.page.click('.preview-buttons button:has-text("Kiểm tra cuộc gọi")')
        await expect(tab.page.locator(".transcript .bot").last).to_contain_text("số")
        await tab.shot("flow-preview")

        await tab.goto("/console/content/flows/main.yaml")
        await tab.page.click('button:has-text("Khôi phục bản này")')  # version 1: the shipped file
        await expect(tab.page.locator("p.flash")).to_contain_text("Đã khôi phục")
        assert await menu_prompt(content_console.base_url, "p-4") == "Bạn cần giúp gì?"
        # The refused save answered 422 (Chromium logs that); nothing else went wrong on any page.
        assert [e for e in tab.errors if "422" not in e] == [] and tab.dialogs == []


async def test_school_csv_with_bad_rows_is_listed_by_line(content_console: Console, tmp_path: Path) -> None:
    admin = await content_console.make_user("quantri@ca.vn", "admin")
    rows = ["school_id,name,province,commune,official_phones,contact_book_app,website",
            "THCS-ND,Trường THCS Nguyễn Du,Cà Mau,Tân Lộc,0290 3800 001,vnEdu,",
            "THCS-X,Trường THCS Trần Phú,Cà Mau,Tân Thành,012345,SMAS,",  # line 3: not a phone number
            "TH-LL,Trường Tiểu học Lê Lợi,Cà Mau,Tân Lộc,0290 3800 003;02903800004,K12Online,",
            "THCS-ND,Trường THCS Nguyễn Du 2,Cà Mau,Tân Lộc,0290 3800 005,vnEdu,",  # line 5: duplicate id
            "bad id!,Trường X,Cà Mau,,,,",  # line 6: id
            ] + [f"TH-{i:03d},Trường Tiểu học Số {i},Cà Mau,Tân Lộc,0290 38{i:05d},vnEdu," for i in range(300)]
    csv_file = tmp_path / "truong.csv"
    csv_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    async with chromium() as browser:
        tab = await new_tab(browser, content_console.base_url)
        await sign_in(tab, admin.email, admin.password)
        await tab.goto("/console/content/schools")
        await tab.page.set_input_files("#file", str(csv_file))
        await tab.page.click('form[action="/console/content/schools/import"] button[type=submit]')
        await tab.page.wait_for_url("**/console/content/imports/*")
        await expect(tab.page.locator('[data-field="state"]')).to_have_text("Xong", timeout=30_000)
        await expect(tab.page.locator("#import-bar")).to_have_attribute("value", "100")
        problems = tab.page.locator("table.problems tbody tr")
        await expect(problems).to_have_count(3)
        await expect(problems.nth(0)).to_contain_text("3")
        await expect(problems.nth(0)).to_contain_text("012345")
        await expect(problems.nth(1)).to_contain_text("5")
        await expect(problems.nth(1)).to_contain_text("duplicate school_id")
        await expect(problems.nth(2)).to_contain_text("6")
        await tab.shot("school-import")
        await tab.goto("/console/content/schools?q=le loi")
        await expect(tab.page.locator("tbody")).to_contain_text("0290380000")
        assert tab.errors == []
    found = await content_console.db.run(lambda c: c.exec_driver_sql("SELECT count(*) FROM schools").scalar())
    assert found == 302


@pytest.fixture
def strict() -> object:
    server = StrictBotAPI()
    server.start()
    yield server
    server.stop()


async def test_broadcast_progress_page_counts_up_live(tmp_path: Path, strict: StrictBotAPI) -> None:
    site = Site.make(tmp_path, HOTLINE_TELEGRAM__TOKEN=strict.token, HOTLINE_TELEGRAM__API_BASE=strict.base)
    await site.prepare(subscribers=[str(6_000_000 + i) for i in range(84)])
    db = Database(site.url)
    bid = await db.run(broadcasts.create, title="Cảnh báo thử", text_vi="Cảnh báo: đừng cài ứng dụng lạ.",
                       text_en=None, audience=Audience(), actor="officer:1", now=now(), send_at=None)
    await db.run(broadcasts.steer, broadcast_id=bid, action="pause", actor="officer:1", now=now())
    await db.dispose()
    base = await asyncio.to_thread(site.start)
    try:
        async with chromium() as browser:
            tab = await new_tab(browser, base)
            await tab.page.context.add_cookies([{"name": COOKIE, "value": site.cookie, "url": base + "/console"}])
            await tab.goto(f"/console/broadcasts/{bid}")
            await tab.page.click('button[value="resume"]')
            await expect(tab.page.locator("p.flash")).to_contain_text("Đã tiếp tục")
            percent = tab.page.locator('[data-field="percent"]')
            await expect(percent).not_to_have_text("0", timeout=10_000)  # moving, while the page is open
            await expect(tab.page.locator('[data-field="status"]')).to_have_text("Đã gửi xong", timeout=30_000)
            await expect(percent).to_have_text("100")
            await expect(tab.page.locator('[data-field="sent"]')).to_have_text("84")
            await tab.shot("broadcast-done")
            assert tab.errors == []
    finally:
        await asyncio.to_thread(site.stop)
    assert len(strict.delivered("đừng cài ứng dụng lạ")) == 84 and strict.violations == []
