"""The monthly report's figures: a month of the whole province against the month before, as rows ready to lay out.

Built from :func:`storage.stats.dashboard` (province-wide, as the system) plus what the police did in the month:
tips closed by outcome, numbers and domains put on the blocklist, campaign alerts, awareness warnings drafted,
broadcast and delivered. Counts only: the report carries no personal data and names no number, domain or account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage import stats
from storage.alerts_schema import alerts, awareness_drafts
from storage.broadcast_progress import sent_between
from storage.content_schema import broadcasts
from storage.crypto import Cipher
from storage.reference_schema import blocklist
from storage.workflow import SYSTEM
from storage.workflow_schema import tip_cases

OUTCOMES = {"confirmed_scam": "Xác nhận lừa đảo", "not_scam": "Không phải lừa đảo", "duplicate": "Trùng báo cáo khác",
            "referred": "Chuyển đơn vị khác"}
# The shipped pretext options (handlers/flows/choices.yaml), for a report built without the flows at hand.
PRETEXTS = {"update_records": "Bổ sung hồ sơ học sinh", "student_id_code": "Xác nhận mã định danh",
            "install_app": "Cài ứng dụng Sổ liên lạc điện tử", "tuition_refund": "Hoàn tiền học phí",
            "child_hospital": "Con cấp cứu, chuyển tiền gấp", "other": "Khác"}


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a comparison table: a label, this month, the month before."""

    label: str
    current: int | float | None
    previous: int | float | None

    @property
    def change(self) -> str:
        if not isinstance(self.current, int) or not isinstance(self.previous, int):
            return ""
        diff = self.current - self.previous
        if self.previous == 0:
            return f"+{diff}" if diff > 0 else ("0" if diff == 0 else str(diff))
        return f"{diff:+d} ({diff / self.previous:+.0%})"


@dataclass
class MonthlyReport:
    province: str
    police_name: str
    year: int
    month: int
    generated_at: datetime
    summary: list[Row] = field(default_factory=list)
    communes: list[Row] = field(default_factory=list)
    pretexts: list[Row] = field(default_factory=list)
    outcomes: list[Row] = field(default_factory=list)
    measures: list[Row] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.month:02d}/{self.year}"

    @property
    def previous_label(self) -> str:
        y, m = previous_month(self.year, self.month)
        return f"{m:02d}/{y}"


def previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def month_period(year: int, month: int) -> stats.Period:
    first = date(year, month, 1)
    last = (date(year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)
    return stats.Period.local_days(first, last)


def _count(conn: sa.Connection, query: Any) -> int:
    return int(conn.execute(query).scalar() or 0)


def _actions(conn: sa.Connection, period: stats.Period) -> dict[str, Any]:
    """What was done in the period, whatever month the tips were filed."""
    c = tip_cases.c
    closed = {str(k): int(n) for k, n in conn.execute(
        sa.select(c.outcome, sa.func.count()).where(c.closed_at >= period.since, c.closed_at < period.until)
        .group_by(c.outcome))}
    b = blocklist.c
    blocked = {str(k): int(n) for k, n in conn.execute(
        sa.select(b.kind, sa.func.count()).where(b.created_at >= period.since, b.created_at < period.until)
        .group_by(b.kind))}
    d = awareness_drafts.c
    return {
        "closed": closed, "blocked": blocked,
        "alerts": _count(conn, sa.select(sa.func.count()).select_from(alerts).where(
            alerts.c.raised_at >= period.since, alerts.c.raised_at < period.until)),
        "drafted": _count(conn, sa.select(sa.func.count()).select_from(awareness_drafts).where(
            d.created_at >= period.since, d.created_at < period.until)),
        # The broadcasts (issue 13) send the warnings: campaigns started, and messages that reached a parent.
        "broadcasts": _count(conn, sa.select(sa.func.count()).select_from(broadcasts).where(
            broadcasts.c.started_at >= period.since, broadcasts.c.started_at < period.until)),
        # Rows still held and the counts retention folded them into (storage/broadcast_retention.py).
        "sent": sent_between(conn, since=period.since, until=period.until),
    }


def _by_code(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {str(r["code"] or ""): int(r["tips"]) for r in rows}


def _compare(current: Mapping[str, int], previous: Mapping[str, int], names: Mapping[str, str],
             unknown: str) -> list[Row]:
    codes = sorted(set(current) | set(previous), key=lambda k: (-current.get(k, 0), -previous.get(k, 0), k))
    return [Row(names.get(code, code) or unknown, current.get(code, 0), previous.get(code, 0)) for code in codes]


def build_report(conn: sa.Connection, *, year: int, month: int, cipher: Cipher, province: str, police_name: str,
                 pretext_labels: Mapping[str, str] | None = None) -> MonthlyReport:
    """The report of ``month``/``year`` (a unit of work)."""
    now_period, before_period = month_period(year, month), month_period(*previous_month(year, month))
    now = stats.dashboard(conn, viewer=SYSTEM, period=now_period, cipher=cipher)
    before = stats.dashboard(conn, viewer=SYSTEM, period=before_period, cipher=cipher)
    acts, acts_before = _actions(conn, now_period), _actions(conn, before_period)
    report = MonthlyReport(province, police_name, year, month, datetime.now(UTC))
    t, tb = now["totals"], before["totals"]
    fa, fab = now["first_action_targets"], before["first_action_targets"]
    f, fb = now["followups"], before["followups"]
    report.summary = [
        Row("Tổng số tin báo tiếp nhận", t["tips"], tb["tips"]),
        Row("Tin báo khẩn cấp", t["urgent"], tb["urgent"]),
        Row("Tin báo đang mất tiền / đã lộ mã OTP", t["harm_now"], tb["harm_now"]),
        Row("Số vụ có thiệt hại về tiền", t["money_lost_tips"], tb["money_lost_tips"]),
        Row("Số tiền thiệt hại (đồng)", t["money_lost_vnd"], tb["money_lost_vnd"]),
        Row("Tin báo do trường học, xã/phường gửi", t["agency"], tb["agency"]),
        Row("Tin báo khẩn được xử lý đúng hạn", fa["met"], fab["met"]),
        Row("Tin báo khẩn xử lý trễ hạn", fa["missed"], fab["missed"]),
        Row("Cảnh báo chiến dịch lừa đảo", acts["alerts"], acts_before["alerts"]),
    ]
    communes = {r["code"] or "": r.get("name") or "" for r in now["by_commune"] + before["by_commune"]}
    report.communes = _compare(_by_code(now["by_commune"]), _by_code(before["by_commune"]), communes,
                               "Chưa xác định xã/phường")
    report.pretexts = _compare(_by_code(now["by_pretext"]), _by_code(before["by_pretext"]),
                               {**PRETEXTS, **(pretext_labels or {})}, "Chưa rõ")
    report.outcomes = _compare({k: v for k, v in acts["closed"].items() if k != "None"},
                               {k: v for k, v in acts_before["closed"].items() if k != "None"}, OUTCOMES, "Khác")
    rate = f["answer_rate"]
    rate_before = fb["answer_rate"]
    report.measures = [
        Row("Số điện thoại đưa vào danh sách cảnh báo", acts["blocked"].get("phone", 0),
            acts_before["blocked"].get("phone", 0)),
        Row("Tên miền đưa vào danh sách cảnh báo", acts["blocked"].get("domain", 0),
            acts_before["blocked"].get("domain", 0)),
        Row("Thông báo cảnh báo đã soạn", acts["drafted"], acts_before["drafted"]),
        Row("Đợt thông báo cảnh báo đã phát", acts["broadcasts"], acts_before["broadcasts"]),
        Row("Tin nhắn cảnh báo đã tới phụ huynh", acts["sent"], acts_before["sent"]),
        Row("Câu hỏi xác minh đã gửi phụ huynh", f["questions_sent"], fb["questions_sent"]),
        Row("Tin báo phụ huynh đã trả lời", f["tips_answered"], fb["tips_answered"]),
        Row("Tỷ lệ trả lời (%)", round(rate * 100, 1) if rate is not None else None,
            round(rate_before * 100, 1) if rate_before is not None else None),
    ]
    return report
