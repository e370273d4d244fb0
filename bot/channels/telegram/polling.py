"""Long polling (``getUpdates``) with the offset kept in the database.

Each batch is stored together with the offset that skips it, in one durable transaction, before the next
``getUpdates`` confirms it to Telegram. A restart reads the offset back: updates committed before the
crash are not fetched again, and updates fetched but not yet committed were not confirmed, so Telegram
hands them out again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from telegram import Bot
from telegram.error import Conflict, RetryAfter, TelegramError

from bot.channels.telegram.api import ALLOWED_UPDATES, CHANNEL, retry_after_seconds, utcnow
from bot.channels.telegram.parse import chat_id_of
from bot.runtime import Runtime
from handlers.messages import ConversationKey
from storage import channel_store as store
from storage.conversations import chat_ref

log = logging.getLogger(__name__)


def new_updates(runtime: Runtime, raws: Sequence[dict[str, Any]]) -> list[store.NewEvent]:
    """Raw updates as journal rows: keyed by update id, grouped by a keyed hash of their chat, in update order."""
    return [store.NewEvent(event_id=str(int(raw["update_id"])), data=raw,
                           chat_ref=chat_ref(runtime.cipher, ConversationKey(CHANNEL, chat_id_of(raw))))
            for raw in sorted(raws, key=lambda raw: int(raw["update_id"]))]


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake up at once when ``stop`` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def poll(runtime: Runtime, bot: Bot, stop: asyncio.Event, *, on_stored: Callable[[str], None],
               long_poll_seconds: int) -> None:
    """Fetch updates until ``stop`` is set; ``on_stored(chat_ref)`` for each chat with a new update."""
    db = runtime.db
    offset = await db.run(store.get_offset, channel=CHANNEL)
    backoff = 1.0
    webhook_cleared = False
    while not stop.is_set():
        try:
            if not webhook_cleared:
                # getUpdates is refused while a webhook is set; polling mode means we do not want one.
                await bot.delete_webhook(drop_pending_updates=False)
                webhook_cleared = True
            updates = await bot.get_updates(offset=offset, timeout=long_poll_seconds,
                                            allowed_updates=list(ALLOWED_UPDATES))
            backoff = 1.0
        except RetryAfter as exc:
            await sleep_unless(stop, retry_after_seconds(exc))
            continue
        except Conflict as exc:
            log.error("getUpdates conflict (another poller, or a webhook was set again): %s", exc)
            webhook_cleared = False
            await sleep_unless(stop, max(backoff, 5.0))
            continue
        except TelegramError as exc:
            log.warning("getUpdates failed, retrying in %.0f s: %s", backoff, exc)
            await sleep_unless(stop, backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        if not updates:
            continue
        raws = [u.to_dict() for u in updates]
        next_offset = max(int(raw["update_id"]) for raw in raws) + 1
        batch = new_updates(runtime, raws)
        try:
            await db.run_durable(store.store_events, channel=CHANNEL, events=batch, now=utcnow(),
                                 cipher=runtime.cipher, offset=next_offset)
        except Exception:  # the offset did not move: the same batch comes back on the next call
            log.exception("could not store updates; fetching them again")
            await sleep_unless(stop, backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        offset = next_offset
        for chat in dict.fromkeys(u.chat_ref for u in batch):
            on_stored(chat)
