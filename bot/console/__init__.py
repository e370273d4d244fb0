"""The officers' and admins' console, served by ``hotline serve`` under ``/console``.

Server-rendered pages (Jinja2, autoescape) with a little local JavaScript; no CDN, strict CSP. Each part of
the console is its own module with its own router, templates and ``locale/en_<part>.yaml``:

- :mod:`bot.console.auth` — accounts, sessions, CSRF, TOTP, lockout; ``current_user`` for every page
- :mod:`bot.console.login` — sign-in / sign-out / TOTP enrolment pages; admins' account pages
- :mod:`bot.console.queue_pages` — the tip queue, search, bulk actions
- :mod:`bot.console.tip_pages` — one tip: fields, attachments, checks, cluster, notes, history, audit trail
- :mod:`bot.console.tip_actions` — the workflow forms of a tip (status, assignment, notes, blocklist, referrals)
- :mod:`bot.console.export` — a tip or its cluster as an evidence bundle for investigators
- :mod:`bot.console.conversation` — questions to the parent and the live "gặp cán bộ" hand-off
- :mod:`bot.console.audit_pages` — supervisors read and filter the audit log
- :mod:`bot.console.dashboard` — the dashboard (charts, exports) and the monthly report to the People's Committee
- :mod:`bot.console.alerts_pages` — campaign alerts: acknowledge, blocklist, awareness drafts
- :mod:`bot.console.agency_pages` — schools' and communes' incident reports; their binding and directory reviews
- :mod:`bot.console.content_flows` / ``content_preview`` — admins edit, preview, publish and roll back the flows
- :mod:`bot.console.content_faq`, ``content_directory``, ``content_units``, ``content_lists`` — FAQ, school
  directory (CSV import with progress), police units, blocklist and reference domains
- :mod:`bot.console.broadcasts` — awareness warnings to subscribed parents: compose, send, watch, steer
"""

from __future__ import annotations

import importlib
import logging
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import RedirectResponse, Response

from bot.console.auth import ConsoleUser, current_user, landing
from bot.console.templating import Renderer
from bot.runtime import Runtime
from bot.webchat.security import BASE_HEADERS

log = logging.getLogger(__name__)

# The console's parts, in the order their routes are matched. Each module has ``make_router(runtime, renderer)``.
PARTS = ("login", "queue_pages", "tip_pages", "tip_actions", "export", "conversation", "audit_pages", "dashboard",
         "alerts_pages", "agency_pages", "content_flows", "content_preview", "content_faq", "content_directory",
         "content_units", "content_lists", "broadcasts")


def make_router(runtime: Runtime) -> APIRouter:
    """Every console route, its static files and its renderer."""
    settings = runtime.settings
    renderer = Renderer(title=settings.webchat.title, police_name=settings.province.police_name)
    router = APIRouter(include_in_schema=False)

    @router.get("/console")
    async def home(user: Annotated[ConsoleUser, Depends(current_user)]) -> RedirectResponse:
        # Each role's own start page: the queue for officers, accounts for admins, the report form for agencies.
        return RedirectResponse(landing(user.role), status_code=303)

    @router.get("/console/static/{name}")
    async def static(name: str, v: str | None = None) -> Response:
        asset = renderer.static.get(name)
        if asset is None:
            return Response("not found", status_code=404, media_type="text/plain", headers=BASE_HEADERS)
        headers = dict(BASE_HEADERS)
        headers["Cache-Control"] = "public, max-age=31536000, immutable" if v == asset.version else "no-cache"
        return Response(asset.body, media_type=asset.media_type, headers=headers)

    for part in PARTS:
        try:
            module = importlib.import_module(f"bot.console.{part}")
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("bot.console."):
                raise
            # A part not built yet (or one whose sibling is not): its routes simply do not exist.
            log.warning("console part %s not available: %s", part, exc)
            continue
        router.include_router(module.make_router(runtime, renderer))
    return router
