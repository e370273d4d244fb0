"""The tip.v1 payload: every field from a stored tip, consent, clusters, routing, and no secrets ever."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.intake.builder import _MAYBE_SECRET, build_tip_v1
from bot.intake.model import SCHEMA_PATH, TipV1, schema_text
from handlers.messages import Attachment
from nlu.redact import CARD_MARK, OTP_MARK, PASSWORD_MARK, find_secrets
from storage.db import Database
from storage.schema import tips
from storage.tips import Indicator
from storage.units import CommuneRecord, UnitRecord, replace_units
from tests.chat import TEST_CIPHER, Chat, make_engine
from tests.intake.conftest import CIPHER, NOW, file_tip_sync, report

SHA = "ab" * 32
UNITS = [UnitRecord("CA-96", "Công an tỉnh Cà Mau", "96", provincial=True),
         UnitRecord("CA-TANLOC", "Công an xã Tân Lộc", "96")]
COMMUNES = [CommuneRecord("32014", "Xã Tân Lộc", "CA-TANLOC", "96")]
LINK_CHECK = {"verdict": "scam", "score": 95, "school": None, "advice": "…",
              "reasons": [{"code": "domain_not_official", "severity": "high", "message": "Tên miền lạ"}]}


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


async def build(db: Database, reference: str, base_url: str = "https://hotline.example.vn/") -> dict[str, Any]:
    def work(conn: sa.Connection) -> dict[str, Any]:
        tip_id = conn.execute(sa.select(tips.c.id).where(tips.c.reference == reference)).scalar_one()
        return build_tip_v1(conn, tip_id, base_url=base_url, cipher=CIPHER, now=NOW)

    return await db.run(work)


def test_published_schema_file_matches_the_model() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "regenerate: .venv/bin/python -c 'from bot.intake.model import write_schema_file; write_schema_file()'")
    schema = json.loads(schema_text())
    assert schema["properties"]["schema"]["const"] == "tip.v1" and "reporter" in schema["required"]


async def test_full_tip_carries_every_field(database: Database) -> None:
    slots = report(contact_time="2026-11-20T09:00:00+07:00", school={"id": "CM-THCS-ND", "name": "THCS Nguyễn Du"},
                   asked=["otp", "click_link"], link="https://sll-vnedu.com/app", other_links=["bit.ly/x1"],
                   link_check=LINK_CHECK, message_text="Phụ huynh bấm link để cập nhật", money_lost="yes",
                   amount=5_000_000, bank="Vietcombank, chuyển tới STK 0123456789 ACB",
                   loss_time="2026-11-20T09:30:00+07:00", shared=["otp"], commune="xa tan loc",
                   contact_consent="contact_ok", contact_phone="+84912000111")
    attachment = Attachment("photo", "image/png", 1234, SHA, "x/y.bin", "a.png")

    def work(conn: sa.Connection) -> str:
        replace_units(conn, units=UNITS, communes=COMMUNES, now=NOW)
        indicators = [Indicator("phone", "+84377123999"), Indicator("domain", "sll-vnedu.com"),
                      Indicator("bank_account", "0123456789")]
        earlier = file_tip_sync(conn, slots=report(), sinks=["console"], now=NOW - timedelta(days=2))
        assert earlier
        return file_tip_sync(conn, slots=slots, sinks=["console"], attachments=[attachment], indicators=indicators)

    reference = await database.run(work)
    tip = await build(database, reference)
    TipV1.model_validate(tip)
    assert tip["schema"] == "tip.v1" and tip["reference"] == reference and tip["urgent"] is True
    assert tip["created_at"].startswith("2026-11-20T08:00:00") and tip["reported_via"] == "test"
    assert tip["contact"] == {"channel": "call", "caller_number": "+84377123999", "time": "2026-11-20T09:00:00+07:00"}
    assert tip["claimed_role"] == "homeroom_teacher" and tip["pretext"] == "student_id_code"
    assert tip["school"] == {"id": "CM-THCS-ND", "name": "THCS Nguyễn Du", "matched": True}
    assert tip["asked"] == ["otp", "click_link"] and tip["verdict"] == "scam"
    assert [(link["url"], link["domain"]) for link in tip["links"]] == [
        ("https://sll-vnedu.com/app", "sll-vnedu.com"), ("bit.ly/x1", "bit.ly")]
    assert tip["links"][0]["check"]["reasons"][0]["code"] == "domain_not_official"
    assert tip["attachments"] == [{"sha256": SHA, "mime_type": "image/png", "size": 1234, "kind": "photo",
                                   "url": f"https://hotline.example.vn/attachments/{SHA}"}]
    assert tip["harm"]["money_lost"] is True and tip["harm"]["amount_vnd"] == 5_000_000
    assert "0123456789" in tip["harm"]["bank"] and tip["harm"]["shared"] == ["otp"]
    assert tip["location"] == {"commune_text": "xa tan loc", "commune_code": "32014", "commune_name": "Xã Tân Lộc",
                               "province_code": "96", "unit": {"id": "CA-TANLOC", "name": "Công an xã Tân Lộc"},
                               "routed_by": "commune"}
    assert tip["reporter"]["phone"] == "+84912000111"
    by_key = {c["key"]: c for c in tip["clusters"]}
    assert by_key["phone:+84377123999"]["size"] == 2 and by_key["phone:+84377123999"]["reporters"] == 2
    assert by_key["domain:sll-vnedu.com"]["size"] == 1
    assert tip["cluster"]["size"] == 2
    assert tip["cluster"]["first_seen"].startswith("2026-11-18")
    assert tip["cluster"]["last_seen"].startswith("2026-11-20")


async def test_reporter_contact_only_with_consent_and_unmatched_commune_goes_to_the_province(
        sqlite_db: Database) -> None:
    def work(conn: sa.Connection) -> str:
        replace_units(conn, units=UNITS, communes=COMMUNES, now=NOW)
        # A phone without consent (should never be stored, but the builder is the last gate anyway).
        return file_tip_sync(conn, slots=report(contact_consent="anonymous", contact_phone="+84912000111",
                                                commune="Phường Không Có", school="Trường ABC"), sinks=["console"])

    tip = await build(sqlite_db, await sqlite_db.run(work))
    assert tip["reporter"] is None and "+84912000111" not in json.dumps(tip)
    assert tip["school"] == {"id": None, "name": "Trường ABC", "matched": False}
    assert tip["location"]["unit"] == {"id": "CA-96", "name": "Công an tỉnh Cà Mau"}
    assert tip["location"]["routed_by"] == "provincial" and tip["location"]["commune_code"] is None


async def test_routing_is_decided_once_and_sticks(sqlite_db: Database) -> None:
    def file(conn: sa.Connection) -> str:
        return file_tip_sync(conn, slots=report(commune="Tân Lộc"), sinks=["console"])

    reference = await sqlite_db.run(file)
    first = await build(sqlite_db, reference)
    assert first["location"]["routed_by"] == "none" and first["location"]["unit"] is None  # no units yet
    await sqlite_db.run(replace_units, units=UNITS, communes=COMMUNES, now=NOW)
    again = await build(sqlite_db, reference)
    assert again["location"] == first["location"]  # a re-delivery says what the first delivery said


async def test_no_otp_or_card_number_reaches_the_payload(sqlite_db: Database) -> None:
    chat = Chat(make_engine(sqlite_db, sinks=("console", "webhook")))
    await chat.send("báo cáo")
    await chat.press("Cuộc gọi")
    await chat.send("0377 123 999")
    await chat.send("hôm qua 9h")
    await chat.press("chủ nhiệm")
    await chat.send("THCS Nguyễn Du, mã OTP 482913")
    await chat.press("Sổ liên lạc")
    await chat.press("Mã OTP")
    await chat.press("Xong")
    await chat.send("Ma OTP cua ban la 123456, the 4111 1111 1111 1111, mat khau: hunter2 tai sll-vnedu.com/x")
    await chat.press("Bỏ qua")
    await chat.press("Có")
    await chat.send("5 triệu")
    await chat.send("Vietcombank, thẻ 4111-1111-1111-1111 OTP 998877")
    await chat.send("hôm qua 10h")
    await chat.press("Mã OTP")
    await chat.press("Xong")
    await chat.send("Xã Tân Lộc")
    await chat.press("ẩn danh")
    await chat.press("Gửi báo cáo")
    reference = chat.text().split("mã số ")[1].split(".")[0]

    def work(conn: sa.Connection) -> dict[str, Any]:
        tip_id = conn.execute(sa.select(tips.c.id).where(tips.c.reference == reference)).scalar_one()
        return build_tip_v1(conn, tip_id, base_url="https://h.example", cipher=TEST_CIPHER)

    tip = await sqlite_db.run(work)
    TipV1.model_validate(tip)
    text = json.dumps(tip, ensure_ascii=False)
    for secret in ("482913", "123456", "998877", "4111", "hunter2"):
        assert secret not in text
    # "mật khẩu: [mật khẩu đã ẩn]" reads as a password to the detector: its own marker is not a leak.
    marks = (OTP_MARK, CARD_MARK, PASSWORD_MARK)
    found = [(value, s) for value in strings(tip) for s in find_secrets(value)]
    assert [s for value, s in found if not value[s.start:].startswith(marks)] == []
    assert PASSWORD_MARK in tip["message_text"] and OTP_MARK in tip["message_text"]
    assert tip["message_text"].count("khẩu đã ẩn]") == 1  # re-redacting must not mangle the markers
    assert tip["harm"]["money_lost"] is True and tip["harm"]["amount_vnd"] == 5_000_000


_PIECES = ["mật khẩu", "Mật Khẩu", "MẬT KHẨU", "mat khau", "mk", "pw", "pass", "password", "otp", "mã", "OTP",
           "code", "pin", "là", ":", " ", "  ", "-", "\n", "0", "1", "4", "9", "12", "1234", "4111", "abc", "hunter2"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14).map("".join))
def test_the_secret_prefilter_never_hides_a_secret(text: str) -> None:
    """The builder skips find_secrets when its quick pattern finds nothing: that must never hide one."""
    if find_secrets(text):
        assert _MAYBE_SECRET.search(text), text
