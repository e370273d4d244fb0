"""A thin httpx client for the Zalo Bot Platform API: ``POST {api_base}/bot{token}/{method}`` with a JSON body.

Every answer is ``{"ok": bool, "result": …, "error_code": int, "description": str}`` — and Zalo answers an error
with HTTP 200 and ``ok: false`` (a bad token is ``{"ok": false, "error_code": 401}`` over HTTP 200), so the
body, not the HTTP status, says what happened. HTTP 429 and 5xx are read as the error codes they stand for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from bot.settings import ZaloBotSettings


class ZaloBotUnavailable(Exception):
    """The Bot API could not be reached or did not answer in its own shape: try again later."""


@dataclass(frozen=True, slots=True)
class Reply:
    ok: bool
    result: Any = None
    error_code: int = 0
    description: str = ""

    @property
    def error(self) -> str:
        return f"Zalo Bot {self.error_code}: {self.description}".strip()


class ZaloBotClient:
    """One connection pool for every call; safe to share between tasks. The token is part of every URL, so
    URLs are never logged."""

    def __init__(self, settings: ZaloBotSettings, *, timeout: float = 15.0) -> None:
        self.base = f"{settings.api_base.rstrip('/')}/bot{settings.token}"
        # Redirects are followed by hand in download (so the size cap holds); the API itself never redirects.
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                                       limits=httpx.Limits(max_connections=16, max_keepalive_connections=16))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Reply:
        try:
            response = await self._http.post(f"{self.base}/{method}", json=params or {})
        except httpx.HTTPError as exc:
            raise ZaloBotUnavailable(f"{method}: {type(exc).__name__}") from None  # the URL holds the token
        if response.status_code >= 500:
            raise ZaloBotUnavailable(f"{method}: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            if response.status_code == 429:
                return Reply(False, error_code=429, description="HTTP 429")
            raise ZaloBotUnavailable(f"{method}: HTTP {response.status_code}, not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
            raise ZaloBotUnavailable(f"{method}: HTTP {response.status_code}, unexpected answer")
        if body["ok"]:
            return Reply(True, body.get("result"))
        try:
            code = int(body.get("error_code") or response.status_code)
        except (TypeError, ValueError):
            code = response.status_code
        return Reply(False, error_code=code, description=str(body.get("description", ""))[:300])

    async def send_message(self, chat_id: str, text: str) -> Reply:
        return await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def send_photo(self, chat_id: str, photo: str, caption: str | None = None) -> Reply:
        params = {"chat_id": chat_id, "photo": photo}
        if caption:
            params["caption"] = caption
        return await self.call("sendPhoto", params)

    async def get_me(self) -> Reply:
        return await self.call("getMe")

    async def set_webhook(self, url: str, secret_token: str) -> Reply:
        return await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> Reply:
        return await self.call("deleteWebhook")

    async def get_webhook_info(self) -> Reply:
        return await self.call("getWebhookInfo")

    async def download(self, url: str, *, max_bytes: int, redirects: int = 3) -> bytes | None:
        """The bytes of a photo a parent sent (its ``message.photo`` URL), or None when over ``max_bytes``."""
        for _ in range(redirects + 1):
            try:
                async with self._http.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = str(response.url.join(response.headers["location"]))
                        continue
                    if response.status_code >= 400:
                        raise ZaloBotUnavailable(f"photo: HTTP {response.status_code}")
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        return None
                    chunks: list[bytes] = []
                    total = 0
                    async for chunk in response.aiter_bytes():
                        total += len(chunk)
                        if total > max_bytes:
                            return None  # stop reading: a cap is a cap, whatever the headers said
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.HTTPError as exc:
                raise ZaloBotUnavailable(f"photo: {type(exc).__name__}: {exc}") from exc
        raise ZaloBotUnavailable("photo: too many redirects")
