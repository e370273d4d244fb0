"""Build the ``tip.v1`` payload of a stored tip (sealed report → what the police receive).

Built when a tip is forwarded, not when it is filed: the outbox holds only the tip's id, so no personal
data sits there in clear, and a tip anonymised in the meantime ("forget me") is sent without its reporter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from bot.intake.clusters import Cluster, tip_clusters, utc
from bot.intake.model import (
    AttachmentV1,
    CheckV1,
    ClusterKeyV1,
    ClusterV1,
    ContactV1,
    HarmV1,
    LinkV1,
    LocationV1,
    ReasonV1,
    ReporterV1,
    SchoolV1,
    TipV1,
    UnitV1,
)
from handlers.checks.urls import registrable_domain
from nlu.redact import CARD_MARK, OTP_MARK, PASSWORD_MARK, find_secrets
from storage.crypto import Cipher
from storage.schema import tip_attachments, tips
from storage.tips import open_data
from storage.units import Routing, route_tips

_TIPS = sa.select(tips.c.id, tips.c.reference, tips.c.channel, tips.c.urgent, tips.c.data, tips.c.created_at).where(
    tips.c.id.in_(sa.bindparam("ids", expanding=True)))
_ATTACHMENTS = sa.select(
    tip_attachments.c.tip_id, tip_attachments.c.sha256, tip_attachments.c.mime_type, tip_attachments.c.size,
    tip_attachments.c.kind,
).where(tip_attachments.c.tip_id.in_(sa.bindparam("ids", expanding=True))).order_by(tip_attachments.c.id)
_VERDICT_RANK = {"scam": 3, "suspicious": 2, "no_red_flags": 1}
_MARKS = {"otp_code": OTP_MARK, "card_number": CARD_MARK, "password": PASSWORD_MARK}
_MARK_STARTS = tuple(_MARKS.values())
# What every secret find_secrets knows about needs, in the text as typed: 4+ digits (OTP, card), digits with
# separators (card), or a password word ("pass…", "pw", "mk", "mật khẩu" in any spelling of its vowel).
# A superset on purpose: a false hit costs one find_secrets call (~50 µs), a miss would skip redaction.
_MAYBE_SECRET = re.compile(r"\d{4}|\d[ -]\d|pass|pw|mk|m\S{1,6}t\s*kh", re.IGNORECASE)


class TipNotFound(LookupError):
    """The outbox names a tip that no longer exists (erased)."""


def build_tip_v1(conn: sa.Connection, tip_id: int, *, base_url: str, cipher: Cipher,
                 now: datetime | None = None) -> dict[str, Any]:
    """The tip as ``tip.v1`` JSON (a plain dict, validated against :class:`TipV1`).

    Routes the tip on first use (stored in ``tip_routing``), so it writes; run it inside a unit of work
    (``Database.run``). ``base_url`` is our public root, for attachment download URLs.
    """
    built, failed = build_tips_v1(conn, [tip_id], base_url=base_url, cipher=cipher, now=now)
    if tip_id in failed:
        raise failed[tip_id]
    return built[tip_id]


def build_tips_v1(conn: sa.Connection, tip_ids: Sequence[int], *, base_url: str, cipher: Cipher,
                  now: datetime | None = None) -> tuple[dict[int, dict[str, Any]], dict[int, Exception]]:
    """Many tips at once (one query per table, clusters aggregated per key): ``(built, failed)`` by tip id.

    A tip that cannot be built (erased, unreadable) is reported in ``failed`` and does not stop the others.
    """
    ids = list(dict.fromkeys(tip_ids))
    rows = {r.id: r for r in conn.execute(_TIPS, {"ids": ids})}
    failed: dict[int, Exception] = {i: TipNotFound(f"tip {i} does not exist") for i in ids if i not in rows}
    reports: dict[int, dict[str, Any]] = {}
    for tip_id, row in rows.items():
        try:
            reports[tip_id] = open_data(cipher, tip_id, row.data)
        except Exception as exc:  # a key this process lacks, a damaged row: that tip only
            failed[tip_id] = exc
    attachments: dict[int, list[AttachmentV1]] = {i: [] for i in reports}
    root = base_url.rstrip("/")
    for a in conn.execute(_ATTACHMENTS, {"ids": list(reports)}):
        attachments[a.tip_id].append(AttachmentV1(sha256=a.sha256, mime_type=a.mime_type, size=a.size, kind=a.kind,
                                                  url=f"{root}/attachments/{a.sha256}"))
    routing = route_tips(conn, communes={i: _text((d.get("slots") or {}).get("commune")) for i, d in reports.items()},
                         now=now)
    clusters = tip_clusters(conn, tip_ids=list(reports), cipher=cipher)
    built: dict[int, dict[str, Any]] = {}
    for tip_id, data in reports.items():
        try:
            built[tip_id] = _tip(rows[tip_id], data, attachments[tip_id], routing[tip_id], clusters[tip_id])
        except Exception as exc:  # malformed old data must not hold up the batch
            failed[tip_id] = exc
    return built, failed


def _tip(row: Any, data: Mapping[str, Any], attachments: list[AttachmentV1], routing: Routing,
         cluster: Cluster) -> dict[str, Any]:
    slots: Mapping[str, Any] = data.get("slots") or {}
    link_check = _check(slots.get("link_check"))
    call_check = _check(slots.get("call_check"))
    verdicts = [c.verdict for c in (link_check, call_check) if c is not None]
    tip = TipV1(
        reference=row.reference,
        created_at=utc(row.created_at),
        urgent=bool(row.urgent),
        reported_via=row.channel,
        locale=str(data.get("locale") or "vi"),
        verdict=max(verdicts, key=lambda v: _VERDICT_RANK.get(v, 0)) if verdicts else None,
        contact=ContactV1(channel=_code(slots.get("contact_channel")),
                          caller_number=_code(slots.get("caller_number")),
                          time=_when(slots.get("contact_time"))),
        claimed_role=_code(slots.get("claimed_role")),
        school=_school(slots.get("school"), link_check_raw=slots.get("link_check"),
                       call_check_raw=slots.get("call_check")),
        pretext=_code(slots.get("pretext")),
        asked=_codes(slots.get("asked")),
        call_check=call_check,
        links=[LinkV1(url=url, domain=_domain(url), check=link_check) for url in _links(slots)],
        message_text=_text(slots.get("message_text")),
        attachments=attachments,
        harm=HarmV1(money_lost={"yes": True, "no": False}.get(str(slots.get("money_lost"))),
                    amount_vnd=slots["amount"] if isinstance(slots.get("amount"), int)
                    and slots["amount"] >= 0 else None,
                    bank=_text(slots.get("bank")), loss_time=_when(slots.get("loss_time")),
                    shared=[s for s in _codes(slots.get("shared")) if s != "nothing"]),
        location=LocationV1(commune_text=_text(slots.get("commune")), commune_code=routing.commune_code,
                            commune_name=routing.commune_name, province_code=routing.province_code,
                            unit=UnitV1(id=routing.unit_id, name=routing.unit_name) if routing.unit_id else None,
                            routed_by=routing.method),
        reporter=_reporter(slots, data.get("consent")),
        clusters=[ClusterKeyV1(key=k.key, kind=k.kind, value=k.value, size=k.size, reporters=k.reporters,
                               first_seen=k.first_seen, last_seen=k.last_seen) for k in cluster.keys],
        cluster=ClusterV1(size=cluster.size, first_seen=cluster.first_seen, last_seen=cluster.last_seen)
        if cluster.first_seen and cluster.last_seen else None,
    )
    return tip.model_dump(mode="json", by_alias=True)


@lru_cache(maxsize=4096)
def _domain(url: str) -> str | None:
    # Scam campaigns repeat the same few links across many tips; parsing one costs ~0.2 ms.
    return registrable_domain(url)


def _code(value: Any) -> str | None:
    """A slot the dialogue filled from a fixed list or a parser (option ids, E.164 numbers): no free text."""
    return (value.strip() or None) if isinstance(value, str) else None


def _text(value: Any) -> str | None:
    """A free-text slot, redacted again: stored reports are redacted already, but this is the last gate."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _scrub(value.strip())


