"""The monthly report as PDF with fpdf2 (pure Python, no external program), in the same layout as the DOCX.

PDF needs a font that has the Vietnamese letters: a DejaVu or Noto TrueType font found on the system (Debian's
``fonts-dejavu-core`` or ``fonts-noto-core``), or one given with ``font=``. Without one :class:`FontMissing` says
which package to install — never a PDF with missing letters.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bot.reports.data import MonthlyReport, Row
from bot.reports.docx_report import addressee, number, place_of

# (regular, bold) pairs, first found wins.
FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"),
    ("/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf", "/usr/share/fonts/truetype/noto/NotoSerif-Bold.ttf"),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"),
)


class FontMissing(RuntimeError):
    """No font with Vietnamese letters was found for the PDF."""


def find_font(font: str | None = None) -> tuple[Path, Path]:
    """The regular and bold font files to embed (``font``: one file used for both)."""
    if font:
        path = Path(font)
        if not path.is_file():
            raise FontMissing(f"font file {font!r} does not exist")
        return path, path
    for regular, bold in FONT_CANDIDATES:
        if Path(regular).is_file():
            return Path(regular), Path(bold) if Path(bold).is_file() else Path(regular)
    raise FontMissing("no DejaVu or Noto font for the PDF's Vietnamese letters: apt-get install fonts-dejavu-core "
                      "(or pass a .ttf file)")


class _Report(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("body", size=9)
        self.cell(0, 6, f"Trang {self.page_no()}/{{nb}}", align="C")


def _table(pdf: FPDF, rows: list[Row], head: str, report: MonthlyReport) -> None:
    widths = (10, 78, 27, 27, 28)
    pdf.set_font("body", "B", 10)
    with pdf.table(col_widths=widths, text_align=("CENTER", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
                   line_height=6, first_row_as_headings=True) as table:
        header = table.row()
        for text in ("TT", head, f"Tháng {report.label}", f"Tháng {report.previous_label}", "Tăng / giảm"):
            header.cell(text)
        pdf.set_font("body", size=10)
        for i, row in enumerate(rows, 1):
            line = table.row()
            for text in (str(i), row.label, number(row.current), number(row.previous), row.change):
                line.cell(text)
        if not rows:
            line = table.row()
            for text in ("", "Không phát sinh", "", "", ""):
                line.cell(text)
    pdf.ln(3)


def render_pdf(report: MonthlyReport, *, font: str | None = None) -> bytes:
    """The report as a PDF file's bytes (A4, fonts embedded)."""
    regular, bold = find_font(font)
    pdf = _Report(format="A4")
    pdf.set_margins(25, 18, 18)
    pdf.add_font("body", "", str(regular))
    pdf.add_font("body", "B", str(bold))
    pdf.set_title(f"Báo cáo tháng {report.label}")
    pdf.set_creator("Hotline")
    pdf.add_page()
    width = pdf.epw / 2
    top = pdf.get_y()
    pdf.set_font("body", "B", 11)
    pdf.multi_cell(width, 6, report.police_name.upper(), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("body", size=11)
    pdf.multi_cell(width, 6, "Số:      /BC-CAT", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_xy(pdf.l_margin + width, top)
    pdf.set_font("body", "B", 10)
    pdf.multi_cell(width, 6, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("body", "B", 11)
    pdf.multi_cell(width, 6, "Độc lập - Tự do - Hạnh phúc", align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    when = report.generated_at
    pdf.set_font("body", size=11)
    pdf.multi_cell(width, 6, f"{place_of(report.province)}, ngày {when.day:02d} tháng {when.month:02d} năm "
                             f"{when.year}", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(6)
    pdf.set_font("body", "B", 14)
    pdf.cell(0, 8, "BÁO CÁO", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("body", "B", 12)
    pdf.multi_cell(0, 7, f"Tình hình tiếp nhận, xử lý tin báo lừa đảo giả mạo nhà trường tháng {report.label}",
                   align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("body", size=12)
    pdf.cell(0, 8, f"Kính gửi: Ủy ban nhân dân {addressee(report.province)}", align="C",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.multi_cell(0, 6, f"{report.police_name} báo cáo kết quả tiếp nhận, xử lý tin báo trong tháng {report.label} "
                         f"(so sánh với tháng {report.previous_label}) như sau:", new_x=XPos.LMARGIN,
                   new_y=YPos.NEXT)
    pdf.ln(2)
    for heading, rows, head in (("I. TÌNH HÌNH CHUNG", report.summary, "Chỉ tiêu"),
                                ("II. PHÂN BỐ THEO ĐỊA BÀN (XÃ, PHƯỜNG)", report.communes, "Xã, phường"),
                                ("III. PHÂN BỐ THEO THỦ ĐOẠN", report.pretexts, "Thủ đoạn"),
                                ("IV. KẾT QUẢ XỬ LÝ TIN BÁO", report.outcomes, "Kết quả"),
                                ("V. CÁC BIỆN PHÁP ĐÃ THỰC HIỆN", report.measures, "Biện pháp")):
        pdf.set_font("body", "B", 12)
        pdf.cell(0, 8, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        _table(pdf, rows, head, report)
    pdf.set_font("body", "B", 12)
    pdf.cell(0, 8, "VI. ĐỀ XUẤT, KIẾN NGHỊ", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("body", size=11)
    pdf.multi_cell(0, 6, "Đề nghị Ủy ban nhân dân tỉnh tiếp tục chỉ đạo Sở Giáo dục và Đào tạo, các trường học và Ủy "
                         "ban nhân dân các xã, phường tuyên truyền để phụ huynh không cung cấp mã OTP, tài khoản ngân "
                         "hàng, không cài ứng dụng lạ, và kịp thời báo tin qua Hotline.", new_x=XPos.LMARGIN,
                   new_y=YPos.NEXT)
    pdf.ln(6)
    pdf.set_font("body", "B", 12)
    pdf.cell(0, 8, "GIÁM ĐỐC", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
