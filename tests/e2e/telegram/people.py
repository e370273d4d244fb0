"""Telegram users for the tests: they write to the bot through the fake Bot API and read what it sent."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from storage.channel_schema import channel_events, channel_outgoing
from storage.db import Database
from tests.e2e.telegram.fakebot import FakeBotAPI

_callback_ids = itertools.count(1)

# Telegram's rows in the shared channel journal and queue, as tables to select from.
UPDATES = sa.select(channel_events).where(channel_events.c.channel == "telegram").subquery("tg_events")
OUTGOING = sa.select(channel_outgoing).where(channel_outgoing.c.channel == "telegram").subquery("tg_outgoing")


async def settled(db: Database, update_id: int | None = None, *, within: float = 15.0) -> None:
    """Wait until ``update_id`` (or everything) is stored and processed and no message waits to be sent."""

    def check(conn: sa.Connection) -> bool:
        if update_id is not None:
            processed = conn.execute(sa.select(UPDATES.c.processed_at)
                                     .where(UPDATES.c.event_id == str(update_id))).first()
            if processed is None or processed[0] is None:
                return False
        else:
            waiting = conn.execute(sa.select(sa.func.count()).select_from(UPDATES)
                                   .where(UPDATES.c.processed_at.is_(None))).scalar_one()
            if waiting:
                return False
        pending = conn.execute(sa.select(sa.func.count()).select_from(OUTGOING)
                               .where(OUTGOING.c.status == "pending")).scalar_one()
        return bool(pending == 0)

    deadline = time.monotonic() + within
    while not await db.run(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"update {update_id} not settled after {within} s")
        await asyncio.sleep(0.02)


async def wait_until(predicate: Callable[[], bool], *, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def db_until(db: Database, check: Callable[[sa.Connection], Any], *, within: float = 10.0) -> None:
    """Wait until ``check(conn)`` is truthy."""
    deadline = time.monotonic() + within
    while not await db.run(check):
        if time.monotonic() > deadline:
            raise AssertionError("database condition not reached in time")
        await asyncio.sleep(0.02)


class Person:
    """One Telegram user in a private chat with the bot (chat id = user id, as on Telegram)."""

    def __init__(self, fake: FakeBotAPI, db: Database, user_id: int, first_name: str = "Lan") -> None:
        self.fake = fake
        self.db = db
        self.id = user_id
        self.user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "vi"}
        self.chat = {"id": user_id, "type": "private", "first_name": first_name}
        self.seen = 0
        self._message_ids = itertools.count(1)
        self.presses = 0

    # ----- building updates ----------------------------------------------------------------------------------
    def message(self, **content: Any) -> dict[str, Any]:
        return {"message": {"message_id": next(self._message_ids), "date": int(time.time()), "chat": self.chat,
                            "from": self.user, **content}}

    def text(self, text: str) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if text.startswith("/"):
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self.message(text=text, **extra)

    def callback(self, message: dict[str, Any], data: str) -> dict[str, Any]:
        return {"callback_query": {"id": f"cb{next(_callback_ids)}", "from": self.user, "chat_instance": "ci",
                                   "data": data, "message": message}}

    # ----- talking -------------------------------------------------------------------------------------------
    async def send(self, body: dict[str, Any], *, wait: bool = True) -> list[dict[str, Any]]:
        """Push the update and, once the bot has answered, return the messages it sent or edited since."""
        update_id = self.fake.push(body)
        if not wait:
            return []
        await settled(self.db, update_id)
        return self.new_messages()

    def new_messages(self) -> list[dict[str, Any]]:
        events = self.fake.events(self.id)
        new, self.seen = events[self.seen :], len(events)
        return [m for _, m in new]

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self.send(self.text(text))

    def find_button(self, label_part: str) -> tuple[dict[str, Any], str]:
        """The latest message (as it looks now) with a button whose label contains ``label_part``."""
        events = self.fake.events(self.id)
        for _, message in reversed(events):
            current = self.fake.message(self.id, message["message_id"])
            for row in (current.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if label_part.lower() in button["text"].lower() and "callback_data" in button:
                        return current, button["callback_data"]
        raise AssertionError(f"no button with {label_part!r} in the chat")

    async def press(self, label_part: str) -> list[dict[str, Any]]:
        message, data = self.find_button(label_part)
        self.presses += 1
        return await self.send(self.callback(message, data))

    def photo_message(self, data: bytes, caption: str | None = None) -> dict[str, Any]:
        file_id = self.fake.add_file(data)
        sizes = [{"file_id": f"{file_id}-thumb", "file_unique_id": "t", "width": 90, "height": 160, "file_size": 10},
                 {"file_id": file_id, "file_unique_id": "u", "width": 720, "height": 1280, "file_size": len(data)}]
        return self.message(photo=sizes, **({"caption": caption} if caption else {}))

    async def photo(self, data: bytes, caption: str | None = None) -> list[dict[str, Any]]:
        return await self.send(self.photo_message(data, caption))

    async def document(self, data: bytes, name: str, mime: str) -> list[dict[str, Any]]:
        file_id = self.fake.add_file(data, name)
        doc = {"file_id": file_id, "file_unique_id": "d", "file_name": name, "mime_type": mime,
               "file_size": len(data)}
        return await self.send(self.message(document=doc))

    async def share_contact(self, phone: str) -> list[dict[str, Any]]:
        contact = {"phone_number": phone, "first_name": self.user["first_name"], "user_id": self.id}
        return await self.send(self.message(contact=contact))

    async def forward(self, text: str, sender_name: str) -> list[dict[str, Any]]:
        origin = {"type": "hidden_user", "date": int(time.time()) - 600, "sender_user_name": sender_name}
        return await self.send(self.message(text=text, forward_origin=origin))


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)
