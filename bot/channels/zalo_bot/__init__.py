"""The Zalo Bot Platform channel: the newer, Telegram-like Zalo bot API, for provinces that start with a bot.

A second, smaller Zalo adapter beside the Official Account one (:mod:`bot.channels.zalo`), on the same channel
layer: webhook updates are journaled in ``channel_events``, replies queued in ``channel_outgoing`` and chats
leased in ``channel_leases`` under channel "zalo_bot". Same flows, same engine, same tips; no buttons on this
platform, so every choice is a numbered list. Entry points: :class:`ZaloBotChannel`
(``runtime.channels.get("zalo_bot")`` when ``zalo_bot.token`` and ``zalo_bot.secret_token`` are set),
:func:`make_router` (``POST /webhooks/zalo-bot``) and :class:`ZaloBotService` (processing and paced sending
inside ``hotline serve``); ``hotline zalo-bot set-webhook|delete-webhook|info``.

What this relies on from Zalo, read in published material rather than guessed (2026-11):

- base URL ``https://bot-api.zaloplatforms.com/bot<BOT_TOKEN>/<method>`` (formerly ``bot-api.zapps.me``), token
  ``<bot id>:<secret>`` from Zalo Bot Creator, never expiring until reset; answers ``{ok, result, description,
  error_code}``, errors with HTTP 200 and ``ok: false`` — Zalo's "Sử dụng API" and "Bảng mã lỗi" pages
  (bot.zaloplatforms.com/docs/call-api/, /docs/error-code/: 400 bad request, 401 token invalid or expired,
  403 internal server error, 404 not found, 408 timeout, 429 quota exceeded), as summarised in the
  Zalo Bot API reference mirrored at github.com (e.g. the "Zalo Bot API Documentation" notes of 10/12/2025 and
  a Javis "Kênh Zalo Bot" spec that probed getMe with a bad token: HTTP 200, ``error_code`` 401);
- ``setWebhook {url, secret_token}`` (8–256 characters), sent back in the ``X-Bot-Api-Secret-Token`` header;
  ``getWebhookInfo``, ``deleteWebhook`` (bot.zaloplatforms.com/docs/apis/setWebhook/, /docs/webhook/);
- the webhook body ``{"ok": true, "result": {"event_name", "message": {"message_id", "date", "chat": {"id",
  "chat_type"}, "from": {"id", "display_name", "is_bot"}, "text", "photo", "caption", "sticker"}}}`` with
  ``message.text|image|sticker|voice|unsupported.received``, ``unsupported`` being sent instead of the content
  for protected users (/docs/webhook/; the same envelope in chat-sdk.dev's community Zalo adapter, OpenClaw's
  ``extensions/zalo`` and nanobot's Zalo channel, which also read a bare ``result``);
- ``sendMessage {chat_id, text}`` (1–2000 characters), ``sendPhoto {chat_id, photo: URL, caption}``
  (/docs/apis/sendMessage/, /docs/apis/sendPhoto/); no inline buttons, no edits.
"""

from bot.channels.zalo_bot.channel import CHANNEL, ZaloBotChannel
from bot.channels.zalo_bot.service import ZaloBotService
from bot.channels.zalo_bot.webhook import WEBHOOK_PATH, make_router

__all__ = ["CHANNEL", "WEBHOOK_PATH", "ZaloBotChannel", "ZaloBotService", "make_router"]
