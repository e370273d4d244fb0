"""The python-telegram-bot ``Bot`` as we configure it, and small helpers around its errors."""

from __future__ import annotations

import os
import warnings
from datetime import UTC, datetime, timedelta

from telegram import Bot
from telegram.error import RetryAfter
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.settings import TelegramSettings

# PTB 22 is moving time periods (RetryAfter.retry_after, durations) from int seconds to timedelta and
# warns on every read of the old form — including inside its own RetryAfter constructor, i.e. on every
# 429. This is its documented opt-in to the new form; it only changes what those attributes return.
os.environ.setdefault("PTB_TIMEDELTA", "true")

CHANNEL = "telegram"

# What we handle, and so what we ask Telegram for (setWebhook and getUpdates). Edited messages are left
# out on purpose: the dialogue answers each message as the next step, so an edit of an earlier answer would
# be taken as an answer to the current question.
ALLOWED_UPDATES = ("message", "callback_query")

# Long polling holds a request open this long; the HTTP read timeout gets a margin on top.
LONG_POLL_SECONDS = 25


# Bot API calls in flight at once. More connections do not help: httpcore matches every waiting request
# against every pooled connection on each assignment, which gets quadratic under load, so callers queue
# on our own semaphore instead (see HTTP_SLOTS users) and the pool stays this size.
HTTP_CONCURRENCY = 8


def make_bot(settings: TelegramSettings, *, pool_size: int = HTTP_CONCURRENCY) -> Bot:
    """A ``Bot`` talking to ``settings.api_base`` (api.telegram.org, a self-hosted Bot API, a test fake)."""
    root = settings.api_base.rstrip("/")
    return Bot(
        settings.token,
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        # Waiting for a pooled connection is not an error (our semaphore keeps that wait short anyway).
        request=HTTPXRequest(connection_pool_size=pool_size, pool_timeout=30.0, read_timeout=15.0,
                             write_timeout=15.0, connect_timeout=10.0, media_write_timeout=30.0),
        get_updates_request=HTTPXRequest(connection_pool_size=1, read_timeout=10.0, connect_timeout=10.0),
    )


def retry_after_seconds(exc: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds (PTB 22 warns on the attribute until it becomes a timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def utcnow() -> datetime:
    return datetime.now(UTC)
