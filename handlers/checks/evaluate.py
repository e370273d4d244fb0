"""The rules: an analysed request plus the facts looked up for it → findings, verdict, score.

Pure and synchronous: no database, no clock, no network. Everything the rules need from storage is in
:class:`Facts`, so every rule can be tested with hand-made facts and the answer is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from handlers.checks.codes import (
    ASK_REASONS,
    REPORTS_HIGH,
    REPORTS_MIN,
    SCHOOL_ROLES,
    Finding,
    SchoolRef,
    reconcile,
    score_for,
    verdict_for,
)
from handlers.checks.data import ReferenceData, reference_data
from handlers.checks.lookalike import find_lookalike
from handlers.checks.phones import PhoneInfo
from handlers.checks.request import Analysis
from handlers.checks.result import CheckResult
from handlers.checks.urls import UrlInfo, host_matches, names_apk, parent_domains


@dataclass(frozen=True, slots=True)
class Facts:
    """What the directory, the blocklist and the tips say about an analysis's numbers and links.

    ``candidates``: the schools the name (or id) best matches, with their phones — one is a match,
    several an ambiguity the caller's number may settle. ``phone_owners``: E.164 → schools listing it.
    ``site_owners``: host → schools whose website is that host or a parent of it. ``blocked``: (kind,
    value) pairs on the blocklist. ``reports``: (kind, value) → distinct reporters.
    """

    candidates: tuple[SchoolRef, ...] = ()
    phone_owners: Mapping[str, tuple[SchoolRef, ...]] = field(default_factory=dict)
    site_owners: Mapping[str, tuple[SchoolRef, ...]] = field(default_factory=dict)
    blocked: frozenset[tuple[str, str]] = frozenset()
    reports: Mapping[tuple[str, str], int] = field(default_factory=dict)


def resolve_school(analysis: Analysis, facts: Facts) -> SchoolRef | None:
    """The school the request is about: the unique name match, or the one candidate that owns a number."""
    if len(facts.candidates) == 1:
        return facts.candidates[0]
    if facts.candidates:
        ids = {c.id for c in facts.candidates}
        owning = {s.id for p in analysis.phones if p.e164 for s in facts.phone_owners.get(p.e164, ()) if s.id in ids}
        if len(owning) == 1:
            return next(c for c in facts.candidates if c.id in owning)
    return None


def _reported(code: str, subject: str, count: int) -> Finding:
    return Finding(code, "high" if count >= REPORTS_HIGH else "medium", {"subject": subject, "count": str(count)})


def phone_findings(phone: PhoneInfo, analysis: Analysis, facts: Facts, school: SchoolRef | None) -> list[Finding]:
    """The rules for one number, in the context of the school and role the caller claimed."""
    subject = phone.display
    if not phone.valid or phone.e164 is None:
        return [Finding("phone_invalid", "medium", {"subject": subject})]
    out: list[Finding] = []
    if ("phone", phone.e164) in facts.blocked:
        out.append(Finding("phone_blocklisted", "high", {"subject": subject}))
    # A premium-rate number is never a school's line, even if a directory row wrongly lists it.
    owners = () if phone.premium else facts.phone_owners.get(phone.e164, ())
    count = facts.reports.get(("phone", phone.e164), 0)
    if count >= REPORTS_MIN:
        # Citizens' reports never make a school's own number a scam: scammers fake caller ids. The parent is
        # told to hang up and call the school back on that number; officers see possible spoofing.
        if owners:
            out.append(Finding("phone_spoofing_possible", "low", {"subject": subject, "count": str(count)}))
        else:
            out.append(_reported("phone_reported", subject, count))
    if phone.foreign:
        out.append(Finding("phone_foreign", "medium", {"subject": subject}))
    school_role = analysis.role in SCHOOL_ROLES
    not_official = {"subject": subject}
    if phone.premium:
        not_official["variant"] = "premium"
    if school is not None:
        if any(s.id == school.id for s in owners):
            out.append(Finding("phone_official", "info", {"subject": subject, "school": school.name}))
            return out
        if not phone.premium and owners:
            not_official.update(variant="other_school", other=", ".join(s.name for s in owners))
        out.append(Finding("phone_not_official", "medium", {**not_official, "school": school.name}))
    elif analysis.school_named:
        # Named but not found (or ambiguous): it cannot be confirmed as that school's number.
        if not phone.premium:
            not_official["variant"] = "other_school" if owners else "unknown_school"
            if owners:
                not_official["other"] = ", ".join(s.name for s in owners)
        out.append(Finding("phone_not_official", "medium", {**not_official, "school": analysis.school_text or "?"}))
    elif owners:
        out.append(Finding("phone_official", "info", {"subject": subject, "school": ", ".join(s.name for s in owners)}))
    elif school_role:
        if not phone.premium:
            not_official.update(variant="no_school", role=analysis.role or "other")
        out.append(Finding("phone_not_official", "medium", not_official))
    return out


def _display_host(url: UrlInfo, official: bool) -> str:
    # Defanged ("evil[.]site") so that no chat client turns a suspicious host into a tappable link.
    host = url.host or url.raw
    return host if official else host.replace(".", "[.]")


def url_findings(url: UrlInfo, analysis: Analysis, facts: Facts, data: ReferenceData) -> list[Finding]:
    """The rules for one link. Nothing here opens it."""
    official = (bool(url.registrable) and url.registrable in data.official_domains) or bool(
        facts.site_owners.get(url.host)
    )
    subject = _display_host(url, official)
    unverified = url.registrable in data.unverified_domains
    out: list[Finding] = []
    if official:
        out.append(Finding("url_official", "info", {"subject": subject}))
    elif not unverified:
        trick = find_lookalike(url, data)
        if trick:
            out.append(Finding("url_lookalike", "high", {"subject": subject, "target": trick.target,
                                                          "variant": trick.kind}))
    if any(("domain", d) in facts.blocked for d in parent_domains(url)):
        out.append(Finding("url_blocklisted", "high", {"subject": subject}))
    if names_apk(url):
        out.append(Finding("url_apk", "high", {"subject": subject}))
    reported_as = url.host if url.is_ip else url.registrable
    count = facts.reports.get(("domain", reported_as), 0) if reported_as else 0
    if count >= REPORTS_MIN and not official:  # an official domain is never marked by reports
        out.append(_reported("url_reported", subject, count))
    if host_matches(url.host, data.shorteners):
        out.append(Finding("url_shortener", "medium", {"subject": subject}))
    if url.is_ip:
        out.append(Finding("url_ip_literal", "medium", {"subject": subject}))
    known_good = host_matches(url.host, data.known_good_hosts)
    if not official and not known_good and (analysis.role in SCHOOL_ROLES or unverified):
        out.append(Finding("url_unknown_domain", "medium", {"subject": subject}))
    if url.scheme == "http":
        out.append(Finding("url_not_https", "low", {"subject": subject}))
    return out


def evaluate(analysis: Analysis, facts: Facts, data: ReferenceData | None = None) -> CheckResult:
    """Apply every rule. The same analysis and facts always give the same result."""
    data = data or reference_data()
    school = resolve_school(analysis, facts)
    findings: list[Finding] = []
    for code in sorted(analysis.asked):
        if code in ASK_REASONS:
            reason, severity = ASK_REASONS[code]
            findings.append(Finding(reason, severity))
    for phone in analysis.phones:
        findings.extend(phone_findings(phone, analysis, facts, school))
    for url in analysis.urls:
        findings.extend(url_findings(url, analysis, facts, data))
    if school is None and not analysis.school_named:
        # No school named: a number found in exactly one school's list tells us which school it is.
        owners = {s.id: s for p in analysis.phones if p.e164 and not p.premium
                  for s in facts.phone_owners.get(p.e164, ())}
        if len(owners) == 1:
            school = next(iter(owners.values()))
    kept = tuple(reconcile(findings))
    return CheckResult(
        verdict=verdict_for(kept),
        score=score_for(kept),
        findings=kept,
        school=school,
        asked=analysis.asked,
        links=tuple(u.raw for u in analysis.urls),
    )
