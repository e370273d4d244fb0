"""Where confirmed tips go: the sink interface, its errors, and the factory keyed on ``intake.sinks``.

A sink delivers one ``tip.v1`` document with an idempotency key (the tip reference). The forwarder calls
it at least once per tip — again after a timeout, a crash or a lease expiry — so a sink must either be
idempotent itself or hand the key to a receiver that dedupes (webhook ``Idempotency-Key``, NATS
``Nats-Msg-Id``, RabbitMQ ``message_id``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from bot.settings import ConfigError, Settings


class SinkError(Exception):
    """A delivery failed. ``detail`` is kept on the outbox row (e.g. the receiver's response)."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail

    def describe(self) -> str:
        return f"{self}: {self.detail}" if self.detail else str(self)


class RetryableError(SinkError):
    """Try again later (network down, 5xx, 429, timeout). ``retry_after``: the receiver's wish, seconds."""

    def __init__(self, message: str, *, detail: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class PermanentError(SinkError):
    """Retrying cannot help (the receiver rejected the request): park the row as dead at once."""


class Sink(Protocol):
    """One destination for tips. Implementations: console, webhook, broker, telegram."""

    async def deliver(self, tip: dict[str, Any], *, key: str) -> None:
        """Deliver ``tip`` (``tip.v1``) once from the caller's point of view; ``key`` is the idempotency key.

        Return only when the destination has durably accepted it. Raise :class:`RetryableError` or
        :class:`PermanentError`; any other exception is treated as retryable.
        """
        ...

    async def aclose(self) -> None:
        """Release connections; the forwarder calls it once when it stops."""
        ...


@runtime_checkable
class TipCards(Protocol):
    """What the officers' Telegram group integration provides (``TelegramTipCards``)."""

    async def send_card(self, tip: Mapping[str, Any]) -> None:
        """Post (or update) the tip's card in the officers' group; idempotent per ``tip["reference"]``."""
        ...


class ConsoleSink:
    """The officers' console reads tips from the database: nothing to send, delivered at once."""

    async def deliver(self, tip: dict[str, Any], *, key: str) -> None:
        return None

    async def aclose(self) -> None:
        return None


class TelegramSink:
    """Hands the tip to the officers' Telegram group integration, which renders the card and buttons."""

    def __init__(self, cards: TipCards) -> None:
        self.cards = cards

    async def deliver(self, tip: dict[str, Any], *, key: str) -> None:
        try:
            await self.cards.send_card(tip)
        except SinkError:
            raise
        except Exception as exc:
            # The card sender says whether retrying can help (``permanent``) and how long Telegram wants us
            # to wait (``retry_after``); anything it does not classify is worth another try.
            if getattr(exc, "permanent", False):
                raise PermanentError(f"telegram: {exc}") from exc
            raise RetryableError(f"telegram: {exc}", retry_after=getattr(exc, "retry_after", None)) from exc

    async def aclose(self) -> None:
        return None


def build_sinks(settings: Settings, *, telegram_cards: TipCards | None = None) -> dict[str, Sink]:
    """One sink per name in ``settings.intake.sinks`` (plus ``console``, always on).

    Integrations are imported only when configured. Raises :class:`ConfigError` naming the missing key.
    """
    intake = settings.intake
    sinks: dict[str, Sink] = {"console": ConsoleSink()}
    for name in intake.sinks:
        if name == "webhook":
            from bot.intake.webhook import WebhookSink

            if not intake.webhook.url or not intake.webhook.secret:
                raise ConfigError("config: intake.webhook.url and intake.webhook.secret are required when "
                                  "intake.sinks includes webhook")
            sinks[name] = WebhookSink(intake.webhook.url, intake.webhook.secret,
                                      timeout=intake.webhook.timeout_seconds)
        elif name == "broker":
            from bot.intake.broker import BrokerSink

            if not intake.broker.url:
                raise ConfigError("config: intake.broker.url is required when intake.sinks includes broker")
            sinks[name] = BrokerSink(intake.broker.kind, intake.broker.url, intake.broker.subject)
        elif name == "telegram":
            if telegram_cards is None:
                raise ConfigError("config: intake.sinks includes telegram but no officers' group is set up "
                                  "(telegram.token and telegram.officers_chat_id)")
            sinks[name] = TelegramSink(telegram_cards)
    return sinks
