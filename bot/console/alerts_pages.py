"""Campaign alerts in the console: the list, one alert with its tips and what they name, and the supervisor's
actions — acknowledge, blocklist the campaign's confirmed numbers and domains in one step, draft an awareness
warning for the affected communes and schools (stored and exported until the broadcasts send it).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from bot.clientaddr import client_addr_of
from bot.console.auth import ConsoleUser, RowId, checked_form, require_roles
from bot.console.dashboard import download
from bot.console.dashboard_export import as_json
from bot.console.labels import Labels
from bot.console.templating import Renderer, request_lang
from bot.runtime import Runtime
from storage import alerts_views as views
from storage.stats import names
from storage.workflow import WorkflowError

READERS = require_roles("officer", "supervisor")
SUPERVISORS = require_roles("supervisor")
KIND_WORDS = {"phone": ("Số điện thoại", "Phone number"), "domain": ("Tên miền", "Domain"),
              "bank_account": ("Tài khoản ngân hàng", "Bank account"),
              "pretext_commune": ("Thủ đoạn tại một xã / phường", "Pretext in one commune")}
FLASH = {"ack": "Đã xác nhận cảnh báo.", "blocked": "Đã đưa {n} mục mới vào danh sách cảnh báo.",
         "drafted": "Đã soạn thông báo cảnh báo.", "saved": "Đã lưu.", "error": "Không thực hiện được: {why}"}


def describe(alert: Any, labels: Labels, communes: dict[str, str], lang: str) -> str:
    """What the campaign is about, in words: the number / domain / account, or the pretext and the commune."""
    if alert.kind == "pretext_commune":
        pretext = dict(labels.options("pretext")).get(alert.pretext or "", alert.pretext or "")
        return f"{pretext} — {communes.get(alert.commune_code or '', alert.commune_code or '')}"
    return str(alert.value)


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    router = APIRouter()
    db, cipher = runtime.db, runtime.cipher

    def context(request: Request) -> tuple[Labels, str]:
        lang = request_lang(request)
        return Labels(runtime.flows.get(), lang), lang

    def back(alert_id: int, done: str, **extra: str) -> RedirectResponse:
        query = "&".join([f"done={done}", *(f"{k}={v}" for k, v in extra.items())])
        return RedirectResponse(f"/console/alerts/{alert_id}?{query}", status_code=303)

    @router.get("/console/alerts")
    async def alert_list(request: Request, user: Annotated[ConsoleUser, Depends(READERS)]) -> Response:
        status = request.query_params.get("status") or None
        status = status if status in ("open", "acknowledged") else None
        found = await db.run(views.list_alerts, viewer=user.viewer, cipher=cipher, status=status)
        known = await db.run(names)
        labels, lang = context(request)
        return renderer.render(request, "alerts.html", {
            "alerts": found, "status": status, "kinds": KIND_WORDS, "lang": lang, "units": known["units"],
            "describe": lambda a: describe(a, labels, known["communes"], lang)})

    @router.get("/console/alerts/drafts")
    async def draft_list(request: Request, user: Annotated[ConsoleUser, Depends(SUPERVISORS)]) -> Response:
        return renderer.render(request, "alerts_drafts.html",
                               {"drafts": await db.run(views.drafts, viewer=user.viewer), "draft": None})

    @router.get("/console/alerts/drafts/export/{name}")
    async def draft_export(request: Request, name: str, user: Annotated[ConsoleUser, Depends(SUPERVISORS)]) -> Response:
        found = await db.run(views.drafts, viewer=user.viewer, limit=10_000)
        from storage import audit

        await db.run(audit.record, actor=user.actor, action="awareness.export", subject="drafts",
                     now=datetime.now(UTC), detail=name)
        if name == "drafts.json":
            return download(as_json(found), "application/json", name)
        if name == "drafts.csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(["id", "alert_id", "status", "created_at", "title", "body", "communes", "schools"])
            for d in found:
                writer.writerow([d["id"], d["alert_id"], d["status"], d["created_at"], d["title"], d["body"],
                                 "; ".join(c["name"] for c in d["audience"]["communes"]),
                                 "; ".join(s["name"] for s in d["audience"]["schools"])])
            return download(("\ufeff" + buffer.getvalue()).encode("utf-8"), "text/csv; charset=utf-8", name)
        return renderer.render(request, "not_found.html", status=404)

    @router.get("/console/alerts/drafts/{draft_id}")
    async def draft_page(request: Request, draft_id: RowId, user: Annotated[ConsoleUser, Depends(SUPERVISORS)]
                         ) -> Response:
        try:
            draft = await db.run(views.get_draft, viewer=user.viewer, draft_id=draft_id)
        except WorkflowError:
            return renderer.render(request, "not_found.html", status=404)
        flash = FLASH.get(request.query_params.get("done", ""))
        return renderer.render(request, "alerts_drafts.html", {"drafts": [], "draft": draft, "flash": flash})

    @router.post("/console/alerts/drafts/{draft_id}")
    async def draft_save(request: Request, draft_id: RowId, user: Annotated[ConsoleUser, Depends(SUPERVISORS)],
                         form: Annotated[FormData, Depends(checked_form)]) -> Response:
        try:
            await db.run(views.edit_draft, viewer=user.viewer, draft_id=draft_id, title=str(form.get("title", "")),
                         body=str(form.get("body", "")), status=str(form.get("status", "draft")),
                         now=datetime.now(UTC))
        except WorkflowError:
            return renderer.render(request, "not_found.html", status=404)
        return RedirectResponse(f"/console/alerts/drafts/{draft_id}?done=saved", status_code=303)

    @router.get("/console/alerts/{alert_id}")
    async def alert_page(request: Request, alert_id: RowId, user: Annotated[ConsoleUser, Depends(READERS)]) -> Response:
        try:
            detail = await db.run(views.alert_detail, viewer=user.viewer, alert_id=alert_id, cipher=cipher)
        except WorkflowError:
            return renderer.render(request, "not_found.html", status=404)
        known = await db.run(names)
        labels, lang = context(request)
        done = request.query_params.get("done", "")
        return renderer.render(request, "alerts_one.html", {
            "d": detail, "a": detail.alert, "kinds": KIND_WORDS, "labels": labels, "units": known["units"],
            "communes": known["communes"],
            "about": describe(detail.alert, labels, known["communes"], lang),
            "flash": FLASH.get(done), "n": request.query_params.get("n", ""),
            "why": request.query_params.get("why", "")})

    @router.post("/console/alerts/{alert_id}/ack")
    async def ack(request: Request, alert_id: RowId, user: Annotated[ConsoleUser, Depends(SUPERVISORS)],
                  form: Annotated[FormData, Depends(checked_form)]) -> Response:
        try:
            await db.run(views.acknowledge, viewer=user.viewer, alert_id=alert_id, cipher=cipher,
                         now=datetime.now(UTC), ip=client_addr_of(request.scope))
        except WorkflowError:
            return renderer.render(request, "not_found.html", status=404)
        return back(alert_id, "ack")

    @router.post("/console/alerts/{alert_id}/block")
    async def block(request: Request, alert_id: RowId, user: Annotated[ConsoleUser, Depends(SUPERVISORS)],
                    form: Annotated[FormData, Depends(checked_form)]) -> Response:
        picks = []
        for raw in form.getlist("pick"):
            kind, _, value = str(raw).partition(":")
            if kind in views.BLOCKABLE and value:
                picks.append((kind, value))
        try:
            added = await db.run(views.block_from_alert, viewer=user.viewer, alert_id=alert_id, picks=picks,
                                 cipher=cipher, now=datetime.now(UTC), ip=client_addr_of(request.scope))
        except WorkflowError:
            return back(alert_id, "error", why="pick")
        return back(alert_id, "blocked", n=str(added))

    @router.post("/console/alerts/{alert_id}/draft")
    async def draft(request: Request, alert_id: RowId, user: Annotated[ConsoleUser, Depends(SUPERVISORS)],
                    form: Annotated[FormData, Depends(checked_form)]) -> Response:
        try:
            summary = (await db.run(views.alert_detail, viewer=user.viewer, alert_id=alert_id, cipher=cipher)).alert
            pretext = dict(Labels(runtime.flows.get(), "vi").options("pretext")).get(summary.pretext or "")
            draft_id = await db.run(views.draft_awareness, viewer=user.viewer, alert_id=alert_id, cipher=cipher,
                                    now=datetime.now(UTC), police_name=runtime.settings.province.police_name,
                                    pretext_label=pretext, ip=client_addr_of(request.scope))
        except WorkflowError:
            return renderer.render(request, "not_found.html", status=404)
        return RedirectResponse(f"/console/alerts/drafts/{draft_id}?done=drafted", status_code=303)

    return router
