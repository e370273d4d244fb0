"""Evidence for investigators: a tip (or its whole cluster) as a zip bundle, built in memory.

The bundle holds, per tip: the report as filed (``report.json``), the consent record (``consent.json``), the
conversation transcript when the two-way part is installed (``transcript.json``), the history and the audit
trail (``audit.json``), and every attachment in its original bytes; ``SHA256SUMS`` lists the SHA-256 of every
file, so an investigator can show that nothing changed after export. Only supervisors export, and every export
is audited (``tip.export``) for each tip it contains. Decrypted bytes exist only in this response, never on disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bot.clientaddr import client_addr_of
from bot.console.auth import ConsoleUser, require_roles
from bot.console.templating import Renderer
from bot.runtime import Runtime
from bot.webchat.security import BASE_HEADERS
from storage import audit, workflow
from storage.crypto import Cipher
from storage.files import RejectedFile, read_attachment
from storage.indicators import of_tip as tip_indicator_values
from storage.schema import tip_attachments, tip_indicators
from storage.workflow_schema import tip_cases

SUPERVISORS = require_roles("supervisor")
MAX_CLUSTER = 200
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp", "application/pdf": "pdf"}


def cluster_references(conn: sa.Connection, *, viewer: workflow.Viewer, tip_id: int) -> list[str]:
    """This tip and every tip the viewer may see that names one of its indicators (newest first, capped)."""
    t = tip_indicators.c
    # Matched on the blind index (storage/indicators.py): nothing is opened to find the cluster.
    mine = sa.select(t.kind, t.value_key).where(t.tip_id == tip_id, t.value_key.is_not(None)).subquery()
    related = sa.select(t.tip_id).join(mine, sa.and_(t.kind == mine.c.kind, t.value_key == mine.c.value_key))
    rows = conn.execute(sa.select(tip_cases.c.reference).where(
        sa.or_(tip_cases.c.tip_id == tip_id, tip_cases.c.tip_id.in_(related)), workflow.visible(viewer))
        .order_by(tip_cases.c.created_at.desc()).limit(MAX_CLUSTER)).scalars()
    return list(rows)


def _collect(conn: sa.Connection, *, viewer: workflow.Viewer, references: list[str], cipher: Cipher,
             now: datetime, ip: str | None) -> list[dict[str, Any]]:
    out = []
    for reference in references:
        view = workflow.open_tip(conn, viewer=viewer, reference=reference, cipher=cipher, now=now, ip=ip)
        if view is None:
            continue
        case = view.case
        indicators = [{"kind": k, "value": v} for k, v in tip_indicator_values(conn, cipher=cipher, tip_id=case.tip_id)]
        paths = {r.id: r.path for r in conn.execute(sa.select(tip_attachments.c.id, tip_attachments.c.path)
                                                    .where(tip_attachments.c.tip_id == case.tip_id))}
        audit.record(conn, actor=viewer.actor, action="tip.export", subject=reference, now=now,
                     detail=f"{len(references)} tip(s)" + (f" from {ip}" if ip else ""))
        out.append({
            "case": {k: (v.isoformat() if isinstance(v, datetime) else v)
                     for k, v in ((n, getattr(case, n)) for n in workflow.CaseRow.__slots__)},
            "data": view.data, "indicators": indicators,
            "attachments": [{**a, "path": paths.get(a["id"])} for a in view.attachments],
            "events": [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
                       for e in workflow.events(conn, tip_id=case.tip_id)],
            "audit": [{**e, "at": e["at"].isoformat()} for e in audit.entries(conn, subject=reference, limit=10_000)],
        })
    return out


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str).encode()


def build_bundle(tips: list[dict[str, Any]], transcripts: dict[str, Any], *, cipher: Cipher, exported_by: str,
                 now: datetime) -> bytes:
    """The zip: per-tip folders, a manifest and SHA256SUMS over every file."""
    files: dict[str, bytes] = {}
    for tip in tips:
        ref = tip["case"]["reference"]
        base = f"{ref}/"
        files[base + "report.json"] = _json({"case": tip["case"], "report": tip["data"].get("slots", {}),
                                             "locale": tip["data"].get("locale"), "indicators": tip["indicators"]})
        files[base + "consent.json"] = _json(tip["data"].get("consent") or {})
        files[base + "audit.json"] = _json({"history": tip["events"], "audit_log": tip["audit"]})
        if ref in transcripts:
            files[base + "transcript.json"] = _json(transcripts[ref])
        listed = []
        for a in tip["attachments"]:
            name = f"{base}attachments/{a['sha256']}.{_EXT.get(a['mime_type'], 'bin')}"
            try:
                files[name] = read_attachment(Path(a["path"]), a["sha256"], cipher=cipher)
                listed.append({"file": name, "sha256": a["sha256"], "mime_type": a["mime_type"], "size": a["size"]})
            except (OSError, TypeError, RejectedFile):
                listed.append({"file": None, "sha256": a["sha256"], "missing": True})
        files[base + "attachments.json"] = _json(listed)
    files["manifest.json"] = _json({"exported_at": now.isoformat(), "exported_by": exported_by,
                                    "tips": [t["case"]["reference"] for t in tips], "format": "hotline-evidence-v1"})
    sums = "".join(f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in sorted(files.items()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, body in sorted(files.items()):
            bundle.writestr(name, body)
        bundle.writestr("SHA256SUMS", sums)
    return buffer.getvalue()


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    router = APIRouter()
    db, cipher = runtime.db, runtime.cipher

    @router.get("/console/tips/{reference}/export")
    async def export(request: Request, reference: str, user: Annotated[ConsoleUser, Depends(SUPERVISORS)],
                     cluster: int = 0) -> Response:
        viewer, now, ip = user.viewer, datetime.now(UTC), client_addr_of(request.scope)
        case = await db.run(workflow.case_of, viewer=viewer, reference=reference.upper())
        if case is None:
            return renderer.render(request, "not_found.html", status=404)
        references = (await db.run(cluster_references, viewer=viewer, tip_id=case.tip_id)) if cluster else [
            case.reference]
        tips = await db.run(_collect, viewer=viewer, references=references, cipher=cipher, now=now, ip=ip)
        transcripts: dict[str, Any] = {}
        try:
            conversation = importlib.import_module("bot.console.conversation")
        except ModuleNotFoundError:
            conversation = None
        export_transcript = getattr(conversation, "export_transcript", None)
        if export_transcript is not None:
            for tip in tips:
                transcripts[tip["case"]["reference"]] = await export_transcript(runtime, tip["case"]["tip_id"])
        body = await asyncio.to_thread(build_bundle, tips, transcripts, cipher=cipher, exported_by=viewer.actor,
                                       now=now)
        name = f"{case.reference}{'-cum' if cluster else ''}.zip"
        headers = {**BASE_HEADERS, "Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{name}"'}
        return Response(body, media_type="application/zip", headers=headers)

    return router
