"""The dashboard's views as tables (headers in the reader's language, codes turned into words), and those tables
as CSV, JSON and XLSX. The same tables feed the page, the exports and the monthly report."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from typing import Any

from bot.console.labels import Labels

Table = tuple[list[str], list[list[Any]]]
SECTIONS = ("totals", "per_day", "per_week", "by_pretext", "by_commune", "by_unit", "by_channel", "by_outcome",
            "first_action", "time_to_close", "top_phone", "top_domain", "top_bank_account", "followups",
            "communes_week")
# (Vietnamese, English) headers and titles.
WORDS = {
    "totals": ("Tổng hợp", "Totals"), "per_day": ("Theo ngày", "Per day"), "per_week": ("Theo tuần", "Per week"),
    "by_pretext": ("Theo thủ đoạn", "By pretext"), "by_commune": ("Theo xã / phường", "By commune"),
    "by_unit": ("Theo đơn vị", "By unit"), "by_channel": ("Theo kênh báo", "By channel"),
    "by_outcome": ("Theo kết quả xử lý", "By outcome"),
    "first_action": ("Thời gian tới thao tác đầu tiên", "Time to first action"),
    "time_to_close": ("Thời gian tới khi đóng", "Time to close"),
    "top_phone": ("Số điện thoại bị báo nhiều nhất", "Most reported numbers"),
    "top_domain": ("Tên miền bị báo nhiều nhất", "Most reported domains"),
    "top_bank_account": ("Tài khoản ngân hàng bị báo nhiều nhất", "Most reported bank accounts"),
    "followups": ("Hỏi lại phụ huynh", "Follow-up questions"),
    "communes_week": ("Xã / phường: 7 ngày gần nhất so với 7 ngày trước", "Communes: last 7 days vs the 7 before"),
    "day": ("Ngày", "Day"), "week": ("Tuần", "Week"), "start": ("Từ ngày", "Starts"), "tips": ("Số báo cáo", "Tips"),
    "urgent": ("Khẩn cấp", "Urgent"), "money_lost_tips": ("Mất tiền (báo cáo)", "Money lost (tips)"),
    "money_lost_vnd": ("Số tiền mất (đồng)", "Money lost (VND)"), "agency": ("Từ trường / xã", "From agencies"),
    "harm_now": ("Đang mất tiền / lộ OTP", "Money moving / OTP given"), "code": ("Mã", "Code"),
    "name": ("Tên", "Name"), "bucket": ("Khoảng thời gian", "Time taken"), "value": ("Giá trị", "Value"),
    "reporters": ("Người báo", "Reporters"), "measure": ("Chỉ tiêu", "Measure"), "this_week": ("7 ngày gần nhất",
                                                                                            "Last 7 days"),
    "last_week": ("7 ngày trước đó", "The 7 days before"), "change": ("Thay đổi", "Change"),
    "urgent_share": ("Tỷ lệ khẩn cấp (%)", "Urgent share (%)"), "questions_sent": ("Câu hỏi đã gửi", "Questions sent"),
    "tips_asked": ("Báo cáo được hỏi lại", "Tips asked"), "tips_answered": ("Báo cáo được trả lời", "Tips answered"),
    "answer_rate": ("Tỷ lệ trả lời (%)", "Answer rate (%)"), "count": ("Đã xong", "Done"),
    "waiting": ("Chưa", "Not yet"), "mean_minutes": ("Trung bình (phút)", "Mean (minutes)"),
    "median_bucket": ("Trung vị trong khoảng", "Median within"),
    "none": ("(không rõ)", "(unknown)"),
}


def word(key: str, lang: str) -> str:
    pair = WORDS.get(key, (key, key))
    return pair[1] if lang == "en" else pair[0]


def percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def tables(data: Mapping[str, Any], labels: Labels, lang: str) -> dict[str, Table]:
    """Every section of :func:`storage.stats.dashboard`'s data as (headers, rows)."""
    w: Callable[[str], str] = lambda key: word(key, lang)  # noqa: E731 - a one-word helper reads best inline
    unknown = w("none")
    pretexts = dict(labels.options("pretext"))

    def counts(rows: list[dict[str, Any]], name: Callable[[dict[str, Any]], str]) -> Table:
        return [w("code"), w("name"), w("tips")], [[r["code"] or "", name(r) or unknown, r["tips"]] for r in rows]

    out: dict[str, Table] = {}
    totals = data["totals"]
    out["totals"] = ([w("measure"), w("value")], [[w(k), percent(totals[k]) if k == "urgent_share" else totals[k]]
                                                  for k in (
        "tips", "urgent", "urgent_share", "harm_now", "money_lost_tips", "money_lost_vnd", "agency")])
    day_cols = ["tips", "urgent", "harm_now", "money_lost_tips", "money_lost_vnd", "agency"]
    out["per_day"] = ([w("day"), *map(w, day_cols)], [[d["day"], *(d[c] for c in day_cols)] for d in data["per_day"]])
    week_cols = ["tips", "urgent", "money_lost_tips", "money_lost_vnd"]
    out["per_week"] = ([w("week"), w("start"), *map(w, week_cols)],
                       [[r["week"], r["start"], *(r[c] for c in week_cols)] for r in data["per_week"]])
    out["by_pretext"] = counts(data["by_pretext"], lambda r: pretexts.get(r["code"] or "", r["code"] or ""))
    out["by_commune"] = counts(data["by_commune"], lambda r: r.get("name", ""))
    out["by_unit"] = counts(data["by_unit"], lambda r: r.get("name", ""))
    out["by_channel"] = counts(data["by_channel"], lambda r: labels.of("channel", r["code"]))
    out["by_outcome"] = counts(data["by_outcome"], lambda r: labels.of("outcome", r["code"]))
    for key in ("first_action", "time_to_close"):
        section = data[key]
        rows: list[list[Any]] = [[b["bucket"], b["tips"]] for b in section["buckets"]]
        rows += [[w(k), section[k]] for k in ("count", "waiting", "mean_minutes", "median_bucket")]
        out[key] = [w("bucket"), w("tips")], rows
    for kind in ("phone", "domain", "bank_account"):
        out[f"top_{kind}"] = ([w("value"), w("tips"), w("reporters")],
                              [[r["value"], r["tips"], r["reporters"]] for r in data["top"][kind]])
    follow = data["followups"]
    out["followups"] = ([w("measure"), w("value")], [[w(k), percent(follow[k]) if k == "answer_rate" else follow[k]]
                                                     for k in (
        "questions_sent", "tips_asked", "tips_answered", "answer_rate")])
    out["communes_week"] = ([w("code"), w("name"), w("this_week"), w("last_week"), w("change")],
                            [[r["code"] or "", r.get("name") or unknown, r["this_week"], r["last_week"], r["change"]]
                             for r in data["communes_week"]])
    return out


def as_csv(table: Table) -> bytes:
    """UTF-8 with a BOM, so Excel opens the Vietnamese right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table[0])
    writer.writerows(table[1])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def as_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str).encode("utf-8")


def as_xlsx(sheets: Mapping[str, Table], lang: str) -> bytes:
    """One sheet per table (openpyxl, written in memory); header row bold and frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for key, (headers, rows) in sheets.items():
        sheet = book.create_sheet(title=word(key, lang)[:31].replace("/", "-").replace(":", ""))
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        sheet.freeze_panes = "A2"
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
