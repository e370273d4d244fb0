"""The call report both Zalo conversation tests walk (OA and Bot), the tip it files, the officer's question after it.

The conversation is the same on both platforms (``handlers/``); what differs is how a parent picks an option
(a button, or a typed number: each ``people.py``'s ``choose``), how a screenshot arrives, and what each
platform's fake checks of the messages sent. So the steps and the checks of the filed tip are written once,
here, and each test adds what is its platform's own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import sqlalchemy as sa

from bot.channels.base import Channel
from bot.runtime import Runtime
from handlers.messages import OutboundMessage
from storage.schema import tip_attachments, tips
from storage.tips import reporter_aad
from tests.chat import tip_rows

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # the screenshot the parent sends


class Said(Protocol):
    """A message the bot sent, as a platform's fake recorded it."""

    @property
    def text(self) -> str: ...


class Parent(Protocol):
    """A parent on a Zalo platform (``ZaloUser``, ``ZaloBotUser``): each call returns what the bot sent back."""

    async def say(self, text: str) -> Sequence[Said]: ...
    async def choose(self, label_part: str) -> Sequence[Said]: ...
    def new_messages(self) -> Sequence[Said]: ...


def texts(sent: Sequence[Said]) -> str:
    return "\n".join(s.text for s in sent)


async def walk_call_report(parent: Parent, screenshot: Callable[[bytes], Awaitable[Sequence[Said]]]) -> None:
    """From the main menu (already shown) to "Gửi báo cáo": a call from 0377 123 999 by someone posing as the
    head teacher, asking for the OTP and bank details, a link, a forwarded text and a screenshot (sent with
    ``screenshot``), no money lost, contact 0912345678."""
    assert "liên lạc" in texts(await parent.choose("Báo cáo"))
    await parent.choose("Cuộc gọi")
    await parent.say("0377 123 999")
    await parent.say("hôm qua 9h")
    await parent.choose("Hiệu trưởng")
    await parent.say("Trường THCS Nguyễn Du")
    await parent.choose("mã định danh")
    ticked = await parent.choose("Mã OTP")
    assert "✅ Mã OTP" in texts(ticked)
    await parent.choose("Số tài khoản")
    await parent.choose("Xong")
    link_echo = await parent.say("vneduconnect.com/cai-dat")
    assert "vneduconnect.com" not in texts(link_echo)  # never repeated as a tappable link
    await parent.say("PH vui lòng cài ứng dụng Sổ liên lạc điện tử tại vneduconnect.com")
    assert "Đã nhận 1 ảnh" in texts(await screenshot(PNG))
    await parent.choose("Xong")
    await parent.choose("Không, chưa mất tiền")
    await parent.choose("Chưa đưa gì")
    await parent.say("Xã Tân Lộc")
    await parent.choose("Đồng ý")
    summary = await parent.say("0912345678")
    assert "Kiểm tra lại" in texts(summary)
    done = await parent.choose("Gửi báo cáo")
    assert "Đã nhận báo cáo, mã số" in texts(done)


async def the_call_tip(runtime: Runtime, channel: str) -> dict[str, Any]:
    """The one tip :func:`walk_call_report` filed, checked: from ``channel``, with what the parent said and
    the screenshot attached."""
    [tip] = await tip_rows(runtime.db, runtime.cipher)
    slots = tip["data"]["slots"]
    assert tip["channel"] == channel
    assert slots["caller_number"] == "+84377123999"
    assert slots["asked"] == ["otp", "bank_account"]
    assert slots["contact_phone"] == "+84912345678"
    assert "vneduconnect.com" in slots["message_text"]
    attachments = await runtime.db.run(lambda c: c.execute(sa.select(tip_attachments)).mappings().all())
    assert [a["mime_type"] for a in attachments] == ["image/png"]
    return tip


async def officer_question_reaches(runtime: Runtime, tip: dict[str, Any], parent: Parent) -> Channel:
    """An officer's follow-up question, sent as bot/delivery.py sends it — to the parent the tip names (sealed),
    through the channel it names — arrives as the parent's one new message, its link defanged. Returns
    that channel."""

    def reporter(conn: sa.Connection) -> dict[str, str]:
        row = conn.execute(sa.select(tips.c.id, tips.c.reporter)).one()
        return dict(runtime.cipher.open_json(row.reporter, aad=reporter_aad(row.id)))

    chat = (await runtime.db.run(reporter))["chat_id"]
    channel = runtime.channels.get(tip["channel"])
    assert channel is not None
    question = OutboundMessage("Cán bộ hỏi: cuộc gọi kéo dài bao lâu?", links=("https://vneduconnect.com/x",))
    await channel.send(chat, [question])
    [asked] = parent.new_messages()
    assert asked.text.startswith("Cán bộ hỏi: cuộc gọi kéo dài bao lâu?")
    assert "hxxps://vneduconnect[.]com/x" in asked.text
    return channel
