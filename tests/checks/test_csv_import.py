import pytest

from handlers.checks.csv_import import CsvFileError, Parsed, parse_blocklist_csv, parse_schools_csv
from storage.reference import SchoolRecord

HEADER = "school_id,name,province,commune,official_phones,contact_book_app,website\n"


def schools(body: str, header: str = HEADER) -> Parsed[SchoolRecord]:
    return parse_schools_csv((header + body).encode("utf-8"))


def test_good_rows_with_odd_phone_formats():
    parsed = schools(
        "A1,Trường THCS Nguyễn Trãi,Cà Mau,Tân Thành,0296 384 1234;0912.000.111,vnedu,thcsnt.edu.vn\n"
        "A2,TH Lê Lợi,Cà Mau,Lý Văn Lâm, +84 296 3870 321 ; 0297-3846-555 ;,smas,\n"
        "A3,\"Trường Tiểu học Võ Thị Sáu, điểm chính\",Cà Mau,,,,\n"
    )
    assert parsed.skipped == [] and parsed.warnings == []
    a1, a2, a3 = parsed.rows
    assert a1.phones == ("+842963841234", "+84912000111") and a1.website_host == "thcsnt.edu.vn"
    assert a1.name_key == " nguyen trai " and a1.type_key == "thcs"
    assert a2.phones == ("+842963870321", "+842973846555") and a2.website is None
    assert a3.name == "Trường Tiểu học Võ Thị Sáu, điểm chính" and a3.phones == ()


def test_bom_is_accepted():
    parsed = parse_schools_csv(("\ufeff" + HEADER + "A1,THCS A,P,C,,,\n").encode("utf-8"))
    assert [r.id for r in parsed.rows] == ["A1"]


def test_bad_rows_are_reported_with_line_numbers_and_skipped():
    parsed = schools(
        "A1,THCS Nguyễn Trãi,P,C,0296 384 1234,,\n"  # line 2: good
        "A2,THCS B,P,C,0123,,\n"  # line 3: bad phone
        ",THCS C,P,C,,,\n"  # line 4: no id
        "A4,THCS,P,C,,,\n"  # line 5: only a type
        "A5,THCS E,P,C\n"  # line 6: too few fields
        "\n"  # line 7: blank, ignored
        "A6,THCS F,P,C,1900 5555 88,,\n"  # line 8: premium
        "A7,THCS G,P,C,+1 650 253 0000,,\n"  # line 9: foreign
        "A8,THCS H,P,C,,,not a site\n"  # line 10: bad website
        "A9,\"THCS I\nsecond line\",P,C,0912000111,,\n"  # lines 11-12: one record over two lines, good
        "A10,THCS K,P,C,xyz;0912000222,,\n"  # line 13: one bad phone spoils the row
    )
    assert [r.id for r in parsed.rows] == ["A1", "A9"]
    assert [(p.line, p.message.split(":")[0]) for p in parsed.skipped] == [
        (3, "official_phones"), (4, "school_id ''"), (5, "name 'THCS'"), (6, "expected 7 fields, found 4"),
        (8, "official_phones"), (9, "official_phones"), (10, "website"), (13, "official_phones"),
    ]
    assert "1900" in parsed.skipped[4].message and "line 3:" in str(parsed.skipped[0])


def test_duplicate_school_ids_in_one_file():
    parsed = schools("A1,THCS A,P,C,,,\nA2,THCS B,P,C,,,\nA1,THCS A bis,P,C,,,\n")
    assert [r.name for r in parsed.rows] == ["THCS A", "THCS B"]
    assert len(parsed.skipped) == 1 and parsed.skipped[0].line == 4
    assert "duplicate school_id 'A1' (first on line 2)" in parsed.skipped[0].message


def test_idn_website_is_stored_in_punycode():
    parsed = schools("A1,THPT Lê Lợi,P,C,,,http://www.lêlợi.edu.vn/\n")
    assert parsed.rows[0].website_host is not None and parsed.rows[0].website_host.startswith("xn--")


def test_website_on_a_shared_platform_loads_with_a_warning():
    parsed = schools("A1,THCS A,P,C,,,https://www.facebook.com/thcsa\n")
    assert parsed.rows[0].website_host is None and parsed.rows[0].website == "https://www.facebook.com/thcsa"
    assert parsed.warnings[0].line == 2 and "shared platform" in parsed.warnings[0].message


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"id,name\nA1,x\n", "wrong header"),
    (HEADER.replace("website", "web").encode(), "wrong header"),
    ((HEADER + "A1,Trường,P,C,,,\n").encode("utf-16"), "not UTF-8"),
    ((HEADER + "A1,THCS A,P,C,,,\n").encode("cp1258", errors="replace") + b"\xff", "not UTF-8"),
])
def test_unusable_files(data, message):
    with pytest.raises(CsvFileError, match=message):
        parse_schools_csv(data)


def test_header_with_spaces_is_accepted():
    parsed = schools("A1,THCS A,P,C,,,\n", header=HEADER.replace(",", " , "))
    assert [r.id for r in parsed.rows] == ["A1"]


def test_blocklist_file():
    parsed = parse_blocklist_csv(
        "kind,value,note\n"
        "phone,0377 123 999,CA tỉnh 12/2026\n"
        "domain,https://WWW.Lua-Dao.com/pay,\n"
        "domain,lêlợi-giả.vn,IDN\n"
        "phone,+84 377 123 999,same number again\n"
        "fax,123,\n"
        "phone,12,\n"
        "domain,nonsense,\n"
        "phone,1900 5555 88,premium numbers can be blocked\n".encode()
    )
    assert [(e.kind, e.value, e.note) for e in parsed.rows][:2] == [
        ("phone", "+84377123999", "CA tỉnh 12/2026"), ("domain", "lua-dao.com", None)]
    assert parsed.rows[2].value.startswith("xn--") and parsed.rows[3].value == "+8419005555" + "88"
    assert [(p.line, p.message) for p in parsed.skipped] == [
        (5, "duplicate of line 2"), (6, "kind 'fax': must be 'phone' or 'domain'"),
        (7, "'12' is not a valid phone number"),
        (8, "'nonsense' is not a domain with a known ending (like .vn or .com)"),
    ]


def test_blocklist_wrong_header():
    with pytest.raises(CsvFileError, match="kind,value,note"):
        parse_blocklist_csv(b"type,value\nphone,1\n")
