"""What supervisors do with campaign alerts: list them, open one with its tips, acknowledge it, put its confirmed
numbers and domains on the blocklist in one step, and draft an awareness warning for the affected communes and
schools (stored and exportable until the broadcasts send it).

Units of work (``await db.run(fn, ...)``), keyword-only; every change is audited (subject ``alert:<id>``).
Officers see an alert when one of its tips is theirs, and only those tips; supervisors see everything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage import audit
from storage.alerts import SUMMARY_COLUMNS, AlertSummary, summary_from, utc
from storage.alerts_schema import alert_tips, alerts, awareness_drafts
from storage.crypto import Cipher
from storage.indicators import named_by
from storage.intake_schema import unit_communes
from storage.reference import BlocklistEntry, add_to_blocklist
from storage.reference_schema import blocklist, schools
from storage.workflow import Viewer, WorkflowError, visible
from storage.workflow_schema import tip_cases

BLOCKABLE = ("phone", "domain")  # what the blocklist holds (the check engine warns on these)
SHOW_TIPS = 200
# The province's own warning, verbatim (design sheet): every draft starts from it.
SEED_WARNING = (
    "Hiện nay, xuất hiện thủ đoạn lừa đảo trực tuyến giả mạo nhà trường yêu cầu cung cấp thông tin, cài đặt ứng "
    "dụng \"sổ liên lạc điện tử\". Đề nghị Nhân dân nâng cao cảnh giác, không cung cấp tài khoản ngân hàng, mã OTP "
    "hoặc cài đặt các ứng dụng lạ, nếu nhận được cuộc gọi có dấu hiệu bất thường, người dân cần liên hệ ngay với "
    "nhà trường, Công an nơi gần nhất để được hỗ trợ")


@dataclass(frozen=True, slots=True)
class AlertTip:
    tip_id: int
    reference: str
    created_at: datetime
    status: str
    outcome: str | None
    commune_code: str | None
    unit_id: str | None
    pretext: str | None


@dataclass(frozen=True, slots=True)
class CampaignIndicator:
    """A number / domain / account the alert's tips name: how many, how many confirmed a scam, blocked yet."""

    kind: str
    value: str
    tips: int
    confirmed: int
    blocked: bool


@dataclass(frozen=True, slots=True)
class AlertDetail:
    alert: AlertSummary
    tips: list[AlertTip]
    hidden_tips: int  # tips of the campaign the viewer may not open (another unit's)
    indicators: list[CampaignIndicator]
    communes: list[tuple[str, str, int]]  # (code, name, tips)


def _mine(viewer: Viewer) -> sa.ColumnElement[bool]:
    """Alerts with at least one tip the viewer may see."""
    if viewer.whole_province:
        return sa.true()
    return sa.exists().where(alert_tips.c.alert_id == alerts.c.id, tip_cases.c.tip_id == alert_tips.c.tip_id,
                             visible(viewer))


def list_alerts(conn: sa.Connection, *, viewer: Viewer, cipher: Cipher, status: str | None = None,
                limit: int = 100) -> list[AlertSummary]:
    """Newest first; ``status`` open / acknowledged, or every alert."""
    if not viewer.reads_tips:
        return []
    query = sa.select(*SUMMARY_COLUMNS).where(_mine(viewer)).order_by(alerts.c.raised_at.desc(), alerts.c.id.desc())
    if status:
        query = query.where(alerts.c.status == status)
    return [summary_from(r, cipher) for r in conn.execute(query.limit(limit))]


def open_count(conn: sa.Connection, *, viewer: Viewer) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(alerts)
                            .where(alerts.c.status == "open", _mine(viewer))).scalar() or 0)


def _summary(conn: sa.Connection, viewer: Viewer, alert_id: int, cipher: Cipher) -> AlertSummary:
    row = conn.execute(sa.select(*SUMMARY_COLUMNS).where(alerts.c.id == alert_id, _mine(viewer))).first()
    if row is None or not viewer.reads_tips:
        raise WorkflowError("no such alert")
    return summary_from(row, cipher)


