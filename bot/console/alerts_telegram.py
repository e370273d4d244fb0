"""New campaign alerts posted to the officers' Telegram group (``telegram.officers_chat_id``), when the
``telegram`` intake sink is configured and ``alerts.telegram`` is on.

A service of ``hotline serve``: every few seconds it claims pending alerts (a lease in the database, so with
several processes each alert is posted by one of them; a process that dies mid-post leaves it to another after
the lease — at least once), posts one message per alert and records it. Telegram refusing the message for good
(a wrong chat, the bot removed) marks the post dead; other errors are retried.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from bot.runtime import Runtime
from bot.services import Service, sleep_or_stop
from storage.alerts import AlertSummary, claim_posts, post_failed, posted
from storage.stats import names

if TYPE_CHECKING:
    from telegram import Bot

# python-telegram-bot is imported when alerts are posted, not by every ``hotline serve`` (0.3 s of its start).

log = logging.getLogger(__name__)

_VN = timezone(timedelta(hours=7))  # the province's time (no DST)
KIND_LINES = {"phone": "số điện thoại", "domain": "tên miền", "bank_account": "tài khoản ngân hàng"}
PRETEXTS = {"update_records": "bổ sung hồ sơ học sinh", "student_id_code": "xác nhận mã định danh",
            "install_app": "cài ứng dụng Sổ liên lạc điện tử", "tuition_refund": "hoàn tiền học phí",
            "child_hospital": "con cấp cứu, chuyển tiền gấp", "other": "thủ đoạn khác"}


def alert_text(alert: AlertSummary, communes: dict[str, str], console_url: str | None) -> str:
    """The group message: what, how many in how long, since when, and where to act."""
    if alert.kind == "pretext_commune":
        what = (f"thủ đoạn “{PRETEXTS.get(alert.pretext or '', alert.pretext or '')}” tại "
                f"{communes.get(alert.commune_code or '', alert.commune_code or '')}")
    else:
        what = f"{KIND_LINES.get(alert.kind, alert.kind)} {alert.value}"
    local = alert.first_tip_at.astimezone(_VN)
    lines = [f"⚠️ CẢNH BÁO CHIẾN DỊCH #{alert.id}",
             f"{alert.tips} báo cáo về {what} (ngưỡng {alert.threshold} người báo trong {alert.window_minutes} phút), "
             f"từ {local:%H:%M %d/%m}."]
    if console_url:
        lines.append(f"Xem và xác nhận: {console_url.rstrip('/')}/console/alerts/{alert.id}")
    return "\n".join(lines)


class AlertPoster:
    """Posts pending alerts; :meth:`post_pending` is one pass (tests call it), :meth:`run` the service loop."""

    def __init__(self, runtime: Runtime, *, bot: Bot | None = None, every_seconds: float = 5.0) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self._bot = bot
        self._owns_bot = bot is None
        self.every_seconds = every_seconds

    def console_url(self) -> str | None:
        public = self.settings.server.public_url
        return public or None

    async def _get_bot(self) -> Bot:
        if self._bot is None:
            from bot.channels.telegram.api import make_bot

            self._bot = make_bot(self.settings.telegram, pool_size=2)
        await self._bot.initialize()
        return self._bot

    async def post_pending(self) -> int:
        from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError

        from bot.channels.telegram.delivery import NO_PREVIEW

        db, cipher = self.runtime.db, self.runtime.cipher
        claimed = await db.run(claim_posts, cipher=cipher, now=datetime.now(UTC))
        if not claimed:
            return 0
        communes = (await db.run(names))["communes"]
        done = 0
        for alert in claimed:
            try:
                bot = await self._get_bot()
                await bot.send_message(self.settings.telegram.officers_chat_id,
                                       alert_text(alert, communes, self.console_url()), link_preview_options=NO_PREVIEW)
            except RetryAfter as exc:
                await db.run(post_failed, alert_id=alert.id, error=f"retry after: {exc}", permanent=False)
                break
            except (BadRequest, Forbidden, InvalidToken, ChatMigrated) as exc:
                await db.run(post_failed, alert_id=alert.id, error=f"refused: {exc}", permanent=True)
                log.warning("alert #%d not posted to the officers' group: %s", alert.id, exc)
                continue
            except TelegramError as exc:
                await db.run(post_failed, alert_id=alert.id, error=str(exc), permanent=False)
                continue
            await db.run(posted, alert_id=alert.id, now=datetime.now(UTC))
            done += 1
        return done

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    await self.post_pending()
                except Exception:  # a failed pass must not stop the next one
                    log.exception("posting campaign alerts failed")
                if await sleep_or_stop(stop, self.every_seconds):
                    return
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._bot is not None and self._owns_bot:
            await self._bot.shutdown()
            self._bot = None


def alert_services(runtime: Runtime) -> list[tuple[str, Service]]:
    """The poster, when alerts go to Telegram and the officers' group is configured; otherwise nothing."""
    s = runtime.settings
    if not (s.alerts.enabled and s.alerts.telegram and "telegram" in s.intake.sinks and s.telegram.token
            and s.telegram.officers_chat_id):
        return []
    return [("alerts-telegram", AlertPoster(runtime).run)]
