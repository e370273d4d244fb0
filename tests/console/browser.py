"""Real headless Chromium (Debian's, driven by Playwright) for console pages: one browser per test, screenshots
in test-artifacts/, and a record of what a page tried that it must not (dialogs, console errors)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class Tab:
    page: Page
    base: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def goto(self, path: str) -> int:
        response = await self.page.goto(self.base + path)
        return response.status if response is not None else 0

    async def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"console-{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def new_tab(browser: Browser, base: str, *, width: int = 1366, height: int = 900) -> Tab:
    """A tab in a fresh context (its own cookies). Dialogs are recorded and dismissed."""
    context = await browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    page = await context.new_page()
    tab = Tab(page, base)

    async def on_dialog(dialog: object) -> None:
        tab.dialogs.append(getattr(dialog, "message", "?"))
        await dialog.dismiss()  # type: ignore[attr-defined]

    page.on("dialog", on_dialog)
    page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    return tab
