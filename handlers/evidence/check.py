"""Evidence through the check engine: the text, numbers and links read go through the same rules as a
typed message; APK files and payment QR codes add reasons of their own.

``check_evidence`` is a synchronous unit of work like ``handlers.checks.check`` (``await db.run(...)``): the
dialogue, ``hotline check --image/--apk`` and ``POST /api/v1/check`` with a file all call it, so they agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import sqlalchemy as sa

from handlers.checks.codes import Finding, Severity, reconcile, score_for, verdict_for
from handlers.checks.engine import gather
from handlers.checks.evaluate import evaluate
from handlers.checks.request import MAX_TEXT, CheckRequest, analyse
from handlers.checks.result import CheckResult
from handlers.checks.urls import UrlInfo
from handlers.evidence.apps import AppMatch, OfficialApp, link_imitates, load_apps, match_apk
from handlers.evidence.work import Reading
from storage.crypto import Cipher

# What each red-flag permission lets an app do, as a parent would understand it.
FLAG_WORDS = {
    "sms": ("đọc tin nhắn SMS", "reading your SMS"),
    "sms_send": ("gửi tin nhắn SMS", "sending SMS"),
    "accessibility": ("trợ năng (điều khiển màn hình)", "accessibility (controlling the screen)"),
    "overlay": ("hiển thị đè lên ứng dụng khác", "drawing over other apps"),
    "install_packages": ("cài thêm ứng dụng", "installing more apps"),
    "device_admin": ("quản trị thiết bị", "device administration"),
    "notification_listener": ("đọc thông báo", "reading notifications"),
    "call_log": ("đọc nhật ký cuộc gọi", "reading the call log"),
    "call_phone": ("tự gọi điện", "making calls"),
    "contacts": ("đọc danh bạ", "reading contacts"),
}
# Any one of these alone is enough to steal OTPs or take over the phone.
OTP_STEALING = frozenset({"sms", "accessibility", "overlay", "install_packages", "device_admin",
                          "notification_listener"})


@dataclass(frozen=True, slots=True)
class EvidenceFacts:
    """What the readings hold for the check engine and for a report."""

    text: str
    phones: tuple[str, ...]
    links: tuple[str, ...]
    accounts: tuple[tuple[str, str], ...]  # (account, bank label) from payment QR codes


def facts_of(readings: Sequence[Reading]) -> EvidenceFacts:
    texts, phones, links, accounts = [], [], [], []
    for r in readings:
        if not r.ok:
            continue
        if r.text:
            texts.append(r.text)
        if r.sender:
            phones.append(r.sender)
        for code in r.codes:
            kind, content = code.get("kind"), str(code.get("content") or "")
            if kind == "link":
                links.append(content)
            elif kind == "phone" and code.get("phone"):
                phones.append(str(code["phone"]))
            elif kind == "text":
                texts.append(content)
            elif kind == "payment" and isinstance(code.get("payment"), dict):
                pay = code["payment"]
                if pay.get("account"):
                    accounts.append((str(pay["account"]), str(pay.get("bank") or f"BIN {pay.get('bin')}")))
    return EvidenceFacts(text="\n".join(texts)[:MAX_TEXT], phones=tuple(dict.fromkeys(phones)),
                         links=tuple(dict.fromkeys(links)), accounts=tuple(dict.fromkeys(accounts)))


def request_for(readings: Sequence[Reading], base: CheckRequest | None = None) -> CheckRequest:
    """The check request the readings make, on top of what the caller already knows (``base``)."""
    facts = facts_of(readings)
    base = base or CheckRequest()
    text = "\n".join(t for t in (base.text, facts.text) if t)[:MAX_TEXT] or None
    phone = base.phone or next(iter(facts.phones), None)
    extra = tuple(dict.fromkeys((*base.extra_urls, *facts.links)))
    return CheckRequest(phone=phone, url=base.url, school=base.school, school_id=base.school_id,
                        claimed_role=base.claimed_role, asked=base.asked, text=text, extra_urls=extra)


def _subject(apk: dict[str, object]) -> str:
    label, package, name = apk.get("label"), apk.get("package"), apk.get("file_name")
    main = str(label or name or package or "APK")
    return f"«{main}» ({package})" if package and main != package else f"«{main}»"


def apk_findings(apk: dict[str, object], apps: tuple[OfficialApp, ...]) -> list[Finding]:
    """The reasons one inspected APK gives."""
    subject = _subject(apk)
    out: list[Finding] = []
    match: AppMatch = match_apk(apk, apps)
    target = match.app.label if match.app else ""
    if match.kind == "official":
        out.append(Finding("apk_official", "info", {"subject": subject, "target": target}))
    elif match.kind == "imitates":
        params = {"subject": subject, "target": target}
        if match.why == "certificate":
            params["variant"] = "certificate"
        out.append(Finding("apk_imitates_official", "high", params))
    elif match.kind == "unverified":
        out.append(Finding("apk_not_official", "medium", {"subject": subject, "target": target,
                                                          "variant": "unverified"}))
    else:
        out.append(Finding("apk_not_official", "medium", {"subject": subject}))
    flags = [f for f in apk.get("red_flags") or () if isinstance(f, str) and f in FLAG_WORDS]  # type: ignore[attr-defined]
    if flags and match.kind != "official":
        severity: Severity = "high" if OTP_STEALING & set(flags) else "medium"
        out.append(Finding("apk_dangerous_permissions", severity, {
            "subject": subject,
            "detail_vi": ", ".join(FLAG_WORDS[f][0] for f in flags),
            "detail_en": ", ".join(FLAG_WORDS[f][1] for f in flags),
        }))
    return out


def payment_findings(payment: dict[str, object]) -> list[Finding]:
    account, bank = payment.get("account"), payment.get("bank") or (
        f"BIN {payment['bin']}" if payment.get("bin") else "?")
    amount = payment.get("amount")
    out = [Finding("qr_payment", "medium", {
        "account": str(account or "?"), "bank": str(bank),
        "amount_vi": f", số tiền {amount} đồng" if amount else "",
        "amount_en": f", amount {amount} VND" if amount else "",
        "subject": str(account or "?"),
    })]
    if payment.get("crc_ok") is False:
        out.append(Finding("qr_tampered", "medium", {"subject": str(account or "?")}))
    return out


def _apk_links(urls: Sequence[UrlInfo], apps: tuple[OfficialApp, ...]) -> list[Finding]:
    out = []
    for url in urls:
        name = PurePosixPath(url.path_query.split("?", 1)[0]).name
        if name.lower().endswith(".apk"):
            app = link_imitates(name, apps)
            if app is not None:
                out.append(Finding("apk_imitates_official", "high", {
                    "subject": (url.host or url.raw).replace(".", "[.]"), "target": app.label, "variant": "link"}))
    return out


def evidence_findings(readings: Sequence[Reading], apps: tuple[OfficialApp, ...]) -> list[Finding]:
    out: list[Finding] = []
    for r in readings:
        if not r.ok:
            continue
        if r.apk is not None:
            out.extend(apk_findings(r.apk, apps))
        for code in r.codes:
            if code.get("kind") == "payment" and isinstance(code.get("payment"), dict):
                out.extend(payment_findings(code["payment"]))
    return out


def check_evidence(conn: sa.Connection, readings: Sequence[Reading], base: CheckRequest | None = None, *,
                   cipher: Cipher, apps: tuple[OfficialApp, ...] | None = None) -> CheckResult:
    """The check engine's verdict over what the readings hold, with the APK and payment reasons added."""
    apps = load_apps() if apps is None else apps
    request = request_for(readings, base)
    analysis = analyse(request)
    result = evaluate(analysis, gather(conn, analysis, cipher=cipher))
    kept = tuple(reconcile([*result.findings, *evidence_findings(readings, apps), *_apk_links(analysis.urls, apps)]))
    return CheckResult(verdict=verdict_for(kept), score=score_for(kept), findings=kept, school=result.school,
                       asked=result.asked, links=result.links)
