"""POST /webhooks/zalo: the signature (good, bad, stale, future, tampered), duplicates, bodies, every event type."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from bot.channels.base import DeliveryFailure, FailureReason
from bot.channels.zalo import ZaloService, make_router
from handlers.messages import OutboundMessage
from storage import channel_state
from storage.channel_schema import channel_events
from storage.schema import inbound_messages
from tests.e2e.zalo.conftest import FAST, Live, authorise, channel_of, make_settings, open_runtime, serving
from tests.e2e.zalo.fakezalo import FakeZalo
from tests.e2e.zalo.people import ZaloUser, settled, texts

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"0" * 64


async def _events(live: Live) -> list[dict[str, object]]:
    return [dict(r) for r in await live.runtime.db.run(
        lambda c: c.execute(sa.select(channel_events)).mappings().all())]


# ----- the signature ------------------------------------------------------------------------------------------
async def test_a_signed_event_is_accepted_and_answered(zalo: Live, fake: FakeZalo) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "1001")
    assert "Bạn cần giúp gì" in texts(await parent.say("xin chào"))


async def test_a_bare_hex_signature_without_the_mac_prefix_is_accepted(zalo: Live, fake: FakeZalo) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "1002")
    body, headers = fake.signed(parent.text_event("menu"))
    headers["X-ZEvent-Signature"] = headers["X-ZEvent-Signature"].removeprefix("mac=").upper()
    assert (await parent.post({}, body=body, headers=headers)).status_code == 200


@pytest.mark.parametrize("case", ["wrong_secret", "missing", "tampered", "stale", "future", "no_timestamp"])
async def test_an_event_without_a_valid_fresh_signature_is_refused_and_not_stored(zalo: Live, fake: FakeZalo,
                                                                                 case: str) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "1003")
    event = parent.text_event("tôi muốn báo cáo")
    now = int(time.time() * 1000)
    body, headers = fake.signed(event)
    if case == "wrong_secret":
        digest = hashlib.sha256(fake.app_id.encode() + body + event_ts(body) + b"guessed").hexdigest()
        headers["X-ZEvent-Signature"] = f"mac={digest}"
    elif case == "missing":
        del headers["X-ZEvent-Signature"]
    elif case == "tampered":
        body = body.replace("báo cáo".encode(), b"xem")
    elif case == "stale":  # older than zalo.signature_max_age_seconds (two hours by default)
        body, headers = fake.signed(event, timestamp_ms=now - 3 * 3600 * 1000)
    elif case == "future":
        body, headers = fake.signed(event, timestamp_ms=now + 3600 * 1000)
    else:
        body = json.dumps({k: v for k, v in json.loads(body).items() if k != "timestamp"}).encode()
    response = await parent.post({}, body=body, headers=headers)
    assert response.status_code == 401
    assert await _events(zalo) == []
    assert fake.messages(parent.id) == []


def event_ts(body: bytes) -> bytes:
    return str(json.loads(body)["timestamp"]).encode()


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b'{"a": ' * 200 + b"1" + b"}" * 200])
async def test_a_malformed_body_is_refused_with_400(zalo: Live, fake: FakeZalo, body: bytes) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "1004")
    response = await parent.post({}, body=body, headers={"Content-Type": "application/json",
                                                         "X-ZEvent-Signature": fake.sign(body, "1")})
    assert response.status_code == 400
    assert await _events(zalo) == []


# ----- duplicates and the journal -----------------------------------------------------------------------------
async def test_a_resent_event_is_answered_200_and_processed_once(zalo: Live, fake: FakeZalo) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "1005")
    event = parent.text_event("xin chào")
    body, headers = fake.signed(event)
    for _ in range(3):  # Zalo re-sends what it thinks we missed, byte for byte
        assert (await parent.post({}, body=body, headers=headers)).status_code == 200
    await settled(zalo.runtime.db)
    assert len(await _events(zalo)) == 1
    turns = await zalo.runtime.db.run(
        lambda c: c.execute(sa.select(sa.func.count()).select_from(inbound_messages)).scalar_one())
    assert turns == 1
    assert len(parent.new_messages()) == 1


async def test_events_are_journaled_before_the_answer_and_processed_later_from_the_journal(
        tmp_path: Path, fake: FakeZalo) -> None:
    settings = make_settings(tmp_path, fake)
    async with open_runtime(settings) as runtime:
        await authorise(runtime, fake)
        channel = channel_of(runtime)
        app = FastAPI()
        app.include_router(make_router(runtime, channel))
        async with serving(app) as base:
            parent = ZaloUser(fake, f"{base}/webhooks/zalo", runtime.db, "1006")
            # No service is running: the webhook still answers at once, having stored the events.
            for text in ("xin chào", "1"):
                assert (await parent.post(parent.text_event(text))).status_code == 200
            assert fake.messages(parent.id) == []
            stored = await runtime.db.run(lambda c: c.execute(
                sa.select(channel_events.c.processed_at, channel_events.c.payload)).all())
            assert len(stored) == 2 and all(p is None and payload for p, payload in stored)
            stop = asyncio.Event()
            task = asyncio.create_task(ZaloService(runtime, channel, **FAST).run(stop))
            try:
                await settled(runtime.db)
            finally:
                stop.set()
                await task
    replies = texts(fake.messages(parent.id))
    assert "Bạn cần giúp gì" in replies and "liên lạc" in replies  # the "1" picked the first option, in order


async def test_events_the_oa_does_not_act_on_are_answered_200_and_dropped(zalo: Live, fake: FakeZalo) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "1007")
    seen = {"event_name": "user_seen_message", "sender": {"id": fake.oa_id}, "recipient": {"id": parent.id},
            "message": {"msg_id": "x1"}}
    own = {"event_name": "oa_send_text", "sender": {"id": fake.oa_id}, "recipient": {"id": parent.id},
           "message": {"msg_id": "x2", "text": "hi"}}
    new = {"event_name": "user_reacted_to_a_future_feature", "sender": {"id": parent.id}}
    for event in (seen, own, new):
        assert (await parent.post(event)).status_code == 200
    assert await _events(zalo) == []


# ----- every event type ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "message", "expected"), [
    ("user_send_sticker", {"attachments": [{"type": "sticker", "payload": {"id": "s", "url": "https://x/s"}}]},
     "nhãn dán"),
    ("user_send_gif", {"attachments": [{"type": "gif", "payload": {"url": "https://x/g.gif"}}]}, "nhãn dán"),
    ("user_send_location", {"attachments": [{"type": "location", "payload": {
        "coordinates": {"latitude": "9.17", "longitude": "105.15"}}}]}, "vị trí"),
    ("user_send_audio", {"attachments": [{"type": "audio", "payload": {"url": "https://x/a.aac"}}]},
     "tin nhắn thoại"),
    ("user_send_video", {"attachments": [{"type": "video", "payload": {"url": "https://x/v.mp4"}}]}, "video"),
    ("user_send_business_card", {"attachments": [{"type": "link", "payload": {}}]}, "loại tin nhắn này"),
])
async def test_message_kinds_we_cannot_use_get_a_polite_notice(zalo: Live, fake: FakeZalo, name: str,
                                                               message: dict[str, object], expected: str) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "1010")
    assert expected in texts(await parent.send(parent.event(name, **message)))


async def test_a_shared_link_reaches_the_engine_and_comes_back_inert(zalo: Live, fake: FakeZalo) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "1011")
    reply = texts(await parent.send(parent.event("user_send_link", text="", attachments=[
        {"type": "link", "payload": {"url": "https://sll-vnedu.com/app.apk", "description": "Sổ liên lạc"}}])))
    assert "LỪA ĐẢO" in reply
    assert "hxxps://sll-vnedu[.]com/app.apk" in reply


async def test_files_a_pdf_is_attached_and_a_zip_refused_without_downloading(zalo: Live, fake: FakeZalo) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "1012")
    await parent.say("menu")
    await parent.choose("Báo cáo")
    zip_url = fake.add_media(b"PK\x03\x04 not a picture", "bai-tap.zip")
    refused = await parent.send(parent.event("user_send_file", attachments=[
        {"type": "file", "payload": {"url": zip_url, "name": "bai-tap.zip", "size": "20", "type": "zip"}}]))
    assert "chỉ nhận ảnh" in texts(refused)
    pdf_url = fake.add_media(PDF, "giay-moi.pdf")
    accepted = await parent.send(parent.event("user_send_file", attachments=[
        {"type": "file", "payload": {"url": pdf_url, "name": "giay-moi.pdf", "size": str(len(PDF)), "type": "pdf"}}]))
    assert "chỉ nhận ảnh" not in texts(accepted)
    too_big = fake.add_media(PNG, "big.png")
    refused_big = await parent.send(parent.event("user_send_file", attachments=[
        {"type": "file", "payload": {"url": too_big, "name": "big.png", "size": str(50 * 1024 * 1024)}}]))
    assert "tối đa 10 MB" in texts(refused_big)


async def test_an_image_over_the_cap_is_refused_while_downloading(zalo: Live, fake: FakeZalo) -> None:
    """Zalo's image events carry no size: the download itself stops at the cap and nothing is stored."""
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "1015")
    await parent.say("menu")
    huge = PNG + b"\x00" * (11 * 1024 * 1024)
    assert "tối đa 10 MB" in texts(await parent.image(huge))
    assert not (Path(zalo.runtime.data_dir) / "attachments").exists()


