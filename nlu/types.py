"""The two value types the rest of Hotline sees from nlu/: an entity and a parse result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Entity:
    """One thing found in a message, with offsets into the text exactly as the parent typed it.

    ``value`` is normalised per kind: E.164 string for ``phone_number``, int đồng for ``money_amount``,
    ISO 8601 (+07:00) string for ``date_time``, a role code for ``claimed_role``, a canonical app name for
    ``app_name``, digits only for ``otp_code``/``card_number``/``bank_account``, the text as written otherwise.
    ``otp_code`` and ``card_number`` values are secrets: never store or log them (redaction covers the text).
    """

    entity: str
    value: Any
    start: int
    end: int
    text: str

    def to_rasa(self) -> dict[str, Any]:
        """The entity in Rasa's ``/model/parse`` shape (plus the matched text, which Rasa omits)."""
        return {"entity": self.entity, "value": self.value, "start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class Parse:
    """What one message means: the best intent, its probability, the full ranking and the entities."""

    text: str
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]
    entities: tuple[Entity, ...]

    def to_rasa(self) -> dict[str, Any]:
        """Rasa's ``/model/parse`` response shape, so tools written for Rasa can read ours unchanged."""
        return {
            "text": self.text,
            "intent": {"name": self.intent, "confidence": self.confidence},
            "intent_ranking": [{"name": name, "confidence": conf} for name, conf in self.ranking],
            "entities": [e.to_rasa() for e in self.entities],
        }

    def entity_values(self, kind: str) -> list[Any]:
        """Values of every entity of ``kind``, in text order."""
        return [e.value for e in self.entities if e.entity == kind]
