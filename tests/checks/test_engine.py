"""The whole check against a real database (SQLite, and PostgreSQL when it is reachable)."""

from typing import Any

import pytest

from handlers.checks import REASON_CODES

from .conftest import BLOCKED_DOMAIN, BLOCKED_PHONE, codes, run_check


async def test_every_reason_code_end_to_end(seeded):
    seen: set[str] = set()
    cases: list[dict[str, Any]] = [
        {"asked": ("otp", "bank_account", "money_transfer", "install_app", "personal_info", "student_id_code")},
        {"phone": BLOCKED_PHONE},
        {"phone": "0388 000 111"},
        {"phone": "0290 3831 234", "school": "THCS Nguyễn Trãi"},
        {"phone": "0290 3899 999"},
        {"phone": "0912 345 678", "school": "THCS Nguyễn Trãi"},
        {"phone": "+855 12 345 678"},
        {"phone": "0123 456"},
        {"url": "https://vnedu.vn/"},
        {"url": "vnedu.vn.evil.com"},
        {"url": f"https://x.{BLOCKED_DOMAIN}/"},
        {"url": "https://example.com/a.apk"},
        {"url": "https://tracuu-hocphi.net/"},
        {"url": "https://bit.ly/x"},
        {"url": "http://10.0.0.1/"},
        {"url": "https://example.com/", "claimed_role": "teacher"},
    ]
    for fields in cases:
        seen |= codes(await run_check(seeded, **fields))
    assert seen == set(REASON_CODES)


async def test_official_number_of_the_named_school(seeded):
    result = await run_check(seeded, phone="0912.000.111", school="nguyen trai tan thanh", claimed_role="teacher")
    assert codes(result) == {"phone_official"}
    assert result.verdict == "no_red_flags"
    assert result.to_json()["school"] == {"id": "CM-THCS-NT", "name": "Trường THCS Nguyễn Trãi"}
    assert "0290 3831 234" in result.advice() and "0912 000 111" in result.advice()


@pytest.mark.parametrize("named", ["Trường THCS Nguyễn Trãi", "thcs nguyen trai", "THCS NGUYỄN TRÃI",
                                   "Trung học cơ sở Nguyễn Trãi", "nguyễn trãi tân thành"])
async def test_school_matched_forgivingly(seeded, named):
    result = await run_check(seeded, phone="0290 3831 234", school=named)
    assert result.school is not None and result.school.id == "CM-THCS-NT"


async def test_ambiguous_name_settled_by_the_callers_number(seeded):
    result = await run_check(seeded, phone="+84 290 3840 555", school="Nguyễn Trãi")
    assert result.school is not None and result.school.id == "CM-TH-NT"
    assert codes(result) == {"phone_official"}


async def test_number_of_another_school(seeded):
    result = await run_check(seeded, phone="0290 3822 333", school="THCS Nguyễn Trãi", claimed_role="principal")
    assert codes(result) == {"phone_not_official"}
    assert "Lê Lợi" in result.reasons()[0].message


async def test_phone_alone_names_its_school(seeded):
    result = await run_check(seeded, phone="02903822333")
    assert codes(result) == {"phone_official"} and result.school is not None and result.school.id == "CM-THPT-LL"


async def test_premium_number_with_a_school_role(seeded):
    result = await run_check(seeded, phone="1900 5555 88", claimed_role="school_staff")
    assert codes(result) == {"phone_not_official"} and result.verdict == "suspicious"


async def test_reports_count_distinct_reporters(seeded):
    two = await run_check(seeded, phone="0388000111")  # three tips, two reporters
    three = await run_check(seeded, phone="0388000222")
    assert [(r.code, r.severity) for r in two.reasons()] == [("phone_reported", "medium")]
    assert "2 người" in two.reasons()[0].message
    assert [(r.code, r.severity) for r in three.reasons()] == [("phone_reported", "high")]
    assert three.verdict == "scam"
    reported_site = await run_check(seeded, url="https://hoc.sodientu.top/")
    assert [(r.code, r.severity) for r in reported_site.reasons()] == [("url_reported", "high")]


async def test_single_anonymous_report_does_not_mark_a_number(seeded):
    result = await run_check(seeded, phone="0388000333")
    assert "phone_reported" not in codes(result)


async def test_reports_never_make_a_school_number_a_scam(seeded):
    result = await run_check(seeded, phone="0290 3899 999")
    assert codes(result) == {"phone_spoofing_possible", "phone_official"}
    assert result.verdict == "no_red_flags"
    assert "gọi lại cho trường" in next(r.message for r in result.reasons() if r.code == "phone_spoofing_possible")


async def test_blocklisted_parent_domain(seeded):
    result = await run_check(seeded, url=f"http://a.b.{BLOCKED_DOMAIN.upper()}/pay")
    assert codes(result) == {"url_blocklisted", "url_not_https"}


async def test_school_website_is_official_also_as_idn(seeded):
    assert codes(await run_check(seeded, url="thcsnguyentrai.edu.vn/thong-bao", claimed_role="teacher")) == {
        "url_official"}
    assert codes(await run_check(seeded, url="https://lêlợi.edu.vn/tb", claimed_role="teacher")) == {"url_official"}
    assert codes(await run_check(seeded, url="https://LÊLỢI.edu.vn/", claimed_role="teacher")) == {"url_official"}


async def test_school_page_on_a_shared_platform_is_not_official(seeded):
    result = await run_check(seeded, url="https://www.facebook.com/thcstruongchinh", claimed_role="principal")
    assert codes(result) == {"url_unknown_domain"}


async def test_gov_vn_proves_nothing(seeded):
    result = await run_check(seeded, url="https://gdla.gov.vn/tra-cuu", claimed_role="education_department",
                             text="Phụ huynh cài ứng dụng tại gdla.gov.vn/app.apk")
    assert codes(result) == {"asks_install_app", "url_apk"}
    assert result.verdict == "scam"


async def test_forwarded_message_checks_every_link_and_number(seeded):
    text = ("[Trường THCS Nguyễn Trãi] Kính gửi PHHS: để bổ sung hồ sơ, vui lòng cài ứng dụng Sổ liên lạc "
            "tại https://vnedu-app.com/sll.apk và đọc mã OTP cho GVCN qua số 0377 123 999.")
    result = await run_check(seeded, text=text, school="Nguyễn Trãi", claimed_role="homeroom_teacher")
    assert codes(result) >= {"asks_install_app", "asks_otp", "asks_personal_info", "url_lookalike", "url_apk",
                             "phone_blocklisted", "phone_not_official"}
    assert result.verdict == "scam" and result.score >= 90
    assert result.links == ("https://vnedu-app.com/sll.apk",)


async def test_no_network_during_a_check(seeded_sqlite, no_network):
    await run_check(seeded_sqlite, phone="0290 3831 234", url="https://vnеdu.vn@bit.ly/x.apk", school="Lê Lợi",
                    text="ck cho co qua stk, xem them tai tinyurl.com/abc", claimed_role="teacher")
    assert no_network == []
