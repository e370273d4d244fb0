"""Admins keep the common questions: ``/console/content/faq`` (the list, a new entry) and
``/console/content/faq/{id}`` (edit, switch off, delete). The bot reads them on every message at the menu
(:mod:`handlers.faq`), so a new entry is answerable at once; every change is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from bot.console.auth import CheckedForm, ConsoleUser, now_utc, require_roles, small_int
from bot.console.templating import Renderer, page_headers, request_lang
from bot.runtime import Runtime
from storage import content_faq

Admin = Annotated[ConsoleUser, Depends(require_roles("admin"))]
DONE = {"added": "Đã thêm câu hỏi; bot trả lời được ngay.", "updated": "Đã lưu thay đổi.",
        "deleted": "Đã xóa câu hỏi."}


def _values(form: Any) -> dict[str, Any]:
    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    position = text("position").strip()
    return {"question": text("question"), "answer": text("answer"), "keywords": text("keywords"),
            "language": text("language") or "vi", "enabled": bool(form.get("enabled")),
            "position": (-1 if position.startswith("-") else 1) * (small_int(position[1:] if position.startswith("-")
                                                                              else position, limit=1_000_000) or 0)}


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    db = runtime.db
    router = APIRouter(include_in_schema=False)

    async def list_page(request: Request, *, status: int = 200, error: str | None = None,
                        values: dict[str, Any] | None = None) -> Response:
        return renderer.render(request, "content_faq.html", {
            "entries": await db.run(content_faq.entries), "error": error,
            "values": values or {"language": "vi", "enabled": True, "position": 0},
            "done": DONE.get(request.query_params.get("done", ""))}, status=status)

    @router.get("/console/content/faq")
    async def faq_list(request: Request, admin: Admin) -> Response:
        return await list_page(request)

    @router.post("/console/content/faq")
    async def faq_add(request: Request, admin: Admin, form: CheckedForm) -> Response:
        values = _values(form)
        try:
            await db.run(content_faq.save, entry_id=None, actor=admin.actor, now=now_utc(), **values)
        except content_faq.FaqError as exc:
            return await list_page(request, status=422, error=exc.say(request_lang(request)), values=values)
        return RedirectResponse("/console/content/faq?done=added", status_code=303, headers=page_headers())

    async def entry_page(request: Request, entry_id: int, *, status: int = 200, error: str | None = None,
                         values: dict[str, Any] | None = None) -> Response:
        entry = await db.run(content_faq.get, entry_id=entry_id)
        if entry is None:
            return renderer.render(request, "not_found.html", status=404)
        shown = values or {"question": entry.question, "answer": entry.answer, "keywords": "\n".join(entry.keywords),
                           "language": entry.language, "enabled": entry.enabled, "position": entry.position}
        return renderer.render(request, "content_faq_entry.html", {"entry": entry, "values": shown, "error": error},
                               status=status)

    @router.get("/console/content/faq/{entry_id:int}")
    async def faq_entry(request: Request, entry_id: int, admin: Admin) -> Response:
        return await entry_page(request, entry_id)

    @router.post("/console/content/faq/{entry_id:int}")
    async def faq_change(request: Request, entry_id: int, admin: Admin, form: CheckedForm) -> Response:
        if form.get("action") == "delete":
            if not await db.run(content_faq.delete, entry_id=entry_id, actor=admin.actor, now=now_utc()):
                return renderer.render(request, "not_found.html", status=404)
            return RedirectResponse("/console/content/faq?done=deleted", status_code=303, headers=page_headers())
        values = _values(form)
        try:
            await db.run(content_faq.save, entry_id=entry_id, actor=admin.actor, now=now_utc(), **values)
        except content_faq.FaqError as exc:
            return await entry_page(request, entry_id, status=422, error=exc.say(request_lang(request)),
                                    values=values)
        return RedirectResponse("/console/content/faq?done=updated", status_code=303, headers=page_headers())

    return router
