"""The check engine behind the conversation's ``check`` steps (``checker: call`` and ``checker: link``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from handlers.checking import CheckOutcome
from handlers.checks.codes import ASKED, ROLES
from handlers.checks.engine import check
from handlers.checks.request import MAX_TEXT, CheckRequest
from handlers.checks.result import CheckResult
from handlers.checks.texts import CALL_BACK, CALL_BACK_NONE, HEADLINES, REASONS_TITLE, pick
from handlers.messages import OutboundMessage
from storage.crypto import Cipher

KINDS = ("call", "link")
_BULLETS = {"high": "🔴", "medium": "🟠", "low": "🟡", "info": "ℹ️"}


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def request_from_slots(slots: Mapping[str, Any]) -> CheckRequest:
    """Build a check request from the flow's slots, ignoring values the check does not know.

    ``school`` is free text, or ``{"id", "name"}`` once matched; ``asked`` may hold flow-only choices such
    as ``nothing``; ``other_links`` are the further links of a pasted message.
    """
    school = slots.get("school")
    school_id = school_name = None
    if isinstance(school, Mapping):
        school_id, school_name = _text(school.get("id")), _text(school.get("name"))
    else:
        school_name = _text(school)
    role = slots.get("claimed_role")
    asked = slots.get("asked") or ()
    if isinstance(asked, str):
        asked = (asked,)
    others = slots.get("other_links") or ()
    text = _text(slots.get("message_text"))
    return CheckRequest(
        phone=_text(slots.get("caller_number")),
        url=_text(slots.get("link")),
        school=school_name,
        school_id=school_id,
        claimed_role=role if role in ROLES else None,
        asked=tuple(dict.fromkeys(a for a in asked if a in ASKED)),
        text=text[:MAX_TEXT] if text else None,
        extra_urls=tuple(u for u in (_text(x) for x in others) if u) if isinstance(others, list | tuple) else (),
    )


def render(result: CheckResult, locale: str) -> tuple[OutboundMessage, ...]:
    """The verdict with its reasons, the school's numbers to call back, and the advice.

    Checked links travel in ``links`` (channels show them as inert text); the reason texts name hosts
    defanged, so nothing here is tappable.
    """
    lines = [pick(HEADLINES[result.verdict], locale)]
    reasons = result.reasons(locale)
    if reasons:
        lines += ["", pick(REASONS_TITLE, locale)]
        lines += [f"{_BULLETS[r.severity]} {r.message}" for r in reasons]
    messages = [OutboundMessage("\n".join(lines), links=result.links)]
    if result.school is not None:
        template = CALL_BACK if result.school.phones else CALL_BACK_NONE
        messages.append(OutboundMessage(pick(template, locale).format(school=result.school.name,
                                                                      phones=result.phone_list())))
    messages.append(OutboundMessage(result.advice(locale, with_phones=False)))
    return tuple(messages)


class DirectoryChecker:
    """Checks against the school directory, the official domains, the blocklist and citizens' reports.

    Implements :class:`handlers.checking.Checker`. ``call`` and ``link`` run the same check over whatever
    slots the flow collected, so the dialogue, the CLI and the HTTP API give the same answer.
    """

    def __init__(self, cipher: Cipher) -> None:
        self.cipher = cipher  # reports are counted by the blind index of the numbers and domains

    def run(self, conn: sa.Connection, *, kind: str, slots: Mapping[str, Any], locale: str) -> CheckOutcome:
        if kind not in KINDS:
            raise ValueError(f"unknown checker {kind!r}; expected one of {', '.join(KINDS)}")
        request = request_from_slots(slots)
        result = check(conn, request, cipher=self.cipher)
        return CheckOutcome(result.verdict, render(result, locale), result.to_json())
