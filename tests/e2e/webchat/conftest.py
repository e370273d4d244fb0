"""Fixtures for the web chat: a live server per module and a phone-sized headless Chromium per test."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Playwright, Route, expect, sync_playwright

from tests.e2e.webchat.live import LiveServer, make_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"

expect.set_options(timeout=10_000)


def start_server(tmp_path_factory: pytest.TempPathFactory, **webchat: object) -> LiveServer:
    workdir = tmp_path_factory.mktemp("webchat")
    empty = workdir / "empty-config.yaml"
    empty.write_text("# defaults only\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        # The repository's config.yaml and a developer's HOTLINE_* variables must not shape the test server.
        for key in [k for k in os.environ if k.startswith("HOTLINE_")]:
            mp.delenv(key)
        mp.setenv("HOTLINE_CONFIG", str(empty))
        settings = make_settings(workdir, **webchat)
    server = LiveServer(settings)
    server.start()
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Defaults, as a first `hotline serve` has them (Lax cookie), with one embedding school allowed."""
    live = start_server(tmp_path_factory, allowed_origins=["https://thcs.example.edu.vn"])
    yield live
    live.stop()


@dataclass
class Phone:
    """A parent's phone: one page, plus what the page tried to do that it must not."""

    page: Page
    context: BrowserContext
    base: str
    outside: list[str] = field(default_factory=list)  # requests that left 127.0.0.1
    errors: list[str] = field(default_factory=list)  # console errors: CSP violations, script errors
    expected_errors: list[re.Pattern[str]] = field(default_factory=list)

    def open_chat(self, query: str = "") -> None:
        response = self.page.goto(f"{self.base}/chat{query}")
        assert response is not None and response.ok
        assert "default-src 'self'" in response.headers["content-security-policy"]
        expect(self.last_bot()).to_be_visible()

    def last_bot(self) -> Locator:
        return self.page.locator(".msg.bot").last

    def expect_bot(self, text: str) -> None:
        expect(self.last_bot()).to_contain_text(text)

    def expect_said(self, text: str) -> None:
        """Some bot message (not necessarily the last) contains ``text``."""
        expect(self.page.locator(".msg.bot", has_text=text).last).to_be_visible()

    def press(self, label: str, then: str | None = None) -> None:
        """Tap the enabled reply button whose label contains ``label``; wait for ``then`` from the bot."""
        self.page.locator(".choices button:enabled", has_text=label).first.tap()
        if then is not None:
            self.expect_bot(then)

    def say(self, text: str, then: str | None = None) -> None:
        self.page.locator("#text").fill(text)
        self.page.locator("#send").tap()
        if then is not None:
            self.expect_bot(then)

    def allow_errors(self, *patterns: str) -> None:
        self.expected_errors += [re.compile(p) for p in patterns]

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.expected_errors)]


def launch_phone(playwright: Playwright, profile: Path, base: str) -> Phone:
    """Chromium with a fresh profile; every request to a host other than 127.0.0.1 fails the test.

    Routes a test adds later take precedence, so a test can still serve a page of its own (a school site).
    """
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, locale="vi-VN",
        # A mid-range phone: 390×844 CSS pixels, touch, mobile viewport rules.
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.pages[0] if context.pages else context.new_page()
    phone = Phone(page=page, context=context, base=base)

    def guard(route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if host == "127.0.0.1":
            route.fallback()
        else:
            phone.outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page.on("console", lambda m: phone.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: phone.errors.append(f"uncaught: {e}"))
    return phone


@pytest.fixture
def phone(tmp_path: Path, server: LiveServer) -> Iterator[Phone]:
    with sync_playwright() as pw:
        device = launch_phone(pw, tmp_path / "profile", server.base)
        try:
            yield device
        finally:
            device.context.close()
    assert device.outside == [], f"requests left the machine: {device.outside}"
    assert device.unexpected_errors() == [], f"browser console errors: {device.unexpected_errors()}"
