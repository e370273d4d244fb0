"""Admins edit the conversation flows: ``/console/content/flows`` (the files), one editor per file with
validation on save (the validator of ``hotline flows validate``: errors at their line, the save refused),
versions with who and when, a diff against what is live, one-click publish and rollback, and a preview that
plays a version as a parent would see it (:mod:`bot.console.content_preview`).

A published version is stored in the database (:mod:`storage.content_flows`); this process serves it at once,
every other process within ``content.flows_poll_seconds`` (:mod:`bot.content_service`).
"""

from __future__ import annotations

import asyncio
import difflib
import re
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from bot.console.auth import CheckedForm, ConsoleUser, now_utc, require_roles
from bot.console.templating import Renderer, page_headers
from bot.runtime import Runtime
from handlers import yamlio
from handlers.flowload import FlowError, FlowLoadError, FlowSet, load_flows
from storage import content_flows, users

Admin = Annotated[ConsoleUser, Depends(require_roles("admin"))]
FILE_NAME = re.compile(r"^[a-z0-9_]{1,48}\.yaml$")
MAX_TEXT = 200_000
DONE = {"saved": "Đã lưu bản nháp (chưa xuất bản).", "published": "Đã xuất bản: bot dùng bản này ngay.",
        "rolled_back": "Đã khôi phục bản cũ: bot dùng bản này ngay."}


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=page_headers())


def diff_lines(old: str, new: str) -> list[tuple[str, str]]:
    """A unified diff as (kind, line): kind is ``add``, ``del``, ``hunk`` or ``ctx``."""
    out: list[tuple[str, str]] = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), "đang dùng", "bản này", lineterm="", n=2):
        if line.startswith(("---", "+++")):
            continue
        kind = "hunk" if line.startswith("@@") else "add" if line.startswith("+") else \
            "del" if line.startswith("-") else "ctx"
        out.append((kind, line))
    return out


async def actors(runtime: Runtime) -> dict[str, str]:
    """``officer:<id>`` → the account's e-mail, so a version's author reads as a person."""
    return {f"officer:{u.id}": u.email for u in await runtime.db.run(users.list_users)}


def numbered(text: str, errors: list[FlowError], file: str) -> list[tuple[int, str, list[FlowError]]]:
    """The lines around each error, with the errors found on them (the editor's listing)."""
    at: dict[int, list[FlowError]] = {}
    for e in errors:
        if e.file == file and e.line:
            at.setdefault(e.line, []).append(e)
    near = {n + d for n in at for d in range(-3, 4)}  # each error with three lines either side
    return [(n, line, at.get(n, [])) for n, line in enumerate(text.splitlines(), start=1) if n in near]


