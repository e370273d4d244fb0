"""Tip cards in the officers' Telegram group: posting them, and officers' button presses on them."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.channels.telegram import texts
from bot.channels.telegram.api import make_bot, retry_after_seconds, utcnow
from bot.channels.telegram.delivery import NO_PREVIEW, inline_markup
from bot.channels.telegram.parse import TipPress
from bot.channels.telegram.render import Call, inert_link, split_text
from bot.runtime import Runtime
from storage import telegram_store as store
from storage import workflow
from storage.db import Database
from storage.users import user_by_telegram_id

log = logging.getLogger(__name__)

VN_TIME = timezone(timedelta(hours=7))
STATUS_MARK = "\n\n— — —\n"  # everything after it on a card is the status the bot rewrites
_URGENT_WORDS = frozenset({"urgent", "high", "critical", "emergency", "khan", "khẩn", "khẩn cấp"})


class TipCardError(Exception):
    """A card could not be posted. ``permanent``: retrying will not help; ``retry_after``: Telegram's wait."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


def _text(value: Any, limit: int = 400) -> str:
    if isinstance(value, Mapping):
        value = value.get("name") or value.get("label") or value.get("verdict") or value.get("code") or ""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_urgent(tip: Mapping[str, Any]) -> bool:
    if tip.get("urgent") is True:
        return True
    return str(tip.get("urgency", "")).strip().lower() in _URGENT_WORDS


