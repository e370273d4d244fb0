"""``/docs`` (off by default: ``server.api_docs``). When on, it carries a CSP naming exactly what it loads.

FastAPI's Swagger UI page loads its script and style from a CDN and starts itself with one inline script;
the policy allows that CDN and that one script (by its hash) and nothing else. ``/openapi.json`` is always
served and is enough for any client generator.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CDN = "https://cdn.jsdelivr.net"
_INLINE = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def docs_csp(html: bytes) -> str:
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(m).digest()).decode()}'"
                      for m in _INLINE.findall(html))
    return "; ".join((
        "default-src 'none'", f"script-src {CDN} {hashes}".strip(), f"style-src {CDN}",
        "img-src 'self' data: https://fastapi.tiangolo.com", "connect-src 'self'", "base-uri 'none'",
        "form-action 'none'", "frame-ancestors 'none'",
    ))


class DocsCsp:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != "/docs":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            assert start is not None
            html = b"".join(chunks)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers += [(b"content-security-policy", docs_csp(html).encode()), (b"x-frame-options", b"DENY"),
                        (b"referrer-policy", b"no-referrer"), (b"content-length", str(len(html)).encode())]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": html})

        await self.app(scope, receive, capture)


def install_docs_csp(app: FastAPI) -> None:
    app.add_middleware(DocsCsp)
