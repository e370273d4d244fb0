"""One tip's page: every field, attachments inline, the checks' verdicts, the cluster, referrals, notes, the
conversation with the parent, the history and the audit trail — and the forms that change the workflow.

Opening the page opens the tip's sealed report, so it is audited (``tip.view``) like every attachment shown.
A tip the officer may not see answers 404 exactly like a reference that does not exist.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bot.clientaddr import client_addr_of
from bot.console.auth import ConsoleUser, RowId, require_roles
from bot.console.labels import Labels
from bot.console.officers import officer_names
from bot.console.queue_pages import commune_names
from bot.console.templating import Renderer, request_lang
from bot.runtime import Runtime
from bot.webchat.security import BASE_HEADERS
from handlers.flowload import FlowSet
from handlers.flowspec import SubmitStep
from storage import audit, tip_links, workflow
from storage.files import RejectedFile, read_attachment
from storage.reference import schools_with_phones
from storage.units import list_units

log = logging.getLogger(__name__)

READERS = require_roles("officer", "supervisor")
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
CHECK_SLOTS = ("call_check", "link_check")
HIDDEN_SLOTS = frozenset({*CHECK_SLOTS, "screenshots"})


@dataclass(frozen=True)
class Field:
    label: str
    value: str


def report_fields(flows: FlowSet, slots: dict[str, Any], labels: Labels, lang: str) -> list[Field]:
    """The report as the parent confirmed it (the submit step's summary order), then anything else filed."""
    ordered: list[tuple[str, str]] = []
    # The report's own summary first: other flows may label the same slot differently.
    for flow in sorted(flows.flows.values(), key=lambda f: f.id != "report"):
        for step in flow.steps:
            if isinstance(step, SubmitStep):
                ordered += [(f.slot, f.label.get(lang)) for f in step.fields]
    seen: set[str] = set()
    out: list[Field] = []
    for slot, label in ordered:
        if slot in seen or slot in HIDDEN_SLOTS:
            continue
        seen.add(slot)
        value = slots.get(slot)
        if value not in (None, "", []):
            out.append(Field(label, _show(labels, slot, value)))
    for slot, value in slots.items():
        # Flags the dialogue keeps for itself (request_human: True…) are not part of what the parent reported.
        if isinstance(value, bool):
            continue
        if slot not in seen and slot not in HIDDEN_SLOTS and value not in (None, "", [], {}):
            out.append(Field(slot, _show(labels, slot, value)))
    return out


def _show(labels: Labels, slot: str, value: Any) -> str:
    if slot == "amount" and isinstance(value, int):
        return f"{value:,}".replace(",", ".") + " đ"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return labels.option(slot, value)


def checks_of(slots: dict[str, Any]) -> list[dict[str, Any]]:
    """The checks the parent ran during the report ({verdict, score, reasons: [{code, severity, message}]})."""
    found = []
    for slot in CHECK_SLOTS:
        value = slots.get(slot)
        if isinstance(value, dict) and value.get("verdict"):
            found.append({"slot": slot, "verdict": value.get("verdict"), "score": value.get("score"),
                          "reasons": [r for r in value.get("reasons") or [] if isinstance(r, dict)]})
    return found


PanelContext = Callable[[Runtime, workflow.Viewer, workflow.CaseRow], Awaitable[dict[str, Any]]]


def conversation_panel() -> PanelContext | None:
    """The two-way panel (questions, live hand-off) when that part of the console is installed."""
    try:
        module = importlib.import_module("bot.console.conversation")
    except ModuleNotFoundError:
        return None
    panel: PanelContext | None = getattr(module, "panel_context", None)
    return panel


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    router = APIRouter()
    db, cipher = runtime.db, runtime.cipher
    panel = conversation_panel()

    @router.get("/console/tips/{reference}")
    async def tip_page(request: Request, reference: str, user: Annotated[ConsoleUser, Depends(READERS)]) -> Response:
        viewer = user.viewer
        ip = client_addr_of(request.scope)
        now = datetime.now(UTC)

        def work(conn: Any) -> dict[str, Any] | None:
            view = workflow.open_tip(conn, viewer=viewer, reference=reference.upper(), cipher=cipher, now=now, ip=ip)
            if view is None:
                return None
            tip_id = view.case.tip_id
            cluster = tip_links.cluster(conn, viewer=viewer, tip_id=tip_id, cipher=cipher)
            return {
                "view": view,
                "cluster": cluster,
                # A school's own number in a scam report is caller-ID spoofing, not the school: say so.
                "official": schools_with_phones(conn, phones=[e.value for e in cluster if e.kind == "phone"]),
                "notes": workflow.notes(conn, tip_id=tip_id, cipher=cipher),
                "events": workflow.events(conn, tip_id=tip_id),
                "trail": audit.entries(conn, subject=view.case.reference, limit=200),
                "names": officer_names(conn),
                "unit_name": {str(u["id"]): str(u["name"]) for u in list_units(conn)}.get(view.case.unit_id or ""),
                "commune_name": commune_names(conn, codes={view.case.commune_code} if view.case.commune_code
                                              else set()).get(view.case.commune_code or ""),
            }

        found = await db.run(work)
        if found is None:
            return renderer.render(request, "not_found.html", status=404)
        lang = request_lang(request)
        labels = Labels(runtime.flows.get(), lang)
        view: workflow.TipView = found["view"]
        slots = dict(view.data.get("slots") or {})
        conversation = await panel(runtime, viewer, view.case) if panel is not None else None
        outcome_templates = conversation.get("outcome_templates", []) if conversation else []
        return renderer.render(request, "tip.html", {
            **found, "case": view.case, "labels": labels, "now": now,
            "fields": report_fields(runtime.flows.get(), slots, labels, lang),
            "checks": checks_of(slots), "consent": view.data.get("consent") or {},
            "report_locale": view.data.get("locale", "vi"), "conversation": conversation,
            "outcome_templates": outcome_templates, "blockable": tip_links.BLOCKABLE, "targets": tip_links.TARGETS,
            "referral_statuses": tip_links.REFERRAL_STATUSES, "flash": request.query_params.get("done"),
            "problem": request.query_params.get("problem"),
        })

    @router.get("/console/tips/{reference}/attachments/{attachment_id}")
    async def attachment(request: Request, reference: str, attachment_id: RowId,
                         user: Annotated[ConsoleUser, Depends(READERS)]) -> Response:
        row = await db.run(workflow.attachment_of, viewer=user.viewer, reference=reference.upper(),
                           attachment_id=attachment_id, now=datetime.now(UTC), ip=client_addr_of(request.scope))
        if row is None or not row.get("path"):
            return Response("not found", status_code=404, media_type="text/plain", headers=BASE_HEADERS)
        try:
            # Decrypted in memory for this response only: never written to disk in clear.
            data = await _read(Path(row["path"]), row["sha256"], cipher)
        except (OSError, RejectedFile):
            log.warning("attachment #%s of %s cannot be read", attachment_id, reference)
            return Response("attachment unavailable", status_code=410, media_type="text/plain", headers=BASE_HEADERS)
        mime = row["mime_type"]
        inline = mime in INLINE_IMAGES
        headers = {**BASE_HEADERS, "Cache-Control": "no-store",
                   "Content-Security-Policy": "sandbox; default-src 'none'",
                   "Content-Disposition": ("inline" if inline else f'attachment; filename="{row["sha256"][:16]}"')}
        return Response(data, media_type=mime if inline else "application/octet-stream", headers=headers)

    return router


async def _read(path: Path, sha256: str, cipher: Any) -> bytes:
    import asyncio

    return await asyncio.to_thread(read_attachment, path, sha256, cipher=cipher)
