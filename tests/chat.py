"""A tiny conversation driver for tests: a real Engine on a real database, one chat at a time."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from handlers.checking import AsksChecker, Checker
from handlers.engine import Engine, EngineConfig
from handlers.flowload import DEFAULT_FLOWS_DIR, FlowRegistry
from handlers.messages import Attachment, InboundMessage, OutboundMessage
from storage.db import Database

_ids = itertools.count(1)


def make_engine(db: Database, *, flows_dir: Path = DEFAULT_FLOWS_DIR, checker: Checker | None = None,
                **config: object) -> Engine:
    cfg = EngineConfig(variables={"police_name": "Công an tỉnh", "province_name": "Tỉnh Thử",
                                  "province_hotline": "0290 000 113", "province_email": "tip@example.vn"},
                       **config)  # type: ignore[arg-type]
    return Engine(db, FlowRegistry(flows_dir, check_every=0), checker=checker or AsksChecker(), config=cfg)


@dataclass
class Chat:
    engine: Engine
    chat_id: str = "parent-1"
    channel: str = "test"
    last: list[OutboundMessage] = field(default_factory=list)

    async def send(self, text: str | None = None, *, payload: str | None = None, message_id: str | None = None,
                   attachments: tuple[Attachment, ...] = ()) -> list[OutboundMessage]:
        msg = InboundMessage(channel=self.channel, chat_id=self.chat_id, user_id=self.chat_id,
                             message_id=message_id or f"m{next(_ids)}", text=text, payload=payload,
                             attachments=attachments)
        self.last = await self.engine.handle(msg)
        return self.last

    async def press(self, label_part: str) -> list[OutboundMessage]:
        """Press the button whose label contains ``label_part`` in the last replies."""
        for m in reversed(self.last):
            for b in m.buttons:
                if label_part.lower() in b.label.lower():
                    return await self.send(payload=b.id)
        raise AssertionError(f"no button with {label_part!r} in {self.buttons()}")

    def buttons(self) -> list[str]:
        return [b.label for m in self.last for b in m.buttons]

    def text(self) -> str:
        return "\n".join(m.text for m in self.last)
