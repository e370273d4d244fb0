"""Schools and communes report too: the reporter's short incident form (its reports join the officers' queue as
"from an agency", with the same clusters and alerts), a school's official numbers (changes reviewed by an
admin), and the admins' pages to bind reporter accounts to their agency and review those changes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from bot.console.auth import ConsoleUser, RowId, checked_form, require_roles, small_int
from bot.console.labels import Labels
from bot.console.templating import Renderer, request_lang
from bot.runtime import Runtime
from handlers.checks.phones import normalize_phone
from handlers.checks.urls import registrable_domain
from nlu.redact import redact
from storage import agency
from storage.users import UserError

REPORTERS = require_roles("reporter")
ADMINS = require_roles("admin")
_BANK = re.compile(r"(?<![\d.])(\d{6,19})(?![\d.])")
_SPLIT = re.compile(r"[,;\n]+")  # "0912 000 111" is one number: spaces do not separate
MAX_TEXT = 4000
DONE = {"filed": "Đã gửi báo cáo {ref} tới Công an. Cảm ơn đơn vị.", "proposed": "Đã gửi đề xuất, chờ quản trị duyệt.",
        "bound": "Đã gắn tài khoản với cơ quan.", "reviewed": "Đã xử lý đề xuất."}


def parse_form(form: FormData, pretexts: set[str]) -> tuple[agency.IncidentReport | None, dict[str, str]]:
    """The incident form, checked: (report, {}) or (None, field → what is wrong) — nothing is lost on an error,
    the page shows the form again with what was typed."""
    errors: dict[str, str] = {}
    what, _found = redact(str(form.get("what", "")).strip()[:MAX_TEXT])
    measures, _found2 = redact(str(form.get("measures", "")).strip()[:MAX_TEXT])
    if len(what) < 10:
        errors["what"] = "Hãy mô tả sự việc (ít nhất 10 ký tự)."
    parents_text = str(form.get("parents", "") or "1").strip()
    parents = small_int(parents_text, limit=100_000) or -1
    if not 1 <= parents <= 100_000:
        errors["parents"] = "Số phụ huynh là một số từ 1."
    numbers: list[str] = []
    for raw in (r.strip() for r in _SPLIT.split(str(form.get("numbers", "")))):
        if raw:
            number = normalize_phone(raw)
            if number is None:
                errors["numbers"] = f"Không đọc được số điện thoại: {raw[:30]}"
            elif number not in numbers:
                numbers.append(number)
    domains: list[str] = []
    for raw in (r.strip() for r in _SPLIT.split(str(form.get("links", "")))):
        if raw:
            domain = registrable_domain(raw)
            if domain is None:
                errors["links"] = f"Không đọc được đường link: {raw[:40]}"
            elif domain not in domains:
                domains.append(domain)
    accounts = list(dict.fromkeys(_BANK.findall(str(form.get("accounts", "")))))
    pretext = str(form.get("pretext", "")) or None
    if pretext is not None and pretext not in pretexts:
        errors["pretext"] = "Chọn một thủ đoạn trong danh sách."
    amount_text = str(form.get("amount", "")).replace(".", "").replace(",", "").strip()
    amount = small_int(amount_text)
    if amount_text and (amount is None or amount >= 2**62):
        errors["amount"] = "Số tiền là một số (đồng)."
    if errors:
        return None, errors
    return agency.IncidentReport(what_happened=what, parents=parents, pretext=pretext, numbers=numbers[:20],
                                 domains=domains[:20], bank_accounts=accounts[:10], measures=measures,
                                 money_lost_vnd=amount or None, urgent=form.get("urgent") == "yes"), {}


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    router = APIRouter()
    db, cipher = runtime.db, runtime.cipher

    async def reporter_page(request: Request, user: ConsoleUser, *, values: dict[str, Any] | None = None,
                            errors: dict[str, str] | None = None, status: int = 200) -> Response:
        bound = await db.run(agency.agency_of, user_id=user.id)
        mine = await db.run(agency.my_reports, user_id=user.id, cipher=cipher)
        numbers = await db.run(agency.school_numbers, school_id=bound.code) if bound and bound.kind == "school" else []
        proposals = await db.run(agency.proposals, status=None, school_id=bound.code) if bound and \
            bound.kind == "school" else []
        labels = Labels(runtime.flows.get(), request_lang(request))
        done = request.query_params.get("done", "")
        return renderer.render(request, "agency.html", {
            "agency": bound, "reports": mine, "numbers": numbers, "proposals": proposals, "labels": labels,
            "values": values or {}, "errors": errors or {}, "flash": DONE.get(done),
            "ref": request.query_params.get("ref", "")}, status=status)

    @router.get("/console/agency")
    async def agency_home(request: Request, user: Annotated[ConsoleUser, Depends(REPORTERS)]) -> Response:
        return await reporter_page(request, user)

    @router.post("/console/agency/report")
    async def file_report(request: Request, user: Annotated[ConsoleUser, Depends(REPORTERS)],
                          form: Annotated[FormData, Depends(checked_form)]) -> Response:
        bound = await db.run(agency.agency_of, user_id=user.id)
        pretexts = {code for code, _label in Labels(runtime.flows.get(), "vi").options("pretext")}
        report, errors = parse_form(form, pretexts)
        if bound is None:
            errors = {"agency": "Tài khoản chưa được gắn với trường / xã. Liên hệ quản trị."}
        if report is None or bound is None:
            values = {k: str(v) for k, v in form.items() if k != "csrf"}
            return await reporter_page(request, user, values=values, errors=errors, status=400)
        config = runtime.engine.config
        # Durable like a parent's report: an acknowledged tip survives a power cut.
        reference = await db.run_durable(agency.file_report, agency=bound, report=report, cipher=cipher,
                                         sinks=list(config.sinks), prefix=config.reference_prefix,
                                         targets=config.case_targets, now=datetime.now(UTC))
        return RedirectResponse(f"/console/agency?done=filed&ref={reference}", status_code=303)

    @router.post("/console/agency/directory")
    async def propose(request: Request, user: Annotated[ConsoleUser, Depends(REPORTERS)],
                      form: Annotated[FormData, Depends(checked_form)]) -> Response:
        bound = await db.run(agency.agency_of, user_id=user.id)
        phone = normalize_phone(str(form.get("phone", "")))
        action = str(form.get("action", ""))
        if bound is None or phone is None:
            return await reporter_page(request, user, errors={"phone": "Không đọc được số điện thoại."}, status=400)
        try:
            await db.run(agency.propose, agency=bound, action=action, phone=phone, note=str(form.get("note", "")),
                         now=datetime.now(UTC))
        except UserError as exc:
            return await reporter_page(request, user, errors={"phone": exc.say(request_lang(request))}, status=400)
        return RedirectResponse("/console/agency?done=proposed", status_code=303)

    async def admin_page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
        return renderer.render(request, "agency_admin.html", {
            "reporters": await db.run(agency.reporters), "pending": await db.run(agency.proposals),
            "error": error, "flash": DONE.get(request.query_params.get("done", ""))}, status=status)

    @router.get("/console/agency/admin")
    async def admin_home(request: Request, user: Annotated[ConsoleUser, Depends(ADMINS)]) -> Response:
        return await admin_page(request)

    @router.post("/console/agency/admin/bind")
    async def bind(request: Request, user: Annotated[ConsoleUser, Depends(ADMINS)],
                   form: Annotated[FormData, Depends(checked_form)]) -> Response:
        chosen = small_int(form.get("user_id", ""))
        try:
            if chosen is None:
                raise UserError("choose an account", vi="Chọn một tài khoản.")
            await db.run(agency.bind, user_id=chosen, kind=str(form.get("kind", "")), code=str(form.get("code", "")),
                         actor=user.actor, now=datetime.now(UTC))
        except UserError as exc:
            return await admin_page(request, error=exc.say(request_lang(request)), status=400)
        return RedirectResponse("/console/agency/admin?done=bound", status_code=303)

    @router.post("/console/agency/admin/review/{proposal_id}")
    async def review(request: Request, proposal_id: RowId, user: Annotated[ConsoleUser, Depends(ADMINS)],
                     form: Annotated[FormData, Depends(checked_form)]) -> Response:
        try:
            await db.run(agency.review, proposal_id=proposal_id, approve=form.get("decision") == "approve",
                         admin_id=user.id, now=datetime.now(UTC))
        except UserError as exc:
            return await admin_page(request, error=exc.say(request_lang(request)), status=400)
        return RedirectResponse("/console/agency/admin?done=reviewed", status_code=303)

    return router