def alert_detail(conn: sa.Connection, *, viewer: Viewer, alert_id: int, cipher: Cipher) -> AlertDetail:
    """One alert with the tips the viewer may open, what they name (opened for the page), and where."""
    summary = _summary(conn, viewer, alert_id, cipher)
    c = tip_cases.c
    members = sa.select(alert_tips.c.tip_id).where(alert_tips.c.alert_id == alert_id)
    rows = conn.execute(sa.select(c.tip_id, c.reference, c.created_at, c.status, c.outcome, c.commune_code,
                                  c.unit_id, c.pretext)
                        .where(c.tip_id.in_(members), visible(viewer)).order_by(c.created_at)).all()
    shown = [AlertTip(r.tip_id, r.reference, utc(r.created_at), r.status, r.outcome, r.commune_code, r.unit_id,
                      r.pretext) for r in rows]
    total = int(conn.execute(sa.select(sa.func.count()).select_from(members.subquery())).scalar() or 0)
    named = named_by(conn, cipher=cipher, tip_ids=[t.tip_id for t in shown[:SHOW_TIPS]])
    confirmed = {t.tip_id for t in shown if t.outcome == "confirmed_scam"}
    counts: dict[tuple[str, str], list[int]] = {}
    for tip_id, found in named.items():
        for n in found:
            entry = counts.setdefault((n.kind, n.value), [0, 0])
            entry[0] += 1
            entry[1] += tip_id in confirmed
    listed = _blocked(conn, list(counts))
    indicators = sorted((CampaignIndicator(k, v, n, conf, (k, v) in listed) for (k, v), (n, conf) in counts.items()),
                        key=lambda i: (-i.tips, i.kind, i.value))
    where: dict[str, int] = {}
    for t in shown:
        where[t.commune_code or ""] = where.get(t.commune_code or "", 0) + 1
    commune_names = _commune_names(conn, [code for code in where if code])
    communes = sorted(((code, commune_names.get(code, ""), n) for code, n in where.items()), key=lambda x: -x[2])
    return AlertDetail(summary, shown[:SHOW_TIPS], total - len(shown), indicators, communes)


