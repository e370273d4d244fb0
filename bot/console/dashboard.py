"""The supervisors' dashboard (officers see their own unit): charts drawn on the server with the numbers beside
them, a date range and a unit filter on every view, exports as CSV / JSON / XLSX (audited), and the monthly
report to the People's Committee as DOCX or PDF.

Everything comes from :func:`storage.stats.dashboard` — counts over plain facets; nothing is decrypted but the
few top numbers / domains / accounts shown.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bot.clientaddr import client_addr_of
from bot.console.auth import ConsoleUser, require_roles
from bot.console.dashboard_charts import bars, columns
from bot.console.dashboard_export import SECTIONS, as_csv, as_json, as_xlsx, tables, word
from bot.console.labels import Labels
from bot.console.templating import Renderer, page_headers, request_lang
from bot.runtime import Runtime
from storage import audit, stats
from storage.alerts_tally import LOCAL_OFFSET
from storage.units import list_units

READERS = require_roles("officer", "supervisor")
SUPERVISORS = require_roles("supervisor")
MAX_DAYS = 400
DEFAULT_DAYS = 30
_UNIT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def today_local() -> date:
    return (datetime.now(UTC) + LOCAL_OFFSET).date()


def parse_period(params: Any, user: ConsoleUser) -> tuple[stats.Period, list[str]]:
    """``from`` / ``to`` (local days, both included; default the last 30 days) and ``unit`` (supervisors)."""
    errors: list[str] = []
    last = today_local()
    first = last - timedelta(days=DEFAULT_DAYS - 1)
    for name in ("from", "to"):
        text = str(params.get(name, "") or "").strip()
        if not text:
            continue
        try:
            day = date.fromisoformat(text)
        except ValueError:
            errors.append(name)
            continue
        if name == "from":
            first = day
        else:
            last = day
    if first > last:
        first, last = last, first
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
        errors.append("range")
    unit = str(params.get("unit", "") or "").strip() or None
    if unit is not None and (user.role != "supervisor" or not _UNIT.match(unit)):
        if user.role == "supervisor":
            errors.append("unit")
        unit = None
    return stats.Period.local_days(first, last, unit), errors


def filename(prefix: str, period: stats.Period, ext: str) -> str:
    unit = f"-{period.unit_id}" if period.unit_id else ""
    return f"{prefix}-{period.first_day}-{period.last_day}{unit}.{ext}"


def download(body: bytes, media_type: str, name: str) -> Response:
    headers = page_headers()
    headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(body, media_type=media_type, headers=headers)


def charts(data: dict[str, Any], table: dict[str, Any], lang: str) -> dict[str, Any]:
    """The SVG of each chart, from the same tables the page prints beside them."""
    days = data["per_day"]
    every = max(1, len(days) // 10)
    day_labels = [d["day"][8:10] + "/" + d["day"][5:7] for d in days]
    weeks = data["per_week"]

    def horizontal(key: str, limit: int = 12) -> Any:
        rows = table[key][1][:limit]
        return bars(word(key, lang), [str(r[1]) for r in rows], [float(r[2]) for r in rows])

    compare = data["communes_week"][:12]
    return {
        "per_day": columns(word("per_day", lang), day_labels, [float(d["tips"]) for d in days], every=every),
        "urgent_day": columns(word("urgent", lang), day_labels, [float(d["urgent"]) for d in days], every=every,
                              css="bar alarm"),
        "money_week": columns(word("money_lost_vnd", lang), [w["week"][-3:] for w in weeks],
                              [w["money_lost_vnd"] / 1_000_000 for w in weeks], css="bar alarm"),
        "by_pretext": horizontal("by_pretext"), "by_commune": horizontal("by_commune"),
        "by_unit": horizontal("by_unit"), "by_channel": horizontal("by_channel"),
        "first_action": bars(word("first_action", lang), [b["bucket"] for b in data["first_action"]["buckets"]],
                             [float(b["tips"]) for b in data["first_action"]["buckets"]]),
        "time_to_close": bars(word("time_to_close", lang), [b["bucket"] for b in data["time_to_close"]["buckets"]],
                              [float(b["tips"]) for b in data["time_to_close"]["buckets"]]),
        "communes_week": bars(word("communes_week", lang), [r.get("name") or r["code"] or "?" for r in compare],
                              [float(r["this_week"]) for r in compare],
                              second=[float(r["last_week"]) for r in compare]),
    }


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    router = APIRouter()
    db, cipher = runtime.db, runtime.cipher

    async def figures(user: ConsoleUser, period: stats.Period) -> dict[str, Any]:
        return await stats.dashboard_concurrently(db.read, viewer=user.viewer, period=period, cipher=cipher)

    async def audited(request: Request, user: ConsoleUser, what: str, period: stats.Period) -> None:
        detail = f"{what} {period.first_day}..{period.last_day}" + (f" unit {period.unit_id}" if period.unit_id
                                                                     else "")
        ip = client_addr_of(request.scope)
        await db.run(audit.record, actor=user.actor, action="dashboard.export", subject="dashboard",
                     now=datetime.now(UTC), detail=detail + (f" from {ip}" if ip else ""))

    @router.get("/console/dashboard")
    async def dashboard_page(request: Request, user: Annotated[ConsoleUser, Depends(READERS)]) -> Response:
        period, errors = parse_period(request.query_params, user)
        data = await figures(user, period)
        lang = request_lang(request)
        labels = Labels(runtime.flows.get(), lang)
        table = tables(data, labels, lang)
        units = await db.run(list_units) if user.role == "supervisor" else []
        month = (today_local().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        return renderer.render(request, "dashboard.html", {
            "data": data, "tables": table, "charts": charts(data, table, lang), "units": units, "errors": errors,
            "period": period, "query": request.url.query, "sections": SECTIONS, "word": lambda k: word(k, lang),
            "report_month": month,
        })

    @router.get("/console/dashboard.json")
    async def dashboard_json(request: Request, user: Annotated[ConsoleUser, Depends(READERS)]) -> Response:
        period, _errors = parse_period(request.query_params, user)
        data = await figures(user, period)
        await audited(request, user, "all.json", period)
        return download(as_json(data), TYPES["json"], filename("dashboard", period, "json"))

    @router.get("/console/dashboard/export/{name}")
    async def export(request: Request, name: str, user: Annotated[ConsoleUser, Depends(READERS)]) -> Response:
        section, _, fmt = name.rpartition(".")
        if fmt not in TYPES or (section not in SECTIONS and not (section == "all" and fmt == "xlsx")):
            return renderer.render(request, "not_found.html", status=404)
        period, _errors = parse_period(request.query_params, user)
        data = await figures(user, period)
        lang = request_lang(request)
        table = tables(data, Labels(runtime.flows.get(), lang), lang)
        await audited(request, user, name, period)
        if fmt == "xlsx":
            body = as_xlsx(table if section == "all" else {section: table[section]}, lang)
        elif fmt == "csv":
            body = as_csv(table[section])
        else:
            headers, rows = table[section]
            body = as_json({"section": section, "period": data["period"], "columns": headers, "rows": rows})
        return download(body, TYPES[fmt], filename(section, period, fmt))

    @router.get("/console/dashboard/report")
    async def monthly_report(request: Request, user: Annotated[ConsoleUser, Depends(SUPERVISORS)]) -> Response:
        from bot.reports import FontMissing, build_report, render_docx, render_pdf

        found = _MONTH.match(request.query_params.get("month", ""))
        fmt = request.query_params.get("format", "docx")
        if found is None or fmt not in ("docx", "pdf"):
            return renderer.render(request, "not_found.html", status=404)
        year, month = int(found.group(1)), int(found.group(2))
        settings = runtime.settings
        report = await db.run(build_report, year=year, month=month, cipher=cipher,
                              province=settings.province.name, police_name=settings.province.police_name)
        try:
            body = render_docx(report) if fmt == "docx" else render_pdf(report)
        except FontMissing as exc:
            return Response(str(exc), status_code=503, media_type="text/plain; charset=utf-8", headers=page_headers())
        ip = client_addr_of(request.scope)
        await db.run(audit.record, actor=user.actor, action="report.monthly", subject=f"report:{year}-{month:02d}",
                     now=datetime.now(UTC), detail=fmt + (f" from {ip}" if ip else ""))
        media = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document" if fmt == "docx"
                 else "application/pdf")
        return download(body, media, f"bao-cao-thang-{year}-{month:02d}.{fmt}")

    return router
