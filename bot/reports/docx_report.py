"""The monthly report as DOCX (python-docx), laid out as a Vietnamese administrative report (Decree 30/2020's
form: the agency and the national motto side by side, number and date, the title, "Kính gửi", Roman-numbered
sections with tables, recipients and signature), in Times New Roman 13 pt."""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt
from docx.table import Table

from bot.reports.data import MonthlyReport, Row

FONT = "Times New Roman"


def number(value: int | float | None) -> str:
    """Vietnamese digit grouping (1.234.567); a share keeps one decimal with a comma."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return f"{value:,}".replace(",", ".")


def place_of(province: str) -> str:
    return province.removeprefix("Tỉnh ").removeprefix("Thành phố ")


def addressee(province: str) -> str:
    """"Tỉnh Cà Mau" → "tỉnh Cà Mau" (as written after "Ủy ban nhân dân")."""
    for prefix in ("Tỉnh ", "Thành phố "):
        if province.startswith(prefix):
            return prefix.lower() + province[len(prefix):]
    return province


def _para(doc: object, text: str, *, bold: bool = False, italic: bool = False, size: int = 13,
          align: WD_ALIGN_PARAGRAPH | None = None, cell: object = None) -> None:
    target: Any = cell if cell is not None else doc
    first = target.paragraphs[0] if cell is not None and len(target.paragraphs) == 1 else None
    # A new cell has one empty paragraph: write into it rather than leave a blank line above the text.
    paragraph = first if first is not None and not first.text else target.add_paragraph()
    run = paragraph.add_run(text)
    run.bold, run.italic, run.font.size, run.font.name = bold, italic, Pt(size), FONT
    if align is not None:
        paragraph.alignment = align


def comparison(doc: object, rows: list[Row], head: str, report: MonthlyReport) -> Table:
    """TT | head | this month | the month before | change."""
    table: Table = doc.add_table(rows=1, cols=5)  # type: ignore[attr-defined]
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    headers = ["TT", head, f"Tháng {report.label}", f"Tháng {report.previous_label}", "Tăng / giảm"]
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        _para(None, text, bold=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER, cell=cell)
    for i, row in enumerate(rows, 1):
        cells = table.add_row().cells  # type: ignore[no-untyped-call]
        for cell, text in zip(cells, [str(i), row.label, number(row.current), number(row.previous), row.change],
                              strict=True):
            cell.text = text
            for run in cell.paragraphs[0].runs:
                run.font.size, run.font.name = Pt(12), FONT
    if not rows:
        cells = table.add_row().cells  # type: ignore[no-untyped-call]
        cells[1].text = "Không phát sinh"
    return table


def render_docx(report: MonthlyReport) -> bytes:
    """The report as a .docx file's bytes."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin, section.right_margin, section.top_margin, section.bottom_margin = Cm(3), Cm(2), Cm(2), Cm(2)
    style = doc.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(13)
    head = doc.add_table(rows=1, cols=2)
    left, right = head.rows[0].cells
    _para(None, report.police_name.upper(), bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, cell=left)
    _para(None, "Số:      /BC-CAT", align=WD_ALIGN_PARAGRAPH.CENTER, cell=left)
    _para(None, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER, cell=right)
    _para(None, "Độc lập - Tự do - Hạnh phúc", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, cell=right)
    when = report.generated_at
    _para(None, f"{place_of(report.province)}, ngày {when.day:02d} tháng {when.month:02d} năm {when.year}",
          italic=True, align=WD_ALIGN_PARAGRAPH.CENTER, cell=right)
    _para(doc, "BÁO CÁO", bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, f"Tình hình tiếp nhận, xử lý tin báo lừa đảo giả mạo nhà trường tháng {report.label}", bold=True,
          align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, f"Kính gửi: Ủy ban nhân dân {addressee(report.province)}", align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(doc, (f"Thực hiện chỉ đạo của Ủy ban nhân dân tỉnh về phòng, chống lừa đảo trực tuyến giả mạo nhà trường, "
                f"{report.police_name} báo cáo kết quả tiếp nhận, xử lý tin báo trong tháng {report.label} (so sánh "
                f"với tháng {report.previous_label}) như sau:"))
    total = report.summary[0] if report.summary else None
    _para(doc, "I. TÌNH HÌNH CHUNG", bold=True)
    if total is not None:
        _para(doc, f"Trong tháng, hệ thống tiếp nhận {number(total.current)} tin báo ({total.change or 'không đổi'} "
                   f"so với tháng trước).")
    comparison(doc, report.summary, "Chỉ tiêu", report)
    _para(doc, "II. PHÂN BỐ THEO ĐỊA BÀN (XÃ, PHƯỜNG)", bold=True)
    comparison(doc, report.communes, "Xã, phường", report)
    _para(doc, "III. PHÂN BỐ THEO THỦ ĐOẠN", bold=True)
    comparison(doc, report.pretexts, "Thủ đoạn", report)
    _para(doc, "IV. KẾT QUẢ XỬ LÝ TIN BÁO", bold=True)
    comparison(doc, report.outcomes, "Kết quả", report)
    _para(doc, "V. CÁC BIỆN PHÁP ĐÃ THỰC HIỆN", bold=True)
    comparison(doc, report.measures, "Biện pháp", report)
    _para(doc, "VI. ĐỀ XUẤT, KIẾN NGHỊ", bold=True)
    _para(doc, ("Đề nghị Ủy ban nhân dân tỉnh tiếp tục chỉ đạo Sở Giáo dục và Đào tạo, các trường học và Ủy ban nhân "
                "dân các xã, phường tuyên truyền để phụ huynh không cung cấp mã OTP, tài khoản ngân hàng, không cài "
                "ứng dụng lạ, và kịp thời báo tin qua Hotline khi nhận được cuộc gọi giả mạo nhà trường."))
    sign = doc.add_table(rows=1, cols=2)
    to, signer = sign.rows[0].cells
    _para(None, "Nơi nhận:", bold=True, italic=True, size=12, cell=to)
    _para(None, "- Như trên;\n- Lưu: VT.", size=11, cell=to)
    _para(None, "GIÁM ĐỐC", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, cell=signer)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
