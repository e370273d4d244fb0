"""The tip page's two-way panel: an officer asks the reporter a question, takes a "gặp cán bộ" chat live, writes
in it and hands it back; and, on closing, tells the reporter the outcome.

For the tip page (:mod:`bot.console.tip_pages`, :mod:`bot.console.tip_actions`):

- ``await panel_context(runtime, viewer, case) -> dict`` — what ``_conversation.html`` renders (as
  ``conversation``), including ``outcome_templates`` for the close form;
- ``outcome_templates() -> list[dict]`` — ``{"id", "label", "outcomes"}``; ``label`` is Vietnamese, translated by
  the console's strings (``_(t.label)``);
- ``await notify_outcome(runtime, viewer, tip_id, template_id) -> str`` — queue the outcome notice after a
  close: ``"queued"`` or why not (never raises for an unreachable reporter: the close stands).

Routes (officer/supervisor, CSRF-checked, 404 for a tip the viewer may not see, every change audited):
``POST /console/tips/{ref}/ask`` (``question``), ``…/handoff/take``, ``…/handoff/send`` (``body``),
``…/handoff/release``; ``GET /console/tips/{ref}/conversation?v=<version>`` — the panel alone, polled by
``conversation.js`` (204 when nothing changed, so an idle poll shows no personal data and logs nothing).
A POST answers 303 back to the tip page, or — asked by ``conversation.js`` — the fresh panel itself.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from bot.clientaddr import client_addr_of
from bot.console.auth import ConsoleUser, checked_form, require_roles
from bot.console.officers import officer_names
from bot.console.templating import Renderer
from bot.delivery import reach_of, talk_of
from bot.runtime import Runtime
from handlers import handoff_ops
from handlers.handoff_ops import TalkError
from handlers.handoff_texts import OUTCOME_TEMPLATES
from storage import audit, notices, transcript
from storage.workflow import CaseRow, Viewer, WorkflowError, case_of

READERS = require_roles("officer", "supervisor")
FRAGMENT = "_conversation.html"
AJAX_HEADER = "x-requested-with"
AJAX_VALUE = "conversation"  # what conversation.js sends: answer with the panel, not a redirect


def outcome_templates() -> list[dict[str, Any]]:
    """The sentences the close form offers (Vietnamese labels; the reporter gets theirs in their language)."""
    return [{"id": t.id, "label": t.label, "outcomes": list(t.outcomes)} for t in OUTCOME_TEMPLATES]


async def notify_outcome(runtime: Runtime, viewer: Viewer, tip_id: int, template_id: str) -> str:
    """After closing: tell the reporter the outcome. ``queued``, or the reason it was not (see
    :func:`handlers.handoff_ops.notify_outcome`; ``not_visible`` for a tip outside the viewer's reach)."""
    try:
        return await runtime.db.run(handoff_ops.notify_outcome, viewer=viewer, tip_id=tip_id,
                                    template_id=template_id, talk=talk_of(runtime), now=datetime.now(UTC))
    except WorkflowError:
        return "not_visible"


def _panel(conn: sa.Connection, *, runtime: Runtime, viewer: Viewer, case: CaseRow, now: datetime) -> dict[str, Any]:
    reach = reach_of(runtime)
    cipher = runtime.cipher
    reporter = notices.reporter_of(conn, tip_id=case.tip_id, cipher=cipher)
    problem = reach.problem(conn, reporter, now)
    channel = reporter.channel if reporter is not None else case.channel
    thread = transcript.thread_of_tip(conn, tip_id=case.tip_id)
    live = thread is not None and thread.mode == "live" and not thread.expired(now)
    mine = live and thread is not None and thread.officer_id == viewer.user_id
    question = thread is not None and thread.mode == "question" and not thread.expired(now)
    lines = transcript.messages(conn, tip_id=case.tip_id, cipher=cipher)
    waiting = any(m.delivery in ("pending", "claimed") for m in lines)
    handoff = case.kind == "handoff"
    return {
        "reference": case.reference,
        "channel": channel,
        "problem": problem,  # no_reporter | no_channel | chat_closed | None
        "while_open": channel in reach.while_open,  # an anonymous web chat: reachable only while its page is open
        "pull": channel in reach.pull,  # gets messages with its next request (HTTP API)
        "chat_open": problem is None and channel in reach.while_open,
        "is_open": case.is_open,
        "is_handoff": handoff,
        "handoff_state": case.handoff_state,
        "live": live,
        "live_mine": mine,
        "live_officer": thread.officer_id if live and thread is not None else None,
        "live_until": thread.expires_at if live and thread is not None else None,
        "can_take": handoff and case.is_open and problem is None and (not live or (viewer.whole_province and not mine)),
        "can_write": live and (mine or viewer.whole_province),
        "can_ask": case.is_open and problem is None and not live,
        "question_pending": question,
        "question_delivered": question and thread is not None and thread.delivered,
        "messages": lines,
        "names": officer_names(conn),
        "version": transcript.version(conn, tip_id=case.tip_id) + f"-{problem or 'ok'}",
        "poll": live or question or waiting or (handoff and case.is_open and case.handoff_state == "requested"),
        "idle_minutes": runtime.engine.config.handoff.idle_minutes,
        "outcome_templates": outcome_templates(),
        "key": secrets.token_urlsafe(12),  # a resubmitted form (double click, reload) sends its message once
        "url": f"/console/tips/{case.reference}/conversation",
        "flash": None,
        "talk_problem": None,
    }


async def panel_context(runtime: Runtime, viewer: Viewer, case: CaseRow) -> dict[str, Any]:
    """Everything ``_conversation.html`` shows for ``case`` (the tip page already audited opening the tip)."""
    return await runtime.db.run(_panel, runtime=runtime, viewer=viewer, case=case, now=datetime.now(UTC))


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    router = APIRouter()
    db = runtime.db

    async def case_or_none(user: ConsoleUser, reference: str) -> CaseRow | None:
        return await db.run(case_of, viewer=user.viewer, reference=reference.upper())

    def not_found(request: Request) -> Response:
        return renderer.render(request, "not_found.html", status=404)

    async def fragment(request: Request, user: ConsoleUser, case: CaseRow, *, flash: str | None = None,
                       problem: str | None = None, status: int = 200) -> Response:
        ctx = await panel_context(runtime, user.viewer, case)
        ctx.update(flash=flash, talk_problem=problem)
        return renderer.render(request, FRAGMENT, {"conversation": ctx, "case": case}, status=status)

    async def act(request: Request, user: ConsoleUser, reference: str, done: str, work: Any) -> Response:
        """Run ``work(conn, viewer, case, now, ip)``; answer with the panel (JS) or a redirect to the tip."""
        case = await case_or_none(user, reference)
        if case is None:
            return not_found(request)
        now, ip = datetime.now(UTC), client_addr_of(request.scope)
        problem: str | None = None
        try:
            await db.run(lambda conn: work(conn, user.viewer, case, now, ip))
        except TalkError as exc:
            problem = exc.code
        except WorkflowError:
            problem = "refused"
        if request.headers.get(AJAX_HEADER) == AJAX_VALUE:
            fresh = await case_or_none(user, reference) or case
            return await fragment(request, user, fresh, flash=None if problem else done, problem=problem,
                                  status=422 if problem else 200)
        query = f"talk_problem={problem}" if problem else f"talk={done}"
        return RedirectResponse(f"/console/tips/{case.reference}?{query}#conversation", status_code=303)

    def text_of(form: FormData, name: str) -> str:
        value = form.get(name, "")
        return value if isinstance(value, str) else ""

    @router.get("/console/tips/{reference}/conversation")
    async def panel(request: Request, reference: str, user: Annotated[ConsoleUser, Depends(READERS)],
                    v: str | None = None) -> Response:
        case = await case_or_none(user, reference)
        if case is None:
            return not_found(request)
        ctx = await panel_context(runtime, user.viewer, case)
        if v is not None and v == ctx["version"]:
            return Response(status_code=204, headers={"Cache-Control": "no-store"})
        # New lines (personal data) are about to be shown: that is a view of the tip, audited as such.
        await db.run(audit.record, actor=user.viewer.actor, action="tip.conversation", subject=case.reference,
                     now=datetime.now(UTC), detail=f"from {client_addr_of(request.scope)}")
        return renderer.render(request, FRAGMENT, {"conversation": ctx, "case": case})

    @router.post("/console/tips/{reference}/ask")
    async def ask(request: Request, reference: str, user: Annotated[ConsoleUser, Depends(READERS)],
                  form: Annotated[FormData, Depends(checked_form)]) -> Response:
        question, key = text_of(form, "question"), text_of(form, "key") or None
        talk = talk_of(runtime)
        return await act(request, user, reference, "asked", lambda conn, viewer, case, now, ip: handoff_ops.ask(
            conn, viewer=viewer, tip_id=case.tip_id, question=question, talk=talk, now=now, key=key and f"ask:{key}",
            ip=ip))

    @router.post("/console/tips/{reference}/handoff/take")
    async def take(request: Request, reference: str, user: Annotated[ConsoleUser, Depends(READERS)],
                   form: Annotated[FormData, Depends(checked_form)]) -> Response:
        talk = talk_of(runtime)
        return await act(request, user, reference, "taken", lambda conn, viewer, case, now, ip: handoff_ops.take(
            conn, viewer=viewer, tip_id=case.tip_id, talk=talk, now=now, ip=ip))

    @router.post("/console/tips/{reference}/handoff/send")
    async def send(request: Request, reference: str, user: Annotated[ConsoleUser, Depends(READERS)],
                   form: Annotated[FormData, Depends(checked_form)]) -> Response:
        body, key = text_of(form, "body"), text_of(form, "key") or None
        talk = talk_of(runtime)
        return await act(request, user, reference, "sent", lambda conn, viewer, case, now, ip: handoff_ops.send(
            conn, viewer=viewer, tip_id=case.tip_id, body=body, talk=talk, now=now, key=key and f"live:{key}", ip=ip))

    @router.post("/console/tips/{reference}/handoff/release")
    async def release(request: Request, reference: str, user: Annotated[ConsoleUser, Depends(READERS)],
                      form: Annotated[FormData, Depends(checked_form)]) -> Response:
        talk = talk_of(runtime)
        return await act(request, user, reference, "released", lambda conn, viewer, case, now, ip: handoff_ops.release(
            conn, viewer=viewer, tip_id=case.tip_id, talk=talk, now=now, ip=ip))

    return router
