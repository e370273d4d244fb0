"""Process one journaled Zalo Bot update: fetch its photo, read a typed number as the option it names, run the
engine, render the replies as calls to queue (the caller marks the update processed and queues them at once)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from bot.channels.zalo_bot import render, texts
from bot.channels.zalo_bot.channel import CHANNEL, ZaloBotChannel, menu_key
from bot.channels.zalo_bot.events import Ignore, Notice, ToEngine, classify
from bot.runtime import Runtime
from handlers.messages import Attachment, InboundMessage
from storage import channel_state as state
from storage.channel_store import StoredEvent
from storage.files import MAX_ATTACHMENT_BYTES, RejectedFile, store_attachment

log = logging.getLogger(__name__)


class UpdateProcessor:
    def __init__(self, runtime: Runtime, channel: ZaloBotChannel) -> None:
        self.runtime = runtime
        self.channel = channel

    async def process(self, event: StoredEvent) -> list[render.Call]:
        parsed = classify(event.data)
        if isinstance(parsed, Ignore):
            return []
        if isinstance(parsed, Notice):
            return render.notice(parsed.chat_id, texts.NOTICES[parsed.key])
        return await self._to_engine(parsed, event)

    async def _to_engine(self, msg: ToEngine, event: StoredEvent) -> list[render.Call]:
        calls: list[render.Call] = []
        attachments: tuple[Attachment, ...] = ()
        if msg.photo_url is not None:
            attachment = await self._fetch(msg.photo_url)
            if attachment is None:
                calls += render.notice(msg.chat_id, texts.NOTICES["file_rejected"])
                if msg.text is None:
                    return calls
            else:
                attachments = (attachment,)
        text, payload = msg.text, None
        if text is not None and text.strip().isascii() and text.strip().isdigit():
            # A number typed under a numbered list means that list's option (ids kept when it was sent).
            menu = await self.runtime.db.run(state.get_sealed, channel=CHANNEL, key=menu_key(event.chat_ref),
                                             cipher=self.runtime.cipher)
            number = int(text.strip())
            if isinstance(menu, list) and 1 <= number <= len(menu):
                text, payload = None, str(menu[number - 1])
        inbound = InboundMessage(channel=CHANNEL, chat_id=msg.chat_id, user_id=msg.chat_id, message_id=event.event_id,
                                 text=text, payload=payload, attachments=attachments)
        if msg.received_at is not None:
            # The time the parent sent it: "an hour ago" means the same after a restart delayed processing.
            inbound = replace(inbound, received_at=msg.received_at)
        replies = await self.runtime.engine.handle(inbound)
        return calls + render.render(replies, msg.chat_id)

    async def _fetch(self, url: str) -> Attachment | None:
        """Download and seal the photo; None when refused (too big, not an image). Network errors raise."""
        data = await self.channel.client.download(url, max_bytes=MAX_ATTACHMENT_BYTES)
        if data is None:
            return None
        try:
            return await asyncio.to_thread(store_attachment, self.runtime.data_dir, data, cipher=self.runtime.cipher,
                                           file_name=None)
        except RejectedFile as exc:
            log.info("Zalo Bot photo refused: %s", exc)
            return None
