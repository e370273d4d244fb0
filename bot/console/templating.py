"""Rendering console pages: one Jinja2 environment (autoescape on), one base layout, strict headers.

Pages carry no inline script or style: the CSP says ``script-src 'self'; style-src 'self'``, so an injected
``<script>`` or ``onerror=`` attribute in a tip's text can never run, even if escaping were ever missed.
Strings are written in Vietnamese in the templates and translated with ``_("…")`` from ``locale/en_*.yaml``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from bot.webchat.security import BASE_HEADERS, csp
from handlers import yamlio

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
LOCALE_DIR = HERE / "locale"
LANGS = ("vi", "en")
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


def page_headers() -> dict[str, str]:
    """Console pages: never framed, never cached (they show personal data), nothing from elsewhere."""
    headers = dict(BASE_HEADERS)
    headers["Content-Security-Policy"] = csp()
    headers["X-Frame-Options"] = "DENY"
    headers["Cache-Control"] = "no-store"
    # Not "no-referrer": with it Chromium sends "Origin: null" on form posts, and the CSRF check must be able to
    # tell our own forms from another site's. Same-origin still sends nothing to any other site.
    headers["Referrer-Policy"] = "same-origin"
    return headers


def load_english() -> dict[str, str]:
    """Every ``locale/en_*.yaml`` merged: Vietnamese source string → English. Each page owns its file."""
    merged: dict[str, str] = {}
    for path in sorted(LOCALE_DIR.glob("en_*.yaml")):
        data = yamlio.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path.name}: expected a mapping of Vietnamese → English strings")
        merged.update({str(k): str(v) for k, v in data.items()})
    return merged


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    media_type: str
    version: str


def load_static() -> dict[str, StaticFile]:
    files: dict[str, StaticFile] = {}
    for path in sorted(STATIC_DIR.iterdir()):
        if path.suffix in _TYPES:
            body = path.read_bytes()
            files[path.name] = StaticFile(body, _TYPES[path.suffix], hashlib.sha256(body).hexdigest()[:12])
    return files


def local_time(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored UTC time as the province reads it (Vietnam has one time zone and no DST)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL_TZ).strftime(fmt)


class Renderer:
    """Renders templates with what every page needs: the signed-in user, the CSRF token, the language."""

    def __init__(self, *, title: str, police_name: str) -> None:
        self.english = load_english()
        self.static = load_static()
        self.title = title
        self.police_name = police_name
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,  # every template, whatever its name
            undefined=jinja2.StrictUndefined,  # a typo in a template is an error in tests, not a blank
            trim_blocks=True, lstrip_blocks=True,
        )
        self.env.filters["localtime"] = local_time
        self.env.globals["static"] = self.static_url

    def static_url(self, name: str) -> str:
        return f"/console/static/{name}?v={self.static[name].version}"

    def translator(self, lang: str) -> Any:
        english = self.english

        def translate(text: str, **values: Any) -> str:
            out = english.get(text, text) if lang == "en" else text
            return out.format(**values) if values else out

        return translate

    def render(self, request: Request, name: str, context: Mapping[str, Any] | None = None, *,
               status: int = 200) -> HTMLResponse:
        lang = request_lang(request)
        ctx: dict[str, Any] = {
            "request": request,
            "lang": lang,
            "_": self.translator(lang),
            "user": getattr(request.state, "user", None),
            "csrf": getattr(request.state, "csrf", ""),
            "site_title": self.title,
            "police_name": self.police_name,
            "path": request.url.path,
        }
        ctx.update(context or {})
        html = self.env.get_template(name).render(ctx)
        return HTMLResponse(html, status_code=status, headers=page_headers())


def request_lang(request: Request) -> str:
    """``?lang=`` wins, then the ``hotline_lang`` cookie, then Vietnamese."""
    lang = request.query_params.get("lang") or request.cookies.get("hotline_lang") or "vi"
    return lang if lang in LANGS else "vi"


def local_day(text: str, *, end: bool) -> datetime | None:
    """A date from the form (local calendar day) as the UTC instant it starts (or the next day starts)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    start = datetime.combine(day + timedelta(days=1) if end else day, time(0), tzinfo=LOCAL_TZ)
    return start.astimezone(UTC)
