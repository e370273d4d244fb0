import pytest
import tldextract

from handlers.checks import urls
from handlers.checks.urls import (
    find_urls,
    host_matches,
    names_apk,
    normalize_domain,
    parent_domains,
    parse_url,
    registrable_domain,
)


def test_public_suffix_list_is_the_bundled_snapshot_and_never_fetched(no_network):
    urls._extractor.cache_clear()
    extractor = urls._extractor()
    assert isinstance(extractor, tldextract.TLDExtract)
    assert extractor.suffix_list_urls == ()
    assert parse_url("hocbadientu.vnedu.vn").registrable == "vnedu.vn"
    assert parse_url("evil.web.app").registrable == "evil.web.app"  # private suffixes count
    assert no_network == []


@pytest.mark.parametrize(("raw", "host", "registrable"), [
    ("https://hocbadientu.vnedu.vn/x", "hocbadientu.vnedu.vn", "vnedu.vn"),
    ("VNEDU.VN", "vnedu.vn", "vnedu.vn"),  # case-insensitive, scheme optional
    ("vnedu.vn.", "vnedu.vn", "vnedu.vn"),  # trailing dot
    ("truong-a.lms.vnedu.vn/login", "truong-a.lms.vnedu.vn", "vnedu.vn"),
    ("gdla.gov.vn", "gdla.gov.vn", "gdla.gov.vn"),
    ("c2abc.camau.edu.vn", "c2abc.camau.edu.vn", "camau.edu.vn"),
    ("https://vnedu.vn@evil.site/a", "evil.site", "evil.site"),
    ("vnedu.vn:pw@evil.site", "evil.site", "evil.site"),
    ("https://evil.site\\@vnedu.vn/", "evil.site", "evil.site"),  # browsers read "\" as "/"
    ("https://vnedu。vn/", "vnedu.vn", "vnedu.vn"),  # ideographic full stop
    ("ｖｎｅｄｕ.vn", "vnedu.vn", "vnedu.vn"),  # full-width letters
])
def test_parse_host_and_registrable(raw, host, registrable):
    info = parse_url(raw)
    assert (info.host, info.registrable) == (host, registrable)


def test_userinfo_is_kept_for_the_lookalike_rule():
    assert parse_url("https://vnedu.vn@evil.site/").userinfo == "vnedu.vn"


def test_idn_host_is_compared_in_punycode_and_read_in_unicode():
    info = parse_url("https://vnеdu.vn/")  # Cyrillic е
    assert info.host.startswith("xn--")
    assert info.host != "vnedu.vn"
    assert info.host_unicode == "vnеdu.vn"


@pytest.mark.parametrize("raw", ["http://192.168.1.10/x", "http://[2001:db8::1]/", "http://3232235777/",
                                 "http://0xC0A80001/", "1.2.3.4/abc.apk"])
def test_ip_literals(raw):
    info = parse_url(raw)
    assert info.is_ip and info.registrable == ""


def test_scheme_is_recorded_only_when_written():
    assert parse_url("http://a.vn").scheme == "http"
    assert parse_url("HTTPS://a.vn").scheme == "https"
    assert parse_url("a.vn").scheme is None


@pytest.mark.parametrize("raw", ["", "http://", "not a link", "https://a..b/"])
def test_invalid_links(raw):
    assert not parse_url(raw).valid


def test_parent_domains_stop_at_the_registrable_domain():
    assert parent_domains(parse_url("a.b.evil.com.vn")) == ["a.b.evil.com.vn", "b.evil.com.vn", "evil.com.vn"]
    assert parent_domains(parse_url("1.2.3.4")) == ["1.2.3.4"]


def test_registrable_domain_helper_for_tip_indicators():
    assert registrable_domain("https://Hocba.VNEDU.vn/x") == "vnedu.vn"
    assert registrable_domain("mr.lan") is None
    assert registrable_domain("http://1.2.3.4/") == "1.2.3.4"


def test_normalize_domain_for_the_blocklist():
    assert normalize_domain("https://WWW.Evil.com/path") == "evil.com"
    assert normalize_domain("www.com") == "www.com"
    assert (normalize_domain("lêlợi.edu.vn") or "").startswith("xn--")
    assert normalize_domain("nonsense") is None


@pytest.mark.parametrize(("raw", "apk"), [
    ("https://x.com/SoLienLac.APK", True), ("x.com/dl?file=app.apk&v=2", True), ("x.com/app%2Eapk", True),
    ("x.com/app.apk/", True), ("x.com/app.apkg", False), ("x.com/apk", False), ("apk.x.com/", False),
])
def test_apk_in_path_or_query(raw, apk):
    assert names_apk(parse_url(raw)) is apk


def test_host_matches_subdomains_only():
    assert host_matches("m.bit.ly", frozenset({"bit.ly"}))
    assert not host_matches("notbit.ly", frozenset({"bit.ly"}))


def test_find_urls_in_a_message():
    text = ("Kính gửi PH: cài app tại https://vnedu-app.com/tai.apk, hoặc vnedu.vn/hocba. Gọi 0912.000.111, "
            "chuyển 500.000đ. Mr.Lan nhắn: file SoLienLac.apk, email lienhe@thcs.edu.vn hoặc nguyen.van.a@gmail.com; "
            "đăng nhập vnedu.vn@evil.site/x")
    assert [u for _s, _e, u in find_urls(text)] == [
        "https://vnedu-app.com/tai.apk", "vnedu.vn/hocba", "vnedu.vn@evil.site/x"]
