"""The admins' directory, units, blocklist and domains pages over real HTTP: every change validated like the CLI
imports, audited, and seen by the next check; admins only; CSV export round-trips through the import."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa

from handlers.checks import CheckRequest, check
from storage import audit
from storage.intake_schema import unit_communes
from storage.reference import get_schools
from storage.reference_schema import blocklist
from tests.console.conftest import Console, SignedInClient


async def admin_client(console: Console) -> SignedInClient:
    admin = await console.make_user("quantri@ca.vn", "admin")
    return await console.signed_in_client(admin)


async def verdict(console: Console, **request: object) -> object:
    return await console.db.run(lambda c: check(c, CheckRequest(**request), cipher=console.cipher))  # type: ignore[arg-type]


async def test_only_admins_see_content(content_console: Console) -> None:
    officer = await content_console.make_user("canbo@ca.vn", "officer")
    client = await content_console.signed_in_client(officer)
    for path in ("/console/content", "/console/content/flows", "/console/content/schools", "/console/broadcasts"):
        assert (await client.get(path)).status_code == 403, path
    anonymous = content_console.client()
    assert (await anonymous.get("/console/content/schools")).status_code == 303


async def test_add_edit_delete_a_school_and_the_check_knows_it(content_console: Console) -> None:
    client = await admin_client(content_console)
    form = {"school_id": "THCS-ND", "name": "Trường THCS Nguyễn Du", "province": "Cà Mau", "commune": "Tân Lộc",
            "official_phones": "0290 3800 001\n0290 3800 002", "contact_book_app": "vnEdu", "website": ""}
    bad = await client.form("/console/content/schools", {**form, "official_phones": "12345"})
    assert bad.status_code == 422 and "not a valid phone number" in bad.text
    r = await client.form("/console/content/schools", form)
    assert r.status_code == 303 and r.headers["location"] == "/console/content/schools/THCS-ND?done=added"
    again = await client.form("/console/content/schools", form)
    assert again.status_code == 422 and "đã có trường này" in again.text
    result = await verdict(content_console, phone="02903800002", school="THCS Nguyễn Du")
    assert result.school is not None and result.school.id == "THCS-ND"  # type: ignore[attr-defined]

    r = await client.form("/console/content/schools/THCS-ND", {**form, "official_phones": "0290 3800 009",
                                                                "action": "save"})
    assert r.status_code == 303
    (school,) = await content_console.db.run(get_schools, ids=["THCS-ND"])
    assert school.phones == ("+842903800009",)
    page = await client.get("/console/content/schools", params={"q": "0290 3800 009"})
    assert "THCS-ND" in page.text
    r = await client.form("/console/content/schools/THCS-ND", {"action": "delete"})
    assert r.headers["location"] == "/console/content/schools?done=deleted"
    assert await content_console.db.run(get_schools, ids=["THCS-ND"]) == []
    actions = [e["action"] for e in await content_console.db.run(audit.entries, subject="school:THCS-ND")]
    assert actions == ["directory.delete", "directory.update", "directory.add"]


async def test_export_then_import_round_trips(content_console: Console) -> None:
    client = await admin_client(content_console)
    form = {"school_id": "TH-LL", "name": "Trường Tiểu học Lê Lợi", "province": "Cà Mau", "commune": "Tân Thành",
            "official_phones": "02903800003;0912345678", "contact_book_app": "SMAS", "website": "https://thll.edu.vn"}
    await client.form("/console/content/schools", form)
    exported = await client.get("/console/content/schools.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith("\ufeffschool_id,name".encode())
    assert "02903800003;0912345678" in exported.text  # national numbers: a spreadsheet keeps them as typed
    await client.form("/console/content/schools/TH-LL", {"action": "delete"})
    r = await client.post("/console/content/schools/import", data={"csrf": client.csrf},
                          files={"file": ("danh-ba.csv", exported.content, "text/csv")})
    job = r.headers["location"]
    deadline = time.monotonic() + 30
    while (progress := (await client.get(job + ".json")).json())["status"] == "running":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert progress == {**progress, "status": "done", "total": 1, "done": 1, "inserted": 1, "skipped": 0}
    (school,) = await content_console.db.run(get_schools, ids=["TH-LL"])
    assert school.phones == ("+842903800003", "+84912345678") and school.website_host == "thll.edu.vn"


async def test_a_file_refused_as_a_whole_says_why(content_console: Console) -> None:
    client = await admin_client(content_console)
    r = await client.post("/console/content/schools/import", data={"csrf": client.csrf},
                          files={"file": ("x.csv", b"id,ten\n1,2\n", "text/csv")})
    page = await client.get(r.headers["location"])
    assert "Tệp bị từ chối" in page.text and "wrong header" in page.text


async def test_blocklist_entries_from_tips_link_to_the_tip_and_the_check_warns(content_console: Console) -> None:
    client = await admin_client(content_console)
    bad = await client.form("/console/content/blocklist", {"kind": "phone", "value": "12", "action": "add"})
    assert bad.status_code == 422
    r = await client.form("/console/content/blocklist", {"kind": "phone", "value": "0377 123 999", "note": "vụ 12",
                                                         "tip_reference": "TG-2026-000123", "action": "add"})
    assert r.headers["location"].endswith("done=added")
    await client.form("/console/content/blocklist", {"kind": "bank_account", "value": "0123 4567 89",
                                                     "note": "tài khoản nhận tiền", "action": "add"})
    page = await client.get("/console/content/blocklist")
    assert 'href="/console/tips/TG-2026-000123"' in page.text and "0123456789" in page.text
    assert (await verdict(content_console, phone="0377123999")).verdict == "scam"  # type: ignore[attr-defined]
    # Entries the tip page blocklisted earlier (a note naming the tip) link to it too.
    await content_console.db.run(lambda c: c.execute(sa.insert(blocklist).values(
        kind="domain", value="vneduconnect.com", note="Xác nhận lừa đảo từ báo cáo TG-2026-000007",
        created_at=sa.func.now())))
    page = await client.get("/console/content/blocklist", params={"kind": "domain"})
    assert 'href="/console/tips/TG-2026-000007"' in page.text
    await client.form("/console/content/blocklist", {"kind": "phone", "value": "+84377123999", "action": "remove"})
    assert (await verdict(content_console, phone="0377123999")).verdict != "scam"  # type: ignore[attr-defined]
    actions = [e["action"] for e in await content_console.db.run(audit.entries, limit=10)]
    assert actions.count("blocklist.add") == 2 and "blocklist.remove" in actions


async def reasons(console: Console, **request: object) -> set[str]:
    result = await verdict(console, **request)
    return {f.code for f in result.findings}  # type: ignore[attr-defined]


async def test_domains_switched_on_and_off_change_the_next_check(content_console: Console) -> None:
    client = await admin_client(content_console)
    assert "url_shortener" not in await reasons(content_console, url="https://link.example.vn/abc")
    await client.form("/console/content/domains", {"kind": "shortener", "value": "link.example.vn", "action": "add"})
    assert "url_shortener" in await reasons(content_console, url="https://link.example.vn/abc")

    official = {"url": "https://hocbadientu.vnedu.vn/tra-cuu", "claimed_role": "homeroom_teacher"}
    doubts = {"url_unknown_domain", "url_lookalike"}
    assert not await reasons(content_console, **official) & doubts
    await client.form("/console/content/domains", {"kind": "official", "value": "vnedu.vn", "action": "disable"})
    assert "Bật lại" in (await client.get("/console/content/domains")).text
    assert await reasons(content_console, **official) & doubts  # no longer official
    await client.form("/console/content/domains", {"kind": "official", "value": "vnedu.vn", "action": "reset"})
    assert not await reasons(content_console, **official) & doubts
    assert (await client.form("/console/content/domains", {"kind": "official", "value": "không phải",
                                                            "action": "add"})).status_code == 422


async def test_units_edit_import_and_export(content_console: Console) -> None:
    client = await admin_client(content_console)
    r = await client.form("/console/content/units", {"unit_id": "CA-TL", "name": "Công an xã Tân Lộc",
                                                     "province_code": "96", "communes": "32014, Xã Tân Lộc\nxx"})
    assert r.status_code == 422 and "dòng 2" in r.text
    r = await client.form("/console/content/units", {"unit_id": "CA-TL", "name": "Công an xã Tân Lộc",
                                                     "province_code": "96", "communes": "32014, Xã Tân Lộc"})
    assert r.headers["location"] == "/console/content/units/CA-TL?done=added"
    await client.form("/console/content/units", {"unit_id": "CA-96", "name": "Công an tỉnh", "province_code": "96",
                                                 "communes": "", "provincial": "1"})
    exported = await client.get("/console/content/units.csv")
    assert "CA-96,Công an tỉnh,96,," in exported.text
    assert "CA-TL,Công an xã Tân Lộc,96,32014,Xã Tân Lộc" in exported.text
    bad = b"unit_id,name,province_code,commune_code,commune_name\nCA-X,,96,1,A\n"
    r = await client.post("/console/content/units/import", data={"csrf": client.csrf},
                          files={"file": ("u.csv", bad, "text/csv")})
    page = await client.get(r.headers["location"])
    assert "không nhập gì" in page.text and "name is empty" in page.text
    good = exported.text.replace("32014,Xã Tân Lộc", "32015,Xã Tân Lộc Bắc").encode("utf-8")
    r = await client.post("/console/content/units/import", data={"csrf": client.csrf},
                          files={"file": ("u.csv", good, "text/csv")})
    assert "/console/content/imports/" in r.headers["location"]
    codes = await content_console.db.run(lambda c: list(c.execute(sa.select(unit_communes.c.commune_code)).scalars()))
    assert codes == ["32015"]
    r = await client.form("/console/content/units/CA-TL", {"action": "delete"})
    assert r.headers["location"] == "/console/content/units?done=deleted"