async def test_follow_greets_and_unfollow_is_recorded_for_the_officers(zalo: Live, fake: FakeZalo) -> None:
    parent = ZaloUser(fake, zalo.webhook, zalo.runtime.db, "1013")
    assert "Bạn cần giúp gì" in texts(await parent.send(parent.follow_event()))
    fake.unfollowed.add(parent.id)
    assert (await parent.post(parent.follow_event("unfollow"))).status_code == 200
    await settled(zalo.runtime.db)
    assert parent.new_messages() == []  # nobody to answer
    ref = zalo.channel.chat_ref(parent.id)
    status = await zalo.runtime.db.run(channel_state.reachability, channel="zalo", chat_ref=ref)
    assert status is not None and status["status"] == "blocked"
    with pytest.raises(DeliveryFailure) as failure:
        await zalo.channel.send(parent.id, [OutboundMessage("Cán bộ hỏi thêm một câu")])
    assert failure.value.reason is FailureReason.BLOCKED
    # Following again (and writing) is interaction: the note goes away.
    fake.unfollowed.discard(parent.id)
    await parent.send(parent.follow_event())
    assert await zalo.runtime.db.run(channel_state.reachability, channel="zalo", chat_ref=ref) is None


async def test_the_webhook_needs_no_token_to_accept_events(tmp_path: Path, fake: FakeZalo) -> None:
    """Before an admin authorises the OA, events are still journaled (and answered once tokens exist)."""
    settings = make_settings(tmp_path, fake)
    async with open_runtime(settings) as runtime:
        app = FastAPI()
        app.include_router(make_router(runtime, channel_of(runtime)))
        async with serving(app) as base, httpx.AsyncClient() as client:
            body, headers = fake.signed({"event_name": "user_send_text", "sender": {"id": "1014"},
                                         "message": {"msg_id": "t1", "text": "hi"}})
            assert (await client.post(f"{base}/webhooks/zalo", content=body, headers=headers)).status_code == 200
        assert len(await runtime.db.run(lambda c: c.execute(sa.select(channel_events)).all())) == 1
