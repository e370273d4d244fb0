"""The monthly report the provincial Police send the People's Committee: figures of a month against the month
before (:mod:`bot.reports.data`), laid out as a Vietnamese administrative report in DOCX
(:mod:`bot.reports.docx_report`) and PDF (:mod:`bot.reports.pdf_report`). Only counts: no personal data, no
number or domain of any tip.
"""

from bot.reports.data import MonthlyReport, build_report
from bot.reports.docx_report import render_docx
from bot.reports.pdf_report import FontMissing, render_pdf

__all__ = ["FontMissing", "MonthlyReport", "build_report", "render_docx", "render_pdf"]
