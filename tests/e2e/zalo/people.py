"""Zalo users for the tests: they write to the OA through signed webhook events and read what it sent them."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

import httpx
import sqlalchemy as sa

from bot.channels.zalo.events import BUTTON_PREFIX
from storage.channel_schema import channel_events, channel_outgoing
from storage.db import Database
from tests.e2e.zalo.fakezalo import FakeZalo, Sent

_msg_ids = itertools.count(1)


async def settled(db: Database, event_id: str | None = None, *, within: float = 15.0) -> None:
    """Wait until ``event_id`` (or every event) is processed and no message waits to be sent."""

    def check(conn: sa.Connection) -> bool:
        pending = conn.execute(sa.select(sa.func.count()).select_from(channel_events)
                               .where(channel_events.c.processed_at.is_(None))).scalar_one()
        if event_id is not None:
            done = conn.execute(sa.select(channel_events.c.processed_at)
                                .where(channel_events.c.event_id == event_id)).first()
            if done is None or done[0] is None:
                return False
        elif pending:
            return False
        waiting = conn.execute(sa.select(sa.func.count()).select_from(channel_outgoing)
                               .where(channel_outgoing.c.status == "pending")).scalar_one()
        return bool(waiting == 0)

    deadline = time.monotonic() + within
    while not await db.run(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"event {event_id} not settled after {within} s")
        await asyncio.sleep(0.02)


async def db_until(db: Database, check: Callable[[sa.Connection], Any], *, within: float = 10.0) -> Any:
    deadline = time.monotonic() + within
    while not (found := await db.run(check)):
        if time.monotonic() > deadline:
            raise AssertionError("database condition not reached in time")
        await asyncio.sleep(0.02)
    return found


class ZaloUser:
    """One Zalo user following the OA (their id is scoped to it, as on Zalo)."""

    def __init__(self, fake: FakeZalo, webhook: str, db: Database, user_id: str) -> None:
        self.fake = fake
        self.webhook = webhook
        self.db = db
        self.id = user_id
        self.seen = 0

    # ----- building events -------------------------------------------------------------------------------
    def event(self, name: str, **message: Any) -> dict[str, Any]:
        msg_id = f"{self.id}-{next(_msg_ids)}"
        return {"event_name": name, "sender": {"id": self.id}, "recipient": {"id": self.fake.oa_id},
                "user_id_by_app": f"app-{self.id}", "message": {"msg_id": msg_id, **message}}

    def text_event(self, text: str) -> dict[str, Any]:
        return self.event("user_send_text", text=text)

    def follow_event(self, name: str = "follow") -> dict[str, Any]:
        return {"event_name": name, "oa_id": self.fake.oa_id, "follower": {"id": self.id}, "source": "oa_profile",
                "user_id_by_app": f"app-{self.id}"}

    # ----- talking ---------------------------------------------------------------------------------------
    async def post(self, event: dict[str, Any], *, headers: dict[str, str] | None = None,
                   body: bytes | None = None, timestamp_ms: int | None = None) -> httpx.Response:
        signed_body, signed_headers = self.fake.signed(event, timestamp_ms=timestamp_ms)
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(self.webhook, content=body if body is not None else signed_body,
                                     headers=headers if headers is not None else signed_headers)

    async def send(self, event: dict[str, Any]) -> list[Sent]:
        """Post the event and, once the OA has answered, return what it sent this user since."""
        response = await self.post(event)
        assert response.status_code == 200, response.text
        event_id = f"msg:{event['message']['msg_id']}" if "message" in event else None
        await settled(self.db, event_id)
        return self.new_messages()

    def new_messages(self) -> list[Sent]:
        sent = self.fake.messages(self.id)
        new, self.seen = sent[self.seen:], len(sent)
        return new

    async def say(self, text: str) -> list[Sent]:
        return await self.send(self.text_event(text))

    def find_button(self, label_part: str) -> str:
        """The payload of the latest button whose title contains ``label_part``."""
        for sent in reversed(self.fake.messages(self.id)):
            for title, payload in sent.buttons:
                if label_part.lower() in title.lower():
                    return payload
        raise AssertionError(f"no button with {label_part!r} sent to {self.id}")

    async def press(self, label_part: str) -> list[Sent]:
        payload = self.find_button(label_part)
        assert payload.startswith(BUTTON_PREFIX)
        return await self.say(payload)  # an oa.query.hide press arrives as a text event carrying the payload

    def numbered_option(self, label_part: str) -> int | None:
        """The number of the option containing ``label_part`` in the latest message, if it is a numbered list."""
        sent = self.fake.messages(self.id)
        if not sent:
            return None
        for line in sent[-1].text.splitlines():
            number, dot, label = line.partition(". ")
            if dot and number.isdigit() and label_part.lower() in label.lower():
                return int(number)
        return None

    async def choose(self, label_part: str) -> list[Sent]:
        """Pick an option the way the last message offers it: press its button, or type its number."""
        sent = self.fake.messages(self.id)
        if sent and any(label_part.lower() in title.lower() for title, _ in sent[-1].buttons):
            return await self.press(label_part)
        number = self.numbered_option(label_part)
        if number is None:
            raise AssertionError(f"{label_part!r} is offered neither as a button nor as a number: {sent[-1:]}")
        return await self.say(str(number))

    async def image(self, data: bytes, caption: str | None = None) -> list[Sent]:
        url = self.fake.add_media(data)
        extra = {"text": caption} if caption else {}
        return await self.send(self.event("user_send_image", attachments=[
            {"type": "image", "payload": {"url": url, "thumbnail": url}}], **extra))


def texts(sent: list[Sent]) -> str:
    return "\n".join(s.text for s in sent)