class FlowFiles:
    """The flow files of this process: shipped in its flows directory, published in the database."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.directory = runtime.flows.directory

    def names(self, published: dict[str, str]) -> list[str]:
        return sorted({p.name for p in self.directory.glob("*.yaml")} | set(published))

    def shipped(self, name: str) -> str | None:
        path = self.directory / name
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def validate(self, published: dict[str, str], name: str, text: str) -> tuple[FlowSet | None, list[FlowError]]:
        """Load the whole set with ``text`` as ``name``: what would serve if it were published."""
        try:
            return load_flows(self.directory, overrides={**published, name: text}), []
        except FlowLoadError as exc:
            return None, exc.errors

    async def publish_here(self) -> None:
        """Serve the database's publications in this process now (the others poll for them)."""
        texts = await self.runtime.db.run(content_flows.current_texts)
        await asyncio.to_thread(self.runtime.flows.publish, texts)


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    db = runtime.db
    files = FlowFiles(runtime)
    router = APIRouter(include_in_schema=False)

    @router.get("/console/content/flows")
    async def flow_list(request: Request, admin: Admin) -> Response:
        published = await db.run(content_flows.current_texts)
        current = await db.run(content_flows.current_ids)
        rows = []
        for name in files.names(published):
            versions = await db.run(content_flows.versions, file=name)
            live = next((v for v in versions if v.id == current.get(name)), None)
            rows.append({"name": name, "live": live, "versions": len(versions),
                         "flows": flow_ids(published.get(name) or files.shipped(name) or "")})
        return renderer.render(request, "content_flows.html", {"files": rows, "who": await actors(runtime),
                                                               "errors": runtime.flows.last_errors})

    async def editor(request: Request, name: str, *, text: str | None = None, errors: list[FlowError] | None = None,
                     status: int = 200) -> Response:
        published = await db.run(content_flows.current_texts)
        shipped = files.shipped(name)
        if shipped is None and name not in published:
            return renderer.render(request, "not_found.html", status=404)
        versions = await db.run(content_flows.versions, file=name)
        wanted = request.query_params.get("version", "")
        if text is None and wanted.isdigit():
            chosen = next((v for v in versions if v.id == int(wanted)), None)
            text = chosen.text if chosen is not None else None
        if text is None:
            text = published.get(name, shipped or "")
        return renderer.render(request, "content_flow.html", {
            "name": name, "text": text, "errors": errors or [], "lines": numbered(text, errors or [], name),
            "versions": versions, "publications": await db.run(content_flows.publications, file=name),
            "live_source": "db" if name in published else "file", "who": await actors(runtime),
            "done": DONE.get(request.query_params.get("done", ""))}, status=status)

    @router.get("/console/content/flows/{name}")
    async def flow_editor(request: Request, name: str, admin: Admin) -> Response:
        if not FILE_NAME.match(name):
            return renderer.render(request, "not_found.html", status=404)
        return await editor(request, name)

    @router.post("/console/content/flows/{name}")
    async def flow_save(request: Request, name: str, admin: Admin, form: CheckedForm) -> Response:
        if not FILE_NAME.match(name):
            return renderer.render(request, "not_found.html", status=404)
        text = str(form.get("text") or "").replace("\r\n", "\n")
        action = str(form.get("action") or "save")
        if len(text) > MAX_TEXT:
            error = FlowError(name, "-", "-", f"the file is longer than {MAX_TEXT} characters", "shorten it", line=1)
            return await editor(request, name, text=text[:MAX_TEXT], errors=[error], status=422)
        published = await db.run(content_flows.current_texts)
        _flows, errors = await asyncio.to_thread(files.validate, published, name, text)
        if errors:
            return await editor(request, name, text=text, errors=errors, status=422)
        shipped = files.shipped(name)
        now = now_utc()

        def work(conn: Any) -> int:
            version = content_flows.save_version(conn, file=name, text=text, shipped=shipped, actor=admin.actor,
                                                 now=now, note=str(form.get("note") or "").strip() or None)
            if action == "publish":
                content_flows.publish(conn, version_id=version.id, actor=admin.actor, now=now)
            return version.id

        await db.run(work)
        if action == "publish":
            await files.publish_here()
        return see_other(f"/console/content/flows/{name}?done={'published' if action == 'publish' else 'saved'}")

    @router.post("/console/content/flows/{name}/versions/{version_id:int}/publish")
    async def flow_publish(request: Request, name: str, version_id: int, admin: Admin, form: CheckedForm) -> Response:
        version = await db.run(content_flows.get_version, version_id=version_id)
        if version is None or version.file != name:
            return renderer.render(request, "not_found.html", status=404)
        published = await db.run(content_flows.current_texts)
        _flows, errors = await asyncio.to_thread(files.validate, published, name, version.text)
        if errors:  # the other files moved on since this version was saved
            return await editor(request, name, text=version.text, errors=errors, status=422)
        newest = max((v.number for v in await db.run(content_flows.versions, file=name)), default=0)
        action = "publish" if version.number == newest else "rollback"
        await db.run(content_flows.publish, version_id=version_id, actor=admin.actor, now=now_utc(), action=action)
        await files.publish_here()
        return see_other(f"/console/content/flows/{name}?done={'published' if action == 'publish' else 'rolled_back'}")

    @router.get("/console/content/flows/{name}/versions/{version_id:int}")
    async def flow_version(request: Request, name: str, version_id: int, admin: Admin) -> Response:
        version = await db.run(content_flows.get_version, version_id=version_id)
        if version is None or version.file != name:
            return renderer.render(request, "not_found.html", status=404)
        published = await db.run(content_flows.current_texts)
        live = published.get(name, files.shipped(name) or "")
        return renderer.render(request, "content_flow_version.html", {
            "name": name, "version": version, "diff": diff_lines(live, version.text), "who": await actors(runtime)})

    return router



def flow_ids(text: str) -> list[str]:
    """The flow ids a file defines (for the list; a file that does not parse defines none)."""
    try:
        raw = yamlio.safe_load(text) or {}
    except yaml.YAMLError:
        return []
    found = raw.get("flows") if isinstance(raw, dict) else None
    if not isinstance(found, list):
        return []
    return sorted(str(f["id"]) for f in found if isinstance(f, dict) and "id" in f)
