"""Play a saved flow version as a parent would see it, before publishing it: the real dialogue (the same
checks, understanding and texts) over that version, in a conversation kept in the page itself.

Nothing is stored: the conversation state and the transcript travel in the page's hidden fields, a report
"submitted" in the preview gets the reference ``XEM-THU`` and files nothing, and "forget me" erases nothing.
``/console/content/flows/{file}/versions/{id}/preview`` (GET starts, POST sends one message or press).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bot.console.auth import CheckedForm, ConsoleUser, require_roles
from bot.console.content_flows import FlowFiles
from bot.console.templating import Renderer
from bot.runtime import Runtime
from handlers.dialogue import Dialogue
from handlers.flowload import FlowSet
from handlers.messages import InboundMessage
from handlers.turn import Turn
from storage import content_flows

Admin = Annotated[ConsoleUser, Depends(require_roles("admin"))]
PREVIEW_REFERENCE = "XEM-THU"
MAX_TRANSCRIPT = 60
_NOT_A_TIP = {"vi": "Xem trước: không có gì được gửi hay lưu.", "en": "Preview: nothing is sent or stored."}


def _loads(value: Any, default: Any) -> Any:
    try:
        found = json.loads(value) if isinstance(value, str) and value else default
    except ValueError:
        return default
    return found if isinstance(found, type(default)) else default


class Player:
    """The real :class:`Dialogue` over a candidate flow set, writing nothing."""

    def __init__(self, runtime: Runtime, flows: FlowSet) -> None:
        engine = runtime.engine
        base = engine.dialogue
        self.db = runtime.db
        self.flows = flows
        self.dialogue = Dialogue(lambda: flows, checker=base.checker, submit=lambda _turn: PREVIEW_REFERENCE,
                                 erase=lambda _turn: 0, variables=engine.config.variables,
                                 understand=base.understand, low_confidence=base.low_confidence)

    async def play(self, state: dict[str, Any], locale: str, *, text: str | None = None, payload: str | None = None,
                   start_flow: str | None = None) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
        """One input (or the start of one flow); returns the new state, locale and what the bot said."""

        def work(conn: sa.Connection) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
            msg = InboundMessage(channel="preview", chat_id="preview", user_id="preview", text=text, payload=payload)
            turn = Turn(conn=conn, state=state, locale=locale, inbound=msg, text=text or "", now=msg.received_at)
            if start_flow:
                # Start the flow the way a menu button or an understood intent would.
                self.dialogue._goto(turn, self.flows, f"flow:{start_flow}")
            else:
                self.dialogue.respond(turn)
            return turn.state, turn.locale, [m.to_json() for m in turn.out]

        return await self.db.run(work)


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    db = runtime.db
    files = FlowFiles(runtime)
    router = APIRouter(include_in_schema=False)

    async def page(request: Request, name: str, version_id: int, *, state: dict[str, Any], locale: str,
                   transcript: list[dict[str, Any]], error: str | None = None) -> Response:
        version = await db.run(content_flows.get_version, version_id=version_id)
        if version is None or version.file != name:
            return renderer.render(request, "not_found.html", status=404)
        published = await db.run(content_flows.current_texts)
        flows, errors = await asyncio.to_thread(files.validate, published, name, version.text)
        # The buttons of what the bot said since the parent's last message (what a parent could press now).
        last_parent = max((i for i, m in enumerate(transcript) if m.get("who") == "parent"), default=-1)
        buttons = [b for m in transcript[last_parent + 1:] for b in m.get("buttons", [])]
        return renderer.render(request, "content_preview.html", {
            "buttons": buttons,
            "name": name, "version": version, "transcript": transcript[-MAX_TRANSCRIPT:],
            "state_json": json.dumps(state, ensure_ascii=False), "locale": locale,
            "transcript_json": json.dumps(transcript[-MAX_TRANSCRIPT:], ensure_ascii=False),
            "flow_ids": sorted(flows.flows) if flows is not None else [], "errors": errors, "error": error,
            "nothing_stored": _NOT_A_TIP["en" if locale == "en" else "vi"]})

    @router.get("/console/content/flows/{name}/versions/{version_id:int}/preview")
    async def preview_start(request: Request, name: str, version_id: int, admin: Admin) -> Response:
        return await page(request, name, version_id, state={}, locale="vi", transcript=[])

    @router.post("/console/content/flows/{name}/versions/{version_id:int}/preview")
    async def preview_step(request: Request, name: str, version_id: int, admin: Admin,
                           form: CheckedForm) -> Response:
        state: dict[str, Any] = _loads(form.get("state"), {})
        transcript: list[dict[str, Any]] = _loads(form.get("transcript"), [])
        locale = "en" if form.get("locale") == "en" else "vi"
        version = await db.run(content_flows.get_version, version_id=version_id)
        if version is None or version.file != name:
            return renderer.render(request, "not_found.html", status=404)
        published = await db.run(content_flows.current_texts)
        flows, _errors = await asyncio.to_thread(files.validate, published, name, version.text)
        if flows is None:
            return await page(request, name, version_id, state=state, locale=locale, transcript=transcript)
        text = str(form.get("text") or "").strip()[:2000] or None
        payload = str(form.get("payload") or "")[:64] or None
        start = str(form.get("start") or "")
        if form.get("restart"):
            state, transcript = {}, []
        if start and start not in flows.flows:
            start = ""
        if not (text or payload or start):
            return await page(request, name, version_id, state=state, locale=locale, transcript=transcript)
        label = text or next((b["label"] for m in reversed(transcript) for b in m.get("buttons", [])
                              if b.get("id") == payload), payload)
        if label and not start:
            transcript.append({"who": "parent", "text": label, "buttons": []})
        try:
            state, locale, said = await Player(runtime, flows).play(state, locale, text=text, payload=payload,
                                                                    start_flow=start or None)
        except Exception as exc:  # a state from an older version may not fit this one: say so, start over
            return await page(request, name, version_id, state={}, locale=locale, transcript=transcript,
                              error=f"{type(exc).__name__}: {str(exc)[:200]}")
        transcript += [{"who": "bot", **m} for m in said]
        return await page(request, name, version_id, state=state, locale=locale, transcript=transcript)

    return router
