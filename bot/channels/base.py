"""The channel contract: what every platform adapter (web chat, HTTP API, terminal, Telegram, Zalo) provides.

A channel has two jobs and no others:

1. **parse** the platform's payload into neutral :class:`~handlers.messages.InboundMessage` objects (the
   engine never sees an SDK or web-framework type), and
2. **send** neutral :class:`~handlers.messages.OutboundMessage` objects to one chat, falling back by
   capability (inline buttons → numbered options on a plain-text platform; images → a caption; links →
   inert text), and report a failure *by meaning* with :class:`DeliveryFailure`, so callers (the officers'
   follow-up questions, live hand-off, outcome notices, broadcasts) decide what to do without knowing the
   platform: retry later, give up on this recipient, or mark them as having blocked the bot.

Channels are registered by their config string in a :class:`ChannelRegistry` built at start-up; anything
that must reach a parent outside a reply (an officer's question, a broadcast) looks the channel up there.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from handlers.messages import InboundMessage, OutboundMessage


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a platform can show; senders degrade gracefully where it cannot."""

    buttons: bool = True  # inline buttons (else numbered text options)
    images: bool = False  # can send an image
    clickable_links: bool = False  # we still send links inert; this says whether the platform would link them
    max_text: int = 4000  # longer texts are split
    push: bool = True  # can reach the parent outside a reply (False: delivered on their next visit/request)


class FailureReason(enum.Enum):
    """Why a message could not be delivered, in terms a caller acts on."""

    BLOCKED = "blocked"  # the person blocked the bot / unfollowed: skip them from now on
    OUT_OF_WINDOW = "out_of_window"  # the platform forbids messaging them now (interaction window): record, stop
    INVALID_RECIPIENT = "invalid_recipient"  # no such chat: record, stop
    RATE_LIMITED = "rate_limited"  # slow down; ``retry_after`` says how long
    TRANSIENT = "transient"  # network or server trouble: retry later
    PERMANENT = "permanent"  # anything else retrying will not fix (bad token, malformed message)

    @property
    def retryable(self) -> bool:
        return self in (FailureReason.RATE_LIMITED, FailureReason.TRANSIENT)


class DeliveryFailure(Exception):
    """Raised by :meth:`Channel.send` when a message did not reach the chat."""

    def __init__(self, reason: FailureReason, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message or reason.value)
        self.reason = reason
        self.retry_after = retry_after


@runtime_checkable
class Channel(Protocol):
    """One messaging platform, seen by the engine and by everything that writes to parents.

    Implementations must be safe to share between tasks and must not keep conversation state in memory
    (the engine owns state; a channel may keep connections and rate-limit buckets).
    """

    #: The config string and the ``channel`` of every :class:`~handlers.messages.ConversationKey` it serves.
    name: str
    capabilities: Capabilities

    def parse(self, payload: Mapping[str, Any]) -> Sequence[InboundMessage]:
        """The neutral messages in one platform payload (empty for events we ignore, e.g. a sticker)."""
        ...

    async def send(self, chat_id: str, messages: Sequence[OutboundMessage]) -> None:
        """Deliver ``messages`` to ``chat_id`` in order, or raise :class:`DeliveryFailure`.

        A channel that cannot push (``capabilities.push`` is False) stores them durably for the parent's
        next visit and returns: that counts as delivered to the channel.
        """
        ...


class ChannelRegistry:
    """The channels this process serves, by name. Built once at start-up; no global state."""

    def __init__(self) -> None:
        self._channels: dict[str, Channel] = {}

    def register(self, channel: Channel) -> None:
        if channel.name in self._channels:
            raise ValueError(f"channel {channel.name!r} registered twice")
        self._channels[channel.name] = channel

    def get(self, name: str) -> Channel | None:
        return self._channels.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._channels

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._channels.values())
