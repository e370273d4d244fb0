"""What the parent reads when the police step into their chat, in Vietnamese and English, and the officers'
working hours said in words ("từ 7 giờ 30 sáng thứ Hai, 1/12").

Messages from an officer are shown as from the police (``{police_name}``, "Công an tỉnh"), never with the
officer's name. Nothing here promises an answer "ngay" (at once): outside working hours the parent is told
when someone will answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers.texts import fill

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_WEEKDAYS = {"vi": ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật"),
             "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")

TEXTS: dict[str, dict[str, str]] = {
    "question": {
        "vi": "👮 {police_name} hỏi thêm về báo cáo {reference} của bạn:\n«{text}»\n\nBạn trả lời bằng tin nhắn "
              "tiếp theo (chữ hoặc ảnh), hoặc bấm “Không muốn trả lời”. Đừng gửi mã OTP hay mật khẩu.",
        "en": "👮 The {police_name} has a question about your report {reference}:\n«{text}»\n\nReply with your "
              "next message (text or a photo), or press “I'd rather not answer”. Never send an OTP or password.",
    },
    "btn_decline": {"vi": "🙅 Không muốn trả lời", "en": "🙅 I'd rather not answer"},
    "answer_thanks": {
        "vi": "Cảm ơn bạn. Câu trả lời đã được chuyển tới {police_name} cùng báo cáo {reference}.",
        "en": "Thank you. Your answer was passed to the {police_name} with report {reference}.",
    },
    "declined": {
        "vi": "Không sao, bạn không cần trả lời. Cảm ơn bạn đã báo cáo.",
        "en": "That's fine, you don't have to answer. Thank you for your report.",
    },
    "live": {"vi": "👮 {police_name}: {text}", "en": "👮 {police_name}: {text}"},
    "handoff_on": {
        "vi": "👮 Một cán bộ {police_name} đã vào cuộc trò chuyện. Tin nhắn bạn gửi từ bây giờ sẽ tới cán bộ, "
              "không phải trợ lý tự động. Gõ “kết thúc” khi bạn muốn dừng.",
        "en": "👮 An officer of the {police_name} has joined the chat. What you write from now on goes to the "
              "officer, not the automated assistant. Type “end” when you want to stop.",
    },
    "handoff_off": {
        "vi": "Cán bộ đã kết thúc cuộc trò chuyện. Trợ lý tự động tiếp tục hỗ trợ bạn; gõ “menu” để xem các lựa "
              "chọn, hoặc “gặp cán bộ” nếu cần nói chuyện với cán bộ lần nữa.",
        "en": "The officer has ended the chat. The automated assistant is back; type “menu” to see the options, "
              "or “officer” to talk to an officer again.",
    },
    "handoff_idle": {
        "vi": "Cuộc trò chuyện với cán bộ đã tạm dừng vì không có tin nhắn mới trong {minutes} phút. Trợ lý tự "
              "động tiếp tục hỗ trợ bạn; gõ “gặp cán bộ” nếu cần nói chuyện với cán bộ lần nữa.",
        "en": "The chat with the officer was paused after {minutes} minutes without a message. The automated "
              "assistant is back; type “officer” to talk to an officer again.",
    },
    "handoff_ended_by_parent": {
        "vi": "Đã kết thúc trò chuyện với cán bộ. Trợ lý tự động tiếp tục hỗ trợ bạn; gõ “menu” để xem các lựa chọn.",
        "en": "The chat with the officer has ended. The automated assistant is back; type “menu” to see the options.",
    },
    "urgent_live": {
        "vi": "Cán bộ cũng đã nhận được tin nhắn của bạn.",
        "en": "The officer has your message too.",
    },
    "open_now": {
        "vi": "Cán bộ trực sẽ trả lời bạn tại đây trong giờ làm việc ({hours}), sớm nhất có thể. Trong lúc chờ, "
              "bạn vẫn dùng được trợ lý tự động. Khẩn cấp: gọi 113.",
        "en": "An officer on duty will answer you here during working hours ({hours}), as soon as they can. "
              "Meanwhile the automated assistant still works. Emergency: call 113.",
    },
    "closed_now": {
        "vi": "Bây giờ là ngoài giờ làm việc ({hours}). Cán bộ sẽ trả lời bạn tại đây {when}. Nếu đã mất tiền "
              "hoặc đã đưa mã OTP: gọi 113 và ngân hàng của bạn, đừng chờ.",
        "en": "It is outside working hours now ({hours}). An officer will answer you here {when}. If money is "
              "gone or you gave an OTP: call 113 and your bank, do not wait.",
    },
}


def text(key: str, locale: str, **values: Any) -> str:
    entry = TEXTS[key]
    return fill(entry.get(locale) or entry["vi"], values)


def _clock(t: time, locale: str) -> str:
    if locale == "en":
        hour = t.hour % 12 or 12
        return f"{hour}:{t.minute:02d} {'a.m.' if t.hour < 12 else 'p.m.'}"
    minutes = f" {t.minute}" if t.minute else ""
    if t.hour < 11:
        part = "sáng"
    elif t.hour < 13:
        part = "trưa"
    elif t.hour < 18:
        part = "chiều"
    else:
        part = "tối"
    hour = t.hour if t.hour <= 12 else t.hour - 12
    return f"{hour} giờ{minutes} {part}"


def _day(day: date, today: date, locale: str) -> str:
    weekday = _WEEKDAYS[locale if locale in _WEEKDAYS else "vi"][day.weekday()]
    if locale == "en":
        if day == today:
            return "today"
        if day == today + timedelta(days=1):
            return f"tomorrow ({weekday})"
        return f"on {weekday}, {day.day} {_MONTHS_EN[day.month - 1]}"
    if day == today:
        return "hôm nay"
    if day == today + timedelta(days=1):
        return f"ngày mai ({weekday})"
    return f"{weekday}, ngày {day.day}/{day.month}"


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """When officers answer "gặp cán bộ": ISO weekdays (Monday = 1) and one daily span, local time."""

    days: tuple[int, ...] = (1, 2, 3, 4, 5)
    start: time = time(7, 30)
    end: time = time(17, 0)

    @classmethod
    def parse(cls, days: list[int] | tuple[int, ...], span: str) -> WorkingHours:
        """From settings: ``[1, 2, 3, 4, 5]`` and ``"07:30-17:00"``."""
        first, _, last = span.partition("-")
        start, end = time.fromisoformat(first.strip()), time.fromisoformat(last.strip())
        if not start < end:
            raise ValueError(f"working hours {span!r}: the start must come before the end")
        if not days or any(d not in range(1, 8) for d in days):
            raise ValueError("working days are ISO weekdays 1 (Monday) … 7 (Sunday)")
        return cls(days=tuple(sorted(set(days))), start=start, end=end)

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(LOCAL_TZ)
        return local.isoweekday() in self.days and self.start <= local.time() < self.end

    def next_opening(self, now: datetime) -> datetime:
        """The next moment the office opens (``now`` itself when it is open)."""
        if self.is_open(now):
            return now
        local = now.astimezone(LOCAL_TZ)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            opening = datetime.combine(day, self.start, tzinfo=LOCAL_TZ)
            if day.isoweekday() in self.days and opening > local:
                return opening
        raise AssertionError("a week always has a working day")  # days is never empty (parse checks it)

    def span_words(self, locale: str) -> str:
        """"7 giờ 30 sáng – 5 giờ chiều, thứ Hai – thứ Sáu" / "7:30 a.m. – 5:00 p.m., Monday – Friday"."""
        names = _WEEKDAYS[locale if locale in _WEEKDAYS else "vi"]
        days = [names[d - 1] for d in self.days]
        consecutive = list(self.days) == list(range(self.days[0], self.days[-1] + 1))
        which = f"{days[0]} – {days[-1]}" if consecutive and len(days) > 2 else ", ".join(days)
        return f"{_clock(self.start, locale)} – {_clock(self.end, locale)}, {which}"

    def when_words(self, now: datetime, locale: str) -> str:
        """When someone will answer, in words: "từ 7 giờ 30 sáng thứ Hai, ngày 1/12" / "from 7:30 a.m. on …"."""
        opening = self.next_opening(now).astimezone(LOCAL_TZ)
        today = now.astimezone(LOCAL_TZ).date()
        day = _day(opening.date(), today, locale)
        if locale == "en":
            return f"from {_clock(opening.time(), locale)} {day}"
        return f"từ {_clock(opening.time(), locale)} {day}"

    def availability(self, now: datetime, locale: str) -> str:
        """What to tell a parent who asked for an officer, now."""
        if self.is_open(now):
            return text("open_now", locale, hours=self.span_words(locale))
        return text("closed_now", locale, hours=self.span_words(locale), when=self.when_words(now, locale))


# ----- closing a tip: what the reporter may be told --------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OutcomeTemplate:
    """A sentence an officer may send the reporter when the tip is closed; ``label`` is the console's
    (Vietnamese, translated by the console's strings); ``outcomes`` the closing outcomes it fits."""

    id: str
    label: str
    outcomes: tuple[str, ...]
    vi: str
    en: str

    def text(self, locale: str) -> str:
        return self.en if locale == "en" else self.vi


OUTCOME_TEMPLATES: tuple[OutcomeTemplate, ...] = (
    OutcomeTemplate(
        "phone_listed", "Số điện thoại đã được xác nhận lừa đảo và đưa vào danh sách cảnh báo", ("confirmed_scam",),
        "Số điện thoại bạn báo đã được xác nhận lừa đảo và đưa vào danh sách cảnh báo. Cảm ơn bạn đã giúp bảo vệ "
        "các phụ huynh khác.",
        "The phone number you reported has been confirmed as a scam and added to the warning list. Thank you for "
        "helping to protect other parents."),
    OutcomeTemplate(
        "link_listed", "Đường link đã được xác nhận lừa đảo và đưa vào danh sách cảnh báo", ("confirmed_scam",),
        "Đường link bạn báo đã được xác nhận lừa đảo và đưa vào danh sách cảnh báo. Cảm ơn bạn đã giúp bảo vệ các "
        "phụ huynh khác.",
        "The link you reported has been confirmed as a scam and added to the warning list. Thank you for helping "
        "to protect other parents."),
    OutcomeTemplate(
        "confirmed", "Đã xác nhận lừa đảo, đang xử lý", ("confirmed_scam",),
        "Báo cáo của bạn đã được xác nhận là lừa đảo và đang được xử lý. Cảm ơn bạn đã báo cho chúng tôi.",
        "Your report has been confirmed as a scam and is being dealt with. Thank you for telling us."),
    OutcomeTemplate(
        "not_scam", "Không có dấu hiệu lừa đảo", ("not_scam",),
        "Sau khi xác minh, chúng tôi không thấy dấu hiệu lừa đảo trong báo cáo này. Cảm ơn bạn đã cảnh giác.",
        "After checking, we found no sign of a scam in this report. Thank you for being careful."),
    OutcomeTemplate(
        "referred", "Đã chuyển đơn vị có thẩm quyền", ("referred",),
        "Báo cáo của bạn đã được chuyển tới đơn vị có thẩm quyền để xử lý tiếp.",
        "Your report has been passed to the competent unit for further action."),
    OutcomeTemplate(
        "done", "Đã xử lý xong, cảm ơn", ("confirmed_scam", "not_scam", "duplicate", "referred"),
        "Báo cáo của bạn đã được xử lý xong. Cảm ơn bạn đã báo cho chúng tôi.",
        "Your report has been dealt with. Thank you for telling us."),
)


def outcome_template(template_id: str) -> OutcomeTemplate | None:
    return next((t for t in OUTCOME_TEMPLATES if t.id == template_id), None)


def outcome_message(template: OutcomeTemplate, *, locale: str, police_name: str, reference: str) -> str:
    prefix = f"👮 {police_name} — " + ("report" if locale == "en" else "báo cáo") + f" {reference}: "
    return prefix + template.text(locale)
