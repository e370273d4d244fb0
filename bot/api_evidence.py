"""``POST /api/v1/check`` with a file (multipart): the check over a screenshot, a QR code or an APK.

Fields: ``file`` (required: an image or an APK, decided by its bytes), and optionally the plain check's
``phone``, ``url``, ``school``, ``claimed_role``, ``asked`` (comma-separated) and ``text``. The answer is
the plain check's shape plus ``evidence``: what was read from the file (secrets masked). Nothing is stored.
"""

from __future__ import annotations

from typing import Any, Self

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError, model_validator
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser

from bot.api_check import CheckBody
from bot.errors import error_response, validation_message
from handlers.evidence.check import check_evidence
from storage.db import Database
from storage.files import MAX_ATTACHMENT_BYTES, RejectedFile, check_attachment

SLACK = 64 * 1024
_FIELDS = ("phone", "url", "school", "claimed_role", "asked", "text")


class _InMemory(MultiPartParser):
    spool_max_size = MAX_ATTACHMENT_BYTES + SLACK  # never spooled to an unencrypted temporary file


class FileFields(CheckBody):
    """The plain check's fields, all optional: the file is what is checked."""

    @model_validator(mode="after")
    def _something(self) -> Self:  # overrides CheckBody's "at least one of": the file is that one
        return self


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


async def post_check_file(request: Request) -> Any:
    """The multipart half of ``POST /api/v1/check`` (bot/api_check.py hands it over)."""
    reader = request.app.state.runtime.engine.evidence
    if reader is None:
        return error_response("reading files is turned off on this server (evidence.enabled)", 422)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_ATTACHMENT_BYTES + SLACK:
        return error_response(f"file larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB", 413)
    try:
        form = await _InMemory(request.headers, request.stream(), max_files=1, max_fields=len(_FIELDS),
                               max_part_size=MAX_ATTACHMENT_BYTES // 1000).parse()
    except (MultiPartException, HTTPException) as exc:
        return error_response(f"malformed upload: {getattr(exc, 'message', None) or getattr(exc, 'detail', exc)}")
    try:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            return error_response("send the file in a multipart field named `file`", 422)
        data = await file.read(MAX_ATTACHMENT_BYTES + 1)
        unknown = sorted(set(form.keys()) - {"file", *_FIELDS})
        if unknown:
            return error_response(f"{unknown[0]}: unknown field", 422)
        raw = {k: str(form[k]) for k in _FIELDS if isinstance(form.get(k), str) and str(form[k]).strip()}
        if "asked" in raw:
            raw["asked"] = [a.strip() for a in raw["asked"].split(",") if a.strip()]  # type: ignore[assignment]
        name = file.filename
    finally:
        await form.close()
    if len(data) > MAX_ATTACHMENT_BYTES:
        return error_response(f"file larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB", 413)
    try:
        mime = check_attachment(data)
    except RejectedFile as exc:
        return error_response(f"file rejected: {exc}", 415)
    if mime == "application/pdf":
        return error_response("file rejected: send a screenshot (image) or an APK, not a PDF", 415)
    try:
        base = FileFields.model_validate(raw) if raw else None
    except ValidationError as exc:
        return error_response(validation_message(exc), 422)
    reading = await reader.read_bytes(data, name)
    db: Database = request.app.state.db
    result = await db.run(check_evidence, [reading], base.to_request() if base else None, apps=reader.apps,
                          cipher=reader.cipher)
    return JSONResponse({**result.to_json(), "evidence": [reading.to_json()]})
