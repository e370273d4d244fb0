"""The check's vocabulary: roles, asked codes, reason codes with their severities, verdicts and the score.

Reason codes are a contract shared with the HTTP API, the CLI and stored reports: never rename one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal, get_args

Severity = Literal["high", "medium", "low", "info"]
Verdict = Literal["scam", "suspicious", "no_red_flags"]

Role = Literal[
    "principal", "homeroom_teacher", "teacher", "school_staff", "education_department", "police", "bank", "other",
]
Asked = Literal[
    "otp", "bank_account", "money_transfer", "install_app", "personal_info", "student_id_code", "click_link",
]
ROLES: Final[tuple[str, ...]] = get_args(Role)
ASKED: Final[tuple[str, ...]] = get_args(Asked)

# Roles that speak for one school: the number and the links must then be that school's (or an official
# service's). The education department is not a school, so it is not held to a school's phone list.
SCHOOL_ROLES: Final = frozenset({"principal", "homeroom_teacher", "teacher", "school_staff"})

# What each asked code becomes as a reason. ``click_link`` has no reason of its own: the link itself is
# what gets checked.
ASK_REASONS: Final[Mapping[str, tuple[str, Severity]]] = MappingProxyType({
    "otp": ("asks_otp", "high"),
    "bank_account": ("asks_bank_account", "high"),
    "money_transfer": ("asks_money_transfer", "high"),
    "install_app": ("asks_install_app", "high"),
    "personal_info": ("asks_personal_info", "medium"),
    "student_id_code": ("asks_student_id_code", "medium"),
})

# Every reason code, in the order reasons are listed within one severity (asks first: they are the
# clearest thing a parent can act on). ``url_reported`` mirrors ``phone_reported`` for link domains.
REASON_CODES: Final = (
    "asks_otp", "asks_bank_account", "asks_money_transfer", "asks_install_app", "asks_personal_info",
    "asks_student_id_code",
    "phone_blocklisted", "phone_reported", "phone_not_official", "phone_foreign", "phone_invalid",
    "phone_official", "phone_spoofing_possible",
    "url_blocklisted", "url_lookalike", "url_apk", "url_reported", "url_shortener", "url_ip_literal",
    "url_unknown_domain", "url_not_https", "url_official",
)
# Reasons about evidence the parent sent (handlers/evidence: an APK file, a payment QR code), given by
# handlers.evidence.check on top of the ones above; same contract, same ordering rule.
EVIDENCE_REASON_CODES: Final = (
    "apk_imitates_official", "apk_dangerous_permissions", "apk_not_official", "apk_official",
    "qr_payment", "qr_tampered",
)
_ORDER: Final = REASON_CODES + EVIDENCE_REASON_CODES

# Reasons that settle a call or link check on their own: the police confirmed the number or domain, or the
# caller asked for an OTP (no school ever does). A check flow answers as soon as one is known.
CONCLUSIVE: Final = frozenset({"phone_blocklisted", "url_blocklisted", "asks_otp"})

SEVERITY_RANK: Final[Mapping[str, int]] = MappingProxyType({"high": 3, "medium": 2, "low": 1, "info": 0})

# Reports from this many distinct people make ``phone_reported`` / ``url_reported`` high.
REPORTS_HIGH: Final = 3
# Unconfirmed reports count only from this many distinct reporters (and client addresses, where known): one
# anonymous report must not make a number "suspicious" for every parent. Officers' "not a scam" removes them.
REPORTS_MIN: Final = 2


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason about one subject (a number, a link, the request itself).

    ``params`` fill the message template (``subject``, ``school``, ``count``, ``detail``…). Findings with the
    same code are merged into one reason when the result is rendered.
    """

    code: str
    severity: Severity
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SchoolRef:
    """A school from the directory, with its official numbers (E.164) for calling back."""

    id: str
    name: str
    phones: tuple[str, ...] = ()


def verdict_for(findings: Iterable[Finding]) -> Verdict:
    """Any high reason → scam; otherwise any medium → suspicious; otherwise no red flags."""
    severities = {f.severity for f in findings}
    if "high" in severities:
        return "scam"
    if "medium" in severities:
        return "suspicious"
    return "no_red_flags"


def score_for(findings: Iterable[Finding]) -> int:
    """A 0–100 score whose bands never contradict the verdict.

    no_red_flags 0–20, suspicious 35–65, scam 70–100; within a band each further reason adds a little,
    so two checks with the same verdict can still be ranked. Info reasons never add anything.
    """
    counts = {"high": 0, "medium": 0, "low": 0}
    for f in findings:
        if f.severity in counts:
            counts[f.severity] += 1
    high, medium, low = counts["high"], counts["medium"], counts["low"]
    if high:
        return min(100, 70 + 10 * (high - 1) + 5 * medium + 2 * low)
    if medium:
        return min(65, 35 + 10 * (medium - 1) + 3 * low)
    return min(20, 10 * low)


def reconcile(findings: Iterable[Finding]) -> list[Finding]:
    """Drop contradictions: never ``url_official`` with ``url_lookalike``, nor both phone verdicts.

    They can only meet when a message carries several links or numbers (a scam often quotes the school's
    real number next to its own); the warning wins, because one bad subject is enough to be careful.
    """
    found = list(findings)
    codes = {f.code for f in found}
    drop = set()
    if "url_lookalike" in codes:
        drop.add("url_official")
    if "phone_not_official" in codes:
        drop.add("phone_official")
    return [f for f in found if f.code not in drop]


def sort_key(code: str, severity: str) -> tuple[int, int]:
    return (-SEVERITY_RANK[severity], _ORDER.index(code))
