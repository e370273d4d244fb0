"""Probes: ``/healthz`` says the process is alive, ``/readyz`` whether it can do its work.

``/readyz`` checks the database answers, its schema is at every migration head, and the intent model is
loaded; 503 names what is not. Both are the only JSON answers outside the error shape: a probe's body is a
status document (``{"status": ..., "checks": {...}}``).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from bot import dbcheck
from bot.runtime import Runtime

READY_TIMEOUT = 2.0


def make_router(runtime: Runtime) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", summary="Liveness: the process answers (no dependency is checked)")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @router.get("/readyz", summary="Readiness: database reachable and migrated, intent model loaded",
                responses={503: {"description": "Not ready; `checks` says what is wrong"}})
    async def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            await dbcheck.ping(runtime.db, READY_TIMEOUT)
            checks["database"] = "ok"
            try:
                checks["migrations"] = await dbcheck.schema_problem(runtime.db) or "ok"
            except Exception as exc:  # the database went away between the two questions
                checks["migrations"] = dbcheck.explain(runtime.db.url, exc)
        except dbcheck.DatabaseUnavailable as exc:
            checks["database"] = str(exc)
            checks["migrations"] = "unknown (no database)"
        checks["nlu_model"] = "ok" if runtime.nlu is not None and runtime.nlu.intents else "not loaded"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                            status_code=200 if ready else 503)

    return router
