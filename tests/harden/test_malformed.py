"""Issue 16, points 4–7 and 19: input that used to break something, one error shape, honest headers."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.jsonbody import BodyError, loads
from bot.web import UPLOAD_PATHS
from tests.harden.conftest import hotline

SECRET = "s3cret-token"
JSON_ENDPOINTS = ["/api/v1/messages", "/chat/api/messages", "/api/v1/nlu/parse", "/api/v1/check"]
DEEP = b"[" * 1000 + b"]" * 1000
BAD_BODIES: list[tuple[str, bytes, str]] = [
    ("deep nesting", DEEP, "application/json"),
    ("deep objects", b'{"a":' * 1500 + b"1" + b"}" * 1500, "application/json"),
    ("NaN", b'{"phone": NaN, "user_id": "u", "text": NaN, "id": "abcdefgh12"}', "application/json"),
    ("Infinity", b'{"text": Infinity, "user_id": "u", "id": "abcdefgh12"}', "application/json"),
    ("lone surrogate", b'{"text": "\\ud800", "user_id": "u", "id": "abcdefgh12"}', "application/json"),
    ("surrogate key", b'{"\\udfff": 1, "user_id": "u", "text": "x", "id": "abcdefgh12"}', "application/json"),
    ("text/plain", b'{"text": "hi", "user_id": "u", "id": "abcdefgh12"}', "text/plain"),
    ("form", b"text=hi&user_id=u", "application/x-www-form-urlencoded"),
    ("huge int", b'{"text": "x", "user_id": "u", "id": "abcdefgh12", "n": ' + b"9" * 5000 + b"}",
     "application/json"),
    ("bytes", b"\xff\xfe\x00\x01", "application/octet-stream"),
]


def assert_error_shape(r: Any) -> None:
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS)
async def test_malformed_json_is_a_clean_4xx_on_every_endpoint(tmp_path: Path, endpoint: str) -> None:
    """Regression: RecursionError, NaN, lone surrogates and text/plain bodies gave 500s."""
    async with hotline(tmp_path) as h, h.client() as client:
        for name, body, ctype in BAD_BODIES:
            r = await client.post(endpoint, content=body, headers={"content-type": ctype})
            assert 400 <= r.status_code < 500, (name, r.status_code, r.text[:200])
            assert_error_shape(r)
            if ctype not in ("application/json",):
                assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type", name


@pytest.mark.parametrize("endpoint", JSON_ENDPOINTS)
async def test_a_422_does_not_echo_the_input(tmp_path: Path, endpoint: str) -> None:
    """Regression: /api/v1/nlu/parse's 422 echoed the whole 250 kB body back."""
    marker = "NHAN-DANG-" + "x" * 5000
    bodies = [{"text": marker * 40, "user_id": "u", "id": "abcdefgh12"}, {"text": 5, "phone": [marker]},
              {"user_id": marker, "text": "hi"}, {"locale": marker, "text": "hi", "user_id": "u"}]
    async with hotline(tmp_path, server={"max_body_bytes": 1_000_000}) as h, h.client() as client:
        for body in bodies:
            r = await client.post(endpoint, json=body)
            if r.status_code == 200:
                continue
            assert r.status_code in (400, 413, 422), r.status_code
            assert "NHAN-DANG" not in r.text and len(r.text) < 600
            assert_error_shape(r)


def test_the_reader_refuses_what_json_loads_accepts() -> None:
    for raw in (DEEP, b"NaN", b"[Infinity]", b'"\\ud800"', b'{"a": -Infinity}', b"1" * 40):
        with pytest.raises(BodyError):
            loads(raw)
    assert loads(b'{"a": [1, 2.5, "\\ud83d\\ude00"]}') == {"a": [1, 2.5, "😀"]}  # a paired surrogate is fine
    assert loads("[" * 32 + "]" * 32) is not None


