"""schemathesis against our own OpenAPI spec: every documented route, generated requests, no 5xx.

``quick`` (default, 50 cases per operation) and ``full`` (marked ``slow``, 300). Routes outside the spec (the
console, the webhooks, the web chat's pages) are fuzzed in ``test_fuzz_endpoints.py``.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from bot.runtime import build_runtime
from bot.settings import Settings
from bot.web import create_app


def _app(work: Path) -> tuple[FastAPI, asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    settings_ = Settings.model_validate({
        "database": {"url": f"sqlite+aiosqlite:///{work / 'h.db'}"}, "data_dir": str(work / "data"),
        "security": {"key_file": str(work / "keys.json"), "user_burst": 1_000_000, "global_per_second": 1_000_000,
                     # generated requests all come from one client: not what the per-address limit is for
                     "address_burst": 1_000_000, "address_per_minute": 1_000_000},
        "logging": {"file": None},
    })
    runtime = loop.run_until_complete(build_runtime(settings_))
    return create_app(runtime), loop


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    application, loop = _app(tmp_path_factory.mktemp("openapi"))
    yield application
    loop.run_until_complete(application.state.runtime.close())
    loop.close()


def operations() -> list[str]:
    with_app, loop = _app(Path(tempfile.mkdtemp()))
    try:
        spec = with_app.openapi()
    finally:
        loop.run_until_complete(with_app.state.runtime.close())
        loop.close()
    return [f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item]


STRENGTH = {"quick": 50, "full": 300}


@pytest.mark.parametrize("strength", [pytest.param("quick"), pytest.param("full", marks=pytest.mark.slow)])
@pytest.mark.parametrize("operation", operations())
def test_every_route_survives_generated_requests(app: FastAPI, operation: str, strength: str) -> None:
    method, path = operation.split(" ", 1)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    ops = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]  # spec is ours and valid
    (op,) = [o for o in ops if o.method.upper() == method and o.path == path]

    @settings(max_examples=STRENGTH[strength], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def call(case: schemathesis.Case) -> None:
        response = case.call()
        assert response.status_code < 500, f"{operation}: {response.status_code} {response.text[:300]}"
        # 401: the in-process client is not on loopback and no API key is configured (tests/security/test_fuzz.py
        # drives /api/v1/messages from loopback); 415: a content type the route does not take.
        assert response.status_code in (200, 400, 401, 413, 415, 422), response.status_code

    call()
