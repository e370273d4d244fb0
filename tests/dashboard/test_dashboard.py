"""The dashboard over a generated month: its JSON holds the counts the month was made with, every view exports
(CSV, JSON, XLSX) and each export is audited, an officer sees only their unit, and the monthly report's DOCX
tables hold the same numbers (read back with python-docx)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from docx import Document
from openpyxl import load_workbook

from storage.alerts_schema import stats_daily
from storage.schema import audit_log
from storage.stats import rebuild_daily
from tests.console.conftest import Console
from tests.dashboard.month import (
    CAMPAIGN_NUMBER,
    LOCAL,
    POPULAR_DOMAIN,
    Month,
    chunks,
    file_specs,
    generate,
    load_units,
)

RANGE = {"from": "2026-11-01", "to": "2026-11-30"}


async def file_month(console: Console, **kwargs: int) -> Month:
    month = generate(**kwargs)
    await console.db.run(load_units)
    for part in chunks(month.specs, 400):
        await console.db.run(file_specs, specs=part, cipher=console.cipher)
    return month


def expected_per_day(month: Month) -> dict[str, int]:
    days = Counter(s.local_day.isoformat() for s in month.specs)
    first = date(2026, 11, 1)
    return {(first + timedelta(days=i)).isoformat(): days.get((first + timedelta(days=i)).isoformat(), 0)
            for i in range(30)}


@pytest.mark.slow  # tens of seconds (subprocesses, a generated month, a paced send): CI runs it, `./dev test fast` not
async def test_dashboard_json_holds_the_months_counts_and_exports_are_audited(console: Console) -> None:
    month = await file_month(console)
    specs = month.specs
    sup = await console.make_user("chihuy@ca.vn", "supervisor", totp=True)
    client = await console.signed_in_client(sup)
    answer = await client.get("/console/dashboard.json", params=RANGE)
    assert answer.status_code == 200
    data = answer.json()
    totals = data["totals"]
    assert totals["tips"] == len(specs)
    assert totals["urgent"] == sum(s.urgent for s in specs)
    assert totals["money_lost_tips"] == sum(1 for s in specs if s.money_vnd)
    assert totals["money_lost_vnd"] == sum(s.money_vnd or 0 for s in specs)
    assert totals["urgent_share"] == round(totals["urgent"] / len(specs), 3)
    assert {d["day"]: d["tips"] for d in data["per_day"]} == expected_per_day(month)
    assert sum(w["tips"] for w in data["per_week"]) == len(specs)
    assert sum(w["money_lost_vnd"] for w in data["per_week"]) == totals["money_lost_vnd"]
    assert {r["code"]: r["tips"] for r in data["by_pretext"]} == dict(Counter(s.pretext for s in specs))
    assert {r["code"]: r["tips"] for r in data["by_commune"]} == dict(Counter(s.commune_code for s in specs))
    assert {r["code"]: r["tips"] for r in data["by_unit"]} == dict(Counter(s.unit for s in specs))
    assert {r["code"]: r["tips"] for r in data["by_channel"]} == dict(Counter(s.channel for s in specs))
    names = {r["code"]: r["name"] for r in data["by_commune"]}
    assert names["32014"] == "Xã Tân Lộc"
    top_phone = data["top"]["phone"][0]
    assert (top_phone["value"], top_phone["tips"]) == (CAMPAIGN_NUMBER, 11)
    top_domain = data["top"]["domain"][0]
    assert (top_domain["value"], top_domain["tips"]) == (POPULAR_DOMAIN, sum(s.domain == POPULAR_DOMAIN for s in specs))
    assert data["first_action"]["count"] == 0 and data["first_action"]["waiting"] == len(specs)
    # This week against last: the 7 days ending on 30/11 against the 7 before.
    end = date(2026, 12, 1)
    recent = Counter(s.commune_code for s in specs if end - timedelta(days=7) <= s.local_day < end)
    before = Counter(s.commune_code for s in specs if end - timedelta(days=14) <= s.local_day < end - timedelta(days=7))
    assert {r["code"]: (r["this_week"], r["last_week"]) for r in data["communes_week"]} == {
        code: (recent.get(code, 0), before.get(code, 0)) for code in set(recent) | set(before)}

    # The daily counts kept at filing are exactly what a recount from the tips gives (migration 0017's way).
    kept = await console.db.run(lambda c: sorted(c.execute(sa.select(stats_daily)).all()))
    assert await console.db.run(rebuild_daily) == len(kept)
    assert await console.db.run(lambda c: sorted(c.execute(sa.select(stats_daily)).all())) == kept

    page = await client.get("/console/dashboard", params=RANGE)
    assert page.status_code == 200
    assert page.text.count("<svg") >= 8 and "style=" not in page.text
    assert "Xã Tân Lộc" in page.text and "1.900" not in page.text.split("<svg")[0]

    csv_answer = await client.get("/console/dashboard/export/by_commune.csv", params=RANGE)
    assert csv_answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(csv_answer.content.decode("utf-8-sig"))))
    assert rows[0] == ["Mã", "Tên", "Số báo cáo"]
    assert {r[0]: int(r[2]) for r in rows[1:]} == {code or "": n for code, n in
                                                    Counter(s.commune_code for s in specs).items()}
    section = json.loads((await client.get("/console/dashboard/export/per_day.json", params=RANGE)).content)
    assert [r[1] for r in section["rows"]] == list(expected_per_day(month).values())
    book = load_workbook(io.BytesIO((await client.get("/console/dashboard/export/all.xlsx",
                                                      params={**RANGE, "lang": "en"})).content))
    assert "By pretext" in book.sheetnames
    sheet = book["By pretext"]
    assert sheet["C1"].value == "Tips" and sum(r[2].value for r in sheet.iter_rows(min_row=2)) == len(specs)
    assert (await client.get("/console/dashboard/export/nonsense.csv")).status_code == 404
    audited = await console.db.run(lambda c: c.execute(sa.select(audit_log.c.detail).where(
        audit_log.c.action == "dashboard.export", audit_log.c.actor == f"officer:{sup.id}")).scalars().all())
    assert len(audited) == 4 and any(d.startswith("by_commune.csv 2026-11-01..2026-11-30") for d in audited)


@pytest.mark.slow  # ~3 s: a month of tips
async def test_an_officer_sees_their_unit_only_and_a_bad_filter_is_said(console: Console) -> None:
    month = await file_month(console, background=600)
    officer = await console.make_user("canbo@ca.vn", "officer", "CA-TL")
    client = await console.signed_in_client(officer)
    data = (await client.get("/console/dashboard.json", params={**RANGE, "unit": "CA-TT"})).json()
    mine = [s for s in month.specs if s.unit == "CA-TL"]
    assert data["period"]["scope"] == "unit" and data["period"]["unit"] is None  # an officer cannot pick a unit
    assert data["totals"]["tips"] == len(mine)
    assert {r["code"] for r in data["by_unit"]} == {"CA-TL"}
    page = await client.get("/console/dashboard", params={"from": "not-a-date", "to": "2026-11-30"})
    assert page.status_code == 200 and "from" in page.text
    assert (await client.get("/console/dashboard/report", params={"month": "2026-11"})).status_code == 403


@pytest.mark.slow  # ~7 s: a month of tips and a Word file
async def test_monthly_report_docx_tables_hold_the_numbers(console: Console) -> None:
    month = await file_month(console, background=1200)
    sup = await console.make_user("chihuy@ca.vn", "supervisor", totp=True)
    client = await console.signed_in_client(sup)
    answer = await client.get("/console/dashboard/report", params={"month": "2026-11", "format": "docx"})
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].endswith('bao-cao-thang-2026-11.docx"')
    doc = Document(io.BytesIO(answer.content))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "BÁO CÁO" in text and "Kính gửi: Ủy ban nhân dân tỉnh Cà Mau" in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in doc.tables[0].rows[0].cells[1].text

    def table_after(title: str) -> dict[str, list[str]]:
        for table in doc.tables[1:]:
            head = [c.text for c in table.rows[0].cells]
            if head[1] == title:
                return {r.cells[1].text: [c.text for c in r.cells[2:]] for r in table.rows[1:]}
        raise AssertionError(title)

    def n(text: str) -> int:
        return int(text.replace(".", ""))

    summary = table_after("Chỉ tiêu")
    assert n(summary["Tổng số tin báo tiếp nhận"][0]) == len(month.specs)
    assert n(summary["Tổng số tin báo tiếp nhận"][1]) == 0  # October: nothing filed
    assert n(summary["Số tiền thiệt hại (đồng)"][0]) == sum(s.money_vnd or 0 for s in month.specs)
    assert n(summary["Cảnh báo chiến dịch lừa đảo"][0]) == 2
    communes = table_after("Xã, phường")
    assert n(communes["Xã Tân Lộc"][0]) == sum(s.commune_code == "32014" for s in month.specs)
    assert n(communes["Chưa xác định xã/phường"][0]) == sum(s.commune_code is None for s in month.specs)
    pretexts = table_after("Thủ đoạn")
    assert n(pretexts["Cài ứng dụng Sổ liên lạc điện tử"][0]) == sum(s.pretext == "install_app" for s in month.specs)
    assert CAMPAIGN_NUMBER not in text and all(CAMPAIGN_NUMBER not in c.text for t in doc.tables for r in t.rows
                                               for c in r.cells)
    pdf = await client.get("/console/dashboard/report", params={"month": "2026-11", "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (await client.get("/console/dashboard/report", params={"month": "2026-13"})).status_code == 404
    rows = await console.db.run(lambda c: c.execute(sa.select(audit_log.c.detail).where(
        audit_log.c.action == "report.monthly")).scalars().all())
    assert [r.split()[0] for r in rows] == ["docx", "pdf"]


@pytest.mark.parametrize("offset", [LOCAL])
def test_local_days_cover_the_province_calendar(offset: timedelta) -> None:
    from storage.stats import Period

    period = Period.local_days(date(2026, 11, 1), date(2026, 11, 30))
    assert period.since.isoformat() == "2026-10-31T17:00:00+00:00" and period.until - period.since == timedelta(days=30)
    assert (period.first_day, period.last_day) == (date(2026, 11, 1), date(2026, 11, 30)) and offset.seconds == 25200