def _part(tip: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = tip.get(key)
    return value if isinstance(value, Mapping) else {}


def _label(labels: Mapping[str, str], code: Any) -> str:
    return labels.get(str(code), _text(code, 80))  # code lists are open: an unknown code is shown as it is


def summary_of(tip: Mapping[str, Any]) -> str:
    """One line from the structured ``tip.v1`` fields (contact, claimed role, pretext, asks, harm, links)."""
    parts: list[str] = []
    contact = _part(tip, "contact")
    channel = _label(texts.CHANNELS, contact["channel"]) if contact.get("channel") else ""
    if contact.get("caller_number"):
        parts.append(f"{channel or 'Liên hệ'} từ {_text(contact['caller_number'], 32)}")
    elif channel:
        parts.append(channel)
    school = _text(_part(tip, "school").get("name") or "", 120)
    if tip.get("claimed_role"):
        parts.append(f"tự xưng {_label(texts.ROLES, tip['claimed_role'])}" + (f" ({school})" if school else ""))
    elif school:
        parts.append(f"trường {school}")
    if tip.get("pretext"):
        parts.append(f"lý do: {_label(texts.PRETEXTS, tip['pretext'])}")
    if isinstance(tip.get("asked"), list) and tip["asked"]:
        parts.append("yêu cầu: " + ", ".join(_label(texts.ASKED, a) for a in tip["asked"]))
    harm = _part(tip, "harm")
    if harm.get("money_lost"):
        amount = harm.get("amount_vnd")
        parts.append("ĐÃ MẤT TIỀN" + (f" {amount:,} đ".replace(",", ".") if isinstance(amount, int) else ""))
    if isinstance(harm.get("shared"), list) and harm["shared"]:
        parts.append("đã đưa: " + ", ".join(_label(texts.ASKED, s) for s in harm["shared"]))
    links = [link.get("domain") or link.get("url") for link in tip.get("links") or () if isinstance(link, Mapping)]
    if links:
        parts.append("link: " + ", ".join(inert_link(str(link)) for link in links[:3] if link))
    return " · ".join(parts)


def card_text(tip: Mapping[str, Any]) -> str:
    """The card for a ``tip.v1`` dict, built from whichever of its keys are present."""
    reference = _text(tip.get("reference", "?"), 32)
    lines = [("🚨 KHẨN CẤP — " if is_urgent(tip) else "📋 ") + f"Báo cáo {reference}"]
    summary = tip.get("summary") or summary_of(tip)
    if summary:
        lines.append(_text(summary, 1500))
    verdict = tip.get("verdict")
    if verdict:
        code = verdict.get("verdict") if isinstance(verdict, Mapping) else verdict
        lines.append(f"Đánh giá: {_label(texts.VERDICTS, code)}")
    size = _part(tip, "cluster").get("size")
    if isinstance(size, int):
        lines.append(f"Cụm: {size} báo cáo liên quan" if size > 1 else "Cụm: báo cáo đầu tiên")
    location = _part(tip, "location")
    commune = tip.get("commune") or location.get("commune_name") or location.get("commune_text")
    if commune:
        unit = _part(location, "unit").get("name")
        lines.append(f"Xã/phường: {_text(commune)}" + (f" — {_text(unit)}" if unit else ""))
    return split_text("\n".join(lines))[0]


def console_link(settings_webhook_url: str, reference: str, template: str | None) -> str | None:
    """Where "open in console" points: ``template`` or our public origin (from the webhook URL)."""
    if template:
        return template.format(reference=reference)
    parts = urlsplit(settings_webhook_url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}/console/tips/{reference}"
    return None


def card_keyboard(reference: str, console_url: str | None) -> list[list[dict[str, Any]]]:
    buttons = texts.CARD_BUTTONS
    row: list[dict[str, Any]] = [{"text": buttons["ack"], "callback_data": f"tip:ack:{reference}"},
                                 {"text": buttons["assign"], "callback_data": f"tip:assign:{reference}"}]
    opener = {"text": buttons["open"], "url": console_url} if console_url else {
        "text": buttons["open"], "callback_data": f"tip:open:{reference}"}
    return [row, [opener]]


class TelegramTipCards:
    """Posts tip cards to ``telegram.officers_chat_id`` (the intake forwarder's "telegram" sink).

    ``send_card`` is at-least-once safe: a card already posted for a reference is not posted again.
    Failures raise :class:`TipCardError` so the forwarder can retry or park the outbox row.
    """

    def __init__(self, runtime: Runtime, *, console_url: str | None = None, bot: Bot | None = None) -> None:
        self.runtime = runtime
        self.settings = runtime.settings.telegram
        self.console_url = console_url  # e.g. "https://hotline.example.vn/console/tips/{reference}"
        self._bot = bot
        self._owns_bot = bot is None

    async def _get_bot(self) -> Bot:
        if self._bot is None:
            self._bot = make_bot(self.settings, pool_size=4)
        await self._bot.initialize()
        return self._bot

    async def send_card(self, tip: Mapping[str, Any]) -> None:
        """Post the card for ``tip`` (a ``tip.v1`` dict) with acknowledge / assign / open buttons."""
        chat_id = self.settings.officers_chat_id
        if not chat_id or not self.settings.token:
            raise TipCardError("telegram.token and telegram.officers_chat_id must be set", permanent=True)
        reference = _text(tip.get("reference", ""), 32)
        if not reference:
            raise TipCardError("the tip has no reference", permanent=True)
        db = self.runtime.db
        if any(a["action"] == "posted" for a in await db.run(store.tip_actions, reference=reference)):
            return
        link = console_link(self.settings.webhook_url, reference, self.console_url)
        try:
            bot = await self._get_bot()
            message = await bot.send_message(chat_id, card_text(tip), link_preview_options=NO_PREVIEW,
                                             reply_markup=inline_markup(card_keyboard(reference, link)))
        except RetryAfter as exc:
            raise TipCardError(str(exc), retry_after=retry_after_seconds(exc)) from exc
        except (BadRequest, Forbidden, InvalidToken, ChatMigrated) as exc:
            raise TipCardError(f"Telegram refused the card: {exc}", permanent=True) from exc
        except TelegramError as exc:
            raise TipCardError(f"could not reach Telegram: {exc}") from exc
        await db.run(store.record_tip_action, reference=reference, action="posted", now=utcnow(),
                     chat_id=str(chat_id), message_id=message.message_id)

    async def close(self) -> None:
        if self._bot is not None and self._owns_bot:
            await self._bot.shutdown()


Answer = Callable[[str, str | None, bool], Awaitable[None]]


def _when(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    return aware.astimezone(VN_TIME).strftime("%H:%M %d/%m")


def status_lines(actions: list[dict[str, Any]]) -> list[str]:
    lines = [f"✔ Đã tiếp nhận: {a['officer_name'] or a['officer_id']} lúc {_when(a['created_at'])}"
             for a in actions if a["action"] == "ack"]
    assigned = [a for a in actions if a["action"] == "assign"]
    if assigned:
        last = assigned[-1]
        lines.append(f"👤 Phụ trách: {last['officer_name'] or last['officer_id']} (từ {_when(last['created_at'])})")
    return lines


def _record_press(conn: sa.Connection, *, press: TipPress, now: datetime) -> bool:
    """The card's own record (who pressed, for its status lines) and the tip's workflow, in one transaction."""
    # "Assign to me" moves the tip to whoever pressed last; "acknowledge" is recorded once per officer.
    record = store.assign_tip if press.action == "assign" else functools.partial(store.record_tip_action,
                                                                                 action="ack")
    new = record(conn, reference=press.reference, now=now, officer_id=press.officer_id,
                 officer_name=press.officer_name[:128], chat_id=str(press.chat_id), message_id=press.message_id)
    if new:
        workflow.card_press(conn, reference=press.reference, action=press.action,
                            telegram_user_id=str(press.officer_id), now=now, officer=console_officer(conn, press))
    return new


def console_officer(conn: sa.Connection, press: TipPress) -> workflow.Viewer | None:
    """The console account of the officer who pressed, matched by Telegram user id (None without one, or
    when that account is disabled or may not read tips)."""
    user = user_by_telegram_id(conn, telegram_user_id=str(press.officer_id))
    if user is None or user.role not in workflow.READER_ROLES:
        return None
    return workflow.Viewer.officer(user.id, user.role, user.unit_id)


async def handle_press(press: TipPress, *, db: Database, answer: Answer) -> list[Call]:
    """Authorise and record an officer's button press; returns the card edit to queue (if any)."""
    if not press.authorised:
        log.warning("tip-card button pressed by a non-officer (user %s, chat %s)", press.officer_id, press.chat_id)
        await answer(press.callback_id, texts.NOT_AUTHORISED, True)
        return []
    if press.action == "open":
        await answer(press.callback_id, texts.OPEN_IN_CONSOLE.format(reference=press.reference), True)
        return []
    if press.action not in ("ack", "assign") or not press.reference:
        await answer(press.callback_id, None, False)
        return []
    new = await db.run(_record_press, press=press, now=utcnow())
    done = texts.ACK_DONE if press.action == "ack" else texts.ASSIGN_DONE
    await answer(press.callback_id, done.format(reference=press.reference) if new else texts.ALREADY_DONE, False)
    if not new or press.message_id is None:
        return []
    actions = await db.run(store.tip_actions, reference=press.reference)
    body = press.card_text.split(STATUS_MARK, 1)[0]
    text = split_text(body + STATUS_MARK + "\n".join(status_lines(actions)))[0]
    return [{"method": "edit", "chat_id": press.chat_id, "message_id": press.message_id, "text": text,
             "keyboard": press.keyboard}]
