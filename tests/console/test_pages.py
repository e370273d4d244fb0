"""The officers' pages over real HTTP: what each role sees, the workflow forms, search, bulk actions,
attachments, the evidence bundle, the audit log, and what a hostile tip or a forged form gets."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zipfile
import zlib
from datetime import UTC, datetime

import sqlalchemy as sa

from handlers.checks import CheckRequest, check
from storage import audit
from storage.reference_schema import blocklist
from storage.schema import audit_log
from storage.workflow_schema import tip_cases
from tests.console.conftest import Console
from tests.console.tips import XSS, file_tip, load_units


def png(width: int = 4, height: int = 3) -> bytes:
    """A valid RGB PNG made here (no image library needed)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def refs(html: str) -> list[str]:
    return re.findall(r'href="/console/tips/(TG-\d{4}-\d+)"', html)


async def status_of(console: Console, reference: str) -> tuple[str, str | None, int | None]:
    def work(conn: sa.Connection) -> tuple[str, str | None, int | None]:
        row = conn.execute(sa.select(tip_cases.c.status, tip_cases.c.outcome, tip_cases.c.assignee_id)
                           .where(tip_cases.c.reference == reference)).one()
        return row.status, row.outcome, row.assignee_id
    return await console.db.run(work)


async def test_an_officer_sees_their_units_tips_and_a_supervisor_sees_all(console: Console) -> None:
    await load_units(console)
    mine = await file_tip(console, 1, commune="Tân Thành")
    other = await file_tip(console, 2, commune="Tân Lộc")
    officer = await console.signed_in_client(await console.make_user("tt@ca.vn", "officer", "CA-TT"))
    supervisor = await console.signed_in_client(await console.make_user("sup@ca.vn", "supervisor", totp=True))
    page = await officer.get("/console/queue")
    assert page.status_code == 200
    assert refs(page.text) == [mine]
    assert sorted(refs((await supervisor.get("/console/queue")).text)) == sorted([mine, other])


async def test_an_officer_opening_another_units_tip_by_url_gets_404_everywhere(console: Console) -> None:
    await load_units(console)
    other = await file_tip(console, 1, commune="Tân Lộc", image=png())
    officer = await console.signed_in_client(await console.make_user("tt@ca.vn", "officer", "CA-TT"))
    assert (await officer.get(f"/console/tips/{other}")).status_code == 404
    assert (await officer.get(f"/console/tips/{other}/attachments/1")).status_code == 404
    assert (await officer.get("/console/tips/TG-2026-999999")).status_code == 404
    for action, data in (("status", {"status": "closed", "outcome": "not_scam"}), ("assign", {"assignee": "me"}),
                         ("notes", {"body": "x"}), ("block", {"block": "phone|+84912345678"})):
        answer = await officer.form(f"/console/tips/{other}/{action}", data)
        assert answer.status_code == 404, action
    assert await status_of(console, other) == ("new", None, None)
    # Bulk actions skip what the officer may not see.
    other_id = await console.db.run(lambda c: c.execute(sa.select(tip_cases.c.tip_id)).scalar_one())
    await officer.form("/console/queue/bulk", {"tip": str(other_id), "action": "close", "outcome": "not_scam"})
    assert await status_of(console, other) == ("new", None, None)


