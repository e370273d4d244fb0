"""Before a file is stored: is this chat over its rate, or blocked? Asked before the first byte is written.

Uploads used to be sealed and written to disk before the engine's rate limiter and block check ran (a
blocked session stored 30 files of 1 MB, each answered 200). Channels that take files call :func:`refuse`
with the message minus its files; a non-None answer is the engine's own reply (slow down / blocked), and the
file is dropped unwritten.
"""

from __future__ import annotations

import time
from dataclasses import replace

import sqlalchemy as sa

from bot.runtime import Runtime
from handlers.messages import InboundMessage, OutboundMessage
from storage.conversations import chat_ref


async def refuse(runtime: Runtime, msg: InboundMessage) -> list[OutboundMessage] | None:
    """None: store the files and go on. Otherwise the replies to send instead (nothing was stored)."""
    engine = runtime.engine
    ref = chat_ref(runtime.cipher, msg.key)

    def blocked(conn: sa.Connection) -> bool:
        return engine.blocks.is_blocked(conn, channel=msg.channel, chat_ref=ref, now=msg.received_at,
                                        mono=time.monotonic())

    if engine.limiter.has_token(msg.key) and not await runtime.db.run(blocked):
        return None
    # The engine answers exactly as it would have (and counts the violation toward a block), without the files.
    return await engine.handle(replace(msg, attachments=(), text=msg.text or "", payload=None))
