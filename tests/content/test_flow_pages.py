"""The flow editor over real HTTP: a draft is kept but not served; publishing and rolling back serve at once; a
version that no longer loads with the other published files is refused; the preview plays a version."""

from __future__ import annotations

import html
import re

import httpx

from handlers.flowload import DEFAULT_FLOWS_DIR
from storage import audit, content_flows
from tests.console.conftest import Console

MAIN = (DEFAULT_FLOWS_DIR / "main.yaml").read_text(encoding="utf-8")
SUBSCRIBE = (DEFAULT_FLOWS_DIR / "subscribe.yaml").read_text(encoding="utf-8")


async def prompt(console: Console, user: str) -> str:
    async with httpx.AsyncClient(base_url=console.base_url) as api:
        r = await api.post("/api/v1/messages", json={"user_id": user, "text": "menu"})
    return str(r.json()["messages"][-1]["text"])


async def test_draft_publish_rollback_and_a_stale_version(content_console: Console) -> None:
    admin = await content_console.make_user("quantri@ca.vn", "admin")
    client = await content_console.signed_in_client(admin)
    draft = MAIN.replace('prompt: {vi: "Bạn cần giúp gì?"', 'prompt: {vi: "Chào bạn, cần giúp gì?"', 1)
    r = await client.form("/console/content/flows/main.yaml", {"text": draft, "action": "save", "note": "nháp"})
    assert r.headers["location"].endswith("done=saved")
    assert await prompt(content_console, "a") == "Bạn cần giúp gì?"  # a draft is not served
    versions = await content_console.db.run(content_flows.versions, file="main.yaml")
    assert [(v.number, v.published) for v in versions] == [(2, False), (1, False)]
    page = await client.get("/console/content/flows/main.yaml", params={"version": versions[0].id})
    assert "Chào bạn, cần giúp gì?" in page.text

    r = await client.form(f"/console/content/flows/main.yaml/versions/{versions[0].id}/publish")
    assert r.headers["location"].endswith("done=published")
    assert await prompt(content_console, "b") == "Chào bạn, cần giúp gì?"
    r = await client.form(f"/console/content/flows/main.yaml/versions/{versions[1].id}/publish")
    assert r.headers["location"].endswith("done=rolled_back")
    assert await prompt(content_console, "c") == "Bạn cần giúp gì?"

    # A subscribe.yaml without the flow main.yaml's menu points at: refused while that menu is live.
    gone = SUBSCRIBE.replace("  - id: subscribe\n", "  - id: dang_ky\n", 1)
    refused = await client.form("/console/content/flows/subscribe.yaml", {"text": gone, "action": "publish"})
    assert refused.status_code == 422
    assert re.search(r"main\.yaml, dòng \d+", refused.text) and "unknown flow" in refused.text
    assert await content_console.db.run(content_flows.versions, file="subscribe.yaml") == []
    actions = [e["action"] for e in await content_console.db.run(audit.entries, subject="flow:main.yaml")]
    assert actions == ["flow.rollback", "flow.publish", "flow.save"]


async def test_preview_plays_a_version_and_stores_nothing(content_console: Console) -> None:
    admin = await content_console.make_user("quantri@ca.vn", "admin")
    client = await content_console.signed_in_client(admin)
    draft = MAIN.replace('prompt: {vi: "Bạn cần giúp gì?"', 'prompt: {vi: "Xem thử: cần giúp gì?"', 1)
    await client.form("/console/content/flows/main.yaml", {"text": draft, "action": "save"})
    (version, _shipped) = await content_console.db.run(content_flows.versions, file="main.yaml")
    url = f"/console/content/flows/main.yaml/versions/{version.id}/preview"
    start = await client.get(url)
    assert start.status_code == 200
    r = await client.form(url, {"text": "menu", "state": "{}", "transcript": "[]", "locale": "vi"})
    assert "Xem thử: cần giúp gì?" in r.text
    state = re.search(r'name="state" value="([^"]*)"', r.text)
    transcript = re.search(r'name="transcript" value="([^"]*)"', r.text)
    assert state and transcript
    r = await client.form(url, {"payload": "report", "state": html.unescape(state.group(1)),
                                "transcript": html.unescape(transcript.group(1)), "locale": "vi"})
    assert "Họ liên lạc với bạn bằng cách nào?" in r.text  # the report started, as a parent's press would
    r = await client.form(url, {"start": "subscribe", "state": "{}", "transcript": "[]", "locale": "vi"})
    assert "chỉ lưu kênh chat này" in r.text
    broken = await client.form(url, {"text": "menu", "state": "{not json", "transcript": "nope", "locale": "vi"})
    assert broken.status_code == 200  # a state that does not parse starts over
    assert await prompt(content_console, "d") == "Bạn cần giúp gì?"  # nothing published by a preview
