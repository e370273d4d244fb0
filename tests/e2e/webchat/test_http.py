"""The web chat's HTTP and WebSocket endpoints, spoken to directly (no browser) on a live server."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.responses import PlainTextResponse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from bot.runtime import build_runtime
from storage.files import MAX_ATTACHMENT_BYTES
from tests.e2e.webchat.live import LiveServer, build_app
from tests.e2e.webchat.test_chat_browser import tiny_png

SCHOOL = "https://thcs.example.edu.vn"  # the origin the module's server allows to embed the chat


def msg_id() -> str:
    return secrets.token_hex(8)


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    """A fresh visitor: its own cookie jar, so its own session."""
    with httpx.Client(base_url=server.base, timeout=20, trust_env=False) as c:
        yield c


def ws_url(server: LiveServer) -> str:
    return server.base.replace("http://", "ws://") + "/chat/ws"


def ws_connect(server: LiveServer, *, origin: str | None = None, cookie: str | None = None) -> ClientConnection:
    headers = {"Cookie": f"hotline_chat={cookie}"} if cookie else None
    return connect(ws_url(server), origin=Origin(origin or server.base), additional_headers=headers, proxy=None,
                   open_timeout=20)


def exchange(ws: ClientConnection, frame: dict[str, Any] | str) -> dict[str, Any]:
    ws.send(frame if isinstance(frame, str) else json.dumps(frame))
    return json.loads(ws.recv(timeout=20))


def test_start_page_says_what_hotline_is_and_links_the_chat(client: httpx.Client) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert 'href="/chat"' in r.text and "113" in r.text
    assert "/console" not in r.text  # no officers' console in this app yet: no dead link
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


async def test_start_page_links_the_console_once_the_app_has_one(tmp_path: Path, server: LiveServer) -> None:
    settings = server.settings.model_copy(update={"database": server.settings.database.model_copy(
        update={"url": f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"})})
    runtime = await build_runtime(settings)
    try:
        app = build_app(runtime)
        app.add_api_route("/console", lambda: PlainTextResponse("console"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hotline.test") as c:
            page = (await c.get("/")).text
        assert 'href="/console"' in page
    finally:
        await runtime.close()


def test_chat_page_headers_and_session_cookie(client: httpx.Client) -> None:
    r = client.get("/chat")
    assert r.status_code == 200
    policy = r.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert f"frame-ancestors 'self' {SCHOOL}" in policy
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers.get("set-cookie") is None  # the session is issued when a conversation starts
    first = client.post("/chat/api/messages", json={"id": msg_id(), "text": "/start"})
    cookie = first.headers["set-cookie"]
    assert re.match(r"hotline_chat=[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{24}; ", cookie)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/chat" in cookie and "Secure" not in cookie
    again = client.post("/chat/api/messages", json={"id": msg_id(), "text": "menu"})
    assert again.headers.get("set-cookie") is None  # a returning visitor keeps their session


def test_everything_the_page_loads_is_ours(client: httpx.Client) -> None:
    page = client.get("/chat?lang=en&school=THCS-ND&embed=1").text
    assert 'data-school="THCS-ND"' in page and '<html lang="en">' in page and "embedded" in page
    urls = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "<script>" not in page and "style=" not in page  # nothing inline for the CSP to have to allow
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["x-content-type-options"] == "nosniff"
        content = asset.content.replace(b'xmlns="http://www.w3.org/2000/svg"', b"")  # a name, not a fetch
        assert not re.search(rb"https?://", content), f"{url} refers to another site"
    widget = client.get("/widget.js")
    assert widget.headers["content-type"].startswith("text/javascript")
    assert "#0b5394" in widget.text and "/*CONFIG*/null" not in widget.text
    bad = client.get("/chat?school=<script>&lang=xx").text
    assert 'data-school=""' in bad and '<html lang="vi">' in bad


def test_http_message_resume_and_resend(client: httpx.Client) -> None:
    r = client.post("/chat/api/resume")
    assert r.json() == {"type": "resume", "started": False, "locale": None, "messages": []}
    first = msg_id()
    r = client.post("/chat/api/messages", json={"id": first, "text": "/start", "start_param": "THCS-ND"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    menu = r.json()["messages"][-1]
    assert menu["text"] == "Bạn cần giúp gì?" and menu["buttons"]
    resumed = client.post("/chat/api/resume").json()
    assert resumed["started"] is True and resumed["locale"] == "vi" and resumed["messages"] == [menu]
    again = client.post("/chat/api/messages", json={"id": first, "text": "/start"})
    assert again.json() == r.json()  # a resend after a lost reply is answered once, identically


@pytest.mark.parametrize(("body", "complaint"), [
    (b"{not json", "malformed JSON"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[1, 2]", "JSON object"),
    (b'{"text": "hi"}', "id"),
    (b'{"id": "short", "text": "hi"}', "id"),
    (b'{"id": "abcdefgh12"}', "send `text` or `payload`"),
    (b'{"id": "abcdefgh12", "text": "hi", "locale": "fr"}', "locale"),
    (b'{"id": "abcdefgh12", "text": "hi", "start_param": "bad code!"}', "start_param"),
    (b'{"type": "resume"}', "resume"),
    (b'{"type": "hack", "id": "abcdefgh12"}', "type"),
])
def test_malformed_message_is_400_with_a_reason(client: httpx.Client, body: bytes, complaint: str) -> None:
    r = client.post("/chat/api/messages", content=body, headers={"content-type": "application/json"})
    # Not JSON at all: 400; JSON with the wrong fields: 422. Either way the one error shape.
    assert r.status_code == (400 if complaint in ("malformed JSON", "not UTF-8") else 422)
    assert complaint in r.json()["error"]["message"]


def test_cross_site_post_is_refused(client: httpx.Client) -> None:
    body = {"id": msg_id(), "text": "/forget"}
    r = client.post("/chat/api/messages", json=body, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert client.post("/chat/api/upload", headers={"Origin": "https://evil.example"}).status_code == 403
    ok = client.post("/chat/api/messages", json={"id": msg_id(), "text": "/start"}, headers={"Origin": SCHOOL})
    assert ok.status_code == 200


def upload(client: httpx.Client, data: bytes, name: str = "shot.png", **fields: str) -> httpx.Response:
    return client.post("/chat/api/upload", files={"file": (name, data, "image/png")},
                       data={"id": msg_id(), "locale": "vi", **fields})


def test_upload_image_is_a_message(client: httpx.Client) -> None:
    client.post("/chat/api/messages", json={"id": msg_id(), "text": "/start"})
    r = upload(client, tiny_png())
    assert r.status_code == 200 and r.json()["messages"]


def test_upload_oversize_is_413(client: httpx.Client) -> None:
    r = upload(client, tiny_png() + b"\x00" * MAX_ATTACHMENT_BYTES)
    assert r.status_code == 413 and "10 MB" in r.json()["error"]["message"]


@pytest.mark.parametrize("data", [b"%PDF-1.7 a document", b"<html>not a picture</html>", b""])
def test_upload_non_image_is_415(client: httpx.Client, data: bytes) -> None:
    r = upload(client, data, name="photo.png")  # the name and claimed type lie; the bytes decide
    assert r.status_code == 415 and "file rejected" in r.json()["error"]["message"]


def test_upload_without_file_or_id_is_400(client: httpx.Client) -> None:
    r = client.post("/chat/api/upload", data={"id": msg_id()})
    assert r.status_code == 415 and "multipart" in r.json()["error"]["message"]  # a plain form is not an upload
    r = client.post("/chat/api/upload", files={"file": ("a.png", tiny_png(), "image/png")}, data={"id": "x"})
    assert r.status_code == 422 and "id" in r.json()["error"]["message"]
    r = client.post("/chat/api/upload", content=b"--nope", headers={"content-type": "multipart/form-data"})
    assert r.status_code == 400


def test_websocket_conversation_and_bad_frames(server: LiveServer) -> None:
    with ws_connect(server) as ws:
        cookie = ws.response.headers["set-cookie"]  # type: ignore[union-attr]
        assert "HttpOnly" in cookie and "Path=/chat" in cookie
        assert exchange(ws, {"type": "resume"})["started"] is False
        first = msg_id()
        started = exchange(ws, {"type": "message", "id": first, "text": "/start", "locale": "en"})
        assert started["type"] == "replies" and started["id"] == first
        assert started["messages"][-1]["text"] == "How can I help?"
        reply = exchange(ws, {"id": msg_id(), "payload": "check_link"})
        assert "link" in reply["messages"][-1]["text"]
        # Bad frames get an error frame and the connection stays usable.
        assert "malformed JSON" in exchange(ws, "{oops")["error"]
        assert exchange(ws, {"id": "x", "text": "hi"})["retry"] is False
        ws.send(b"\x00binary")
        assert "text frames" in json.loads(ws.recv(timeout=20))["error"]
        assert exchange(ws, {"type": "resume"})["locale"] == "en"
        session = cookie.split(";")[0].split("=", 1)[1]
    # The same session over HTTP and a new socket: the same conversation, and the same answer to a resend.
    with httpx.Client(base_url=server.base, cookies={"hotline_chat": session}, trust_env=False) as c:
        again = c.post("/chat/api/messages", json={"id": first, "text": "/start"}).json()
        assert again == started
    with ws_connect(server, cookie=session) as ws:
        assert ws.response.headers.get("set-cookie") is None  # type: ignore[union-attr]
        assert "link" in exchange(ws, {"type": "resume"})["messages"][0]["text"]


def test_websocket_from_a_foreign_origin_is_refused(server: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(server, origin="https://evil.example")
    assert refused.value.response.status_code == 403
    with ws_connect(server, origin=SCHOOL) as ws:  # an embedding school's page may connect
        assert exchange(ws, {"type": "resume"})["type"] == "resume"
