"""Admins keep the lists the checks compare against: ``/console/content/blocklist`` (numbers, domains and
bank accounts confirmed as scams, with a note and a source; entries confirmed from a tip link to it) and
``/console/content/domains`` (official e-contact-book domains, link shorteners and unverified domains: the
shipped ones, switched off or on, and the admins' own). Every change is audited.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from bot.console.auth import CheckedForm, ConsoleUser, now_utc, require_roles, small_int
from bot.console.templating import Renderer, page_headers
from bot.runtime import Runtime
from handlers.checks.csv_import import parse_blocklist_entry
from handlers.checks.data import reference_data
from handlers.checks.urls import normalize_domain
from storage import content_directory

Admin = Annotated[ConsoleUser, Depends(require_roles("admin"))]
_ACCOUNT = re.compile(r"^\d{6,19}$")
DONE = {"added": "Đã thêm vào danh sách chặn: lần kiểm tra tới sẽ cảnh báo.", "updated": "Đã cập nhật ghi chú.",
        "removed": "Đã gỡ khỏi danh sách chặn.", "domain": "Đã lưu: áp dụng từ lần kiểm tra tới."}
KIND_NAMES = {"phone": "Số điện thoại", "domain": "Tên miền", "bank_account": "Số tài khoản"}
SOURCE_NAMES = {"console": "Bảng điều khiển", "tip": "Báo cáo", "import": "Tệp nhập", "cli": "Dòng lệnh",
                "other": "Dòng lệnh / tệp nhập"}
DOMAIN_NAMES = {"official": "Tên miền chính thức", "shortener": "Dịch vụ rút gọn link",
                "unverified": "Chưa xác minh"}


def normalise(kind: str, value: str) -> str:
    """A blocklist value as the checks look it up; ValueError with the reason otherwise."""
    if kind == "bank_account":
        digits = re.sub(r"[\s.\-]", "", value)
        if not _ACCOUNT.match(digits):
            raise ValueError(f"{value.strip()!r} is not a bank account number (6 to 19 digits)")
        return digits
    return parse_blocklist_entry(kind, value)[1]


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=page_headers())


def text_of(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    db = runtime.db
    router = APIRouter(include_in_schema=False)

    async def blocklist_page(request: Request, *, status: int = 200, error: str | None = None,
                             values: dict[str, str] | None = None) -> Response:
        kind = request.query_params.get("kind", "")
        kind = kind if kind in content_directory.BLOCK_KINDS else ""
        q = request.query_params.get("q", "").strip()[:100]
        wanted = request.query_params.get("page", "1")
        page = max(1, small_int(wanted, limit=1_000_000) or 1)  # the offset must fit a database integer
        entries, total = await db.run(content_directory.blocklist_page, kind=kind or None, contains=q, limit=100,
                                      offset=(page - 1) * 100)
        return renderer.render(request, "content_blocklist.html", {
            "entries": entries, "total": total, "kind": kind, "q": q, "page": page, "pages": max(1, -(-total // 100)),
            "kinds": content_directory.BLOCK_KINDS, "kind_names": KIND_NAMES, "source_names": SOURCE_NAMES,
            "error": error,
            "values": values or {}, "done": DONE.get(request.query_params.get("done", ""))}, status=status)

    @router.get("/console/content/blocklist")
    async def blocklist_list(request: Request, admin: Admin) -> Response:
        return await blocklist_page(request)

    @router.post("/console/content/blocklist")
    async def blocklist_change(request: Request, admin: Admin, form: CheckedForm) -> Response:
        values = {k: text_of(form, k) for k in ("kind", "value", "note", "tip_reference")}
        kind = values["kind"]
        if kind not in content_directory.BLOCK_KINDS:
            return await blocklist_page(request, status=422, error="Chọn loại: số điện thoại, tên miền hoặc số tài "
                                        "khoản.", values=values)
        try:
            value = normalise(kind, values["value"])
        except ValueError as exc:
            return await blocklist_page(request, status=422, error=str(exc), values=values)
        now = now_utc()
        if text_of(form, "action") == "remove":
            await db.run(content_directory.unblock, kind=kind, value=value, actor=admin.actor, now=now)
            return see_other("/console/content/blocklist?done=removed")
        tip = values["tip_reference"].upper() or None
        if tip is not None and not re.fullmatch(r"[A-Z]{2,4}-\d{4}-\d{6}", tip):
            return await blocklist_page(request, status=422, error=f"{tip!r} không phải mã báo cáo (TG-2026-000123).",
                                        values=values)
        added = await db.run(content_directory.block, kind=kind, value=value, note=values["note"][:500] or None,
                             source="tip" if tip else "console", actor=admin.actor, now=now, tip_reference=tip)
        return see_other(f"/console/content/blocklist?done={'added' if added else 'updated'}")

    async def domains_page(request: Request, *, error: str | None = None, status: int = 200) -> Response:
        shipped = reference_data()
        lists = {"official": shipped.official_domains, "shortener": shipped.shorteners,
                 "unverified": shipped.unverified_domains}
        overrides = await db.run(content_directory.domain_overrides)
        by_key = {(o.kind, o.value): o for o in overrides}
        rows = {kind: sorted([(v, by_key.get((kind, v)), True) for v in values] +
                             [(o.value, o, False) for o in overrides if o.kind == kind and o.value not in values])
                for kind, values in lists.items()}
        return renderer.render(request, "content_domains.html", {
            "rows": rows, "names": DOMAIN_NAMES, "error": error,
            "done": DONE.get(request.query_params.get("done", ""))}, status=status)

    @router.get("/console/content/domains")
    async def domains(request: Request, admin: Admin) -> Response:
        return await domains_page(request)

    @router.post("/console/content/domains")
    async def domains_change(request: Request, admin: Admin, form: CheckedForm) -> Response:
        kind, action = text_of(form, "kind"), text_of(form, "action")
        value = normalize_domain(text_of(form, "value")) if text_of(form, "value") else None
        if kind not in content_directory.DOMAIN_KINDS or value is None or "." not in value:
            return await domains_page(request, error="Hãy nhập một tên miền, ví dụ vnedu.vn.", status=422)
        now = now_utc()
        if action == "reset":
            await db.run(content_directory.reset_domain, kind=kind, value=value, actor=admin.actor, now=now)
        else:
            await db.run(content_directory.set_domain, kind=kind, value=value, enabled=action != "disable",
                         note=text_of(form, "note") or None, actor=admin.actor, now=now)
        return see_other("/console/content/domains?done=domain")

    return router
