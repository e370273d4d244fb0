"""Every endpoint that exists, fuzzed: no input gives a 5xx, and none makes the app log an error (issue 16, 8).

The routes are read from the app itself (OpenAPI ones, the web chat's, the Telegram and Zalo webhooks, every
console page and form), so a route added later is fuzzed without anyone remembering to. Console routes are
called signed in as each role (a fresh session per request, the form's real CSRF token), signed out, and with
forged cookies and cross-site headers. Inputs: :mod:`tests.security.fuzzinputs`.

Two strengths: ``quick`` (the default, a few dozen requests per route) and ``full`` (marked ``slow``,
250 per route); ``./dev test`` runs both. ``pytest tests/security -m "not slow"`` runs only the quick one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.fuzzinputs import Endpoint, Request, json_bodies, requests_for
from tests.security.fuzzkit import ErrorLog, FuzzApp, WebSocket, walk

STRENGTH = {"quick": 25, "full": 250}
STRENGTHS = [pytest.param("quick"), pytest.param("full", marks=pytest.mark.slow)]
# The app's own routes, read once at collection from a throwaway app (the module fixture builds the real one).
EXPECTED_EXTRA = {"POST /telegram/webhook", "POST /webhooks/zalo"}


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzApp]:
    app = FuzzApp(tmp_path_factory.mktemp("fuzz-endpoints"))
    try:
        yield app
    finally:
        app.close()


@pytest.fixture(scope="module")
def errors() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def _endpoints() -> list[Endpoint]:
    import tempfile
    from pathlib import Path

    app = FuzzApp(Path(tempfile.mkdtemp(prefix="fuzz-routes-")))
    try:
        return app.endpoints()
    finally:
        app.close()


ENDPOINTS = [e for e in _endpoints() if e.path != "/chat/ws"]


def test_every_route_is_fuzzed(fuzz: FuzzApp) -> None:
    """The list is the app's: the webhooks and the console are in it, and nothing is left out."""
    ids = {e.id for e in ENDPOINTS}
    assert ids >= EXPECTED_EXTRA
    assert {"POST /api/v1/messages", "POST /api/v1/check", "POST /api/v1/nlu/parse", "POST /chat/api/messages",
            "POST /chat/api/upload", "POST /console/login", "POST /console/tips/{reference}/status"} <= ids
    served = {f"{m} {p}" for p, r in walk(fuzz.app.routes) for m in (getattr(r, "methods", None) or ()) if m != "HEAD"}
    assert served == ids
    assert len([e for e in ENDPOINTS if e.path.startswith("/console")]) > 50


@pytest.mark.parametrize("strength", STRENGTHS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_no_input_gives_a_5xx(fuzz: FuzzApp, errors: ErrorLog, endpoint: Endpoint, strength: str) -> None:
    errors.take()

    @settings(max_examples=STRENGTH[strength], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(request=requests_for(endpoint, fuzz.seeded.references))
    def call(request: Any) -> None:
        response = fuzz.send(request)
        what = (f"{request.method} {request.path}?{request.query[:200]} [{dict(request.headers)}] "
                f"{request.content[:300]!r}")
        assert response.status_code < 500, f"{response.status_code} for {what}: {response.text[:300]}"
        logged = errors.take()
        assert not logged, f"logged as errors for {what}: {logged}"

    call()


@pytest.mark.parametrize("strength", STRENGTHS)
def test_the_chat_websocket_answers_every_frame_and_never_drops(fuzz: FuzzApp, errors: ErrorLog,
                                                                strength: str) -> None:
    """Regression (point 4): deep JSON over the WebSocket dropped the connection without a close frame."""
    frames = st.one_of(json_bodies().map(lambda b: b.decode("ascii", "replace")), st.text(max_size=200),
                       st.binary(max_size=200),
                       st.builds(lambda i, t: json.dumps({"type": "message", "id": i, "text": t}),
                                 st.text(min_size=8, max_size=12, alphabet="abcdef0123456789"), st.text(max_size=80)))
    errors.take()
    ws = WebSocket(fuzz, "/chat/ws")
    assert ws.opened["type"] == "websocket.accept", ws.opened
    try:
        @settings(max_examples=STRENGTH[strength], deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(frame=frames)
        def call(frame: str | bytes) -> None:
            if isinstance(frame, str):  # a text frame is UTF-8 on the wire: a lone surrogate cannot travel
                frame = frame.encode("utf-8", "replace").decode("utf-8")
            sent = ws.send(frame)
            assert sent["type"] == "websocket.send", f"{sent} after {frame[:200]!r}"
            reply = json.loads(sent["text"])
            assert isinstance(reply, dict) and reply.get("type"), reply
            logged = errors.take()
            assert not logged, f"logged as errors for {frame[:200]!r}: {logged}"

        call()
    finally:
        ws.close()


def test_numbers_no_database_integer_holds_are_refused_not_a_500(fuzz: FuzzApp) -> None:
    """Regression (found by the full run): ids, pages and counts past 64 bits, or written with non-ASCII digits,
    reached the driver as OverflowError / ValueError."""
    form = (("content-type", "application/x-www-form-urlencoded"),)
    ref = fuzz.seeded.references[0]
    for big in ("9" * 20, str(2**63), "²", "١٢"):
        value = big.encode()
        for role, method, path, query, body in [
            ("admin", "POST", "/console/agency/admin/bind", "", b"csrf=__CSRF__&kind=school&code=x&user_id=" + value),
            ("supervisor", "POST", "/console/queue/bulk", "", b"csrf=__CSRF__&action=assign&assignee=" + value
             + b"&tip=" + value),
            ("supervisor", "POST", f"/console/tips/{ref}/assign", "", b"csrf=__CSRF__&who=" + value),
            ("supervisor", "GET", "/console/audit", "before=" + big, b""),
            ("admin", "GET", "/console/content/schools", "page=" + big, b""),
            ("admin", "GET", "/console/content/blocklist", "page=" + big, b""),
            ("admin", "POST", "/console/content/faq", "", b"csrf=__CSRF__&question=q&answer=a&position=-" + value),
            ("supervisor", "GET", f"/console/alerts/{big}", "", b""),
            ("admin", "GET", f"/console/users/{big}", "", b""),
        ]:
            response = fuzz.send(Request(method, path, query, form if body else (), body, role))
            assert response.status_code < 500, (path, query, body, response.status_code)
