"""Schools and communes report: a reporter account bound to its school files an incident through the console
form; it joins the officers' queue as "from an agency" with its cluster, counts towards alerts, and bad input
is refused with the form kept. A school proposes an official number; an admin approves it into the directory.
Also: alert pages in the console, and `hotline report monthly` / `hotline agency bind` as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from docx import Document

from bot.intake.builder import build_tip_v1
from storage.reference import SchoolRecord, upsert_schools
from storage.reference_schema import school_phones
from storage.schema import audit_log
from storage.workflow_schema import tip_cases
from tests.console.conftest import Console
from tests.dashboard.month import CAMPAIGN_NUMBER, file_specs, generate, load_units

HOTLINE = str(Path(sys.executable).with_name("hotline"))


async def school(console: Console) -> None:
    await console.db.run(load_units)
    record = SchoolRecord(id="THCS-ND", name="Trường THCS Nguyễn Du", province="Cà Mau", commune="Tân Lộc",
                          contact_book_app="vnedu", website=None, phones=("+842903831111",))
    await console.db.run(upsert_schools, records=[record], now=datetime.now(UTC))


async def test_a_school_reports_an_incident_into_the_queue(console: Console) -> None:
    await school(console)
    admin = await console.make_user("admin@ca.vn", "admin", totp=True)
    reporter = await console.make_user("thcs.nd@truong.edu.vn", "reporter")
    admin_client = await console.signed_in_client(admin)
    bound = await admin_client.form("/console/agency/admin/bind", {"user_id": str(reporter.id), "kind": "school",
                                                                   "code": "THCS-ND"})
    assert bound.status_code == 303
    client = await console.signed_in_client(reporter)
    page = await client.get("/console/agency")
    assert page.status_code == 200 and "Trường THCS Nguyễn Du" in page.text and "+842903831111" in page.text
    assert (await client.get("/console/queue")).status_code == 403  # a reporter reads no tips
    bad = await client.form("/console/agency/report", {"what": "ngắn", "numbers": "abc", "parents": "0"})
    assert bad.status_code == 400 and "ít nhất 10 ký tự" in bad.text and 'value="0"' in bad.text
    for n in range(5):  # five staff members report the same number: a campaign
        done = await client.form("/console/agency/report", {
            "what": f"Phụ huynh lớp 6A{n} bị gọi, xưng cô chủ nhiệm, đòi mã OTP 123456 để cài Sổ liên lạc",
            "pretext": "install_app", "parents": "12", "numbers": "0912 000 111", "links": "https://vneduconnect.com/x",
            "accounts": "", "amount": "2.000.000", "measures": "Đã nhắn nhóm Zalo phụ huynh", "urgent": "yes"})
        assert done.status_code == 303 and "done=filed" in done.headers["location"]
    rows = await console.db.run(lambda c: c.execute(sa.select(tip_cases.c.kind, tip_cases.c.channel,
                                                              tip_cases.c.commune_code, tip_cases.c.money_lost,
                                                              tip_cases.c.urgent)).all())
    assert rows and all(r == ("agency", "console", "32014", True, True) for r in rows)
    page = await client.get("/console/agency")
    assert page.text.count("TG-") >= 5
    # The sinks get it like any tip (tip.v1 validated by the intake's model), OTP redacted.
    tip_id = await console.db.run(lambda c: c.execute(sa.select(sa.func.min(tip_cases.c.tip_id))).scalar_one())
    document = await console.db.run(build_tip_v1, tip_id, base_url="http://127.0.0.1", cipher=console.cipher)
    assert document["reference"].startswith("TG-") and "123456" not in str(document)
    officer = await console.make_user("canbo@ca.vn", "officer", "CA-TL")
    queue = await (await console.signed_in_client(officer)).get("/console/queue", params={"kind": "agency"})
    assert queue.status_code == 200 and queue.text.count("TG-") >= 5
    # One account is one reporter: five reports of one school do not make a campaign by themselves.
    alerts_page = await (await console.signed_in_client(officer)).get("/console/alerts")
    assert CAMPAIGN_NUMBER not in alerts_page.text
    audit = await console.db.run(lambda c: c.execute(sa.select(audit_log.c.action).where(
        audit_log.c.action.in_(("agency.report", "user.agency")))).scalars().all())
    assert audit.count("agency.report") == 5 and "user.agency" in audit

    proposed = await client.form("/console/agency/directory", {"phone": "0290 383 2222", "action": "add",
                                                                "note": "Số phòng giáo vụ"})
    assert proposed.status_code == 303
    review_page = await admin_client.get("/console/agency/admin")
    assert "+842903832222" in review_page.text
    proposal_id = review_page.text.split("/console/agency/admin/review/")[1].split('"')[0]
    assert (await admin_client.form(f"/console/agency/admin/review/{proposal_id}",
                                    {"decision": "approve"})).status_code == 303
    phones = await console.db.run(lambda c: c.execute(sa.select(school_phones.c.phone).where(
        school_phones.c.school_id == "THCS-ND")).scalars().all())
    assert sorted(phones) == ["+842903831111", "+842903832222"]


async def test_alert_pages_for_supervisors_and_officers(console: Console) -> None:
    await console.db.run(load_units)
    await console.db.run(file_specs, specs=generate(background=0).specs, cipher=console.cipher)
    sup = await console.make_user("chihuy@ca.vn", "supervisor", totp=True)
    client = await console.signed_in_client(sup)
    listing = await client.get("/console/alerts")
    assert listing.status_code == 200 and CAMPAIGN_NUMBER in listing.text and "Xã Tân Lộc" in listing.text
    alert_id = re.findall(r'href="/console/alerts/(\d+)"', listing.text)[-1]  # the oldest: campaign A
    one = await client.get(f"/console/alerts/{alert_id}")
    assert one.status_code == 200 and 'name="pick"' in one.text
    assert (await client.form(f"/console/alerts/{alert_id}/ack")).status_code == 303
    blocked = await client.form(f"/console/alerts/{alert_id}/block", {"pick": f"phone:{CAMPAIGN_NUMBER}"})
    assert "done=blocked" in blocked.headers["location"] and "n=1" in blocked.headers["location"]
    drafted = await client.form(f"/console/alerts/{alert_id}/draft")
    draft_url = drafted.headers["location"]
    draft = await client.get(draft_url)
    assert "Hiện nay, xuất hiện thủ đoạn lừa đảo" in draft.text
    export = await client.get("/console/alerts/drafts/export/drafts.json")
    assert export.status_code == 200 and export.json()[0]["status"] == "draft"
    officer = await console.make_user("canbo@ca.vn", "officer", "CA-HT")
    other = await console.signed_in_client(officer)
    assert (await other.form(f"/console/alerts/{alert_id}/ack")).status_code == 403
    assert (await other.get("/console/alerts/drafts")).status_code == 403
    english = await client.get("/console/alerts", params={"lang": "en"})
    assert "Scam campaign alerts" in english.text


def _cli(console: Console, *args: str) -> subprocess.CompletedProcess[str]:
    config = console.tmp_path / "cli-config.yaml"
    config.write_text("# defaults; HOTLINE_* below\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(HOTLINE_CONFIG=str(config), HOTLINE_DATABASE__URL=console.settings.database.url,
               HOTLINE_SECURITY__KEY_FILE=console.settings.security.key_file, HOTLINE_LOGGING__FILE="",
               HOTLINE_DATA_DIR=console.settings.data_dir)
    return subprocess.run([HOTLINE, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow  # tens of seconds (subprocesses, a generated month, a paced send): CI runs it, `./dev test fast` not
async def test_report_and_bind_from_the_command_line(console: Console) -> None:
    month = generate(background=200)
    await console.db.run(load_units)
    await console.db.run(file_specs, specs=month.specs, cipher=console.cipher)
    out = console.tmp_path / "bao-cao.docx"
    done = await asyncio.to_thread(_cli, console, "report", "monthly", "--month", "2026-11", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"{len(month.specs)} tin báo" in done.stdout
    doc = Document(str(out))
    assert doc.tables[1].rows[1].cells[2].text == str(len(month.specs))
    pdf = console.tmp_path / "bao-cao.pdf"
    done = await asyncio.to_thread(_cli, console, "report", "monthly", "--month", "2026-11", "--out", str(pdf))
    assert done.returncode == 0 and pdf.read_bytes().startswith(b"%PDF")
    bad = await asyncio.to_thread(_cli, console, "report", "monthly", "--month", "11/2026", "--out", str(out))
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr
    await console.make_user("xa.tanloc@xa.gov.vn", "reporter")
    bound = await asyncio.to_thread(_cli, console, "agency", "bind", "xa.tanloc@xa.gov.vn", "--commune", "32014")
    assert bound.returncode == 0 and "Xã Tân Lộc" in bound.stdout
    unknown = await asyncio.to_thread(_cli, console, "agency", "bind", "xa.tanloc@xa.gov.vn", "--commune", "99999")
    assert unknown.returncode == 1 and "99999" in unknown.stderr
