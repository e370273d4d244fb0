"""Entity extraction: every kind, with the edge cases parents actually type."""

from __future__ import annotations

import itertools
import time
import unicodedata
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlu.datetimes import VN_TZ
from nlu.entities import extract_entities
from nlu.types import Entity

NOW = datetime(2026, 11, 20, 10, 15, tzinfo=VN_TZ)


def found(text: str, kind: str) -> list[tuple[str, object]]:
    """(text as written, value) of every entity of ``kind``; also checks offsets index the original text."""
    result = []
    for e in extract_entities(text, NOW):
        assert text[e.start : e.end] == e.text
        if e.entity == kind:
            result.append((e.text, e.value))
    return result


def test_whole_story_message_from_the_issue() -> None:
    text = "số 0377 123 999 gọi xưng cô chủ nhiệm trường Nguyễn Du bảo cài app qua link sll-vnedu.com, tôi chưa làm gì"
    assert [(e.entity, e.value, e.start, e.end) for e in extract_entities(text, NOW)] == [
        ("phone_number", "+84377123999", 3, 15),
        ("claimed_role", "homeroom_teacher", 25, 37),
        ("school_name", "trường Nguyễn Du", 38, 54),
        ("url", "sll-vnedu.com", 76, 89),
    ]


@pytest.mark.parametrize(
    ("text", "written", "e164"),
    [
        ("gọi từ 0377 123 999 nhé", "0377 123 999", "+84377123999"),
        ("sdt 0377.123.999", "0377.123.999", "+84377123999"),
        ("sdt 0377-123-999", "0377-123-999", "+84377123999"),
        ("số +84 377 123 999 gọi", "+84 377 123 999", "+84377123999"),
        ("84377123999 gọi lúc sáng", "84377123999", "+84377123999"),
        ("số0377123999", "0377123999", "+84377123999"),  # no space after "số"
        ("máy bàn 024 3825 1234", "024 3825 1234", "+842438251234"),
        ("gọi (028) 3823 4567 nhé", "(028) 3823 4567", "+842838234567"),
        ("tổng đài 1800 1234", "1800 1234", "+8418001234"),
    ],
)
def test_phone_formats(text: str, written: str, e164: str) -> None:
    assert found(text, "phone_number") == [(written, e164)]


def test_two_phones_and_a_phone_next_to_money() -> None:
    assert [v for _, v in found("gọi 0912345678,0987654321", "phone_number")] == ["+84912345678", "+84987654321"]
    text = "0377 123 999 đòi 500k"
    assert found(text, "phone_number") == [("0377 123 999", "+84377123999")]
    assert found(text, "money_amount") == [("500k", 500_000)]


@pytest.mark.parametrize("text", ["gọi 113 ngay", "mã 377123999", "chuyển 2.000.000đ", "thẻ 4111 1111 1111 1111"])
def test_not_phone_numbers(text: str) -> None:
    assert found(text, "phone_number") == []


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("link sll-vnedu.com, tôi chưa bấm", "sll-vnedu.com"),
        ("vào bit.ly/abc nhé", "bit.ly/abc"),
        ("tải http://1.2.3.4/x.apk về", "http://1.2.3.4/x.apk"),
        ("trang https://vnedu.vn/abc?x=1).", "https://vnedu.vn/abc?x=1"),
        ("www.sll-edu.vn có thật không", "www.sll-edu.vn"),
        ("hocbadientu.vnedu.vn là trang gì", "hocbadientu.vnedu.vn"),
        ("ip 10.0.0.1:8080/a lạ", "10.0.0.1:8080/a"),
    ],
)
def test_urls_with_and_without_scheme(text: str, url: str) -> None:
    assert found(text, "url") == [(url, url)]


@pytest.mark.parametrize("text", ["mail abc@gmail.com", "chuyển 2.000.000.000 đồng", "file x.apk", "v.v. và hồ sơ.Tôi"])
def test_not_urls(text: str) -> None:
    assert found(text, "url") == []


def test_app_name_inside_a_url_is_part_of_the_url() -> None:
    assert found("link sll-vnedu.com", "app_name") == []


