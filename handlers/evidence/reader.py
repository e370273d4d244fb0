"""Before a turn: read the files a message carries, off the event loop, and hand the turn what was read.

The engine calls :class:`EvidenceReader` with each inbound message (inside the conversation's lock, so a
chat's messages stay in order); files are opened from their sealed copies, read in the worker pool, and
the readings travel in ``extras["evidence"]`` — JSON, secrets already masked.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

from handlers.evidence.apps import OfficialApp, load_apps
from handlers.evidence.dialogue import Moves, handle_evidence
from handlers.evidence.limits import Limits, Unreadable
from handlers.evidence.pool import EvidencePool
from handlers.evidence.work import EXTRAS_KEY, Reading, read_file
from handlers.flowload import FlowSet
from handlers.messages import Attachment, InboundMessage
from handlers.turn import Turn
from storage.crypto import Cipher
from storage.files import RejectedFile, read_attachment

log = logging.getLogger(__name__)

MAX_FILES = 5  # per message, as many as a report keeps


class EvidenceReader:
    """``await reader(msg)`` → the message with ``extras["evidence"]`` when it carried files."""

    def __init__(self, pool: EvidencePool, cipher: Cipher, *, apps: tuple[OfficialApp, ...] | None = None) -> None:
        self.pool = pool
        self.cipher = cipher
        self.apps = load_apps() if apps is None else apps

    @property
    def limits(self) -> Limits:
        return self.pool.limits

    async def read_bytes(self, data: bytes, file_name: str | None = None) -> Reading:
        """One file's reading (never raises: failures are readings with an ``error``)."""
        try:
            result = await self.pool.run(read_file, data, file_name, self.limits)
        except Unreadable as exc:
            kind = "apk" if data[:4] == b"PK\x03\x04" else "image"
            return Reading(kind, error=exc.reason, detail=str(exc), file_name=file_name)
        return Reading.from_json(result)

    async def _read_one(self, attachment: Attachment) -> Reading:
        if attachment.path is None:
            return Reading("image", error="unreadable", sha256=attachment.sha256)
        try:
            data = await asyncio.to_thread(read_attachment, Path(attachment.path), attachment.sha256,
                                           cipher=self.cipher)
        except (OSError, RejectedFile, ValueError) as exc:
            log.warning("evidence: a stored attachment could not be opened: %s", type(exc).__name__)
            return Reading("image", error="unreadable", sha256=attachment.sha256)
        reading = await self.read_bytes(data, attachment.file_name)
        return replace(reading, sha256=attachment.sha256)

    async def __call__(self, msg: InboundMessage) -> InboundMessage:
        if not msg.attachments:
            return msg
        readings = [await self._read_one(a) for a in msg.attachments[:MAX_FILES]]
        return replace(msg, extras={**msg.extras, EXTRAS_KEY: [r.to_json() for r in readings]})

    def handle_turn(self, moves: Moves, turn: Turn, flows: FlowSet) -> bool:
        """Inside the turn: show, check and pre-fill what was read (or a forwarded message). False: nothing to do."""
        return handle_evidence(moves, turn, flows, apps=self.apps, cipher=self.cipher)

    def close(self) -> None:
        self.pool.close()