def _blocked(conn: sa.Connection, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    wanted = [p for p in pairs if p[0] in BLOCKABLE]
    if not wanted:
        return set()
    rows = conn.execute(sa.select(blocklist.c.kind, blocklist.c.value).where(
        sa.tuple_(blocklist.c.kind, blocklist.c.value).in_(wanted)))
    return {(r.kind, r.value) for r in rows}


def _commune_names(conn: sa.Connection, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = conn.execute(sa.select(unit_communes.c.commune_code, unit_communes.c.commune_name)
                        .where(unit_communes.c.commune_code.in_(codes)))
    return {r.commune_code: r.commune_name for r in rows}


def _supervisor(viewer: Viewer) -> None:
    if not viewer.whole_province:
        raise WorkflowError("only a supervisor may do this")


def acknowledge(conn: sa.Connection, *, viewer: Viewer, alert_id: int, cipher: Cipher, now: datetime,
                ip: str | None = None) -> bool:
    """A supervisor has seen it (False when it already was)."""
    _supervisor(viewer)
    _summary(conn, viewer, alert_id, cipher)
    done = conn.execute(sa.update(alerts).where(alerts.c.id == alert_id, alerts.c.status == "open").values(
        status="acknowledged", acknowledged_by=viewer.actor, acknowledged_at=now)).rowcount
    if done:
        audit.record(conn, actor=viewer.actor, action="alert.ack", subject=f"alert:{alert_id}", now=now,
                     detail=f"from {ip}" if ip else None)
    return bool(done)


def block_from_alert(conn: sa.Connection, *, viewer: Viewer, alert_id: int, picks: list[tuple[str, str]],
                     cipher: Cipher, now: datetime, ip: str | None = None) -> int:
    """Put chosen numbers / domains the campaign's tips name on the blocklist at once; returns how many are new."""
    _supervisor(viewer)
    detail = alert_detail(conn, viewer=viewer, alert_id=alert_id, cipher=cipher)
    named = {(i.kind, i.value) for i in detail.indicators if i.kind in BLOCKABLE}
    chosen = [p for p in dict.fromkeys(picks) if p in named]
    if not chosen:
        raise WorkflowError("choose at least one number or domain of this campaign")
    note = f"Xác nhận lừa đảo, chiến dịch cảnh báo #{alert_id}"
    added, _updated = add_to_blocklist(conn, entries=[BlocklistEntry(k, v, note) for k, v in chosen], now=now)
    for kind, value in chosen:
        # A scammer's number is not a parent's data: the audit names the entry, as tip pages do.
        audit.record(conn, actor=viewer.actor, action="blocklist.add", subject=f"alert:{alert_id}", now=now,
                     detail=f"{kind} {value}" + (f" from {ip}" if ip else ""))
    return added


def _schools_in(conn: sa.Connection, names: list[str]) -> list[dict[str, str]]:
    """Schools of the directory in these communes (the directory names the commune as written)."""
    if not names:
        return []
    bare = {n.removeprefix("Phường ").removeprefix("Xã ").removeprefix("Đặc khu ") for n in names}
    wanted = sorted(set(names) | bare)
    rows = conn.execute(sa.select(schools.c.id, schools.c.name, schools.c.commune)
                        .where(schools.c.commune.in_(wanted)).order_by(schools.c.name).limit(500))
    return [{"id": r.id, "name": r.name, "commune": r.commune} for r in rows]


def draft_awareness(conn: sa.Connection, *, viewer: Viewer, alert_id: int, cipher: Cipher, now: datetime,
                    police_name: str, pretext_label: str | None = None, ip: str | None = None) -> int:
    """Draft the warning for the campaign's communes and their schools: the province's text, then what this
    wave does. Returns the draft's id (the broadcasts issue sends it)."""
    _supervisor(viewer)
    detail = alert_detail(conn, viewer=viewer, alert_id=alert_id, cipher=cipher)
    a = detail.alert
    communes = [{"code": code, "name": name} for code, name, _n in detail.communes if code]
    audience = {"communes": communes, "schools": _schools_in(conn, [c["name"] for c in communes if c["name"]])}
    what = {"phone": f"các cuộc gọi, tin nhắn từ số {a.value}", "domain": f"đường link tên miền {a.value}",
            "bank_account": f"yêu cầu chuyển tiền vào tài khoản {a.value}"}.get(
        a.kind, f"kẻ gian lấy lý do \"{pretext_label or a.pretext or ''}\"")
    places = ", ".join(c["name"] for c in communes if c["name"]) or "trên địa bàn tỉnh"
    body = (f"{SEED_WARNING}.\n\nTừ {a.first_tip_at:%d/%m/%Y}, {police_name} nhận được {a.tips} phản ánh về {what} "
            f"tại {places}. Nhà trường không bao giờ yêu cầu mã OTP, chuyển tiền hay cài ứng dụng qua đường link. "
            f"Nếu nghi ngờ, hãy gọi lại số điện thoại chính thức của nhà trường hoặc báo ngay cho Công an qua số 113.")
    title = f"Cảnh báo lừa đảo giả mạo nhà trường — {places}"[:255]
    draft_id = int(conn.execute(sa.insert(awareness_drafts).returning(awareness_drafts.c.id), {
        "alert_id": alert_id, "title": title, "body": body, "audience": json.dumps(audience, ensure_ascii=False),
        "status": "draft", "created_by": viewer.actor, "created_at": now, "updated_at": now}).scalar_one())
    audit.record(conn, actor=viewer.actor, action="awareness.draft", subject=f"alert:{alert_id}", now=now,
                 detail=f"draft #{draft_id}" + (f" from {ip}" if ip else ""))
    return draft_id


def _draft(row: Any) -> dict[str, Any]:
    return {"id": row.id, "alert_id": row.alert_id, "title": row.title, "body": row.body,
            "audience": json.loads(row.audience), "status": row.status, "created_by": row.created_by,
            "created_at": utc(row.created_at).isoformat(), "updated_at": utc(row.updated_at).isoformat(),
            "sent_at": utc(row.sent_at).isoformat() if row.sent_at else None}


def drafts(conn: sa.Connection, *, viewer: Viewer, limit: int = 200) -> list[dict[str, Any]]:
    """Awareness drafts, newest first, as JSON-able dicts (what the export holds)."""
    _supervisor(viewer)
    rows = conn.execute(sa.select(awareness_drafts).order_by(awareness_drafts.c.id.desc()).limit(limit))
    return [_draft(r) for r in rows]


def get_draft(conn: sa.Connection, *, viewer: Viewer, draft_id: int) -> dict[str, Any]:
    _supervisor(viewer)
    row = conn.execute(sa.select(awareness_drafts).where(awareness_drafts.c.id == draft_id)).first()
    if row is None:
        raise WorkflowError("no such draft")
    return _draft(row)


def edit_draft(conn: sa.Connection, *, viewer: Viewer, draft_id: int, title: str, body: str, status: str,
               now: datetime) -> None:
    """Change a draft's words, or discard it (``status`` draft | discarded); a sent one stays as it was."""
    current = get_draft(conn, viewer=viewer, draft_id=draft_id)
    if current["status"] == "sent":
        raise WorkflowError("this warning was sent already")
    if status not in ("draft", "discarded") or not title.strip() or not body.strip():
        raise WorkflowError("a draft needs a title and a text")
    conn.execute(sa.update(awareness_drafts).where(awareness_drafts.c.id == draft_id).values(
        title=title.strip()[:255], body=body.strip()[:4000], status=status, updated_at=now))
    audit.record(conn, actor=viewer.actor, action="awareness.edit", subject=f"draft:{draft_id}", now=now,
                 detail=status)
