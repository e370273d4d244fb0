"""A thin httpx client for the Zalo OA Open API v3 and OAuth v4 (no official maintained Python SDK exists).

Endpoints, as documented on developers.zalo.me and used by the integrations cited in the package docstring:

- ``POST {api_base}/v3.0/oa/message/cs`` — customer-service ("tư vấn") message, JSON body, the OA access
  token in an ``access_token`` header; the answer is ``{"error": 0, "message", "data": {"message_id"}}`` or a
  negative ``error`` (see :mod:`.errors`);
- ``GET {api_base}/v3.0/oa/user/detail?data={"user_id": …}`` — a follower's details (``user_is_follower``);
- ``GET {api_base}/v2.0/oa/getoa`` — the OA itself (``hotline zalo info``);
- ``GET {oauth_base}/v4/oa/permission?app_id&redirect_uri&code_challenge&state`` — where an OA admin grants
  the app access (PKCE: ``code_challenge = base64url(sha256(code_verifier))`` without padding);
- ``POST {oauth_base}/v4/oa/access_token`` — form-encoded, the app secret in a ``secret_key`` header, either
  ``code, app_id, grant_type=authorization_code, code_verifier`` or ``refresh_token, app_id,
  grant_type=refresh_token``; the answer is ``{"access_token", "refresh_token", "expires_in": "90000"}``
  (seconds, often as a string) or ``{"error": <negative>, "error_name", "error_description"}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.settings import ZaloSettings


class ZaloUnavailable(Exception):
    """Zalo could not be reached or answered with a server error: try again later."""


class OAuthRefused(Exception):
    """The OAuth endpoint refused the code or refresh token (retrying with it will not help)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Reply:
    code: int  # Zalo's "error": 0 is success
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: float  # seconds the access token lives
    refresh_expires_in: float | None = None


def _seconds(value: Any) -> float | None:
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


class ZaloClient:
    """One connection pool for every call to Zalo; safe to share between tasks."""

    def __init__(self, settings: ZaloSettings, *, timeout: float = 15.0) -> None:
        self.settings = settings
        self.api = settings.api_base.rstrip("/")
        self.oauth = settings.oauth_base.rstrip("/")
        # Redirects are not followed: every endpoint answers directly, and a redirect from a media URL is
        # followed by hand (download) so the size cap still applies.
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                                       limits=httpx.Limits(max_connections=16, max_keepalive_connections=16))

    async def aclose(self) -> None:
        await self._http.aclose()

    # ----- OA API ---------------------------------------------------------------------------------------------
    async def _reply(self, request: httpx.Request) -> Reply:
        try:
            response = await self._http.send(request)
        except httpx.HTTPError as exc:
            raise ZaloUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 429:
            return Reply(-32, "HTTP 429")
        if response.status_code >= 500:
            raise ZaloUnavailable(f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise ZaloUnavailable(f"HTTP {response.status_code}, not JSON") from None
        if not isinstance(body, dict) or isinstance(body.get("error"), bool):
            raise ZaloUnavailable(f"HTTP {response.status_code}, unexpected answer")
        try:
            code = int(body.get("error", 0 if response.is_success else -1))
        except (TypeError, ValueError):
            code = -1
        data = body.get("data")
        return Reply(code, str(body.get("message", ""))[:300], data if isinstance(data, dict) else {})

    async def send_message(self, access_token: str, body: dict[str, Any]) -> Reply:
        request = self._http.build_request("POST", f"{self.api}/v3.0/oa/message/cs", json=body,
                                           headers={"access_token": access_token})
        return await self._reply(request)

    async def user_detail(self, access_token: str, user_id: str) -> Reply:
        request = self._http.build_request("GET", f"{self.api}/v3.0/oa/user/detail",
                                           params={"data": json.dumps({"user_id": user_id})},
                                           headers={"access_token": access_token})
        return await self._reply(request)

    async def oa_info(self, access_token: str) -> Reply:
        request = self._http.build_request("GET", f"{self.api}/v2.0/oa/getoa", headers={"access_token": access_token})
        return await self._reply(request)

    async def download(self, url: str, *, max_bytes: int, redirects: int = 3) -> bytes | None:
        """The bytes at ``url`` (a media URL from an event), or None when larger than ``max_bytes``."""
        for _ in range(redirects + 1):
            try:
                async with self._http.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = str(response.url.join(response.headers["location"]))
                        continue
                    if response.status_code >= 400:
                        raise ZaloUnavailable(f"media: HTTP {response.status_code}")
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
                raise ZaloUnavailable(f"media: {type(exc).__name__}: {exc}") from exc
        raise ZaloUnavailable("media: too many redirects")

    # ----- OAuth v4 -------------------------------------------------------------------------------------------
    def permission_url(self, *, code_challenge: str, state: str) -> str:
        query = urlencode({"app_id": self.settings.app_id, "redirect_uri": self.settings.redirect_uri,
                           "code_challenge": code_challenge, "state": state})
        return f"{self.oauth}/v4/oa/permission?{query}"

    async def _token(self, form: dict[str, str]) -> TokenPair:
        try:
            response = await self._http.post(f"{self.oauth}/v4/oa/access_token", data=form,
                                             headers={"secret_key": self.settings.app_secret})
        except httpx.HTTPError as exc:
            raise ZaloUnavailable(f"OAuth: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise ZaloUnavailable(f"OAuth: HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise ZaloUnavailable(f"OAuth: HTTP {response.status_code}, not JSON") from None
        if not isinstance(body, dict):
            raise ZaloUnavailable("OAuth: unexpected answer")
        access, refresh = body.get("access_token"), body.get("refresh_token")
        lifetime = _seconds(body.get("expires_in"))
        if isinstance(access, str) and access and isinstance(refresh, str) and refresh and lifetime:
            return TokenPair(access, refresh, lifetime, _seconds(body.get("refresh_token_expires_in")))
        try:
            code = int(body.get("error", 0))
        except (TypeError, ValueError):
            code = 0
        message = str(body.get("error_description") or body.get("error_name") or body.get("message")
                      or "no token in the answer")
        raise OAuthRefused(code, message[:300])

    async def exchange_code(self, code: str, code_verifier: str) -> TokenPair:
        return await self._token({"code": code, "app_id": self.settings.app_id, "grant_type": "authorization_code",
                                  "code_verifier": code_verifier})

    async def refresh(self, refresh_token: str) -> TokenPair:
        return await self._token({"refresh_token": refresh_token, "app_id": self.settings.app_id,
                                  "grant_type": "refresh_token"})
