"""The fake Telegram Bot API (tests/e2e/telegram/fakebot.py) holding the bot to Telegram's limits as Telegram
does: more than 30 messages in any second, or two to one chat less than a second apart, get 429 with
``retry_after`` — and each is counted as a violation, so a test can say no limit was exceeded. Chats in
``blocked`` answer 403 "bot was blocked by the user"."""

from __future__ import annotations

import collections
import json
import time
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.e2e.telegram.fakebot import FakeBotAPI

OVERALL_PER_SECOND = 30
CHAT_INTERVAL = 1.0


class StrictBotAPI(FakeBotAPI):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.violations: list[tuple[str, float, str]] = []  # (what, when, chat)
        self.blocked: set[str] = set()
        self._recent: collections.deque[float] = collections.deque()
        self._last_in_chat: dict[str, float] = {}

    def _limited(self, chat: str, at: float) -> str | None:
        with self.lock:
            while self._recent and self._recent[0] <= at - 1.0:
                self._recent.popleft()
            if len(self._recent) >= OVERALL_PER_SECOND:
                self.violations.append(("overall", at, chat))
                return "overall"
            previous = self._last_in_chat.get(chat)
            if previous is not None and at - previous < CHAT_INTERVAL:
                self.violations.append(("chat", at, chat))
                return "chat"
            self._recent.append(at)
            self._last_in_chat[chat] = at
        return None

    async def _send_message(self, params: dict[str, Any], request: Request | None = None) -> tuple[int, Any]:
        chat = str(params.get("chat_id"))
        if chat in self.blocked:
            return 403, "Forbidden: bot was blocked by the user"
        if self._limited(chat, time.monotonic()) is not None:
            return 429, "Too Many Requests: retry after 1"
        return await super()._send_message(params, request)

    async def _api(self, request: Request) -> Response:
        response = await super()._api(request)
        if response.status_code == 429:  # as Telegram: how long to wait travels in the answer
            body = json.loads(bytes(response.body))
            body.setdefault("parameters", {"retry_after": 1})
            return JSONResponse(body, status_code=429)
        return response

    def delivered(self, text_part: str = "") -> Counter[str]:
        """Chat id → how many messages containing ``text_part`` it received (200s only)."""
        return Counter(c.chat_id or "" for c in self.calls_to("sendMessage", ok=True)
                       if text_part in str(c.params.get("text", "")))

    def max_per_second(self) -> int:
        """The most accepted messages in any one-second window (the fake's own clock)."""
        times = sorted(c.at for c in self.calls_to("sendMessage", ok=True))
        best, start = 0, 0
        for end, t in enumerate(times):
            while times[start] <= t - 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best
