"""The dashboard in real headless Chromium: its server-drawn charts render (bars with their sizes, under the strict
CSP, nothing blocked, no script errors), on a laptop and a phone; screenshots kept in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.console.auth import COOKIE
from tests.console.browser import chromium, new_tab
from tests.console.conftest import Console
from tests.dashboard.month import chunks, file_specs, generate, load_units

pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed")


async def test_dashboard_charts_render_in_chromium(console: Console) -> None:
    await console.db.run(load_units)
    for part in chunks(generate(background=1500).specs, 500):
        await console.db.run(file_specs, specs=part, cipher=console.cipher)
    sup = await console.make_user("chihuy@ca.vn", "supervisor", totp=True)
    session = await console.signed_in_client(sup)
    async with chromium() as browser:
        tab = await new_tab(browser, console.base_url)
        await tab.page.context.add_cookies([{"name": COOKIE, "value": session.session_token,
                                             "url": console.base_url + "/console"}])
        blocked: list[str] = []
        tab.page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        assert await tab.goto("/console/dashboard?from=2026-11-01&to=2026-11-30") == 200
        charts = tab.page.locator("svg.chart")
        assert await charts.count() >= 10
        bars = tab.page.locator("#per_day svg.chart rect.bar")
        assert await bars.count() == 30
        heights = [float(await bars.nth(i).get_attribute("height") or 0) for i in range(30)]
        assert min(heights) > 0
        box = await bars.nth(0).bounding_box()
        assert box is not None and box["height"] > 5 and box["width"] > 2  # drawn, not collapsed by CSS
        fill = await bars.nth(0).evaluate("e => getComputedStyle(e).fill")
        assert fill == "rgb(11, 83, 148)"  # coloured by dashboard.css, not an inline style
        assert "Xã Tân Lộc" in await tab.page.locator("#by_commune").inner_text()
        await tab.shot("dashboard")
        assert await tab.goto("/console/alerts") == 200
        await tab.page.click("table.alert-list a >> nth=-1")
        await tab.page.wait_for_load_state()
        assert "Cảnh báo #" in await tab.page.locator("h1").inner_text()
        await tab.shot("alert")
        phone = await new_tab(browser, console.base_url, width=390, height=844)
        await phone.page.context.add_cookies([{"name": COOKIE, "value": session.session_token,
                                               "url": console.base_url + "/console"}])
        assert await phone.goto("/console/dashboard?from=2026-11-01&to=2026-11-30") == 200
        width = await phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400  # no sideways scrolling on a phone
        await phone.shot("dashboard-phone")
        assert blocked == [] and tab.errors == [] and tab.dialogs == []
