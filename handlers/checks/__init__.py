"""The check engine: "is this call / link / message from my school real?"

Deterministic and explainable: stable reason codes, Vietnamese (and English) messages, no network access.
Entry point: :func:`check` (``CheckRequest`` → ``CheckResult``; ``result.to_json()`` is the API contract).
"""

from handlers.checks.codes import ASKED, REASON_CODES, ROLES, SCHOOL_ROLES, Finding, SchoolRef
from handlers.checks.engine import check, gather
from handlers.checks.evaluate import Facts, evaluate
from handlers.checks.request import CheckRequest, InvalidRequest, analyse
from handlers.checks.result import CheckResult, Reason

__all__ = [
    "ASKED",
    "REASON_CODES",
    "ROLES",
    "SCHOOL_ROLES",
    "CheckRequest",
    "CheckResult",
    "Facts",
    "Finding",
    "InvalidRequest",
    "Reason",
    "SchoolRef",
    "analyse",
    "check",
    "evaluate",
    "gather",
]