@pytest.mark.parametrize("update", [
    {"update_id": 2**63, "message": {"chat": {"id": 1}}}, {"update_id": 1e30}, {"update_id": 7, "message": "x"},
    {"update_id": 8, "message": {"chat": 5, "text": "hi"}}, {"update_id": 9, "callback_query": [1]},
    {"update_id": 10, "edited_message": {"chat": {"id": [1]}}}, {"update_id": "11"}, {"update_id": True},
])
async def test_telegram_update_with_a_valid_secret_but_malformed_shape_is_not_a_500(
        tmp_path: Path, update: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    """Regression: update_id 2^63 or 1e30, "message": "x", "chat": 5, "callback_query": [1] gave 500s."""
    from bot.channels.telegram import make_router

    async with hotline(tmp_path, telegram={"token": "1:x", "secret_token": SECRET, "mode": "webhook"}) as h:
        h.app.include_router(make_router(h.runtime))
        async with h.client() as client:
            with caplog.at_level(logging.WARNING):
                r = await client.post("/telegram/webhook", content=json.dumps(update),
                                      headers={"X-Telegram-Bot-Api-Secret-Token": SECRET,
                                               "content-type": "application/json"})
    assert r.status_code == 200
    assert any("telegram webhook" in rec.getMessage() for rec in caplog.records)  # the log line


async def test_telegram_webhook_deep_or_surrogate_body_is_a_400(tmp_path: Path) -> None:
    from bot.channels.telegram import make_router

    async with hotline(tmp_path, telegram={"token": "1:x", "secret_token": SECRET, "mode": "webhook"}) as h:
        h.app.include_router(make_router(h.runtime))
        async with h.client() as client:
            for body in (b'{"update_id": 1, "message": ' * 1500 + b"1" + b"}" * 1500,
                         b'{"update_id": 3, "message": {"text": "\\ud800"}}'):
                r = await client.post("/telegram/webhook", content=body,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
                assert r.status_code == 400


async def test_json_answers_carry_nosniff_and_no_store(tmp_path: Path) -> None:
    """Regression: JSON responses lacked X-Content-Type-Options and Cache-Control: no-store."""
    async with hotline(tmp_path) as h, h.client() as client:
        answers = [await client.post("/api/v1/check", json={"phone": "0912345678"}),
                   await client.get("/api/v1/schemas/tip.v1"), await client.get("/healthz"),
                   await client.post("/api/v1/messages", json={"user_id": "u", "text": "menu"}),
                   await client.get("/openapi.json"), await client.get("/nope")]
    for r in answers:
        assert r.headers["x-content-type-options"] == "nosniff", r.url
        assert r.headers["cache-control"] == "no-store", r.url
    assert_error_shape(answers[-1])


async def test_docs_are_off_by_default_and_carry_a_csp_when_on(tmp_path: Path) -> None:
    """Regression: /docs loaded its code from a CDN with no Content-Security-Policy."""
    async with hotline(tmp_path) as h, h.client() as client:
        assert (await client.get("/docs")).status_code == 404
        assert (await client.get("/openapi.json")).status_code == 200
    async with hotline(tmp_path / "on", server={"api_docs": True}) as h, h.client() as client:
        r = await client.get("/docs")
        policy = r.headers["content-security-policy"]
        assert r.status_code == 200 and "default-src 'none'" in policy and "'sha256-" in policy
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if isinstance(node.get("$ref"), str) else []) + [
            r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_every_openapi_reference_resolves(tmp_path: Path) -> None:
    """Regression: the document pointed at #/$defs/UploadIn, which does not exist in it."""
    async with hotline(tmp_path) as h, h.client() as client:
        spec = (await client.get("/openapi.json")).json()
    refs = _refs(spec)
    assert refs
    for ref in refs:
        node: Any = spec
        assert ref.startswith("#/"), ref
        for part in ref[2:].split("/"):
            assert part in node, ref
            node = node[part]


async def test_a_body_past_the_limit_is_413_whether_or_not_it_says_its_length(tmp_path: Path) -> None:
    """The limit holds on the bytes read: a chunked body (no Content-Length) is cut off like a declared one."""
    limit = 4096
    body = b'{"user_id": "u", "text": "' + b"x" * (2 * limit) + b'"}'

    async def chunked() -> Any:
        for start in range(0, len(body), 512):
            yield body[start:start + 512]

    async with hotline(tmp_path, server={"max_body_bytes": limit}) as h, h.client() as client:
        for endpoint in [e for e in JSON_ENDPOINTS if e not in UPLOAD_PATHS]:  # those take files: 12 MB
            declared = await client.post(endpoint, content=body, headers={"content-type": "application/json"})
            streamed = await client.post(endpoint, content=chunked(), headers={"content-type": "application/json"})
            for r in (declared, streamed):
                assert r.status_code == 413, (endpoint, r.status_code, r.text[:200])
                assert_error_shape(r)
            assert "content-length" not in streamed.request.headers


async def test_unknown_fields_are_ignored_by_the_chat_api_and_named_by_the_check(tmp_path: Path) -> None:
    async with hotline(tmp_path) as h, h.client() as client:
        r = await client.post("/api/v1/messages", json={"user_id": "u-extra", "text": "menu", "unknown": {"a": 1}})
        assert r.status_code == 200 and r.json()["messages"], r.text
        r = await client.post("/api/v1/check", json={"phone": "0912 345 678", "colour": "red"})
        assert r.status_code == 422 and "colour" in r.json()["error"]["message"], r.text  # a typo is not dropped
