"""Supervisors read the audit log: who opened, exported or changed what, when, from where.

The log is append-only (nothing in the console writes to it except by acting); this page filters it by actor,
action, subject (a tip reference) and day, newest first, paged by id. Reading it is itself audited.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bot.clientaddr import client_addr_of
from bot.console.auth import ConsoleUser, require_roles, small_int
from bot.console.queue_pages import keep_query
from bot.console.templating import Renderer, local_day
from bot.runtime import Runtime
from storage import audit
from storage.schema import audit_log

SUPERVISORS = require_roles("supervisor")
PAGE = 100


def audit_page(conn: sa.Connection, *, actor: str, action: str, subject: str, start: datetime | None,
               end: datetime | None, before: int | None) -> list[dict[str, Any]]:
    c = audit_log.c
    query = sa.select(audit_log).order_by(c.id.desc()).limit(PAGE + 1)
    if actor:
        query = query.where(c.actor == actor)
    if action:
        query = query.where(c.action.startswith(action, autoescape=True))
    if subject:
        query = query.where(c.subject == subject)
    if start is not None:
        query = query.where(c.at >= start)
    if end is not None:
        query = query.where(c.at < end)
    if before is not None:
        query = query.where(c.id < before)
    return [dict(r) for r in conn.execute(query).mappings()]


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    router = APIRouter()
    db = runtime.db

    @router.get("/console/audit")
    async def audit_view(request: Request, user: Annotated[ConsoleUser, Depends(SUPERVISORS)]) -> Response:
        p = request.query_params
        actor, action, subject = (p.get(k, "").strip()[:128] for k in ("actor", "action", "subject"))
        start = local_day(p.get("from", ""), end=False) if p.get("from") else None
        end = local_day(p.get("to", ""), end=True) if p.get("to") else None
        before = small_int(p.get("before", ""))
        now = datetime.now(UTC)

        def work(conn: sa.Connection) -> list[dict[str, Any]]:
            rows = audit_page(conn, actor=actor, action=action, subject=subject.upper() if subject else "",
                              start=start, end=end, before=before)
            audit.record(conn, actor=user.viewer.actor, action="audit.view", subject="audit_log", now=now,
                         detail=f"from {client_addr_of(request.scope)}")
            return rows

        rows = await db.run(work)
        more = len(rows) > PAGE
        rows = rows[:PAGE]
        return renderer.render(request, "audit.html", {
            "rows": rows, "params": p,
            "next_query": keep_query(p, before=str(rows[-1]["id"])) if more and rows else None,
        })

    return router
