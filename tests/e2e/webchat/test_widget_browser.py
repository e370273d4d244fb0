"""The embeddable widget on a (simulated) school website, over the cross-site cookie an HTTPS deployment uses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Route, WebSocket, expect, sync_playwright

from tests.e2e.webchat.conftest import Phone, launch_phone, start_server
from tests.e2e.webchat.live import LiveServer

# A cross-site origin that never touches the network: the test serves its page from the browser itself.
SCHOOL = "http://thcs-nguyendu.localhost"


@pytest.fixture(scope="module")
def embed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # cookie_secure as behind HTTPS: SameSite=None; Secure; Partitioned (Chromium accepts Secure on 127.0.0.1).
    live = start_server(tmp_path_factory, allowed_origins=[SCHOOL], cookie_secure=True, color="#f4c20d")
    yield live
    live.stop()


def school_page(base: str) -> str:
    return f"""<!doctype html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>THCS Nguyễn Du</title></head>
<body><h1>Trường THCS Nguyễn Du</h1><p>Thông báo của nhà trường.</p>
<script src="{base}/widget.js" data-school="THCS-ND" data-lang="vi" defer></script></body></html>"""


@pytest.fixture
def school_visitor(tmp_path: Path, embed_server: LiveServer) -> Iterator[Phone]:
    with sync_playwright() as pw:
        device = launch_phone(pw, tmp_path / "profile", embed_server.base)
        html = school_page(embed_server.base)

        def serve_school(route: Route) -> None:
            route.fulfill(body=html, content_type="text/html; charset=utf-8")

        device.context.route(f"{SCHOOL}/**", serve_school)
        # Chromium asks before a site reaches a loopback address; a real school site reaches a public one.
        device.context.grant_permissions(["local-network-access"], origin=SCHOOL)
        try:
            yield device
        finally:
            device.context.close()
    assert device.outside == [], f"requests left the machine: {device.outside}"
    assert device.unexpected_errors() == [], f"browser console errors: {device.unexpected_errors()}"


def test_widget_opens_the_chat_for_the_school_and_resumes(school_visitor: Phone) -> None:
    page = school_visitor.page
    requests: list[str] = []
    sent: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    def watch(ws: WebSocket) -> None:
        ws.on("framesent", lambda payload: sent.append(str(payload)))

    page.on("websocket", watch)
    page.goto(f"{SCHOOL}/")
    opener = page.get_by_role("button", name="Hỏi Hotline chống lừa đảo")
    expect(opener).to_have_attribute("aria-expanded", "false")
    assert not [u for u in requests if "/chat" in u]  # nothing loads and no cookie is set until the parent asks

    opener.tap()
    chat = page.frame_locator("iframe[title='Hotline chống lừa đảo']")
    expect(chat.locator(".msg.bot").last).to_contain_text("Bạn cần giúp gì?")
    assert any('"start_param":"THCS-ND"' in frame for frame in sent), sent  # the school code reaches the engine
    cookie = next(c for c in school_visitor.context.cookies() if c["name"] == "hotline_chat")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "None"

    chat.locator(".choices button", has_text="Báo cáo").tap()
    expect(chat.locator(".msg.bot").last).to_contain_text("Họ liên lạc với bạn bằng cách nào?")
    page.get_by_role("button", name="Đóng").tap()
    expect(opener).to_have_attribute("aria-expanded", "false")

    page.reload()  # a new visit to the school site: the same conversation, where the parent left it
    page.get_by_role("button", name="Hỏi Hotline chống lừa đảo").tap()
    chat = page.frame_locator("iframe[title='Hotline chống lừa đảo']")
    expect(chat.locator(".msg.bot").last).to_contain_text("Họ liên lạc với bạn bằng cách nào?")


def test_pale_school_colour_is_darkened_to_aa(school_visitor: Phone, embed_server: LiveServer) -> None:
    page = school_visitor.page
    page.goto(f"{embed_server.base}/chat")
    brand = page.locator(".bar").evaluate("n => getComputedStyle(n).backgroundColor")
    r, g, b = (int(x) for x in brand[brand.index("(") + 1:-1].split(","))

    def lum(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    contrast = 1.05 / (0.2126 * lum(r) + 0.7152 * lum(g) + 0.0722 * lum(b) + 0.05)
    assert contrast >= 4.5, brand  # white title text on the configured yellow would be ~1.7:1
