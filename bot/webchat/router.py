"""Pages and files of the web chat: ``/`` (start page), ``/chat``, ``/widget.js``, ``/chat/static/*``.

Everything the browser loads comes from this router: no CDN, no external font, so the chat works on a
closed network, and the CSP can say ``default-src 'self'`` and mean it.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from bot.runtime import Runtime
from bot.webchat.api import make_api_router
from bot.webchat.pages import chat_page, start_page
from bot.webchat.protocol import SCHOOL_CODE
from bot.webchat.security import BASE_HEADERS, Sessions, clean_origins, page_headers
from bot.webchat.theme import Asset, Theme, load_static

_SCHOOL_RE = re.compile(SCHOOL_CODE)
IMMUTABLE = "public, max-age=31536000, immutable"


def _asset_response(asset: Asset, requested_version: str | None, *, cors: bool = False) -> Response:
    headers = dict(BASE_HEADERS)
    # A versioned URL never changes content; an unversioned one must be revalidated.
    headers["Cache-Control"] = IMMUTABLE if requested_version == asset.version else "no-cache"
    headers["ETag"] = f'"{asset.version}"'
    if cors:
        headers["Cross-Origin-Resource-Policy"] = "cross-origin"  # school sites load widget.js
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def make_router(runtime: Runtime) -> APIRouter:
    """Everything the web chat serves. Include it in the app; it owns ``/`` (the start page) too."""
    settings = runtime.settings
    theme = Theme.from_settings(settings)
    allowed = clean_origins(settings.webchat.allowed_origins)
    assets = load_static()
    theme_css = Asset.of(theme.css().encode(), "text/css; charset=utf-8")
    widget_src = assets["widget.js"].body.decode()
    widget = Asset.of(widget_src.replace("/*CONFIG*/null", theme.widget_config(settings.bot.default_locale))
                      .encode(), assets["widget.js"].media_type)
    default_lang = settings.bot.default_locale

    router = APIRouter()

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home(request: Request) -> HTMLResponse:
        # The officers' console link appears as soon as a /console route is part of the app, and not before:
        # a link to a page that does not exist yet would only confuse a first-time user.
        console = any(getattr(r, "path", "").startswith("/console") for r in request.app.routes)
        origin = str(request.base_url).rstrip("/")
        html = start_page(theme, assets, theme_css.version, police_name=settings.province.police_name,
                          origin=origin, console=console)
        return HTMLResponse(html, headers=page_headers())

    @router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
    async def chat(request: Request) -> HTMLResponse:
        q = request.query_params
        lang = q.get("lang") or default_lang
        if lang not in ("vi", "en"):
            lang = default_lang
        school = q.get("school")
        if school is not None and not _SCHOOL_RE.match(school):
            school = None  # a typo in an embed tag must not break the chat: the parent can still name the school
        html = chat_page(theme, assets, theme_css.version, lang=lang, school=school, embedded=q.get("embed") == "1")
        # No session here: the chat's first message gets a fresh one (bot/webchat/api.py, session fixation).
        return HTMLResponse(html, headers=page_headers(embeddable_by=allowed))

    @router.get("/chat/theme.css", include_in_schema=False)
    async def theme_file(v: str | None = None) -> Response:
        return _asset_response(theme_css, v)

    @router.get("/chat/static/{name}", include_in_schema=False)
    async def static(name: str, v: str | None = None) -> Response:
        asset = assets.get(name)
        if asset is None or name == "widget.js":
            return Response("not found", status_code=404, media_type="text/plain", headers=BASE_HEADERS)
        return _asset_response(asset, v)

    @router.get("/widget.js", include_in_schema=False)
    async def widget_js() -> Response:
        response = _asset_response(widget, None, cors=True)
        # Embedded in school pages we cannot update: a short cache lets a colour or title change reach them.
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    router.include_router(make_api_router(runtime, allowed, Sessions(runtime.cipher.index_key)))
    return router
