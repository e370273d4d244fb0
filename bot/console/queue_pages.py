"""The queue: the tips an officer may see, urgent first, with filters, search and bulk actions.

Every filter is a plain indexed facet and the search box is hashed into keyed search terms
(:mod:`storage.queue`), so this page never decrypts anything: it shows codes and counts, not people. Paging
is by keyset cursor, so a tip filed while the officer reads does not shift the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, QueryParams

from bot.clientaddr import client_addr_of
from bot.console.auth import ConsoleUser, checked_form, require_roles, small_int
from bot.console.labels import Labels
from bot.console.officers import officer_names
from bot.console.templating import Renderer, local_day, request_lang
from bot.runtime import Runtime
from handlers.search import query_terms
from storage import queue as q
from storage import workflow
from storage.intake_schema import unit_communes
from storage.units import list_units

READERS = require_roles("officer", "supervisor")
PAGE_SIZE = 50
BULK_MAX = 200
# Filter names in the URL → QueueFilter fields whose values are codes.
CODE_FILTERS = {"unit": "unit_id", "commune": "commune_code", "verdict": "verdict", "pretext": "pretext",
                "asked": "asked", "channel": "channel", "kind": "kind"}
_CODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


@dataclass(frozen=True)
class Parsed:
    filters: q.QueueFilter
    error: str | None


def parse_filters(params: QueryParams, user: ConsoleUser) -> Parsed:
    """The query string as a QueueFilter; nonsense values are dropped with a message, never a 500."""
    values: dict[str, Any] = {}
    errors: list[str] = []
    status = params.get("status", "")
    if status in ("all", *workflow.STATUSES):
        values["status"] = (status,)
    elif status == "open" or not status:
        values["status"] = ()
    else:
        errors.append("status")
    for name, field in CODE_FILTERS.items():
        value = params.get(name, "").strip()
        if not value:
            continue
        if len(value) > 64 or not set(value) <= _CODE_CHARS:
            errors.append(name)
            continue
        values[field] = value
    if user.role != "supervisor":
        values.pop("unit_id", None)  # an officer sees their unit only anyway
    money = params.get("money", "")
    if money in ("yes", "no"):
        values["money_lost"] = money == "yes"
    for name, end in (("from", False), ("to", True)):
        text = params.get(name, "").strip()
        if text:
            moment = local_day(text, end=end)
            if moment is None:
                errors.append(name)
            else:
                values["created_to" if end else "created_from"] = moment
    assigned = params.get("assigned", "")
    if assigned in ("me", "none"):
        values["assigned"] = assigned
    if params.get("reply") == "yes":
        values["reply_received"] = True
    sort = params.get("sort", "priority")
    values["sort"] = sort if sort in q.SORTS else "priority"
    search = params.get("q", "")
    if search.strip():
        parsed = query_terms(search)
        values["reference"] = parsed.reference
        values["terms"] = parsed.terms
        if parsed.reference is None and not parsed.terms:
            errors.append("q")
    error = ", ".join(errors) if errors else None
    return Parsed(q.QueueFilter(**values), error)


def commune_names(conn: sa.Connection, *, codes: set[str]) -> dict[str, str]:
    """Names of the communes on this page (one IN query; codes identify places, not people)."""
    if not codes:
        return {}
    rows = conn.execute(sa.select(unit_communes.c.commune_code, unit_communes.c.commune_name)
                        .where(unit_communes.c.commune_code.in_(sorted(codes))))
    return {r.commune_code: r.commune_name for r in rows}


def keep_query(params: QueryParams, **changes: str | None) -> str:
    """The current query string with ``changes`` applied (None removes), for links that keep the filters."""
    items = {k: v for k, v in params.items() if k not in changes and k != "cursor"}
    items.update({k: v for k, v in changes.items() if v is not None})
    return urlencode(items)


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    router = APIRouter()
    db, cipher = runtime.db, runtime.cipher

    @router.get("/console/queue")
    async def queue_page(request: Request, user: Annotated[ConsoleUser, Depends(READERS)]) -> Response:
        parsed = parse_filters(request.query_params, user)
        cursor = request.query_params.get("cursor") or None
        error = parsed.error
        viewer = user.viewer
        now = datetime.now(UTC)

        def work(conn: Any) -> tuple[q.QueuePage, int, dict[int, str], list[dict[str, object]], dict[str, str]]:
            try:
                page = q.queue(conn, viewer=viewer, filters=parsed.filters, cursor=cursor, limit=PAGE_SIZE,
                               cipher=cipher)
            except q.QueryError:
                page = q.queue(conn, viewer=viewer, filters=parsed.filters, limit=PAGE_SIZE, cipher=cipher)
            total = q.count(conn, viewer=viewer, filters=parsed.filters, cipher=cipher, cap=1000)
            codes = {r.commune_code for r in page.rows if r.commune_code}
            return page, total, officer_names(conn), list_units(conn), commune_names(conn, codes=codes)

        page, total, names, units, communes = await db.run(work)
        labels = Labels(runtime.flows.get(), request_lang(request))
        flash = request.query_params.get("done")
        return renderer.render(request, "queue.html", {
            "page": page, "total": total, "names": names, "units": units, "labels": labels, "now": now,
            "unit_names": {str(u["id"]): str(u["name"]) for u in units}, "communes": communes,
            "params": request.query_params, "error": error, "flash": _FLASH.get(flash or ""),
            "flash_errors": int(request.query_params.get("failed", "0") or 0) if flash else 0,
            "next_query": keep_query(request.query_params, cursor=page.next_cursor) if page.next_cursor else None,
            "first_query": keep_query(request.query_params) if cursor else None,
            "sort_query": lambda sort: keep_query(request.query_params, sort=sort),
            "sorts": ("priority", "waiting", "newest", "oldest"),
        })

    @router.post("/console/queue/bulk")
    async def bulk_action(request: Request, user: Annotated[ConsoleUser, Depends(READERS)],
                          form: Annotated[FormData, Depends(checked_form)]) -> Response:
        ids = [i for i in (small_int(v) for v in form.getlist("tip")) if i is not None][:BULK_MAX]
        action = str(form.get("action", ""))
        outcome = str(form.get("outcome", "")) or None
        back = str(form.get("back", ""))
        back = back if back.startswith("/console/queue") and "//" not in back else "/console/queue"
        if not ids or action not in ("close", "take", "unassign", "in_review", "investigating", "assign"):
            return RedirectResponse(_with(back, done="bulk_none"), status_code=303)
        assignee: int | None = None
        if action == "assign":
            assignee = small_int(form.get("assignee", ""))
            if user.role != "supervisor" or assignee is None:
                return RedirectResponse(_with(back, done="bulk_none"), status_code=303)
        kind = "status" if action in ("in_review", "investigating") else action
        done, errors = await db.run(
            workflow.bulk, viewer=user.viewer, tip_ids=ids, action=kind, now=datetime.now(UTC),
            ip=client_addr_of(request.scope), outcome=outcome, status=action if kind == "status" else None,
            assignee_id=assignee)
        return RedirectResponse(_with(back, done="bulk", n=str(done), failed=str(len(errors))), status_code=303)

    return router


_FLASH = {
    "bulk": "Đã áp dụng cho {n} báo cáo.",
    "bulk_none": "Chưa chọn báo cáo hoặc thao tác nào.",
}


def _with(path: str, **params: str) -> str:
    joiner = "&" if "?" in path else "?"
    return f"{path}{joiner}{urlencode(params)}"
