"""Process one journaled Zalo event: fetch its images, run the engine, render the replies as calls to queue.

Returns the calls (and, for an unfollow, the note that the parent cannot be reached); the caller marks the
event processed and queues the calls in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace

from bot.channels.base import FailureReason
from bot.channels.zalo import render, texts
from bot.channels.zalo.channel import ZaloChannel, menu_key
from bot.channels.zalo.events import Follow, Ignore, MediaRef, Notice, ToEngine, Unfollow, classify
from bot.channels.zalo.tokens import CHANNEL
from bot.runtime import Runtime
from handlers.messages import Attachment, InboundMessage
from storage import channel_state as state
from storage.channel_store import StoredEvent
from storage.files import MAX_ATTACHMENT_BYTES, RejectedFile, store_attachment

log = logging.getLogger(__name__)

# What storage.files accepts (it checks the bytes again, whatever an event claims).
_FILE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})


@dataclass(frozen=True, slots=True)
class Result:
    calls: list[render.Call]
    unreachable: tuple[str, str] | None = None


class EventProcessor:
    def __init__(self, runtime: Runtime, channel: ZaloChannel) -> None:
        self.runtime = runtime
        self.channel = channel
        self.max_buttons = channel.settings.max_buttons

    async def process(self, event: StoredEvent) -> Result:
        parsed = classify(event.data)
        if isinstance(parsed, Ignore):
            return Result([])
        if isinstance(parsed, Unfollow):
            return Result([], (FailureReason.BLOCKED.value, "unfollowed the OA"))
        if isinstance(parsed, Notice):
            return Result(render.notice(parsed.user_id, texts.NOTICES[parsed.key]))
        if isinstance(parsed, Follow):
            inbound = InboundMessage(channel=CHANNEL, chat_id=parsed.user_id, user_id=parsed.user_id,
                                     message_id=event.event_id, text="/start")
            return Result(await self._engine(inbound))
        return Result(await self._to_engine(parsed, event))

    async def _engine(self, inbound: InboundMessage) -> list[render.Call]:
        replies = await self.runtime.engine.handle(inbound)
        return render.render(replies, inbound.chat_id, max_buttons=self.max_buttons)

    async def _to_engine(self, msg: ToEngine, event: StoredEvent) -> list[render.Call]:
        attachments: list[Attachment] = []
        rejected = False
        for ref in msg.media:
            attachment = await self._fetch(ref)
            if attachment is None:
                rejected = True
            else:
                attachments.append(attachment)
        calls: list[render.Call] = []
        if rejected:
            calls += render.notice(msg.user_id, texts.NOTICES["file_rejected"])
            if msg.text is None and not attachments:
                return calls
        text, payload = msg.text, msg.payload
        if payload is None and text is not None and text.strip().isascii() and text.strip().isdigit():
            # A number typed under a numbered list means that list's option (ids kept when it was sent).
            menu = await self.runtime.db.run(state.get_sealed, channel=CHANNEL, key=menu_key(event.chat_ref),
                                             cipher=self.runtime.cipher)
            number = int(text.strip())
            if isinstance(menu, list) and 1 <= number <= len(menu):
                text, payload = None, str(menu[number - 1])
        inbound = InboundMessage(channel=CHANNEL, chat_id=msg.user_id, user_id=msg.user_id,
                                 message_id=event.event_id, text=text, payload=payload,
                                 attachments=tuple(attachments))
        if msg.received_at is not None:
            # The time the parent sent it: "an hour ago" means the same after a restart delayed processing.
            inbound = replace(inbound, received_at=msg.received_at)
        return calls + await self._engine(inbound)

    async def _fetch(self, ref: MediaRef) -> Attachment | None:
        """Download and seal one image or file; None when refused (too big, wrong type). Network errors raise."""
        if ref.size is not None and ref.size > MAX_ATTACHMENT_BYTES:
            return None
        if ref.kind == "file" and ref.mime_type is not None and ref.mime_type not in _FILE_TYPES:
            return None
        data = await self.channel.client.download(ref.url, max_bytes=MAX_ATTACHMENT_BYTES)
        if data is None:
            return None
        try:
            return await asyncio.to_thread(store_attachment, self.runtime.data_dir, data, cipher=self.runtime.cipher,
                                           file_name=ref.name)
        except RejectedFile as exc:
            log.info("Zalo attachment refused: %s", exc)
            return None