async def test_the_whole_workflow_from_the_tip_page(console: Console) -> None:
    await load_units(console)
    ref = await file_tip(console, 1, domain="vneduconnect.com")
    officer_account = await console.make_user("tt@ca.vn", "officer", "CA-TT")
    officer = await console.signed_in_client(officer_account)
    page = await officer.get(f"/console/tips/{ref}")
    assert page.status_code == 200 and "vneduconnect.com" in page.text and page.headers["cache-control"] == "no-store"
    steps = [("assign", {"assignee": "me"}, ("in_review", None, officer_account.id)),
             ("status", {"status": "investigating"}, ("investigating", None, officer_account.id)),
             ("notes", {"body": "Đã gọi lại phụ huynh, xác nhận."}, ("investigating", None, officer_account.id)),
             ("status", {"status": "closed"}, ("investigating", None, officer_account.id)),  # no outcome: refused
             ("status", {"status": "closed", "outcome": "confirmed_scam", "block": "phone|+84912345678"},
              ("closed", "confirmed_scam", officer_account.id)),
             ("status", {"status": "in_review"}, ("in_review", None, officer_account.id))]  # reopen
    for action, data, expected in steps:
        answer = await officer.form(f"/console/tips/{ref}/{action}", data)
        assert answer.status_code == 303, (action, answer.text[:300])
        assert answer.headers["location"].startswith(f"/console/tips/{ref}?")
        assert await status_of(console, ref) == expected, (action, data)
    page = await officer.get(f"/console/tips/{ref}")
    assert "Đã gọi lại phụ huynh, xác nhận." in page.text  # the note, opened for the page
    assert "Trong danh sách cảnh báo" in page.text
    # The number is on the blocklist with the tip as its source: the next parent who checks it is warned.
    result = await console.db.run(check, CheckRequest(phone="0912 345 678"), cipher=console.cipher)
    assert result.verdict == "scam"
    note = await console.db.run(lambda c: c.execute(sa.select(blocklist.c.note)).scalar_one())
    assert ref in note
    actions = {e["action"] for e in await console.db.run(audit.entries, subject=ref, limit=100)}
    assert {"tip.view", "tip.take", "tip.status", "tip.note", "tip.close", "tip.reopen", "blocklist.add"} <= actions


async def test_filters_and_search_find_tips_without_opening_them(console: Console) -> None:
    await load_units(console)
    a = await file_tip(console, 1, number="+84911111111", pretext="install_app", money_lost="yes", amount=5_000_000)
    b = await file_tip(console, 2, number="+84922222222", pretext="update_records", kind="handoff")
    c = await file_tip(console, 3, number="+84922222222", message_text="Họ gửi link tracuudiemvnedu.org")
    sup = await console.signed_in_client(await console.make_user("sup@ca.vn", "supervisor", totp=True))

    async def found(**params: str) -> set[str]:
        page = await sup.get("/console/queue", params=params)
        assert page.status_code == 200
        return set(refs(page.text))

    assert await found(q="0922 222 222") == {b, c}
    assert await found(q="84-922-222-222") == {b, c}
    assert await found(q="tracuudiemvnedu") == {c}
    assert await found(q=a) == {a}
    assert await found(pretext="install_app") == {a}
    assert await found(money="yes") == {a}
    assert await found(kind="handoff") == {b}
    assert await found(assigned="none") == {a, b, c}
    assert await found(assigned="me") == set()
    assert await found(status="closed") == set()
    today = datetime.now(UTC).date().isoformat()
    assert await found(**{"from": today}) == {a, b, c}
    assert await found(to="2020-01-01") == set()
    # The money-lost tip is first (urgent by harm), then newest.
    assert refs((await sup.get("/console/queue")).text)[0] == a
    # Nonsense filters and cursors are named on the page, never a 500.
    for params in ({"status": "bogus"}, {"cursor": "!!!"}, {"from": "hôm qua"}, {"pretext": "<b>x</b>"},
                   {"sort": "../../etc"}, {"q": "   "}, {"unit": "x" * 500}):
        page = await sup.get("/console/queue", params=params)
        assert page.status_code == 200, params
        assert "<b>x</b>" not in page.text