@pytest.mark.parametrize(
    ("text", "written", "dong"),
    [
        ("mất 500k rồi", "500k", 500_000),
        ("bị lừa 20 triệu", "20 triệu", 20_000_000),
        ("bi lua 20 trieu", "20 trieu", 20_000_000),
        ("ck 1tr5 cho nó", "1tr5", 1_500_000),
        ("ck 1tr25", "1tr25", 1_250_000),
        ("trừ 2.000.000đ", "2.000.000đ", 2_000_000),
        ("mất 2,5 triệu", "2,5 triệu", 2_500_000),
        ("mất 3 củ", "3 củ", 3_000_000),
        ("mất 1 tỷ 200 triệu", "1 tỷ 200 triệu", 1_200_000_000),
        ("chuyển 1tr500k", "1tr500k", 1_500_000),
        ("2 củ rưỡi", "2 củ rưỡi", 2_500_000),
        ("500.000 đồng", "500.000 đồng", 500_000),
        ("15,000,000 vnd", "15,000,000 vnd", 15_000_000),
        ("5 trăm nghìn", "5 trăm nghìn", 500_000),
        ("chuyển 2.000.000 cho nó", "2.000.000", 2_000_000),
    ],
)
def test_money_amounts(text: str, written: str, dong: int) -> None:
    assert found(text, "money_amount") == [(written, dong)]


@pytest.mark.parametrize("text", ["con học lớp 5D", "sdt 0377123999 k nghe máy", "mua 500kg gạo", "trong 2 ngày"])
def test_not_money(text: str) -> None:
    assert found(text, "money_amount") == []


@pytest.mark.parametrize(
    ("text", "code"),
    [("mã OTP là 482913", "482913"), ("nó bảo đọc mã: 1234", "1234"), ("482913 là mã otp", "482913")],
)
def test_otp_next_to_ma(text: str, code: str) -> None:
    assert found(text, "otp_code") == [(code, code)]


def test_card_number_needs_luhn() -> None:
    assert found("số thẻ 4111 1111 1111 1111", "card_number") == [("4111 1111 1111 1111", "4111111111111111")]
    assert found("số thẻ 4111 1111 1111 1112", "card_number") == []


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("stk 0123456789 vietcombank", "0123456789"),
        ("số tài khoản: 1903-5555-6666-01 techcombank", "19035555666601"),
        ("tk vcb 0071000123457", "0071000123457"),
        # Banks let the phone number be the account number: right after "stk" it is an account.
        ("stk 0377123999", "0377123999"),
    ],
)
def test_bank_accounts(text: str, digits: str) -> None:
    assert [v for _, v in found(text, "bank_account")] == [digits]
    assert found(text, "phone_number") == []


def test_amount_after_account_word_is_money_not_an_account() -> None:
    assert found("tài khoản bị trừ 2.000.000", "bank_account") == []
    assert found("tài khoản bị trừ 2.000.000", "money_amount") == [("2.000.000", 2_000_000)]


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("hiệu trưởng gọi", "principal"),
        ("hieu truong goi", "principal"),
        ("bgh nhắn tin", "principal"),
        ("cô chủ nhiệm gọi", "homeroom_teacher"),
        ("gvcn con em gọi", "homeroom_teacher"),
        ("cô giáo chủ nhiệm nhắn", "homeroom_teacher"),
        ("thầy giáo gọi", "teacher"),
        ("kế toán trường gọi", "school_staff"),
        ("phòng giáo dục gọi", "education_department"),
        ("xưng sở GD", "education_department"),
        ("tự xưng là công an phường gọi", "police"),
        ("bên ngân hàng gọi", "bank"),
        ("giả danh bưu điện", "other"),
    ],
)
def test_claimed_roles(text: str, role: str) -> None:
    assert [v for _, v in found(text, "claimed_role")] == [role]


@pytest.mark.parametrize("text", ["tôi muốn báo công an", "tài khoản ngân hàng của tôi", "có ai ở đó không"])
def test_places_to_go_are_not_claimed_roles(text: str) -> None:
    assert found(text, "claimed_role") == []


@pytest.mark.parametrize(
    ("text", "school"),
    [
        ("xưng giáo viên trường Nguyễn Du gọi", "trường Nguyễn Du"),
        ("con học THCS Lê Lợi quận 3", "THCS Lê Lợi"),
        ("truong tieu hoc kim dong goi", "truong tieu hoc kim dong"),
        ("Trường THPT chuyên Lê Quý Đôn", "Trường THPT chuyên Lê Quý Đôn"),
        ("hiệu trưởng trường Nguyễn Du", "trường Nguyễn Du"),
    ],
)
def test_school_names(text: str, school: str) -> None:
    assert found(text, "school_name") == [(school, school)]


@pytest.mark.parametrize("text", ["tôi chưa chuyển tiền", "trường học của con", "hiệu trưởng Nguyễn Văn A"])
def test_not_school_names(text: str) -> None:
    assert found(text, "school_name") == []


