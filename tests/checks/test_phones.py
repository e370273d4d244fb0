import pytest

from handlers.checks.phones import display_number, find_phones, normalize_phone, parse_phone


@pytest.mark.parametrize("written", [
    "0296 384 1234", "02963841234", "+84 296 3841 234", "(0296) 384 1234", "0296-384-1234", "0296.384.1234",
    "84 296 384 1234", "0084 296 384 1234", " +84-296-384-1234 ",
])
def test_one_landline_in_every_common_form(written):
    assert normalize_phone(written) == "+842963841234"


@pytest.mark.parametrize(("written", "e164"), [
    ("0912.000.111", "+84912000111"), ("+84 296 3870 321", "+842963870321"), ("0297-3846-555", "+842973846555"),
    ("0377123999", "+84377123999"), ("+84 0912 000 111", "+84912000111"),
])
def test_issue_examples_normalise(written, e164):
    assert normalize_phone(written) == e164


def test_premium_1900_is_valid_but_premium():
    info = parse_phone("1900 5555 88")
    assert info.valid and info.premium and not info.foreign


def test_toll_free_1800_is_not_premium():
    info = parse_phone("1800 1234")
    assert info.valid and not info.premium


def test_foreign_number():
    info = parse_phone("+855 12 345 678")
    assert info.valid and info.foreign and info.e164 == "+85512345678"


@pytest.mark.parametrize("written", ["0123456", "113", "abc", "", "0912 000 11x", "++84", "091"])
def test_invalid_numbers(written):
    info = parse_phone(written)
    assert not info.valid
    assert normalize_phone(written) is None


def test_display_is_national_for_vietnam_and_international_otherwise():
    assert display_number("+842963841234") == "0296 3841 234"
    assert display_number("+16502530000") == "+1 650-253-0000"


def test_find_phones_skips_amounts_codes_and_account_numbers():
    text = ("Cô Lan 0912.000.111 hoặc 0296 384 1234; chuyển 500.000đ vào stk 1903 1234 5678 90, mã 123456; "
            "gọi lại 0912 000 111")
    assert find_phones(text) == ["0912.000.111", "0296 384 1234"]