async def test_bulk_close_changes_every_selected_tip(console: Console) -> None:
    await load_units(console)
    references = [await file_tip(console, n) for n in range(3)]
    officer = await console.signed_in_client(await console.make_user("tt@ca.vn", "officer", "CA-TT"))
    ids = await console.db.run(lambda c: [str(i) for i in c.execute(sa.select(tip_cases.c.tip_id)).scalars()])
    answer = await officer.form("/console/queue/bulk", {"tip": ids[:2], "action": "close", "outcome": "duplicate"})
    assert answer.status_code == 303 and "n=2" in answer.headers["location"]
    assert [(await status_of(console, r))[0] for r in references] == ["closed", "closed", "new"]
    # Without an outcome nothing closes, and the page says how many were refused.
    answer = await officer.form("/console/queue/bulk", {"tip": ids[2], "action": "close"})
    assert "failed=1" in answer.headers["location"]
    assert (await status_of(console, references[2]))[0] == "new"


async def test_a_hostile_tip_renders_as_text(console: Console) -> None:
    await load_units(console)
    ref = await file_tip(console, 1, message_text=XSS, school=XSS, contact_time=XSS)
    officer = await console.signed_in_client(await console.make_user("tt@ca.vn", "officer", "CA-TT"))
    page = await officer.get(f"/console/tips/{ref}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text and "<svg onload" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp


async def test_forms_without_the_csrf_token_are_refused(console: Console) -> None:
    await load_units(console)
    ref = await file_tip(console, 1)
    officer = await console.signed_in_client(await console.make_user("tt@ca.vn", "officer", "CA-TT"))
    for data in ({"status": "closed", "outcome": "not_scam"}, {"status": "closed", "outcome": "not_scam",
                                                                 "csrf": "forged"}):
        answer = await officer.post(f"/console/tips/{ref}/status", data=data)
        assert answer.status_code == 403
    answer = await officer.post(f"/console/tips/{ref}/status", data={"csrf": officer.csrf, "status": "closed",
                                "outcome": "not_scam"}, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert (await status_of(console, ref))[0] == "new"


async def test_attachments_are_decrypted_for_the_page_only_and_audited(console: Console) -> None:
    await load_units(console)
    image = png()
    ref = await file_tip(console, 1, image=image)
    officer = await console.signed_in_client(await console.make_user("tt@ca.vn", "officer", "CA-TT"))
    page = await officer.get(f"/console/tips/{ref}")
    link = re.search(rf'src="(/console/tips/{ref}/attachments/\d+)"', page.text)
    assert link is not None
    answer = await officer.get(link.group(1))
    assert answer.status_code == 200 and answer.content == image
    assert answer.headers["content-type"] == "image/png" and answer.headers["cache-control"] == "no-store"
    on_disk = [p.read_bytes() for p in (console.tmp_path / "data").rglob("*") if p.is_file()]
    assert on_disk and all(image not in blob for blob in on_disk)  # only ciphertext is stored
    actions = [e["action"] for e in await console.db.run(audit.entries, subject=ref, limit=100)]
    assert "tip.attachment" in actions


async def test_a_supervisor_exports_a_cluster_as_a_verifiable_bundle(console: Console) -> None:
    await load_units(console)
    image = png()
    first = await file_tip(console, 1, image=image)
    second = await file_tip(console, 2)
    unrelated = await file_tip(console, 3, number="+84933333333")
    officer = await console.signed_in_client(await console.make_user("tt@ca.vn", "officer", "CA-TT"))
    assert (await officer.get(f"/console/tips/{first}/export")).status_code == 403  # supervisors only
    sup = await console.signed_in_client(await console.make_user("sup@ca.vn", "supervisor", totp=True))
    answer = await sup.get(f"/console/tips/{first}/export", params={"cluster": "1"})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(answer.content))
    names = set(bundle.namelist())
    assert {f"{first}/report.json", f"{second}/report.json", f"{first}/consent.json", f"{first}/audit.json",
            "manifest.json", "SHA256SUMS"} <= names
    assert not any(n.startswith(unrelated) for n in names)
    sha = hashlib.sha256(image).hexdigest()
    assert bundle.read(f"{first}/attachments/{sha}.png") == image
    for line in bundle.read("SHA256SUMS").decode().splitlines():
        digest, name = line.split("  ", 1)
        assert hashlib.sha256(bundle.read(name)).hexdigest() == digest
    exported = await console.db.run(lambda c: c.execute(sa.select(audit_log.c.subject).where(
        audit_log.c.action == "tip.export")).scalars().all())
    assert sorted(exported) == sorted([first, second])


async def test_supervisors_read_and_filter_the_audit_log(console: Console) -> None:
    await load_units(console)
    ref = await file_tip(console, 1)
    officer_account = await console.make_user("tt@ca.vn", "officer", "CA-TT")
    officer = await console.signed_in_client(officer_account)
    await officer.get(f"/console/tips/{ref}")
    assert (await officer.get("/console/audit")).status_code == 403
    sup = await console.signed_in_client(await console.make_user("sup@ca.vn", "supervisor", totp=True))
    page = await sup.get("/console/audit", params={"actor": f"officer:{officer_account.id}", "action": "tip.view"})
    assert page.status_code == 200 and ref in page.text
    page = await sup.get("/console/audit", params={"subject": "TG-2026-000999"})
    assert ref not in page.text


async def test_a_schools_own_number_is_shown_as_spoofing_and_not_offered_for_the_blocklist(console: Console) -> None:
    from storage.reference import SchoolRecord, upsert_schools

    await load_units(console)
    school = SchoolRecord(id="THCS-TT", name="Trường THCS Tân Thành", name_key=" tan thanh ", type_key="thcs",
                          phones=("+842903111222",))
    await console.db.run(upsert_schools, records=[school], now=datetime.now(UTC))
    ref = await file_tip(console, 1, number="+842903111222")
    officer = await console.signed_in_client(await console.make_user("tt@ca.vn", "officer", "CA-TT"))
    page = await officer.get(f"/console/tips/{ref}")
    assert "giả mạo số hiển thị" in page.text and "Trường THCS Tân Thành" in page.text
    assert f'action="/console/tips/{ref}/block"' not in page.text
    assert 'name="block" value="phone|+842903111222"' not in page.text


async def test_a_takedown_referral_is_tracked_on_every_tip_of_the_cluster(console: Console) -> None:
    await load_units(console)
    first = await file_tip(console, 1)
    second = await file_tip(console, 2)
    officer = await console.signed_in_client(await console.make_user("tt@ca.vn", "officer", "CA-TT"))
    answer = await officer.form(f"/console/tips/{first}/referrals", {"indicator": "phone|+84912345678",
                                                                     "target": "telco"})
    assert answer.status_code == 303 and "done=referral" in answer.headers["location"]
    page = await officer.get(f"/console/tips/{second}")
    referral = re.search(rf'action="/console/tips/{second}/referrals/(\d+)"', page.text)
    assert referral is not None and "Đã gửi yêu cầu" in page.text
    answer = await officer.form(f"/console/tips/{second}/referrals/{referral.group(1)}", {"status": "done"})
    assert "done=referral" in answer.headers["location"]
    assert "Đã xử lý" in (await officer.get(f"/console/tips/{first}")).text
    # A target that makes no sense for the indicator is refused with a message, not stored.
    answer = await officer.form(f"/console/tips/{first}/referrals", {"indicator": "phone|+84912345678",
                                                                     "target": "bank"})
    assert "problem=" in answer.headers["location"]


async def test_the_console_home_sends_each_role_to_its_own_start_page(console: Console) -> None:
    officer = await console.signed_in_client(await console.make_user("tt@ca.vn", "officer", "CA-TT"))
    admin = await console.signed_in_client(await console.make_user("admin@ca.vn", "admin", totp=True))
    assert (await officer.get("/console")).headers["location"] == "/console/queue"
    assert (await admin.get("/console")).headers["location"] == "/console/users"
    anonymous = console.client()
    assert (await anonymous.get("/console")).headers["location"].startswith("/console/login")
