"""The neutral message types that cross the channel edge.

Channel adapters turn a platform payload into an :class:`InboundMessage` and render
:class:`OutboundMessage` objects back; no SDK or web-framework type crosses this line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from storage.keys import Attachment, ConversationKey

__all__ = ["Attachment", "Button", "ConversationKey", "InboundMessage", "OutboundMessage"]


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One thing the parent did: typed text, pressed a button, or sent a file."""

    channel: str
    chat_id: str
    user_id: str
    message_id: str | None = None
    text: str | None = None
    payload: str | None = None
    attachments: tuple[Attachment, ...] = ()
    locale: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Channel-specific extras that the engine may use without knowing the platform, e.g. a
    # deep-link start parameter ("start_param") or a forwarded message's sender ("forwarded_from").
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(self.channel, self.chat_id)


@dataclass(frozen=True, slots=True)
class Button:
    """A choice the parent can press. ``id`` is short and ASCII (Telegram allows 64 bytes of callback data)."""

    id: str
    label: str


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message the bot sends back. Links are listed separately so channels can show them as inert text."""

    text: str
    buttons: tuple[Button, ...] = ()
    links: tuple[str, ...] = ()
    multi_select: bool = False
    urgent: bool = False
    request_contact: bool = False

    def to_json(self) -> dict[str, Any]:
        """The shape the HTTP API and web chat send."""
        out: dict[str, Any] = {"text": self.text, "buttons": [{"id": b.id, "label": b.label} for b in self.buttons]}
        if self.links:
            out["links"] = list(self.links)
        if self.multi_select:
            out["multi_select"] = True
        if self.urgent:
            out["urgent"] = True
        if self.request_contact:
            out["request_contact"] = True
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutboundMessage:
        return cls(
            text=str(data["text"]),
            buttons=tuple(Button(str(b["id"]), str(b["label"])) for b in data.get("buttons", ())),
            links=tuple(str(x) for x in data.get("links", ())),
            multi_select=bool(data.get("multi_select", False)),
            urgent=bool(data.get("urgent", False)),
            request_contact=bool(data.get("request_contact", False)),
        )
