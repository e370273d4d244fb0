"""Admins keep the police units and the communes each covers (the routing of tips): ``/console/content/units``
(list, add, CSV import of the whole map and export) and ``/console/content/units/{id}`` (edit, delete).

The CSV is the file ``hotline import units`` reads (:mod:`bot.intake.units_csv`): validated as a whole, each
problem reported with its line, nothing imported while any remains.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from bot.console.auth import CheckedForm, ConsoleUser, now_utc, require_roles
from bot.console.content_directory import MAX_UPLOAD, csv_bytes
from bot.console.templating import Renderer, page_headers
from bot.intake.units_csv import HEADER, UnitsFileError, parse_units_csv
from bot.runtime import Runtime
from storage import content_directory, content_units
from storage.units import list_units, replace_units

Admin = Annotated[ConsoleUser, Depends(require_roles("admin"))]
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_CODE = re.compile(r"^[A-Za-z0-9.\-]{1,16}$")
DONE = {"added": "Đã thêm đơn vị.", "updated": "Đã lưu thay đổi.", "deleted": "Đã xóa đơn vị."}


def text_of(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def parse_communes(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """"32014, Xã Tân Lộc" per line → (code, name) pairs and the problems, by line."""
    pairs: list[tuple[str, str]] = []
    problems: list[str] = []
    seen: set[str] = set()
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        code, _, name = (part.strip() for part in raw.partition(","))
        if not _CODE.match(code) or not name:
            problems.append(f"dòng {n}: viết “mã xã, tên xã”, ví dụ “32014, Xã Tân Lộc”")
        elif code in seen:
            problems.append(f"dòng {n}: mã {code} lặp lại")
        else:
            seen.add(code)
            pairs.append((code, name[:255]))
    return pairs, problems


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=page_headers())


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    db = runtime.db
    router = APIRouter(include_in_schema=False)

    async def list_page(request: Request, *, status: int = 200, error: str | None = None,
                        values: dict[str, str] | None = None) -> Response:
        return renderer.render(request, "content_units.html", {
            "units": await db.run(list_units), "error": error, "values": values or {},
            "imports": await db.run(content_directory.recent_imports, kind="units"),
            "done": DONE.get(request.query_params.get("done", ""))}, status=status)

    def checked(form: Any, unit_id: str) -> tuple[dict[str, str], list[tuple[str, str]], list[str]]:
        values = {k: text_of(form, k) for k in ("unit_id", "name", "province_code", "communes")}
        communes, problems = parse_communes(values["communes"])
        if not _ID.match(unit_id):
            problems.insert(0, "Mã đơn vị: chữ, số, dấu - _ . (tối đa 64 ký tự)")
        if not values["name"]:
            problems.insert(0, "Tên đơn vị không được trống")
        return values, communes, problems

    async def store(admin: ConsoleUser, form: Any, unit_id: str, values: dict[str, str],
                    communes: list[tuple[str, str]], *, new: bool) -> None:
        await db.run(content_units.save_unit, unit_id=unit_id, name=values["name"][:255],
                     province_code=values["province_code"][:16], provincial=bool(form.get("provincial")),
                     communes=communes, actor=admin.actor, now=now_utc(), new=new)

    @router.get("/console/content/units")
    async def units_list(request: Request, admin: Admin) -> Response:
        return await list_page(request)

    @router.post("/console/content/units")
    async def unit_add(request: Request, admin: Admin, form: CheckedForm) -> Response:
        unit_id = text_of(form, "unit_id")
        values, communes, problems = checked(form, unit_id)
        if problems:
            return await list_page(request, status=422, error="; ".join(problems), values=values)
        try:
            await store(admin, form, unit_id, values, communes, new=True)
        except KeyError:
            return await list_page(request, status=422, error=f"Đã có đơn vị {unit_id}.", values=values)
        return see_other(f"/console/content/units/{unit_id}?done=added")

    @router.get("/console/content/units.csv")
    async def units_export(request: Request, admin: Admin) -> Response:
        headers = {**page_headers(), "Content-Disposition": 'attachment; filename="don-vi-cong-an.csv"'}
        body = csv_bytes(await db.run(content_units.export_rows), HEADER)
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)

    @router.post("/console/content/units/import")
    async def units_import(request: Request, admin: Admin, form: CheckedForm) -> Response:
        upload = form.get("file")
        name = (upload.filename or "") if isinstance(upload, UploadFile) else ""
        data = await upload.read(MAX_UPLOAD + 1) if isinstance(upload, UploadFile) else b""
        now = now_utc()
        try:
            if not data or len(data) > MAX_UPLOAD:
                raise UnitsFileError(["Chưa chọn tệp, tệp trống hoặc lớn hơn 10 MB."])
            parsed = parse_units_csv(data)
        except UnitsFileError as exc:
            problems = [{"line": _line_of(p), "message": p} for p in exc.problems]
            job = await db.run(content_directory.start_import, kind="units", file_name=name, total=0,
                               problems=problems, warnings=[], actor=admin.actor, now=now,
                               error="Tệp có lỗi: không nhập gì. Sửa các dòng dưới đây rồi nhập lại.")
            return see_other(f"/console/content/imports/{job}")

        def work(conn: Any) -> int:
            job = content_directory.start_import(conn, kind="units", file_name=name, total=len(parsed.communes),
                                                 problems=[], warnings=[], actor=admin.actor, now=now)
            units, communes = replace_units(conn, units=parsed.units, communes=parsed.communes, now=now)
            content_directory.record_loaded(conn, job_id=job, done=communes, inserted=units, now=now)
            return job

        return see_other(f"/console/content/imports/{await db.run(work)}")

    async def unit_page(request: Request, unit_id: str, *, status: int = 200, error: str | None = None,
                        values: dict[str, str] | None = None) -> Response:
        unit = await db.run(content_units.get_unit, unit_id=unit_id)
        if unit is None:
            return renderer.render(request, "not_found.html", status=404)
        shown = values or {"name": unit.name, "province_code": unit.province_code,
                           "communes": "\n".join(f"{c}, {n}" for c, n in unit.communes)}
        return renderer.render(request, "content_unit.html", {
            "unit": unit, "values": shown, "error": error,
            "done": DONE.get(request.query_params.get("done", ""))}, status=status)

    @router.get("/console/content/units/{unit_id}")
    async def unit_detail(request: Request, unit_id: str, admin: Admin) -> Response:
        return await unit_page(request, unit_id)

    @router.post("/console/content/units/{unit_id}")
    async def unit_change(request: Request, unit_id: str, admin: Admin, form: CheckedForm) -> Response:
        if await db.run(content_units.get_unit, unit_id=unit_id) is None:
            return renderer.render(request, "not_found.html", status=404)
        if text_of(form, "action") == "delete":
            try:
                await db.run(content_units.delete_unit, unit_id=unit_id, actor=admin.actor, now=now_utc())
            except content_units.UnitInUse:
                return await unit_page(request, unit_id, status=422,
                                       error="Còn tài khoản cán bộ thuộc đơn vị này: chuyển họ sang đơn vị khác trước.")
            return see_other("/console/content/units?done=deleted")
        values, communes, problems = checked(form, unit_id)
        if problems:
            return await unit_page(request, unit_id, status=422, values=values, error="; ".join(problems))
        await store(admin, form, unit_id, values, communes, new=False)
        return see_other(f"/console/content/units/{unit_id}?done=updated")

    return router


def _line_of(problem: str) -> int:
    found = re.match(r"line (\d+)", problem)
    return int(found.group(1)) if found else 1
