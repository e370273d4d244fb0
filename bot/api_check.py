"""``POST /api/v1/check``: the check engine over HTTP, same fields and same answer as ``hotline check --json``."""

from __future__ import annotations

from typing import Any, Self

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot import jsonbody
from bot.errors import error_response, validation_message
from bot.openapi import inline_schema
from handlers.checks import CheckRequest, check
from handlers.checks.codes import ASKED, Asked, Role, Severity, Verdict
from handlers.checks.request import MAX_TEXT
from handlers.checks.urls import parse_url
from storage.db import Database

router = APIRouter()


class CheckBody(BaseModel):
    """What to check. At least one of phone, url, text or asked; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(default=None, max_length=64, description="the number that called or texted")
    url: str | None = Field(default=None, max_length=2048, description="a link they sent (never opened)")
    school: str | None = Field(default=None, max_length=255, description="the school they named")
    claimed_role: Role | None = Field(default=None, description="who they claimed to be")
    asked: list[Asked] = Field(default_factory=list, max_length=len(ASKED),
                               description="what they asked for")
    text: str | None = Field(default=None, max_length=MAX_TEXT, description="the message or what the caller said")

    @field_validator("url")
    @classmethod
    def _a_link(cls, value: str | None) -> str | None:
        if value is not None and not parse_url(value).valid:
            raise ValueError("not a web address")
        return value

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not (self.phone or self.url or self.text or self.asked):
            raise ValueError("give at least one of phone, url, text or asked")
        return self

    def to_request(self) -> CheckRequest:
        return CheckRequest(phone=self.phone, url=self.url, school=self.school, claimed_role=self.claimed_role,
                            asked=tuple(dict.fromkeys(self.asked)), text=self.text)


class ReasonOut(BaseModel):
    code: str
    severity: Severity
    message: str


class SchoolOut(BaseModel):
    id: str
    name: str


class CheckOut(BaseModel):
    """The verdict (any high reason → scam; any medium → suspicious), its reasons and what to do."""

    verdict: Verdict
    score: int = Field(ge=0, le=100)
    reasons: list[ReasonOut]
    school: SchoolOut | None
    advice: str


@router.post("/api/v1/check", response_model=CheckOut, tags=["check"],
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": inline_schema(CheckBody)}}}},
             responses={400: {"description": "Malformed JSON"}, 415: {"description": "Not JSON"},
                        422: {"description": "Wrong fields"}})
async def post_check(request: Request) -> Any:
    """Is this call / link / message / screenshot / app from the school real? Explained; opens nothing.

    JSON for the fields below, or multipart with a `file` (an image or an APK) and the same fields.
    """
    from bot.api_evidence import is_multipart, post_check_file  # it imports this module's CheckBody

    if is_multipart(request):  # a screenshot or an APK to check (bot/api_evidence.py)
        return await post_check_file(request)
    # Read by the one JSON reader (bot/jsonbody.py) rather than FastAPI's: NaN, deep nesting, lone
    # surrogates and other content types are refused cleanly instead of failing with a 500.
    try:
        body = CheckBody.model_validate(await jsonbody.read_json(request))
    except jsonbody.BodyError as exc:
        return error_response(str(exc), exc.status, code=exc.code)
    except ValidationError as exc:
        return error_response(validation_message(exc), 422)
    db: Database = request.app.state.db
    result = await db.run(check, body.to_request(), cipher=request.app.state.cipher)
    return result.to_json()