def _scrub(text: str) -> str:
    # Not nlu.redact.redact: run over already-redacted text it takes its own "[mật khẩu đã ẩn]" marker for a
    # password after "mật khẩu:" and mangles it. A secret that starts at a marker is the marker.
    if not _MAYBE_SECRET.search(text):  # every secret has 4+ digits in a row or a password word: skip the rest
        return text
    found = [s for s in find_secrets(text) if not text.startswith(_MARK_STARTS, s.start)]
    for secret in reversed(found):
        text = text[: secret.start] + _MARKS.get(secret.kind, OTP_MARK) + text[secret.end :]
    return text


def _codes(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _links(slots: Mapping[str, Any]) -> list[str]:
    others = slots.get("other_links")
    if isinstance(others, str):  # older reports kept them as one text
        others = others.replace(",", " ").split()
    candidates = [slots.get("link"), *(others if isinstance(others, list) else [])]
    return list(dict.fromkeys(t for t in (_text(c) for c in candidates) if t))


def _check(value: Any) -> CheckV1 | None:
    if not isinstance(value, Mapping) or not isinstance(value.get("verdict"), str):
        return None
    reasons = [ReasonV1(code=str(r["code"]), severity=_text(r.get("severity")), message=_text(r.get("message")))
               for r in value.get("reasons") or [] if isinstance(r, Mapping) and r.get("code")]
    score = value.get("score")
    return CheckV1(verdict=value["verdict"], score=score if isinstance(score, int) else None, reasons=reasons)


def _school(value: Any, *, link_check_raw: Any, call_check_raw: Any) -> SchoolV1 | None:
    if isinstance(value, Mapping) and isinstance(value.get("name"), str):
        ident = value.get("id")
        return SchoolV1(id=str(ident) if ident else None, name=value["name"], matched=bool(ident))
    for check in (call_check_raw, link_check_raw):  # the check engine matched the school against the directory
        matched = check.get("school") if isinstance(check, Mapping) else None
        if isinstance(matched, Mapping) and matched.get("id") and isinstance(matched.get("name"), str):
            return SchoolV1(id=str(matched["id"]), name=matched["name"], matched=True)
    typed = _text(value)
    return SchoolV1(name=typed, matched=False) if typed else None


def _reporter(slots: Mapping[str, Any], consent: Any) -> ReporterV1 | None:
    agreed = isinstance(consent, Mapping) and consent.get("contact") is True
    if not agreed or slots.get("contact_consent") != "contact_ok":
        return None
    return ReporterV1(phone=_text(slots.get("contact_phone")), consent_recorded_at=_when(consent.get("recorded_at")))
