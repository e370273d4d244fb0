"""The broadcast pages over real HTTP: compose from the province's text, count and preview per channel, send,
schedule, steer, watch; bad input refused with a reason; admins only; audited."""

from __future__ import annotations

from storage import audit, broadcasts
from tests.broadcast.helpers import subscribe_many
from tests.console.conftest import Console


async def test_compose_preview_send_and_steer(content_console: Console) -> None:
    await subscribe_many(content_console.db, content_console.cipher, channel="telegram", chat_ids=["1", "2"],
                         school_id="THCS-ND")
    await subscribe_many(content_console.db, content_console.cipher, channel="api", chat_ids=["p"],
                         commune_key="tan loc")
    admin = await content_console.make_user("quantri@ca.vn", "admin")
    client = await content_console.signed_in_client(admin)
    page = await client.get("/console/broadcasts/new")
    assert "thủ đoạn lừa đảo trực tuyến giả mạo nhà trường" in page.text  # the seed's SMS is the template
    prefilled = await client.get("/console/broadcasts/new", params={"text": "Từ cảnh báo chiến dịch", "title": "A"})
    assert "Từ cảnh báo chiến dịch" in prefilled.text

    form = {"title": "Thử", "text_vi": "Cảnh báo: đừng cài app lạ.", "text_en": "", "audience": "all", "values": ""}
    preview = await client.form("/console/broadcasts/new", {**form, "action": "preview"})
    assert "Sẽ gửi tới 3 người" in preview.text and "Telegram · 2 người" in preview.text
    assert "HTTP API · 1 người" in preview.text and "không gửi chủ động được" in preview.text
    assert "Ngừng nhận cảnh báo" in preview.text  # the button each parent gets
    communes = await client.form("/console/broadcasts/new", {**form, "audience": "communes", "values": "Xã Tân Lộc",
                                                            "action": "preview"})
    assert "Sẽ gửi tới 1 người" in communes.text
    empty = await client.form("/console/broadcasts/new", {**form, "audience": "schools", "action": "preview"})
    assert empty.status_code == 422
    past = await client.form("/console/broadcasts/new", {**form, "action": "schedule", "send_at": "2020-01-01T08:00"})
    assert past.status_code == 422 and "trong tương lai" in past.text

    sent = await client.form("/console/broadcasts/new", {**form, "audience": "schools", "values": "THCS-ND",
                                                        "action": "send"})
    assert sent.status_code == 303
    bid = int(sent.headers["location"].split("/")[3].split("?")[0])
    detail = await client.get(sent.headers["location"])
    assert "Đã bắt đầu gửi" in detail.text and 'data-progress-url="/console/broadcasts/' in detail.text
    progress = (await client.get(f"/console/broadcasts/{bid}/progress.json")).json()
    assert progress["total"] == 2 and progress["status"] in ("sending", "done")
    steered = await client.form(f"/console/broadcasts/{bid}", {"action": "pause"})
    assert steered.headers["location"].endswith("done=pause")
    assert (await content_console.db.run(broadcasts.get, broadcast_id=bid)).status == "paused"  # type: ignore[union-attr]
    await client.form(f"/console/broadcasts/{bid}", {"action": "cancel"})
    assert (await content_console.db.run(broadcasts.get, broadcast_id=bid)).status == "cancelled"  # type: ignore[union-attr]
    listing = await client.get("/console/broadcasts")
    assert "Thử" in listing.text and "Đang nhận cảnh báo: 3 phụ huynh" in listing.text

    scheduled = await client.form("/console/broadcasts/new", {**form, "action": "schedule",
                                                             "send_at": "2099-01-01T08:00"})
    later = await client.get(scheduled.headers["location"])
    assert "Đã hẹn giờ" in later.text and "01/01/2099 08:00" in later.text
    actions = [e["action"] for e in await content_console.db.run(audit.entries, subject=f"broadcast:{bid}")]
    assert actions == ["broadcast.cancel", "broadcast.pause", "broadcast.create"]


async def test_officers_cannot_send(content_console: Console) -> None:
    officer = await content_console.make_user("canbo@ca.vn", "officer")
    client = await content_console.signed_in_client(officer)
    r = await client.form("/console/broadcasts/new", {"text_vi": "x", "audience": "all", "action": "send"})
    assert r.status_code == 403
    assert (await client.get("/console/broadcasts/1/progress.json")).status_code == 403
