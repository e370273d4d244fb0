"""A check's answer and its rendering: the JSON contract (Vietnamese) and the texts for any locale."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from handlers.checks.codes import SEVERITY_RANK, Finding, SchoolRef, Severity, Verdict, sort_key
from handlers.checks.phones import display_number
from handlers.checks.texts import (
    ADVICE,
    ADVICE_NO_CLICK,
    ADVICE_PHONES,
    ANY_SCHOOL,
    HEADLINES,
    REASONS_TITLE,
    ROLE_LABELS,
    pick,
    template,
)


@dataclass(frozen=True, slots=True)
class Reason:
    """One entry of the contract's ``reasons`` list (findings with the same code merged)."""

    code: str
    severity: Severity
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "message": self.message}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict, its explanation and what to do. ``to_json()`` is the contract shape."""

    verdict: Verdict
    score: int
    findings: tuple[Finding, ...]
    school: SchoolRef | None
    asked: frozenset[str]
    links: tuple[str, ...]  # the links checked, as given (for showing inert, never opened)

    def reasons(self, locale: str = "vi") -> list[Reason]:
        """Findings merged per code (highest severity, messages joined), most severe first."""
        groups: dict[str, list[Finding]] = {}
        for f in self.findings:
            groups.setdefault(f.code, []).append(f)
        out = []
        for code, group in groups.items():
            severity = max((f.severity for f in group), key=lambda s: SEVERITY_RANK[s])
            messages = list(dict.fromkeys(_message(f, locale) for f in group))
            out.append(Reason(code, severity, " ".join(messages)))
        return sorted(out, key=lambda r: sort_key(r.code, r.severity))

    def advice(self, locale: str = "vi", *, with_phones: bool = True) -> str:
        """What to do: per verdict, plus the school's official numbers when one was matched."""
        parts = [pick(ADVICE[self.verdict], locale)]
        if "click_link" in self.asked and not self.links:
            parts.append(pick(ADVICE_NO_CLICK, locale))
        if with_phones and self.school and self.school.phones:
            parts.append(pick(ADVICE_PHONES, locale).format(school=self.school.name, phones=self.phone_list()))
        return " ".join(parts)

    def phone_list(self) -> str:
        return ", ".join(display_number(p) for p in self.school.phones) if self.school else ""

    def to_json(self, locale: str = "vi") -> dict[str, Any]:
        """``{"verdict", "score", "reasons": [{"code", "severity", "message"}], "school", "advice"}``."""
        return {
            "verdict": self.verdict,
            "score": self.score,
            "reasons": [r.to_json() for r in self.reasons(locale)],
            "school": {"id": self.school.id, "name": self.school.name} if self.school else None,
            "advice": self.advice(locale),
        }


def _message(f: Finding, locale: str) -> str:
    params = dict(f.params)
    text = template(f.code, params.pop("variant", None), locale)
    # Params are language-neutral; the few words that need translating are looked up here.
    if "role" in params:
        params["role"] = pick(ROLE_LABELS.get(params["role"], ROLE_LABELS["other"]), locale)
    params.setdefault("school", pick(ANY_SCHOOL, locale))
    return text.format_map(_Missing(params))


class _Missing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def format_lines(result: CheckResult, locale: str = "vi") -> Sequence[str]:
    """A plain-text rendering for the terminal: verdict, score, reasons, school, advice."""
    lines = [f"{pick(HEADLINES[result.verdict], locale)}  ({result.verdict}, {result.score}/100)"]
    reasons = result.reasons(locale)
    if reasons:
        lines.append(pick(REASONS_TITLE, locale))
        lines.extend(f"  • [{r.severity}] {r.code}: {r.message}" for r in reasons)
    if result.school:
        lines.append(f"school: {result.school.id} — {result.school.name}")
    lines.append(result.advice(locale))
    return lines