@pytest.mark.parametrize(
    ("text", "app"),
    [
        ("cài vnEdu ở đâu", "vnEdu"),
        ("app SMAS", "SMAS"),
        ("tải eNetViet", "eNetViet"),
        ("k12 online", "K12Online"),
        ("MISA EMIS", "MISA EMIS"),
        ("VNeID", "VNeID"),
        ("cài sổ liên lạc điện tử", "Sổ liên lạc điện tử"),
    ],
)
def test_app_names(text: str, app: str) -> None:
    assert [v for _, v in found(text, "app_name")] == [app]


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("hôm nay 9h có số lạ gọi", "2026-11-20T09:00:00+07:00"),
        ("sáng nay", "2026-11-20T08:00:00+07:00"),
        ("hôm qua", "2026-11-19T00:00:00+07:00"),
        ("lúc 9h30", "2026-11-20T09:30:00+07:00"),
        ("ngày 15/11", "2026-11-15T00:00:00+07:00"),
        ("ngày 15/11/2026", "2026-11-15T00:00:00+07:00"),
        ("vừa xong", "2026-11-20T10:15:00+07:00"),
        ("9h sáng nay", "2026-11-20T09:00:00+07:00"),
        ("hôm qua lúc 2h chiều", "2026-11-19T14:00:00+07:00"),
        ("tối qua", "2026-11-19T19:00:00+07:00"),
        ("ngày 25/12", "2025-12-25T00:00:00+07:00"),  # a report is about the past: last Christmas
    ],
)
def test_date_times_relative_to_now(text: str, iso: str) -> None:
    assert [v for _, v in found(text, "date_time")] == [iso]


@pytest.mark.parametrize("text", ["tôi qua trường đón con", "con học lớp 6/2", "được điểm 8.5", "gửi qua link"])
def test_not_date_times(text: str) -> None:
    assert found(text, "date_time") == []


def test_offsets_point_into_decomposed_text() -> None:
    # Some keyboards send combining marks (NFD); offsets must still index the text as received.
    text = unicodedata.normalize("NFD", "cô chủ nhiệm trường Nguyễn Du gọi từ số 0377 123 999")
    entities = extract_entities(text, NOW)
    assert [e.entity for e in entities] == ["claimed_role", "school_name", "phone_number"]
    for e in entities:
        assert text[e.start : e.end] == e.text
    assert unicodedata.normalize("NFC", entities[1].text) == "trường Nguyễn Du"


def test_rasa_shape_of_an_entity() -> None:
    assert Entity("url", "bit.ly/a", 0, 8, "bit.ly/a").to_rasa() == {
        "entity": "url",
        "value": "bit.ly/a",
        "start": 0,
        "end": 8,
    }


_FRAGMENTS = st.sampled_from(
    [
        "số 0377 123 999",
        " gọi ",
        "xưng cô chủ nhiệm",
        " trường Nguyễn Du ",
        "link bit.ly/x",
        " ck 2tr ",
        "mã otp 482913",
        " stk 0123456789 ",
        "hôm qua 9h",
        " vnedu ",
        "thẻ 4111 1111 1111 1111",
        ", ",
        "tôi chưa làm gì",
    ]
)


@settings(deadline=None)  # the first call loads phone metadata
@given(st.lists(_FRAGMENTS, max_size=8).map("".join))
def test_entities_are_sorted_disjoint_and_index_the_text(text: str) -> None:
    entities = extract_entities(text, NOW)
    for e in entities:
        assert text[e.start : e.end] == e.text
    for a, b in itertools.pairwise(entities):
        assert a.end <= b.start


def test_account_that_passes_luhn_by_chance_stays_an_account() -> None:
    # 13 digits, Luhn-valid: a Vietcombank-style account after "tk", not a card.
    assert [v for _, v in found("tk vcb 0071000123456", "bank_account")] == ["0071000123456"]
    assert found("tk vcb 0071000123456", "card_number") == []


def test_card_named_after_an_account_word_stays_a_card() -> None:
    text = "tôi đưa stk và số thẻ 4111111111111111 cho nó"
    assert found(text, "card_number") == [("4111111111111111", "4111111111111111")]
    assert found(text, "bank_account") == []


@pytest.mark.parametrize("text", ["1 " * 2000, "0 " * 2000, "0." * 2000, "0377 123 999 " * 300])
def test_many_digit_groups_do_not_make_phone_search_quadratic(text: str) -> None:
    # Regression: "1 1 1 …" (4,000 characters) once took over two minutes; now a few milliseconds.
    started = time.perf_counter()
    extract_entities(text[:4000], NOW)
    assert time.perf_counter() - started < 2.0
