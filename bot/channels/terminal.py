"""The terminal channel (``hotline chat``): buttons become numbered options.

Interactive on a TTY; when stdin is a pipe every line is one message, so a conversation can be replayed
from a file. ``@path/to/screenshot.png`` sends a file; ``#id`` presses the button with that id.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from typing import TextIO

from bot.runtime import Runtime
from handlers.messages import Attachment, InboundMessage, OutboundMessage
from storage.files import RejectedFile, store_attachment

CHANNEL = "terminal"


def render(messages: list[OutboundMessage]) -> str:
    """Plain text with numbered options, the fallback for any channel without buttons."""
    out: list[str] = []
    for m in messages:
        out.append(m.text)
        for i, b in enumerate(m.buttons, 1):
            out.append(f"  {i}. {b.label}")
        out.extend(f"  🔗 {link}" for link in m.links)
        out.append("")
    return "\n".join(out)


class TerminalChannel:
    def __init__(self, runtime: Runtime, *, chat_id: str, out: TextIO = sys.stdout) -> None:
        self.runtime = runtime
        self.chat_id = chat_id
        self.out = out
        self.last_buttons: list[str] = []

    async def _to_inbound(self, line: str) -> InboundMessage:
        text: str | None = line
        payload: str | None = None
        attachments: tuple[Attachment, ...] = ()
        stripped = line.strip()
        if stripped.isdigit() and 1 <= int(stripped) <= len(self.last_buttons):
            text, payload = None, self.last_buttons[int(stripped) - 1]
        elif stripped.startswith("#") and len(stripped) > 1:
            text, payload = None, stripped[1:]
        elif stripped.startswith("@") and len(stripped) > 1:
            path = Path(stripped[1:])
            try:
                data = await asyncio.to_thread(path.read_bytes)
                attachments = (await asyncio.to_thread(
                    store_attachment, self.runtime.data_dir, data, cipher=self.runtime.cipher, file_name=path.name),)
                text = None
            except (OSError, RejectedFile) as exc:
                self.out.write(f"(không gửi được tệp: {exc})\n")
        return InboundMessage(channel=CHANNEL, chat_id=self.chat_id, user_id=self.chat_id,
                              message_id=uuid.uuid4().hex, text=text, payload=payload, attachments=attachments)

    async def send(self, line: str) -> list[OutboundMessage]:
        replies = await self.runtime.engine.handle(await self._to_inbound(line))
        self.last_buttons = [b.id for m in replies for b in m.buttons]
        self.out.write(render(replies))
        self.out.flush()
        return replies

    async def run(self, stdin: TextIO = sys.stdin, *, echo: bool = False) -> None:
        interactive = stdin.isatty()
        if interactive:
            self.out.write("Hotline — gõ tin nhắn, số thứ tự để chọn, Ctrl-D để thoát.\n\n")
        while True:
            if interactive:
                self.out.write("> ")
                self.out.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if echo:
                self.out.write(f"> {line}\n")
            await self.send(line)
