import pytest

from handlers.checks.data import DataFileError, parse_official, reference_data
from handlers.checks.lookalike import edit_distance, find_lookalike, skeleton
from handlers.checks.urls import parse_url


def trick(raw: str) -> tuple[str, str] | None:
    found = find_lookalike(parse_url(raw), reference_data())
    return (found.kind, found.target) if found else None


@pytest.mark.parametrize(("raw", "kind", "target"), [
    ("https://vnedu.vn@evil.site/login", "userinfo", "vnedu.vn"),
    ("http://smas.edu.vn:x@1.2.3.4.nip.io/", "userinfo", "smas.edu.vn"),
    ("https://vnedu%2Evn@evil.site/", "userinfo", "vnedu.vn"),
    ("vnedu.vn.evil.com", "left_subdomain", "vnedu.vn"),
    ("hocba.smas.edu.vn.tra-cuu.info/", "left_subdomain", "smas.edu.vn"),
    ("vneduconnect.com", "brand", "vnedu.vn"),
    ("tracuudiemvnedu.org", "brand", "vnedu.vn"),
    ("tradiemvnedu.net", "brand", "vnedu.vn"),
    ("vnedu.com.vn", "brand", "vnedu.vn"),
    ("login-enetviet.app", "brand", "enetviet.com"),
    ("k12online-vn.top", "brand", "k12online.vn"),
    ("smas-edu.vn", "brand", "smas.edu.vn"),
    ("smasvn.net", "brand", "smas.edu.vn"),
    ("https://vnеdu.vn/", "homoglyph", "vnedu.vn"),  # Cyrillic е
    ("https://xn--vndu-w4d.vn/", "homoglyph", "vnedu.vn"),  # the same, as punycode
    ("vn3du.vn", "homoglyph", "vnedu.vn"),
    ("enetv1et.com", "homoglyph", "enetviet.com"),
    ("5mas.edu.vn.com", "homoglyph", "smas.edu.vn"),
    ("vnédu.vn", "homoglyph", "vnedu.vn"),  # a Vietnamese diacritic folds away
    ("vnedv.vn", "typo", "vnedu.vn"),  # edit distance 1
    ("vndeu.vn", "typo", "vnedu.vn"),  # a swap counts as one edit
    ("enetvjet.com", "typo", "enetviet.com"),
    ("enatvjet.com", "typo", "enetviet.com"),  # edit distance 2 for a long brand
    ("k12onlime.vn", "typo", "k12online.vn"),
])
def test_lookalike_tricks(raw, kind, target):
    assert trick(raw) == (kind, target)


@pytest.mark.parametrize("raw", [
    "christmas-sale.com",  # "smas" inside a word is not the brand
    "seas.com", "spas.vn", "smart.vn",  # near "smas", but a four-letter brand takes no edit distance
    "visa.com.vn", "mesa.vn",  # near "misa", which has no brand on purpose
    "enatvjat.com",  # three edits from enetviet
    "vne.vn",  # too short to be a near miss
    "google.com", "gdla.gov.vn", "thcsnguyentrai.edu.vn", "1.2.3.4",
    "https://someone@evil.site/",  # user-info that imitates nothing
])
def test_not_lookalikes(raw):
    assert trick(raw) is None


def test_edit_distance_counts_swaps_once_and_stops_early():
    assert edit_distance("vnedu", "vndeu", 2) == 1
    assert edit_distance("enetviet", "enatvjet", 2) == 2
    assert edit_distance("abcdefgh", "zzzzzzzz", 2) == 3
    assert edit_distance("a", "abcd", 1) == 2


def test_skeleton_folds_confusables_the_same_on_both_sides():
    assert skeleton("vn3du") == skeleton("vnedu")
    assert skeleton("k12online") == skeleton("k1202line".replace("02", "on"))
    assert skeleton("ѕmаѕ") == "smas"


def test_shipped_data_is_consistent():
    data = reference_data()
    assert {"vnedu.vn", "smas.edu.vn", "k12online.vn", "enetviet.com", "misa.vn"} <= data.official_domains
    assert {b.name for b in data.brands} == {"vnedu", "smas", "enetviet", "k12online"}
    assert {"play.google.com", "apps.apple.com"} <= data.known_good_hosts
    assert {"bit.ly", "tinyurl.com", "cutt.ly", "rb.gy", "is.gd", "t.ly", "shorturl.at", "s.id"} <= data.shorteners
    assert not data.official_domains & data.unverified_domains


@pytest.mark.parametrize(("text", "message"), [
    ("official: nope", "top-level 'official:'"),
    ("official: [vnedu.vn]", "must be a mapping"),
    ("official: [{domain: VNEDU.VN}]", "lowercase domain"),
    ("official: [{domain: vnedu.vn, brand: 'vn edu'}]", "brand"),
    ("official: [{domain: vnedu.vn, brand: vnedu, max_edit_distance: 3}]", "max_edit_distance"),
])
def test_malformed_official_domains_file_fails_loudly(text, message):
    with pytest.raises(DataFileError, match=message):
        parse_official(text)
