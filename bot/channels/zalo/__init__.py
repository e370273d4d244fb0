"""The Zalo Official Account channel: webhook events in, customer-service messages out, same engine and flows.

Entry points: :class:`ZaloChannel` (the :class:`~bot.channels.base.Channel` — ``runtime.channels.get("zalo")``
when ``zalo.app_id`` and ``zalo.secret_key`` are set), :func:`make_router` (``POST /webhooks/zalo``) and
:class:`ZaloService` (processing and paced sending inside ``hotline serve``).

What this relies on from Zalo, checked against published material rather than guessed (2026-11):

- webhook signature ``X-ZEvent-Signature: mac=<hex>``, ``sha256(app_id + raw body + timestamp + OA secret
  key)`` with the timestamp from the event JSON, answered within 2 seconds or re-sent (Zalo's webhook guide,
  developers.zalo.me/docs/official-account/webhook; restated in hainh.me "Zalo API — PHP webhook",
  and implemented the same way in chatwoot's ``Webhooks::ZaloController`` and other open integrations);
- events ``user_send_text|image|link|file|sticker|gif|location|audio|video``, ``follow``/``unfollow``
  (``follower.id``), ``message.msg_id``, millisecond ``timestamp`` (same sources);
- sending: ``POST https://openapi.zalo.me/v3.0/oa/message/cs`` with the ``access_token`` header; text,
  ``template``/``media`` images, buttons ``oa.query.hide`` whose payload comes back as a text event
  (developers.zalo.me/docs/official-account/tin-nhan/tin-tu-van; chatwoot ``ZaloOa::MessageSender``);
- OAuth v4 with PKCE: ``/v4/oa/permission`` and ``/v4/oa/access_token`` with the app secret in a
  ``secret_key`` header; access token 25 h (``expires_in`` 90000), refresh token 3 months and single-use
  (developers.zalo.me/docs/official-account/bat-dau/xac-thuc-va-uy-quyen-cho-ung-dung-new; hexasync.vn
  "Zalo OA API: lấy Access Token từ Refresh token"; chatwoot ``ZaloOa::Client``);
- error codes (-216/-220 token, -213 not a follower, -230/-232 outside the interaction window, -32 rate limit,
  …) as listed in :mod:`.errors`.
"""

from bot.channels.zalo.channel import ZaloChannel
from bot.channels.zalo.service import ZaloService
from bot.channels.zalo.webhook import WEBHOOK_PATH, make_router

__all__ = ["WEBHOOK_PATH", "ZaloChannel", "ZaloService", "make_router"]
