"""Process one stored update: answer its button press, fetch its files, run the engine, render the replies.

Returns the calls to queue; the caller marks the update processed and queues them in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from telegram import Bot
from telegram.error import BadRequest, RetryAfter, TelegramError

from bot.channels.telegram import render, texts
from bot.channels.telegram.api import CHANNEL, retry_after_seconds
from bot.channels.telegram.limiter import FloodLimiter
from bot.channels.telegram.parse import FileRef, Ignore, Notice, ParseContext, TipPress, ToEngine, parse_update
from bot.channels.telegram.tipcards import handle_press
from bot.runtime import Runtime
from handlers.messages import Attachment, InboundMessage
from storage.channel_store import StoredEvent
from storage.files import MAX_ATTACHMENT_BYTES, RejectedFile, store_attachment

log = logging.getLogger(__name__)

# Documents worth downloading: what storage.files accepts (it checks the bytes again, whatever this says).
# APKs too: inspected, never run (handlers/evidence). Some phones send one as a zip or octet-stream: then only a
# name ending in .apk gets it downloaded (any other zip is refused unread).
_DOCUMENT_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf",
                             "application/vnd.android.package-archive"})
_APK_AS = frozenset({"application/zip", "application/octet-stream"})


class UpdateProcessor:
    def __init__(self, runtime: Runtime, bot: Bot, limiter: FloodLimiter, ctx: ParseContext, *,
                 http: asyncio.Semaphore) -> None:
        self.runtime = runtime
        self.http = http
        self.bot = bot
        self.limiter = limiter
        self.ctx = ctx

    async def process(self, update: StoredEvent) -> list[render.Call]:
        try:
            parsed = parse_update(update.data, self.ctx)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:  # not an update we understand: no retry
            log.warning("ignoring update %s that does not parse: %r", update.event_id, exc)
            return []
        if isinstance(parsed, TipPress):
            return await handle_press(parsed, db=self.runtime.db, answer=self.answer)
        if parsed.callback_id is not None:
            # Answered first: the parent's spinner stops now, not after the engine's turn.
            await self.answer(parsed.callback_id, None, False)
        if isinstance(parsed, Ignore):
            return []
        if isinstance(parsed, Notice):
            return self._notice(parsed)
        return await self._to_engine(parsed, update.event_id)

    def _notice(self, notice: Notice) -> list[render.Call]:
        keyboard = None
        if notice.key == "group" and self.ctx.bot_username:
            keyboard = [[{"text": texts.GROUP_BUTTON, "url": f"https://t.me/{self.ctx.bot_username}"}]]
        return render.notice(notice.chat_id, texts.NOTICES[notice.key], keyboard)

    async def _to_engine(self, msg: ToEngine, update_id: str) -> list[render.Call]:
        attachments: list[Attachment] = []
        rejected = False
        for ref in msg.files:
            attachment = await self._fetch(ref)
            if attachment is None:
                rejected = True
            else:
                attachments.append(attachment)
        calls: list[render.Call] = []
        if rejected:
            calls += render.notice(msg.chat_id, texts.NOTICES["file_rejected"])
            if msg.text is None and not attachments:
                return calls
        inbound = InboundMessage(
            channel=CHANNEL, chat_id=str(msg.chat_id), user_id=str(msg.user_id), message_id=update_id,
            text=msg.text, payload=msg.payload, attachments=tuple(attachments), extras=dict(msg.extras),
        )
        if msg.received_at is not None:
            # The time the parent sent it: "an hour ago" means the same after a restart delayed processing.
            inbound = replace(inbound, received_at=msg.received_at)
        replies = await self.runtime.engine.handle(inbound)
        return calls + render.render(replies, msg.chat_id, pressed_message_id=msg.pressed_message_id,
                                     pressed_text=msg.pressed_text)

    async def _fetch(self, ref: FileRef) -> Attachment | None:
        """Download and store one file; None when it is refused (too big, wrong type). Network errors raise."""
        if ref.size is not None and ref.size > MAX_ATTACHMENT_BYTES:
            return None
        apk_named = ref.mime_type in _APK_AS and (ref.file_name or "").lower().endswith(".apk")
        if ref.kind == "document" and ref.mime_type is not None and ref.mime_type not in _DOCUMENT_TYPES \
                and not apk_named:
            return None
        async with self.http:
            try:
                tg_file = await self.bot.get_file(ref.file_id)
            except BadRequest as exc:  # e.g. "file is too big" (over the Bot API's 20 MB)
                log.info("getFile refused: %s", exc)
                return None
            if tg_file.file_size is not None and tg_file.file_size > MAX_ATTACHMENT_BYTES:
                return None
            data = bytes(await tg_file.download_as_bytearray())
        try:
            return await asyncio.to_thread(store_attachment, self.runtime.data_dir, data, cipher=self.runtime.cipher,
                                           file_name=ref.file_name)
        except RejectedFile as exc:
            log.info("attachment refused: %s", exc)
            return None

    async def answer(self, callback_id: str, text: str | None, alert: bool) -> None:
        """Answer a button press. Best effort: an unanswered press only keeps a spinner turning a while."""
        for _ in range(3):
            await self.limiter.wait_unpaused()
            try:
                async with self.http:
                    await self.bot.answer_callback_query(callback_id, text=text, show_alert=alert)
                return
            except RetryAfter as exc:
                self.limiter.pause(retry_after_seconds(exc))
            except TelegramError as exc:  # too old, already answered, network: nothing more to do
                log.debug("answerCallbackQuery failed: %s", exc)
                return
        log.info("gave up answering a button press after repeated 429s")
