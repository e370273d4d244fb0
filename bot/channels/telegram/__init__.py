"""The Telegram channel (python-telegram-bot as the adapter; the engine owns the conversation).

Entry points for ``hotline serve``: :func:`make_router` (webhook mode's route) and
:class:`TelegramService` (polling, processing, paced sending — run it in both modes). The intake
forwarder posts to the officers' group with :class:`TelegramTipCards`.
"""

from bot.channels.telegram.api import ALLOWED_UPDATES
from bot.channels.telegram.service import TelegramService
from bot.channels.telegram.tipcards import TelegramTipCards, TipCardError
from bot.channels.telegram.webhook import WEBHOOK_PATH, make_router

__all__ = ["ALLOWED_UPDATES", "WEBHOOK_PATH", "TelegramService", "TelegramTipCards", "TipCardError", "make_router"]
