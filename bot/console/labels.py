"""What the console calls the codes it shows: statuses, outcomes, verdicts, kinds, and the report's options.

Codes stay codes in the database and the URL; only the page turns them into words. The report's option
labels (pretext, what was asked, channel…) come from the flows themselves, so an admin's new option shows up
here with its own label, in both languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.flowload import FlowSet

# (Vietnamese, English)
STATUS = {
    "new": ("Mới", "New"),
    "in_review": ("Đang xem xét", "In review"),
    "investigating": ("Đang điều tra", "Investigating"),
    "closed": ("Đã đóng", "Closed"),
}
OUTCOME = {
    "confirmed_scam": ("Xác nhận lừa đảo", "Confirmed scam"),
    "not_scam": ("Không phải lừa đảo", "Not a scam"),
    "duplicate": ("Trùng báo cáo khác", "Duplicate"),
    "referred": ("Chuyển đơn vị khác", "Referred to another unit"),
}
VERDICT = {
    "scam": ("Lừa đảo", "Scam"),
    "suspicious": ("Đáng ngờ", "Suspicious"),
    "no_red_flags": ("Chưa thấy dấu hiệu", "No red flags"),
}
KIND = {
    "report": ("Báo cáo", "Report"),
    "handoff": ("Gặp cán bộ", "Asked for an officer"),
    "agency": ("Cơ quan chuyển", "From an agency"),
}
CHANNEL = {
    "web": ("Web chat", "Web chat"),
    "webchat": ("Web chat", "Web chat"),
    "telegram": ("Telegram", "Telegram"),
    "zalo": ("Zalo", "Zalo"),
    "zalo_bot": ("Zalo Bot", "Zalo Bot"),
    "api": ("API", "API"),
    "terminal": ("Dòng lệnh", "Terminal"),
    "console": ("Trường / xã báo qua bảng tiếp nhận", "School / commune via the console"),
}
FIRST_ACTION = {
    "met": ("Đạt hạn xử lý", "Target met"),
    "missed": ("Trễ hạn xử lý", "Target missed"),
    "pending": ("Chờ xử lý", "Awaiting action"),
}
INDICATOR = {
    "phone": ("Số điện thoại", "Phone number"),
    "domain": ("Tên miền", "Domain"),
    "bank_account": ("Tài khoản ngân hàng", "Bank account"),
    "url": ("Đường link", "Link"),
}
TARGET = {
    "telco": ("Nhà mạng (khóa số)", "Telco (suspend the number)"),
    "bank": ("Ngân hàng (phong tỏa tài khoản)", "Bank (freeze the account)"),
    "registrar": ("Nhà đăng ký / lưu trữ (gỡ tên miền)", "Registrar / host (take the domain down)"),
    "platform": ("Nền tảng (Zalo / Telegram)", "Platform (Zalo / Telegram account)"),
}
REFERRAL_STATUS = {
    "requested": ("Đã gửi yêu cầu", "Requested"),
    "acknowledged": ("Đã tiếp nhận", "Acknowledged"),
    "done": ("Đã xử lý", "Done"),
    "refused": ("Bị từ chối", "Refused"),
}
ROLE = {
    "officer": ("Cán bộ", "Officer"),
    "supervisor": ("Chỉ huy", "Supervisor"),
    "admin": ("Quản trị", "Admin"),
    "reporter": ("Trường / xã báo cáo", "School / commune reporter"),
}
EVENT = {
    "take": ("Nhận xử lý", "Took it"), "assign": ("Giao việc", "Assigned"), "unassign": ("Bỏ nhận", "Unassigned"),
    "released": ("Tự trả về hàng chờ (cán bộ không thao tác)", "Released to the queue (officer idle)"),
    "status": ("Đổi trạng thái", "Status changed"), "close": ("Đóng báo cáo", "Closed"),
    "reopen": ("Mở lại", "Reopened"),
    "note": ("Thêm ghi chú", "Note added"), "blocklist": ("Đưa vào danh sách cảnh báo", "Blocklisted"),
    "referral": ("Yêu cầu ngăn chặn", "Takedown request"),
    "ack": ("Xác nhận đã thấy (Telegram)", "Acknowledged (Telegram)"),
    "claim": ("Nhận qua Telegram", "Claimed on Telegram"), "reply": ("Phụ huynh trả lời", "The parent replied"),
    "handoff": ("Trò chuyện trực tiếp", "Live chat"), "question": ("Hỏi phụ huynh", "Question to the parent"),
}
TABLES: dict[str, Mapping[str, tuple[str, str]]] = {
    "status": STATUS, "outcome": OUTCOME, "verdict": VERDICT, "kind": KIND, "channel": CHANNEL,
    "first_action": FIRST_ACTION, "indicator": INDICATOR, "target": TARGET, "referral_status": REFERRAL_STATUS,
    "role": ROLE, "event": EVENT,
}
# Report slots whose values are option ids, and the option set that names them.
OPTION_SLOTS = {"contact_channel": "contact_channel", "claimed_role": "claimed_role", "pretext": "pretext",
                "asked": "asked", "shared": "shared", "money_lost": "money_lost", "contact_consent": "consent"}


class Labels:
    """Labels in one language, for one request."""

    def __init__(self, flows: FlowSet, lang: str) -> None:
        self.flows = flows
        self.en = lang == "en"

    def of(self, table: str, code: str | None) -> str:
        if code is None:
            return ""
        pair = TABLES[table].get(code)
        return (pair[1] if self.en else pair[0]) if pair else code

    def actor(self, actor: str, names: Mapping[int, str]) -> str:
        """``officer:12`` as the officer's e-mail; the bot, the parent and Telegram presses in words."""
        kind, _, ident = actor.partition(":")
        if kind == "officer" and ident.isdigit():
            return names.get(int(ident), actor)
        words = {"system": ("Hệ thống", "System"), "parent": ("Phụ huynh", "Parent")}.get(actor)
        if words:
            return words[1] if self.en else words[0]
        return actor

    def event(self, action: str, detail: Mapping[str, Any]) -> str:
        """One history row in words: the action, and for status changes where from and where to."""
        text = self.of("event", action)
        if action in ("status", "close", "reopen") and detail.get("to"):
            text += f": {self.of('status', detail.get('from'))} → {self.of('status', detail.get('to'))}"
            if detail.get("outcome"):
                text += f" ({self.of('outcome', detail['outcome'])})"
        elif action == "handoff" and detail.get("state"):
            text += f": {detail['state']}"
        elif action == "referral" and detail.get("target"):
            text += f": {self.of('target', detail['target'])}"
        elif action == "referral" and detail.get("status"):
            text += f": {self.of('referral_status', detail['status'])}"
        elif action == "blocklist" and detail.get("count"):
            text += f" ({detail['count']})"
        return text

    def choices(self, table: str) -> list[tuple[str, str]]:
        return [(code, pair[1] if self.en else pair[0]) for code, pair in TABLES[table].items()]

    def options(self, option_set: str) -> list[tuple[str, str]]:
        """(id, label) of a report option set, without emoji clutter, e.g. every pretext."""
        found = self.flows.option_sets.get(option_set, ())
        return [(o.id, o.label.get("en" if self.en else "vi")) for o in found]

    def option(self, slot: str, value: Any) -> str:
        """A slot's value in words: option labels for option slots (lists joined), the value itself otherwise."""
        set_name = OPTION_SLOTS.get(slot)
        if set_name is None:
            return "" if value is None else str(value)
        names = dict(self.options(set_name))
        values = value if isinstance(value, list) else [value]
        return ", ".join(names.get(str(v), str(v)) for v in values if v is not None)
