"""A tiny conversation driver for tests: a real Engine on a real database, one chat at a time."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.runtime import load_nlu
from handlers.checking import Checker
from handlers.checks.dialogue import DirectoryChecker
from handlers.engine import Engine, EngineConfig
from handlers.flowload import DEFAULT_FLOWS_DIR, FlowRegistry
from handlers.messages import Attachment, InboundMessage, OutboundMessage
from nlu.api import NluEngine
from storage.crypto import Cipher, new_key
from storage.db import Database
from storage.schema import conversations, tips
from storage.tips import open_data

_ids = itertools.count(1)


TEST_CIPHER = Cipher.from_config({"k1": new_key()}, "k1", new_key())


@lru_cache(maxsize=1)
def test_nlu() -> NluEngine:
    """The intent model trained once per run (see tests/conftest.py)."""
    return load_nlu(Path(os.environ.get("HOTLINE_TEST_NLU_MODEL", "var/test-nlu-model.npz")))


def make_engine(db: Database, *, flows_dir: Path = DEFAULT_FLOWS_DIR, checker: Checker | None = None,
                cipher: Cipher = TEST_CIPHER, nlu: bool = True, **config: object) -> Engine:
    # Generous limits by default: a scripted test types faster than any parent.
    config.setdefault("user_burst", 10_000)
    cfg = EngineConfig(variables={"police_name": "Công an tỉnh", "province_name": "Tỉnh Thử",
                                  "province_hotline": "0290 000 113", "province_email": "tip@example.vn"},
                       **config)  # type: ignore[arg-type]
    return Engine(db, FlowRegistry(flows_dir, check_every=0), checker=checker or DirectoryChecker(cipher), config=cfg,
                  cipher=cipher, understand=test_nlu().parse if nlu else None)


async def tip_rows(db: Database, cipher: Cipher = TEST_CIPHER) -> list[dict[str, Any]]:
    """Every tip with its report opened (tests read what the police would)."""

    def read(conn: sa.Connection) -> list[dict[str, Any]]:
        rows = conn.execute(sa.select(tips).order_by(tips.c.id)).mappings().all()
        return [{**row, "data": open_data(cipher, row["id"], row["data"])} for row in rows]

    return await db.run(read)


async def conversation_states(db: Database, cipher: Cipher = TEST_CIPHER) -> list[dict[str, Any]]:
    def read(conn: sa.Connection) -> list[dict[str, Any]]:
        rows = conn.execute(sa.select(conversations.c.chat_ref, conversations.c.state)).all()
        return [cipher.open_json(r.state, aad=f"conversations.state:{r.chat_ref}") for r in rows]

    return await db.run(read)


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
