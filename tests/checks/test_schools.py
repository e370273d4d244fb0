from dataclasses import dataclass

import pytest

from handlers.checks.schools import choose, name_key


@pytest.mark.parametrize(("name", "core", "types"), [
    ("Trường THCS Nguyễn Trãi", "nguyen trai", {"thcs"}),
    ("truong thcs nguyen trai", "nguyen trai", {"thcs"}),
    ("Trường Trung học cơ sở Nguyễn Trãi", "nguyen trai", {"thcs"}),
    ("Tiểu học Nguyễn Trãi", "nguyen trai", {"th"}),
    ("Trường TH&THCS Trường Chinh", "truong chinh", {"th", "thcs"}),
    ("Trường Tiểu học và THCS Lê Lợi", "le loi", {"th", "thcs"}),
    ("Tr. THPT Lê Lợi", "le loi", {"thpt"}),
    ("Nguyễn Trãi", "nguyen trai", set()),
    ("Mầm non Hoa Sen", "hoa sen", {"mn"}),
    ("Trường PTDTNT tỉnh Cà Mau", "tinh ca mau", {"ptdtnt"}),
    ("Nguyễn Trãi (THCS)", "nguyen trai", {"thcs"}),
    ("THCS", "", {"thcs"}),
])
def test_name_key(name, core, types):
    key = name_key(name)
    assert (key.core, set(key.types)) == (core, types)


@dataclass(frozen=True)
class School:
    id: str
    name_key: str
    type_key: str
    province: str = "Cà Mau"
    commune: str = ""


def school(sid: str, name: str, commune: str = "") -> School:
    key = name_key(name)
    return School(sid, key.padded, key.type_key, commune=commune)


SCHOOLS = [
    school("A", "Trường THCS Nguyễn Trãi", "Phường Tân Thành"),
    school("B", "Trường Tiểu học Nguyễn Trãi", "Xã Khánh Bình"),
    school("C", "Trường THCS Nguyễn Trãi 2", "Xã Khánh Bình"),
    school("D", "Trường THPT Lê Lợi"),
]


def ids(query: str) -> list[str]:
    return [s.id for s in choose(name_key(query), SCHOOLS)]


@pytest.mark.parametrize(("query", "expected"), [
    ("THCS Nguyễn Trãi", ["A"]),  # exact core beats the partial "nguyen trai 2"
    ("thcs nguyen trai", ["A"]),
    ("Trường Tiểu học Nguyễn Trãi", ["B"]),
    ("Nguyễn Trãi", ["A", "B"]),  # ambiguous without the type
    ("Nguyễn Trãi Tân Thành", ["A"]),  # name plus place words
    ("Nguyễn Trãi xã Khánh Bình", ["B"]),
    ("THCS Nguyễn Trãi 2", ["C"]),
    ("le loi", ["D"]),  # unique partial match
    ("Lợi", ["D"]),
    ("Trãi", ["A", "B", "C"]),
    ("THPT Nguyễn Trãi", []),
    ("Nguyễn Du", []),
    ("Nguyễn Trãi Bạc Liêu", []),  # extra words that are not this school's place
])
def test_choose(query, expected):
    assert ids(query) == expected
