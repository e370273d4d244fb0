"""Admins keep the school directory: ``/console/content`` (the content home), ``/console/content/schools``
(list, search, add, edit, delete), CSV import with a progress bar and a per-line report, CSV export, and
removing the sample directory a fresh install starts with.

Every school goes through the same validation as ``hotline import schools`` (:mod:`handlers.checks.csv_import`),
so the console, the CLI and a file agree on what a valid row is; changes are audited by the storage layer.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from bot.console.auth import CheckedForm, ConsoleUser, now_utc, require_roles, small_int
from bot.console.templating import Renderer, page_headers
from bot.runtime import Runtime
from handlers.checks.csv_import import SCHOOL_HEADER, CsvFileError, parse_schools_csv
from handlers.checks.phones import parse_phone
from nlu.normalize import fold
from storage import content_directory, content_faq, content_seed, subscriptions
from storage.intake_schema import police_units
from storage.reference import SchoolRecord, count_schools, get_schools
from storage.reference_schema import blocklist

log = logging.getLogger(__name__)
Admin = Annotated[ConsoleUser, Depends(require_roles("admin"))]
APPS = ("vnEdu", "SMAS", "K12Online", "eNetViet", "MISA EMIS")
CHUNK = 200  # rows per transaction while importing: the progress bar moves, the writer is never held long
MAX_UPLOAD = 10 * 1024 * 1024
DONE = {"added": "Đã thêm trường.", "updated": "Đã lưu thay đổi.", "deleted": "Đã xóa trường khỏi danh bạ.",
        "samples": "Đã xóa danh bạ mẫu."}


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=page_headers())


def field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def national(e164: str) -> str:
    """+842903800101 → 02903800101: what a spreadsheet keeps as text (a leading + reads as a formula)."""
    return "0" + e164[3:] if e164.startswith("+84") else e164


def school_row(record: SchoolRecord) -> list[str]:
    return [record.id, record.name, record.province, record.commune, ";".join(national(p) for p in record.phones),
            record.contact_book_app, record.website or ""]


def csv_bytes(rows: list[list[str]], header: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # a BOM: Excel then reads the file as UTF-8


def one_school(values: dict[str, str]) -> tuple[SchoolRecord | None, str | None]:
    """Validate a form's school exactly as one row of an import file."""
    phones = ";".join(p.strip() for p in values["official_phones"].replace("\n", ";").split(";") if p.strip())
    row = [values["school_id"], values["name"], values["province"], values["commune"], phones,
           values["contact_book_app"], values["website"]]
    parsed = parse_schools_csv(csv_bytes([row], SCHOOL_HEADER))
    if parsed.skipped:
        return None, parsed.skipped[0].message
    if not parsed.rows:  # every field empty: the parser skips a blank line without a word (found by fuzzing)
        return None, "the school needs at least an id and a name"
    return parsed.rows[0], (parsed.warnings[0].message if parsed.warnings else None)


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    db = runtime.db
    router = APIRouter(include_in_schema=False)
    running: set[asyncio.Task[None]] = set()  # imports in progress (held so they are not garbage-collected)

    @router.get("/console/content")
    async def content_home(request: Request, admin: Admin) -> Response:
        def counts(conn: sa.Connection) -> dict[str, int]:
            return {"faq": len(content_faq.entries(conn)), "schools": count_schools(conn),
                    "units": int(conn.execute(sa.select(sa.func.count()).select_from(police_units)).scalar_one()),
                    "blocklist": int(conn.execute(sa.select(sa.func.count()).select_from(blocklist)).scalar_one()),
                    "subscribers": subscriptions.summary(conn)["by_status"].get("active", 0)}

        return renderer.render(request, "content_index.html", {"counts": await db.run(counts)})

    async def list_page(request: Request, *, status: int = 200, error: str | None = None,
                        values: dict[str, str] | None = None) -> Response:
        q = request.query_params.get("q", "").strip()[:100]
        wanted = request.query_params.get("page", "1")
        page = max(1, small_int(wanted, limit=1_000_000) or 1)  # the offset must fit a database integer
        phone = parse_phone(q) if q and any(ch.isdigit() for ch in q) else None
        phones = [phone.e164] if phone is not None and phone.valid and phone.e164 else []
        found, total = await db.run(content_directory.search_schools, words=fold(q).lower(), phones=phones,
                                    limit=50, offset=(page - 1) * 50)
        return renderer.render(request, "content_schools.html", {
            "schools": found, "total": total, "q": q, "page": page, "pages": max(1, -(-total // 50)),
            "apps": APPS, "error": error, "values": values or {}, "national": national,
            "samples": await db.run(content_seed.sample_count),
            "imports": await db.run(content_directory.recent_imports, kind="schools"),
            "done": DONE.get(request.query_params.get("done", ""))}, status=status)

    @router.get("/console/content/schools")
    async def schools_list(request: Request, admin: Admin) -> Response:
        return await list_page(request)

    @router.post("/console/content/schools")
    async def school_add(request: Request, admin: Admin, form: CheckedForm) -> Response:
        values = {k: field(form, k) for k in SCHOOL_HEADER}
        record, problem = one_school(values)
        if record is None:
            return await list_page(request, status=422, error=problem, values=values)
        try:
            await db.run(content_directory.save_school, record=record, actor=admin.actor, now=now_utc(), new=True)
        except KeyError:
            return await list_page(request, status=422, values=values,
                                   error=f"school_id {record.id!r}: đã có trường này trong danh bạ")
        return see_other(f"/console/content/schools/{record.id}?done=added")

    @router.post("/console/content/schools/samples")
    async def clear_samples(request: Request, admin: Admin, form: CheckedForm) -> Response:
        await db.run(content_seed.clear_samples, actor=admin.actor, now=now_utc())
        return see_other("/console/content/schools?done=samples")

    # ----- CSV import with a progress bar ---------------------------------------------------------------
    @router.post("/console/content/schools/import")
    async def schools_import(request: Request, admin: Admin, form: CheckedForm) -> Response:
        upload = form.get("file")
        name = (upload.filename or "") if isinstance(upload, UploadFile) else ""
        data = await upload.read(MAX_UPLOAD + 1) if isinstance(upload, UploadFile) else b""
        now = now_utc()
        error = None
        if not data:
            error = "Chưa chọn tệp, hoặc tệp trống."
        elif len(data) > MAX_UPLOAD:
            error = f"Tệp lớn hơn {MAX_UPLOAD // (1024 * 1024)} MB."
        parsed = None
        if error is None:
            try:
                parsed = await asyncio.to_thread(parse_schools_csv, data)
            except CsvFileError as exc:
                error = str(exc)
        problems = [{"line": p.line, "message": p.message} for p in parsed.skipped] if parsed else []
        warnings = [{"line": p.line, "message": p.message} for p in parsed.warnings] if parsed else []
        job = await db.run(content_directory.start_import, kind="schools", file_name=name,
                           total=len(parsed.rows) if parsed else 0, problems=problems, warnings=warnings,
                           actor=admin.actor, now=now, error=error)
        if parsed is not None:
            task = asyncio.create_task(load(job, parsed.rows), name=f"schools-import-{job}")
            running.add(task)
            task.add_done_callback(running.discard)
        return see_other(f"/console/content/imports/{job}")

    async def load(job: int, rows: list[SchoolRecord]) -> None:
        try:
            for start in range(0, len(rows), CHUNK):
                await db.run(content_directory.load_school_chunk, job_id=job, records=rows[start:start + CHUNK],
                             now=now_utc())
            await db.run(content_directory.finish_import, job_id=job, now=now_utc())
        except Exception as exc:  # the rows loaded so far stay; the page says where it stopped
            log.exception("school import %d failed", job)
            await db.run(content_directory.finish_import, job_id=job, now=now_utc(), error=repr(exc)[:300])

    async def school_page(request: Request, school_id: str, *, status: int = 200, error: str | None = None,
                          values: dict[str, str] | None = None) -> Response:
        records = await db.run(get_schools, ids=[school_id])
        if not records:
            return renderer.render(request, "not_found.html", status=404)
        school = records[0]
        shown = values or dict(zip(SCHOOL_HEADER, school_row(school), strict=True))
        shown["official_phones"] = shown["official_phones"].replace(";", "\n")
        return renderer.render(request, "content_school.html", {
            "school": school, "values": shown, "apps": APPS, "error": error,
            "done": DONE.get(request.query_params.get("done", ""))}, status=status)

    @router.get("/console/content/schools/{school_id}")
    async def school_detail(request: Request, school_id: str, admin: Admin) -> Response:
        return await school_page(request, school_id)

    @router.post("/console/content/schools/{school_id}")
    async def school_change(request: Request, school_id: str, admin: Admin, form: CheckedForm) -> Response:
        if field(form, "action") == "delete":
            if not await db.run(content_directory.delete_school, school_id=school_id, actor=admin.actor,
                                now=now_utc()):
                return renderer.render(request, "not_found.html", status=404)
            return see_other("/console/content/schools?done=deleted")
        values = {k: field(form, k) for k in SCHOOL_HEADER}
        values["school_id"] = school_id  # the id is the directory's key: it does not change here
        record, problem = one_school(values)
        if record is None:
            return await school_page(request, school_id, status=422, error=problem, values=values)
        await db.run(content_directory.save_school, record=record, actor=admin.actor, now=now_utc(), new=False)
        return see_other(f"/console/content/schools/{school_id}?done=updated")

    @router.get("/console/content/schools.csv")
    async def schools_export(request: Request, admin: Admin) -> Response:
        rows = [school_row(s) for s in await db.run(content_directory.all_schools)]
        headers = {**page_headers(), "Content-Disposition": 'attachment; filename="danh-ba-truong.csv"'}
        return Response(csv_bytes(rows, SCHOOL_HEADER), media_type="text/csv; charset=utf-8", headers=headers)

    @router.get("/console/content/imports/{job_id:int}")
    async def import_page(request: Request, job_id: int, admin: Admin) -> Response:
        job = await db.run(content_directory.get_import, job_id=job_id)
        if job is None:
            return renderer.render(request, "not_found.html", status=404)
        back = {"schools": "/console/content/schools", "units": "/console/content/units",
                "blocklist": "/console/content/blocklist"}.get(job.kind, "/console/content")
        return renderer.render(request, "content_import.html", {"job": job, "back": back})

    @router.get("/console/content/imports/{job_id:int}.json")
    async def import_progress(request: Request, job_id: int, admin: Admin) -> Response:
        job = await db.run(content_directory.get_import, job_id=job_id)
        if job is None:
            return JSONResponse({"error": "not found"}, status_code=404, headers=page_headers())
        return JSONResponse(job.to_json(), headers=page_headers())

    return router
