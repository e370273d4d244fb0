"""What an officer does from a tip's page: status, close (with the blocklist offer and the reporter's notice),
reopen, assign / take / unassign, notes, blocklisting indicators, and takedown referrals.

Every form is CSRF-checked (:func:`bot.console.auth.checked_form`) and answers with a redirect back to the tip
(post/redirect/get), carrying a fixed message code — never text from the request — so nothing is reflected.
A tip the officer may not see is a 404, as on the page itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from bot.clientaddr import client_addr_of
from bot.console.auth import ConsoleUser, RowId, checked_form, require_roles, small_int
from bot.console.templating import Renderer
from bot.runtime import Runtime
from storage import tip_links, workflow

READERS = require_roles("officer", "supervisor")


def _back(reference: str, *, done: str | None = None, problem: str | None = None) -> RedirectResponse:
    query = f"?done={done}" if done else f"?problem={quote(problem or '')}" if problem else ""
    return RedirectResponse(f"/console/tips/{reference}{query}", status_code=303)


def _picks(form: FormData, field: str = "block") -> list[tuple[str, str]]:
    """Indicator checkboxes are ``kind|value``."""
    out = []
    for raw in form.getlist(field):
        if isinstance(raw, str) and "|" in raw:
            kind, value = raw.split("|", 1)
            out.append((kind, value))
    return out


def outcome_notifier() -> Callable[..., Any] | None:
    """``notify_outcome`` of the two-way part, when it is installed."""
    try:
        module = importlib.import_module("bot.console.conversation")
    except ModuleNotFoundError:
        return None
    notifier: Callable[..., Any] | None = getattr(module, "notify_outcome", None)
    return notifier


# Problems shown on the page after a refused change: codes only (the page has the words).
PROBLEMS = {
    "closing needs an outcome": "need_outcome",
    "choose at least one number, domain or account of this tip": "need_indicator",
    "the note is empty": "empty_note",
    "a note holds at most 4000 characters": "long_note",
    "only a supervisor assigns tips to other officers": "not_supervisor",
    "only a supervisor takes a tip away from another officer": "not_supervisor",
}


def make_router(runtime: Runtime, renderer: Renderer) -> APIRouter:
    router = APIRouter()
    db, cipher = runtime.db, runtime.cipher
    notify = outcome_notifier()

    async def case_or_404(user: ConsoleUser, reference: str) -> workflow.CaseRow | None:
        return await db.run(workflow.case_of, viewer=user.viewer, reference=reference.upper())

    def refused(reference: str, exc: workflow.WorkflowError) -> RedirectResponse:
        return _back(reference, problem=PROBLEMS.get(str(exc), "refused"))

    @router.post("/console/tips/{reference}/status")
    async def change_status(request: Request, reference: str, user: Annotated[ConsoleUser, Depends(READERS)],
                            form: Annotated[FormData, Depends(checked_form)]) -> Response:
        case = await case_or_404(user, reference)
        if case is None:
            return renderer.render(request, "not_found.html", status=404)
        status = str(form.get("status", ""))
        outcome = str(form.get("outcome", "")) or None if status == "closed" else None
        now, ip = datetime.now(UTC), client_addr_of(request.scope)
        picks = _picks(form) if outcome == "confirmed_scam" else []

        def work(conn: Any) -> None:
            workflow.set_status(conn, viewer=user.viewer, tip_id=case.tip_id, status=status, outcome=outcome,
                                now=now, ip=ip)
            if picks:
                # Same transaction: the tip is not "confirmed" without the numbers its officer chose to block.
                tip_links.block_indicators(conn, viewer=user.viewer, tip_id=case.tip_id, picks=picks, now=now, ip=ip,
                                           cipher=cipher)

        try:
            await db.run(work)
        except workflow.WorkflowError as exc:
            return refused(case.reference, exc)
        done = "closed" if status == "closed" else "status"
        template = str(form.get("notify", ""))
        if status == "closed" and template and notify is not None:
            await notify(runtime, user.viewer, case.tip_id, template)
            done = "closed_notified"
        return _back(case.reference, done=done)

    @router.post("/console/tips/{reference}/assign")
    async def change_assignee(request: Request, reference: str, user: Annotated[ConsoleUser, Depends(READERS)],
                              form: Annotated[FormData, Depends(checked_form)]) -> Response:
        case = await case_or_404(user, reference)
        if case is None:
            return renderer.render(request, "not_found.html", status=404)
        who = str(form.get("assignee", ""))
        assignee: int | None
        if who == "me":
            assignee = user.id
        elif who == "none":
            assignee = None
        elif small_int(who) is not None:
            assignee = small_int(who)
        else:
            return _back(case.reference, problem="refused")
        try:
            await db.run(workflow.assign, viewer=user.viewer, tip_id=case.tip_id, assignee_id=assignee,
                         now=datetime.now(UTC), ip=client_addr_of(request.scope))
        except workflow.WorkflowError as exc:
            return refused(case.reference, exc)
        return _back(case.reference, done="assigned")

    async def act(request: Request, user: ConsoleUser, reference: str, done: str, change: Callable[..., Any],
                  **values: Any) -> Response:
        """One workflow change on a visible tip (404 otherwise), then back to its page with ``done`` or the
        refusal's code. ``change`` is a storage unit of work taking viewer, tip_id, now, ip and ``values``."""
        case = await case_or_404(user, reference)
        if case is None:
            return renderer.render(request, "not_found.html", status=404)
        try:
            await db.run(change, viewer=user.viewer, tip_id=case.tip_id, now=datetime.now(UTC),
                         ip=client_addr_of(request.scope), **values)
        except workflow.WorkflowError as exc:
            return refused(case.reference, exc)
        return _back(case.reference, done=done)

    @router.post("/console/tips/{reference}/notes")
    async def add_note(request: Request, reference: str, user: Annotated[ConsoleUser, Depends(READERS)],
                       form: Annotated[FormData, Depends(checked_form)]) -> Response:
        return await act(request, user, reference, "note", workflow.add_note, body=str(form.get("body", "")),
                         cipher=cipher)

    @router.post("/console/tips/{reference}/block")
    async def block(request: Request, reference: str, user: Annotated[ConsoleUser, Depends(READERS)],
                    form: Annotated[FormData, Depends(checked_form)]) -> Response:
        return await act(request, user, reference, "blocked", tip_links.block_indicators, picks=_picks(form),
                         cipher=cipher)

    @router.post("/console/tips/{reference}/referrals")
    async def add_referral(request: Request, reference: str, user: Annotated[ConsoleUser, Depends(READERS)],
                           form: Annotated[FormData, Depends(checked_form)]) -> Response:
        picks = _picks(form, "indicator")
        if len(picks) != 1:
            case = await case_or_404(user, reference)
            if case is None:
                return renderer.render(request, "not_found.html", status=404)
            return _back(case.reference, problem="need_indicator")
        kind, value = picks[0]
        return await act(request, user, reference, "referral", tip_links.add_referral, kind=kind, value=value,
                         target=str(form.get("target", "")), cipher=cipher, note=str(form.get("note", "")) or None)

    @router.post("/console/tips/{reference}/referrals/{referral_id}")
    async def update_referral(request: Request, reference: str, referral_id: RowId,
                              user: Annotated[ConsoleUser, Depends(READERS)],
                              form: Annotated[FormData, Depends(checked_form)]) -> Response:
        return await act(request, user, reference, "referral", tip_links.update_referral, referral_id=referral_id,
                         status=str(form.get("status", "")), cipher=cipher, note=str(form.get("note", "")) or None)

    return router
