"""Zalo users for the tests: they write to the bot through webhook updates and read what it sent them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import sqlalchemy as sa

from bot.channels.zalo_bot import CHANNEL
from storage.channel_schema import channel_events, channel_outgoing
from storage.db import Database
from tests.e2e.zalo_bot.fakebot import FakeZaloBot, Sent


async def settled(db: Database, event_id: str | None = None, *, within: float = 15.0) -> None:
    """Wait until ``event_id`` (or every update) is processed and no message waits to be sent."""
    e, o = channel_events.c, channel_outgoing.c

    def check(conn: sa.Connection) -> bool:
        if event_id is not None:
            done = conn.execute(sa.select(e.processed_at).where(e.channel == CHANNEL, e.event_id == event_id)).first()
            if done is None or done[0] is None:
                return False
        elif conn.execute(sa.select(sa.func.count()).select_from(channel_events)
                          .where(e.channel == CHANNEL, e.processed_at.is_(None))).scalar_one():
            return False
        return not conn.execute(sa.select(sa.func.count()).select_from(channel_outgoing)
                                .where(o.channel == CHANNEL, o.status == "pending")).scalar_one()

    deadline = time.monotonic() + within
    while not await db.run(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"update {event_id} not settled after {within} s")
        await asyncio.sleep(0.02)


class ZaloBotUser:
    """One Zalo user in a private chat with the bot (the chat id is theirs)."""

    def __init__(self, fake: FakeZaloBot, db: Database, chat_id: str) -> None:
        self.fake = fake
        self.db = db
        self.id = chat_id
        self.seen = 0

    async def send(self, update: dict[str, Any]) -> list[Sent]:
        """Post the update and, once the bot has answered, return what it sent this chat since."""
        response = await self.fake.post(update)
        assert response.status_code == 200, response.text
        await settled(self.db, f"msg:{update['result']['message']['message_id']}")
        return self.new_messages()

    def new_messages(self) -> list[Sent]:
        sent = self.fake.messages(self.id)
        new, self.seen = sent[self.seen:], len(sent)
        return new

    async def say(self, text: str) -> list[Sent]:
        return await self.send(self.fake.update(self.id, "message.text.received", text=text))

    async def photo(self, data: bytes, caption: str | None = None) -> list[Sent]:
        extra: dict[str, Any] = {"caption": caption} if caption else {}
        return await self.send(self.fake.update(self.id, "message.image.received", photo=self.fake.add_media(data),
                                                **extra))

    def option(self, label_part: str) -> int:
        """The number of the option containing ``label_part`` in the latest message (every choice is numbered)."""
        sent = self.fake.messages(self.id)
        for line in (sent[-1].text if sent else "").splitlines():
            number, dot, label = line.partition(". ")
            if dot and number.isdigit() and label_part.lower() in label.lower():
                return int(number)
        raise AssertionError(f"{label_part!r} is not a numbered option in {sent[-1:]}")

    async def choose(self, label_part: str) -> list[Sent]:
        return await self.say(str(self.option(label_part)))


def texts(sent: list[Sent]) -> str:
    return "\n".join(s.text for s in sent)
