"""End to end: a parent in the real web chat (WebSocket), an officer in the real console, the delivery worker
as ``hotline serve`` runs it. Live hand-off both ways, a question answered, the outcome told on closing; a
foreign unit's officer gets 404, a form without its CSRF token is refused, a closed chat cannot be asked."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from storage import audit
from storage.notices_schema import chat_presence
from storage.workflow_schema import tip_cases
from tests.console.conftest import Console, SignedInClient
from tests.twoway.conftest import reference_in
from tests.twoway.live_server import WebParent, talking_console, web_parent

AJAX = {"X-Requested-With": "conversation"}


async def request_officer(parent: WebParent) -> str:
    assert "Bạn cần giúp gì" in " ".join(m["text"] for m in await parent.say("/start"))
    await parent.say("gặp cán bộ")
    await parent.say("Tôi cần hỏi về cuộc gọi xưng là cô giáo chủ nhiệm")
    return reference_in(" ".join(m["text"] for m in await parent.say(payload="!submit")))


async def supervisor(console: Console) -> SignedInClient:
    account = await console.make_user("chihuy@congan.vn", "supervisor", totp=True)
    return await console.signed_in_client(account)


async def until(check: Any, within: float = 10.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def version_of(html: str) -> str:
    found = re.search(r'data-version="([^"]*)"', html)
    assert found, html[:300]
    return found.group(1)


async def test_live_handoff_and_question_through_the_web_chat_and_console(tmp_path: Path) -> None:
    async with talking_console(tmp_path) as console, web_parent(console.base_url) as parent:
        reference = await request_officer(parent)
        officer = await supervisor(console)
        page = await officer.get(f"/console/tips/{reference}")
        assert page.status_code == 200
        assert "Trao đổi với người báo" in page.text and "Cửa sổ chat đang mở." in page.text
        assert "Nhận trò chuyện trực tiếp" in page.text

        taken = await officer.form(f"/console/tips/{reference}/handoff/take")
        assert taken.status_code == 303 and "talk=taken" in taken.headers["location"]
        assert "đã vào cuộc trò chuyện" in (await parent.notice())["text"]

        assert await parent.say("Họ bảo tôi cài ứng dụng <script>alert(1)</script>") == []  # the bot is silent
        panel = await officer.get(f"/console/tips/{reference}/conversation", headers=AJAX)
        assert "Họ bảo tôi cài ứng dụng &lt;script&gt;alert(1)&lt;/script&gt;" in panel.text
        assert "<script>alert(1)</script>" not in panel.text
        assert (await officer.get(f"/console/tips/{reference}/conversation",
                                  params={"v": version_of(panel.text)})).status_code == 204  # nothing new

        sent = await officer.form(f"/console/tips/{reference}/handoff/send",
                                  {"body": "Chị đừng cài gì cả. Số đó gọi lúc mấy giờ?", "key": "k-1"}, headers=AJAX)
        assert sent.status_code == 200 and 'id="conversation"' in sent.text and "<html" not in sent.text
        pushed = await parent.notice()
        assert pushed["text"] == "👮 Công an tỉnh: Chị đừng cài gì cả. Số đó gọi lúc mấy giờ?"
        assert "chihuy" not in pushed["text"]
        again = await officer.form(f"/console/tips/{reference}/handoff/send",
                                   {"body": "Chị đừng cài gì cả. Số đó gọi lúc mấy giờ?", "key": "k-1"}, headers=AJAX)
        assert again.status_code == 200  # a resubmitted form: the parent gets it once
        assert await parent.say("Lúc 9 giờ sáng") == []
        with_answer = await officer.get(f"/console/tips/{reference}/conversation", headers=AJAX)
        assert "Lúc 9 giờ sáng" in with_answer.text and with_answer.text.count("Chị đừng cài gì cả") == 1

        released = await officer.form(f"/console/tips/{reference}/handoff/release")
        assert released.status_code == 303
        assert "Cán bộ đã kết thúc cuộc trò chuyện" in (await parent.notice())["text"]
        assert "Bạn cần giúp gì" in (await parent.say("menu"))[-1]["text"]  # the bot answers again

        asked = await officer.form(f"/console/tips/{reference}/ask", {"question": "Bạn có ảnh chụp cuộc gọi không?"})
        assert asked.status_code == 303 and "talk=asked" in asked.headers["location"]
        question = await parent.notice()
        assert "Bạn có ảnh chụp cuộc gọi không?" in question["text"]
        assert [b["id"] for b in question["buttons"]] == ["!decline"]
        thanks = await parent.say("Không có ảnh, nhưng số là 0377 123 999")
        assert "Cảm ơn bạn" in thanks[0]["text"]
        tip = await officer.get(f"/console/tips/{reference}")
        assert "Không có ảnh, nhưng số là 0377 123 999" in tip.text and "trả lời câu hỏi" in tip.text

        closed = await officer.form(f"/console/tips/{reference}/status", {
            "status": "closed", "outcome": "confirmed_scam", "notify": "phone_listed"})
        assert closed.status_code == 303
        outcome = await parent.notice()
        assert "Số điện thoại bạn báo đã được xác nhận lừa đảo và đưa vào danh sách cảnh báo" in outcome["text"]
        assert reference in outcome["text"]

        trail = await console.db.run(audit.entries, subject=reference)
        actions = {e["action"] for e in trail}
        assert {"tip.handoff_take", "tip.handoff_send", "tip.handoff_release", "tip.ask", "tip.notify_outcome",
                "tip.conversation"} <= actions


async def test_another_units_officer_gets_404_and_a_forged_form_is_refused(tmp_path: Path) -> None:
    async with talking_console(tmp_path) as console, web_parent(console.base_url) as parent:
        reference = await request_officer(parent)

        def route(conn: sa.Connection) -> None:
            conn.execute(sa.update(tip_cases).where(tip_cases.c.reference == reference).values(unit_id="CA-TT"))

        await console.db.run(route)
        other = await console.signed_in_client(await console.make_user("khac@congan.vn", "officer", "CA-TL"))
        assert (await other.get(f"/console/tips/{reference}/conversation")).status_code == 404
        assert (await other.form(f"/console/tips/{reference}/ask", {"question": "Xin chào?"})).status_code == 404
        assert (await other.form(f"/console/tips/{reference}/handoff/take")).status_code == 404
        own = await console.signed_in_client(await console.make_user("cb@congan.vn", "officer", "CA-TT"))
        forged = await own.post(f"/console/tips/{reference}/handoff/take", data={"csrf": "not-the-token"})
        assert forged.status_code == 403
        assert parent.notices == []
        assert (await own.form(f"/console/tips/{reference}/handoff/take")).status_code == 303
        assert "đã vào cuộc trò chuyện" in (await parent.notice())["text"]


async def test_a_closed_web_chat_cannot_be_asked_and_the_panel_says_so(tmp_path: Path) -> None:
    async with talking_console(tmp_path) as console:
        async with web_parent(console.base_url) as parent:
            reference = await request_officer(parent)

        async def gone() -> bool:
            def count(conn: sa.Connection) -> int:
                return int(conn.execute(sa.select(sa.func.count()).select_from(chat_presence)).scalar_one())

            return await console.db.run(count) == 0

        await until(gone)
        officer = await supervisor(console)
        page = await officer.get(f"/console/tips/{reference}")
        assert "chỉ hỏi được khi cửa sổ chat của họ đang mở" in page.text and "Cửa sổ chat đã đóng." in page.text
        assert 'action="/console/tips/' + reference + '/ask"' not in page.text
        refused = await officer.form(f"/console/tips/{reference}/ask", {"question": "Còn ở đó không?"})
        assert "talk_problem=chat_closed" in refused.headers["location"]
        shown = await officer.get(refused.headers["location"])
        assert "Cửa sổ web chat của người báo đã đóng: không gửi được." in shown.text


async def test_the_http_fallback_gets_notices_with_its_next_answer(tmp_path: Path) -> None:
    async with talking_console(tmp_path) as console, httpx.AsyncClient(base_url=console.base_url) as chat:
        headers = {"Origin": console.base_url}

        async def say(text: str | None = None, payload: str | None = None) -> list[dict[str, Any]]:
            body: dict[str, Any] = {"id": f"h{time.monotonic_ns()}"[:20].ljust(12, "x")}
            body.update({"text": text} if text is not None else {"payload": payload})
            r = await chat.post("/chat/api/messages", json=body, headers=headers)
            assert r.status_code == 200, r.text
            return list(r.json()["messages"])

        await say("/start")
        await say("gặp cán bộ")
        await say("Cần hỏi về tin nhắn lạ")
        reference = reference_in(" ".join(m["text"] for m in await say(payload="!submit")))
        officer = await supervisor(console)
        asked = await officer.form(f"/console/tips/{reference}/ask", {"question": "Tin nhắn đến từ số nào?"})
        assert "talk=asked" in asked.headers["location"]  # open: it talked to us a moment ago
        replies = await say("menu")
        assert "Tin nhắn đến từ số nào?" in replies[-1]["text"]  # after the reply to "menu", as the last thing
        assert "Cảm ơn bạn" in (await say("Số 0912 000 111"))[0]["text"]
        assert "Số 0912 000 111" in (await officer.get(f"/console/tips/{reference}")).text


async def test_the_panel_in_english_and_an_unchanged_poll_shows_and_logs_nothing(tmp_path: Path) -> None:
    async with talking_console(tmp_path) as console, web_parent(console.base_url) as parent:
        reference = await request_officer(parent)
        officer = await supervisor(console)
        english = await officer.get(f"/console/tips/{reference}/conversation", params={"lang": "en"})
        assert "Talking with the reporter" in english.text and "Take the live chat" in english.text
        assert "Their chat window is open." in english.text and "Trao đổi với người báo" not in english.text

        async def views() -> int:
            return sum(e["action"] == "tip.conversation" for e in await console.db.run(audit.entries,
                                                                                         subject=reference))

        seen = await views()
        quiet = await officer.get(f"/console/tips/{reference}/conversation", params={"v": version_of(english.text)})
        assert quiet.status_code == 204 and quiet.text == ""
        assert await views() == seen
        await officer.form(f"/console/tips/{reference}/handoff/take")
        await parent.notice()
        changed = await officer.get(f"/console/tips/{reference}/conversation", params={"v": version_of(english.text)})
        assert changed.status_code == 200 and await views() == seen + 1
